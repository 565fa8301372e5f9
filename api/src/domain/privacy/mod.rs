//! Personal data (GDPR articles 15, 17 and 20): everything the product
//! holds about a person, as one export; erasure, which anonymises what
//! the law lets go and keeps what it requires; and how long each kind of
//! record is kept (`retention.rs`, run by a job).

pub mod erasure;
pub mod export;
pub mod retention;
