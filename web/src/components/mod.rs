pub mod feedback;
pub mod fill_bar;
pub mod nav;
pub mod session_card;
