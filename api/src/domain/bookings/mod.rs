//! Seat bookings: holds, payment and cancellation (`desk`), the effects of
//! a seat's payment events, minimum-attendee decisions, calendar files and
//! reminders. Row-level moves (`rows`) stay inside this folder.

pub mod calendar;
pub mod decisions;
mod desk;
pub mod reminders;
mod rows;
pub mod seat_payments;

pub use desk::*;
pub use rows::end_hold;
