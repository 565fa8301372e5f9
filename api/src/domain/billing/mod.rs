//! Money's records: what a payment event did (`Applied`), the calls owed to
//! the gateway, payment anomalies, invoices and the credit notes that
//! correct them, and the seals that keep both as issued.

pub mod anomalies;
pub mod applied;
pub mod credit_note_rows;
pub mod credit_notes;
pub mod gateway_refunds;
pub mod invoices;
pub mod owed;
pub mod seals;
pub mod series;
