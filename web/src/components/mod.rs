pub mod feedback;
pub mod fill_bar;
pub mod nav;
pub mod profile_form;
pub mod session_card;
