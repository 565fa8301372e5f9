pub mod account;
pub mod admin;
pub mod auth;
pub mod members;
pub mod not_found;
pub mod session;
pub mod sessions;
pub mod thanks;
