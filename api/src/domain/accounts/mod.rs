//! People's accounts: users and their roles, credentials (verification,
//! reset, password change), one-time tokens, sign-in sessions, profiles.

pub mod credentials;
pub mod profiles;
pub mod roles;
pub mod sign_ins;
pub mod tokens;
pub mod users;
