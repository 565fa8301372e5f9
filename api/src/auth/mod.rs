//! Who is calling: password hashing and tokens. The request extractors
//! that authenticate and authorize are at the HTTP edge (`http::extract`).

pub mod password;
pub mod token;
