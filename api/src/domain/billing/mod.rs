//! Money's records: what a payment event did (`Applied`), the calls owed to
//! the gateway, payment anomalies, and invoices.

pub mod anomalies;
pub mod applied;
pub mod gateway_refunds;
pub mod invoices;
pub mod owed;
