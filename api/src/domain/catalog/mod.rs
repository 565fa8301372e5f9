//! What is sold: training sessions, their seats, the waiting list for a
//! full one, and how they are shown (and announced as events).

pub mod seats;
pub mod sessions;
pub mod views;
pub mod waitlist;
