//! What only admins call: sessions and their attendees, the attendance
//! sheet, members and their resources, payment anomalies, the dashboard's
//! figures.

pub mod attendance;
pub mod members;
pub mod payments;
pub mod sessions;
pub mod stats;
