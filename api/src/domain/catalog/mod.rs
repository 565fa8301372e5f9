//! What is sold: training sessions, their seats, and the waiting list for
//! a full one.

pub mod seats;
pub mod sessions;
pub mod waitlist;
