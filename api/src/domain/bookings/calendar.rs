//! A booking as a calendar file (RFC 5545), for "Ajouter à mon agenda" and
//! the reminders' attachment. The session is an all-day event over its
//! dates at the venue (a date has no time zone to get wrong), with a UID
//! that names the booking: importing the file again updates the event
//! rather than adding a second one.

use chrono::Duration;
use icalendar::{Calendar, Component, Event, EventLike};

use entity::{immersion_bookings as bookings, immersion_sessions as sessions};

/// The MIME type of a calendar file.
pub const CONTENT_TYPE: &str = "text/calendar; charset=utf-8";

/// The file's name for a download or an attachment.
pub(super) fn file_name(session: &sessions::Model) -> String {
    format!(
        "immersion-elite-{}.ics",
        session.starts_on.format("%Y-%m-%d")
    )
}

/// The calendar file of one booking. `public_url` gives the UID's domain
/// and the link back to the account page.
pub(super) fn booking_ics(
    booking: &bookings::Model,
    session: &sessions::Model,
    public_url: &str,
) -> String {
    let public_url = public_url.trim_end_matches('/');
    let host = public_url
        .split_once("://")
        .map_or(public_url, |(_, rest)| rest)
        .split(['/', ':'])
        .next()
        .unwrap_or("immersion");
    let mut description = session.description.clone().unwrap_or_default();
    if !description.is_empty() {
        description.push_str("\n\n");
    }
    description.push_str(&format!("Votre réservation : {public_url}/mon-compte"));
    // DTEND of an all-day event is the day after the last one (RFC 5545).
    let event = Event::new()
        .uid(&format!("booking-{}@{host}", booking.id))
        .timestamp(booking.confirmed_at.unwrap_or(booking.updated_at))
        .summary(&format!("Immersion Élite — {}", session.location))
        .location(&session.location)
        .description(&description)
        .starts(session.starts_on)
        .ends(session.ends_on + Duration::days(1))
        .url(&format!("{public_url}/mon-compte"))
        .done();
    Calendar::new()
        .name("Immersion Élite")
        .push(event)
        .done()
        .to_string()
}
