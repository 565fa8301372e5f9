//! What the api and the web front end share: the JSON shapes of the API
//! contract, the stable error codes, and pure rules (validation, derived
//! session status, French formatting). No I/O here, so it builds for wasm32.

pub mod auth;
pub mod bookings;
pub mod error;
pub mod format;
pub mod money;
pub mod payments;
pub mod resources;
pub mod sessions;
pub mod subscriptions;

pub use error::{ErrorCode, FieldError, Problem};
