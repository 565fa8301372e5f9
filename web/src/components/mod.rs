pub mod nav;
pub mod session_card;
