//! Invoices ("factures") as the API lists them (`GET /api/me/invoices`),
//! and the VAT arithmetic an invoice prints.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// An invoice, or a credit note that corrects one.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum InvoiceKind {
    Invoice,
    /// A "facture d'avoir": money given back on `invoice_id`.
    CreditNote,
}

/// Why a credit note gives money back: each way a refund happens.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum CreditReason {
    /// The buyer or an admin cancelled the seat.
    Cancellation,
    /// The payment came after its hold lapsed with no seat left, or after
    /// the session had begun.
    LatePayment,
    /// The payment did not match what was sold.
    Mismatch,
    /// The session was cancelled (too few attendees, or by an admin).
    SessionCancelled,
    /// Refunded from the payment provider's dashboard.
    GatewayRefund,
    /// A second subscription paid by a member who had one.
    SecondSubscription,
    /// The overdue period of a subscription its member replaced.
    ReplacedSubscription,
}

impl CreditReason {
    pub const ALL: [Self; 7] = [
        Self::Cancellation,
        Self::LatePayment,
        Self::Mismatch,
        Self::SessionCancelled,
        Self::GatewayRefund,
        Self::SecondSubscription,
        Self::ReplacedSubscription,
    ];

    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Cancellation => "cancellation",
            Self::LatePayment => "late_payment",
            Self::Mismatch => "mismatch",
            Self::SessionCancelled => "session_cancelled",
            Self::GatewayRefund => "gateway_refund",
            Self::SecondSubscription => "second_subscription",
            Self::ReplacedSubscription => "replaced_subscription",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|r| r.as_str() == s)
    }

    /// As the credit note states it.
    pub const fn french(self) -> &'static str {
        match self {
            Self::Cancellation => "Annulation de la réservation",
            Self::LatePayment => "Paiement reçu trop tard : place indisponible",
            Self::Mismatch => "Paiement non conforme à la commande",
            Self::SessionCancelled => "Session annulée",
            Self::GatewayRefund => "Remboursement",
            Self::SecondSubscription => "Abonnement payé en double",
            Self::ReplacedSubscription => "Période d'un abonnement remplacé",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct InvoiceDto {
    pub id: Uuid,
    pub kind: InvoiceKind,
    /// For a credit note, the invoice it corrects.
    pub invoice_id: Option<Uuid>,
    /// For a credit note, why the money went back.
    pub reason: Option<CreditReason>,
    /// As printed on the invoice ("2026-000042", "AV-2026-000003", or
    /// Stripe's).
    pub number: String,
    /// Its one line: the seat's session, or the plan and its period.
    pub description: String,
    /// Paid (or, for a credit note, given back), taxes included, in cents.
    pub amount_cents: i64,
    pub currency: String,
    #[cfg_attr(
        target_arch = "wasm32",
        serde(deserialize_with = "crate::wire::instant")
    )]
    pub issued_at: DateTime<Utc>,
    /// The seat it bills; none for a subscription's.
    pub booking_id: Option<Uuid>,
    /// The subscription period it bills.
    #[cfg_attr(
        target_arch = "wasm32",
        serde(default, deserialize_with = "crate::wire::instant_opt")
    )]
    pub period_start: Option<DateTime<Utc>>,
    #[cfg_attr(
        target_arch = "wasm32",
        serde(default, deserialize_with = "crate::wire::instant_opt")
    )]
    pub period_end: Option<DateTime<Utc>>,
    /// Where to read it: Stripe's hosted page, or the app's own.
    pub url: String,
    /// Stripe's PDF, when Stripe issued it.
    pub pdf_url: Option<String>,
}

/// What an invoice says about VAT: a rate, or why there is none (French
/// training organisations are exempt and must say so, quoting the law).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Vat {
    /// In basis points: 2000 is 20 %.
    Rate(i32),
    Exempt(String),
}

/// The mention a training organisation exempt from VAT prints.
pub const TRAINING_EXEMPTION: &str = "TVA non applicable, article 261-4-4° a du CGI";

/// A percentage as typed in a setting ("20", "5.5", "5,5") in basis
/// points, from 0 to 100 %, with at most two decimals.
pub fn parse_rate(text: &str) -> Option<i32> {
    let text = text.trim().replace(',', ".");
    let (whole, frac) = match text.split_once('.') {
        Some((_, "")) => return None,
        Some(parts) => parts,
        None => (text.as_str(), ""),
    };
    let digits = |s: &str| s.chars().all(|c| c.is_ascii_digit());
    if whole.is_empty() || frac.len() > 2 || !digits(whole) || !digits(frac) {
        return None;
    }
    let whole: i32 = whole.parse().ok()?;
    let frac: i32 = if frac.is_empty() {
        0
    } else {
        format!("{frac:0<2}").parse().ok()?
    };
    let bp = whole.checked_mul(100)?.checked_add(frac)?;
    (0..=10_000).contains(&bp).then_some(bp)
}

/// A total with taxes included, split into the amount before VAT and the
/// VAT at `rate_bp` basis points (2000 = 20 %), rounded to the cent the
/// way invoices print it: the VAT is what the net leaves of the total, so
/// the two always add up.
pub fn split_vat(total_cents: i64, rate_bp: i32) -> (i64, i64) {
    let rate = i128::from(rate_bp.max(0));
    let total = i128::from(total_cents);
    // Rounded half up: net = total × 10000 / (10000 + rate).
    let net = (2 * total * 10_000 + (10_000 + rate)) / (2 * (10_000 + rate));
    let net = i64::try_from(net).unwrap_or(total_cents);
    (net, total_cents - net)
}

/// "20 %", "5,5 %" from basis points.
pub fn format_rate(rate_bp: i32) -> String {
    let whole = rate_bp / 100;
    match rate_bp % 100 {
        0 => format!("{whole}\u{a0}%"),
        frac if frac % 10 == 0 => format!("{whole},{}\u{a0}%", frac / 10),
        frac => format!("{whole},{frac:02}\u{a0}%"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn vat_splits_add_up_and_round_to_the_nearest_cent() {
        // 1 997 € at 20 %: 1 664,17 + 332,83.
        assert_eq!(split_vat(199_700, 2000), (166_417, 33_283));
        assert_eq!(split_vat(120, 2000), (100, 20));
        assert_eq!(split_vat(199_700, 0), (199_700, 0));
        // 29 € at 5,5 %: 27,49 + 1,51.
        assert_eq!(split_vat(2900, 550), (2749, 151));
        for total in [0, 1, 99, 12_345, 199_700] {
            for rate in [0, 550, 1000, 2000] {
                let (net, vat) = split_vat(total, rate);
                assert_eq!(net + vat, total);
                assert!(net >= 0 && vat >= 0);
            }
        }
    }

    #[test]
    fn rates_are_read_from_settings() {
        assert_eq!(parse_rate("20"), Some(2000));
        assert_eq!(parse_rate("5.5"), Some(550));
        assert_eq!(parse_rate(" 5,5 "), Some(550));
        assert_eq!(parse_rate("0"), Some(0));
        assert_eq!(parse_rate("100"), Some(10_000));
        for bad in ["", "101", "-5", "5.555", "vingt", "5.", ".5", "1e2", "+5"] {
            assert_eq!(parse_rate(bad), None, "{bad}");
        }
    }

    #[test]
    fn rates_print_in_french() {
        assert_eq!(format_rate(2000), "20\u{a0}%");
        assert_eq!(format_rate(550), "5,5\u{a0}%");
        assert_eq!(format_rate(210), "2,1\u{a0}%");
        assert_eq!(format_rate(1234), "12,34\u{a0}%");
    }
}
