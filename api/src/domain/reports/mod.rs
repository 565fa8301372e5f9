//! The read side: the admin dashboard's figures, the gauges `/metrics`
//! reads, the audit of invariants, the attendance sheet.

pub mod attendance;
pub mod audit;
pub mod gauges;
pub mod stats;
