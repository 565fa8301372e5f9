//! Who is calling: password hashing, tokens, the request extractors that
//! authenticate and authorize.

pub mod extract;
pub mod password;
pub mod token;

pub use extract::{AdminUser, AuthUser, MemberUser};
