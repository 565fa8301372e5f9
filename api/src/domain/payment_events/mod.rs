//! Payment events from the gateway: each applied once (`dispatch`), and
//! what webhooks missed brought in (`reconcile`).

mod dispatch;
pub mod reconcile;

pub use dispatch::*;
