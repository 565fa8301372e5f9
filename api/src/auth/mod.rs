//! Who is calling: password hashing, tokens, the request extractors that
//! authenticate and authorize, and login throttling.

pub mod extract;
pub mod password;
pub mod rate_limit;
pub mod token;

pub use extract::{AdminUser, AuthUser, MemberUser};
