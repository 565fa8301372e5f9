//! What only admins call: sessions and their attendees, the attendance
//! sheet, presence and certificates, members and their resources, payment anomalies, the dashboard's
//! figures, the accounts' roles.

pub mod api_keys;
pub mod attendance;
pub mod members;
pub mod payments;
pub mod presence;
pub mod roles;
pub mod sessions;
pub mod stats;
pub mod webhooks;
