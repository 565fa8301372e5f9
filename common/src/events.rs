//! What happened, as third parties hear of it: the events feed
//! (`GET /api/events`) and the webhooks carry the same events.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// An event's type: `<resource>.<what happened>`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub enum EventType {
    #[serde(rename = "session.created")]
    SessionCreated,
    #[serde(rename = "session.updated")]
    SessionUpdated,
    #[serde(rename = "session.cancelled")]
    SessionCancelled,
    #[serde(rename = "session.confirmed")]
    SessionConfirmed,
    #[serde(rename = "session.full")]
    SessionFull,
    #[serde(rename = "booking.held")]
    BookingHeld,
    #[serde(rename = "booking.confirmed")]
    BookingConfirmed,
    #[serde(rename = "booking.cancelled")]
    BookingCancelled,
    #[serde(rename = "booking.expired")]
    BookingExpired,
    #[serde(rename = "booking.refunded")]
    BookingRefunded,
    #[serde(rename = "waitlist.offered")]
    WaitlistOffered,
    #[serde(rename = "subscription.activated")]
    SubscriptionActivated,
    #[serde(rename = "subscription.updated")]
    SubscriptionUpdated,
    #[serde(rename = "subscription.ended")]
    SubscriptionEnded,
    #[serde(rename = "invoice.issued")]
    InvoiceIssued,
    /// A credit note corrects an invoice: money went back on it.
    #[serde(rename = "credit_note.issued")]
    CreditNoteIssued,
}

impl EventType {
    pub const ALL: [Self; 16] = [
        Self::SessionCreated,
        Self::SessionUpdated,
        Self::SessionCancelled,
        Self::SessionConfirmed,
        Self::SessionFull,
        Self::BookingHeld,
        Self::BookingConfirmed,
        Self::BookingCancelled,
        Self::BookingExpired,
        Self::BookingRefunded,
        Self::WaitlistOffered,
        Self::SubscriptionActivated,
        Self::SubscriptionUpdated,
        Self::SubscriptionEnded,
        Self::InvoiceIssued,
        Self::CreditNoteIssued,
    ];

    pub const fn as_str(self) -> &'static str {
        match self {
            Self::SessionCreated => "session.created",
            Self::SessionUpdated => "session.updated",
            Self::SessionCancelled => "session.cancelled",
            Self::SessionConfirmed => "session.confirmed",
            Self::SessionFull => "session.full",
            Self::BookingHeld => "booking.held",
            Self::BookingConfirmed => "booking.confirmed",
            Self::BookingCancelled => "booking.cancelled",
            Self::BookingExpired => "booking.expired",
            Self::BookingRefunded => "booking.refunded",
            Self::WaitlistOffered => "waitlist.offered",
            Self::SubscriptionActivated => "subscription.activated",
            Self::SubscriptionUpdated => "subscription.updated",
            Self::SubscriptionEnded => "subscription.ended",
            Self::InvoiceIssued => "invoice.issued",
            Self::CreditNoteIssued => "credit_note.issued",
        }
    }

    pub fn parse(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|t| t.as_str() == name)
    }
}

/// One event: its stable id, type, when it happened, and the resource as
/// the API showed it then (a session, a booking, a waiting-list entry, a
/// subscription's access, an invoice).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct EventDto {
    pub id: Uuid,
    #[serde(rename = "type")]
    pub event_type: EventType,
    pub created_at: DateTime<Utc>,
    #[cfg_attr(feature = "openapi", schema(value_type = Object))]
    pub data: serde_json::Value,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_type_reads_back_from_its_name_and_its_json() {
        for t in EventType::ALL {
            assert_eq!(EventType::parse(t.as_str()), Some(t));
            assert_eq!(
                serde_json::to_string(&t).unwrap(),
                format!("\"{}\"", t.as_str())
            );
        }
    }
}
