//! People's accounts and third parties' API keys: users and their roles,
//! credentials (verification, reset, password change), one-time tokens,
//! sign-in sessions, profiles, and the expiry of accounts never verified.

pub mod api_keys;
pub mod credentials;
pub mod gate;
pub mod profiles;
pub mod roles;
pub mod sign_ins;
pub mod standing;
pub mod tokens;
pub mod unverified;
pub mod users;
