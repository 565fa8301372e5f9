pub mod feedback;
pub mod nav;
pub mod session_card;
