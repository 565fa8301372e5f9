//! Members' access: the one pure rule that decides it (invariant
//! 6), and the subscription JSON shapes.

use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};

use crate::auth::Role;

/// Why access is granted or refused. Stable: clients switch on it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum AccessReason {
    /// Admins always have access.
    Admin,
    /// An active (or trialing) subscription whose period has not ended.
    Subscribed,
    /// A payment is past due but still within the grace period.
    GracePeriod,
    /// No subscription at all.
    NoSubscription,
    /// The paid period is over.
    PeriodEnded,
    /// A payment failed (Stripe status `past_due` or `unpaid`).
    PaymentFailed,
    /// The subscription was cancelled.
    Canceled,
    /// The first payment never completed (`incomplete`, `incomplete_expired`).
    Incomplete,
    /// The subscription is paused.
    Paused,
}

impl AccessReason {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Admin => "admin",
            Self::Subscribed => "subscribed",
            Self::GracePeriod => "grace_period",
            Self::NoSubscription => "no_subscription",
            Self::PeriodEnded => "period_ended",
            Self::PaymentFailed => "payment_failed",
            Self::Canceled => "canceled",
            Self::Incomplete => "incomplete",
            Self::Paused => "paused",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Access {
    pub active: bool,
    pub reason: AccessReason,
}

impl Access {
    fn allow(reason: AccessReason) -> Self {
        Self {
            active: true,
            reason,
        }
    }
    fn deny(reason: AccessReason) -> Self {
        Self {
            active: false,
            reason,
        }
    }
}

/// A Stripe subscription's status, as Stripe spells it. Stripe may add
/// values: a new one is kept as `Unknown` (and grants no access), never
/// read as a known one or dropped.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(from = "String", into = "String")]
#[cfg_attr(feature = "sea-orm", derive(sea_orm::DeriveValueType))]
#[cfg_attr(feature = "sea-orm", sea_orm(value_type = "String"))]
pub enum StripeStatus {
    Active,
    Trialing,
    PastDue,
    Unpaid,
    Canceled,
    Incomplete,
    IncompleteExpired,
    Paused,
    Unknown(String),
}

impl StripeStatus {
    const KNOWN: [Self; 8] = [
        Self::Active,
        Self::Trialing,
        Self::PastDue,
        Self::Unpaid,
        Self::Canceled,
        Self::Incomplete,
        Self::IncompleteExpired,
        Self::Paused,
    ];

    pub fn as_str(&self) -> &str {
        match self {
            Self::Active => "active",
            Self::Trialing => "trialing",
            Self::PastDue => "past_due",
            Self::Unpaid => "unpaid",
            Self::Canceled => "canceled",
            Self::Incomplete => "incomplete",
            Self::IncompleteExpired => "incomplete_expired",
            Self::Paused => "paused",
            Self::Unknown(s) => s,
        }
    }

    pub fn parse(s: &str) -> Self {
        Self::KNOWN
            .into_iter()
            .find(|k| k.as_str() == s)
            .unwrap_or_else(|| Self::Unknown(s.to_owned()))
    }

    /// Stripe never revives these: a subscription in them is over.
    pub fn is_ended(&self) -> bool {
        matches!(self, Self::Canceled | Self::IncompleteExpired)
    }

    /// Paid up: access runs to the end of the period.
    pub fn is_live(&self) -> bool {
        matches!(self, Self::Active | Self::Trialing)
    }
}

impl std::str::FromStr for StripeStatus {
    type Err = std::convert::Infallible;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Ok(Self::parse(s))
    }
}

impl From<String> for StripeStatus {
    fn from(s: String) -> Self {
        Self::parse(&s)
    }
}

impl From<StripeStatus> for String {
    fn from(s: StripeStatus) -> Self {
        s.as_str().to_owned()
    }
}

/// Decides access from the role, the Stripe status, the end of the paid
/// period, the past-due grace and the time. Every guard calls this.
pub fn decide_access(
    role: Role,
    stripe_status: Option<&StripeStatus>,
    current_period_end: Option<DateTime<Utc>>,
    past_due_grace: Duration,
    now: DateTime<Utc>,
) -> Access {
    if role == Role::Admin {
        return Access::allow(AccessReason::Admin);
    }
    let Some(status) = stripe_status else {
        return Access::deny(AccessReason::NoSubscription);
    };
    let period_running = current_period_end.is_some_and(|end| end > now);
    use StripeStatus as S;
    match status {
        S::Active | S::Trialing if period_running => Access::allow(AccessReason::Subscribed),
        S::Active | S::Trialing => Access::deny(AccessReason::PeriodEnded),
        // Grace counts from the end of the period that went unpaid.
        S::PastDue => match current_period_end {
            Some(end) if end + past_due_grace > now && past_due_grace > Duration::zero() => {
                Access::allow(AccessReason::GracePeriod)
            }
            _ => Access::deny(AccessReason::PaymentFailed),
        },
        S::Unpaid => Access::deny(AccessReason::PaymentFailed),
        S::Canceled => Access::deny(AccessReason::Canceled),
        S::Incomplete | S::IncompleteExpired => Access::deny(AccessReason::Incomplete),
        S::Paused => Access::deny(AccessReason::Paused),
        S::Unknown(_) => Access::deny(AccessReason::NoSubscription),
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(
    feature = "sea-orm",
    derive(sea_orm::EnumIter, sea_orm::DeriveActiveEnum)
)]
#[cfg_attr(
    feature = "sea-orm",
    sea_orm(
        rs_type = "String",
        db_type = "String(sea_orm::sea_query::StringLen::N(16))"
    )
)]
#[serde(rename_all = "snake_case")]
pub enum SubscriptionType {
    #[cfg_attr(feature = "sea-orm", sea_orm(string_value = "free"))]
    Free,
    #[cfg_attr(feature = "sea-orm", sea_orm(string_value = "premium_monthly"))]
    PremiumMonthly,
    #[cfg_attr(feature = "sea-orm", sea_orm(string_value = "premium_yearly"))]
    PremiumYearly,
}

impl SubscriptionType {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Free => "free",
            Self::PremiumMonthly => "premium_monthly",
            Self::PremiumYearly => "premium_yearly",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "free" => Some(Self::Free),
            "premium_monthly" => Some(Self::PremiumMonthly),
            "premium_yearly" => Some(Self::PremiumYearly),
            _ => None,
        }
    }
}

/// `GET /api/me/access`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct AccessDto {
    pub active: bool,
    pub reason: AccessReason,
    pub subscription_type: SubscriptionType,
    #[cfg_attr(
        target_arch = "wasm32",
        serde(default, deserialize_with = "crate::wire::instant_opt")
    )]
    pub current_period_end: Option<DateTime<Utc>>,
    pub cancel_at_period_end: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum Plan {
    Monthly,
    Yearly,
}

impl Plan {
    pub const ALL: [Self; 2] = [Self::Monthly, Self::Yearly];

    /// The plan's name, as on the wire.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Monthly => "monthly",
            Self::Yearly => "yearly",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|p| p.as_str() == s)
    }
}

/// How often a plan is billed (Stripe's `recurring.interval`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum PlanInterval {
    Day,
    Week,
    Month,
    Year,
}

impl PlanInterval {
    pub fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "day" => Self::Day,
            "week" => Self::Week,
            "month" => Self::Month,
            "year" => Self::Year,
            _ => return None,
        })
    }
}

/// One plan on sale and its price (`GET /api/plans`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct PlanPriceDto {
    pub plan: Plan,
    /// In the currency's minor unit (cents).
    pub amount_cents: i64,
    /// ISO 4217, upper-case.
    pub currency: String,
    pub interval: PlanInterval,
}

impl PlanPriceDto {
    /// "29 € / mois", "290 € / an".
    pub fn label(&self) -> String {
        let per = match self.interval {
            PlanInterval::Day => "jour",
            PlanInterval::Week => "semaine",
            PlanInterval::Month => "mois",
            PlanInterval::Year => "an",
        };
        format!(
            "{} / {per}",
            crate::money::format_price(self.amount_cents, &self.currency)
        )
    }
}

/// What a year on the yearly plan saves against twelve monthly payments,
/// when it saves anything (same currency, month against year).
pub fn yearly_saving(plans: &[PlanPriceDto]) -> Option<i64> {
    let of = |plan: Plan, interval: PlanInterval| {
        plans
            .iter()
            .find(|p| p.plan == plan && p.interval == interval)
    };
    let monthly = of(Plan::Monthly, PlanInterval::Month)?;
    let yearly = of(Plan::Yearly, PlanInterval::Year)?;
    let saving = monthly.amount_cents * 12 - yearly.amount_cents;
    (monthly.currency == yearly.currency && saving > 0).then_some(saving)
}

/// `POST /api/subscriptions/checkout`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct SubscribeRequest {
    pub plan: Plan,
}

/// A user and their subscription, for admins.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct SubscriberDto {
    pub user_id: uuid::Uuid,
    pub email: String,
    pub role: crate::auth::Role,
    pub email_verified: bool,
    pub is_active: bool,
    pub subscription_type: SubscriptionType,
    /// `StripeStatus` as Stripe spells it. Text on the wire: the SPA only
    /// shows it, and parsing it there would cost the bundle for nothing.
    pub stripe_status: Option<String>,
    #[cfg_attr(
        target_arch = "wasm32",
        serde(default, deserialize_with = "crate::wire::instant_opt")
    )]
    pub current_period_end: Option<DateTime<Utc>>,
    pub cancel_at_period_end: bool,
    // The SPA shows none of the three below: in the browser they are not
    // read (the size budget).
    #[cfg_attr(target_arch = "wasm32", serde(skip_deserializing))]
    pub stripe_customer_id: Option<String>,
    #[cfg_attr(target_arch = "wasm32", serde(skip_deserializing))]
    pub stripe_subscription_id: Option<String>,
    #[cfg_attr(target_arch = "wasm32", serde(skip_deserializing))]
    pub last_event_at: Option<DateTime<Utc>>,
}

/// A URL to send the browser to (Checkout, the Customer Portal).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct RedirectDto {
    pub url: String,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(s: &str) -> DateTime<Utc> {
        s.parse().unwrap()
    }

    /// The access table: statuses × period end past/future × grace × role.
    #[test]
    fn access_table() {
        let now = t("2030-06-01T12:00:00Z");
        let future = Some(now + Duration::days(10));
        let past = Some(now - Duration::hours(2));
        let no_grace = Duration::zero();
        let grace = Duration::hours(48);
        use AccessReason as R;
        type Case = (
            &'static str,
            Option<DateTime<Utc>>,
            Duration,
            (bool, AccessReason),
        );
        let cases: &[Case] = &[
            ("active", future, no_grace, (true, R::Subscribed)),
            ("active", past, no_grace, (false, R::PeriodEnded)),
            ("active", None, no_grace, (false, R::PeriodEnded)),
            ("active", past, grace, (false, R::PeriodEnded)),
            ("trialing", future, no_grace, (true, R::Subscribed)),
            ("trialing", past, no_grace, (false, R::PeriodEnded)),
            ("past_due", future, no_grace, (false, R::PaymentFailed)),
            ("past_due", past, no_grace, (false, R::PaymentFailed)),
            ("past_due", past, grace, (true, R::GracePeriod)),
            ("past_due", future, grace, (true, R::GracePeriod)),
            (
                "past_due",
                Some(now - Duration::hours(49)),
                grace,
                (false, R::PaymentFailed),
            ),
            ("unpaid", future, grace, (false, R::PaymentFailed)),
            ("canceled", future, grace, (false, R::Canceled)),
            ("canceled", past, no_grace, (false, R::Canceled)),
            ("incomplete", future, grace, (false, R::Incomplete)),
            ("incomplete_expired", past, grace, (false, R::Incomplete)),
            ("paused", future, grace, (false, R::Paused)),
            ("something_new", future, grace, (false, R::NoSubscription)),
        ];
        for (status, end, g, (active, reason)) in cases {
            let status = &StripeStatus::parse(status);
            // Every value reads back as itself.
            assert_eq!(status.as_str(), status.to_string());
            let got = decide_access(Role::User, Some(status), *end, *g, now);
            assert_eq!(
                (got.active, got.reason),
                (*active, *reason),
                "{status} {end:?} {g:?}"
            );
            // Admins: always in, whatever the subscription says.
            let admin = decide_access(Role::Admin, Some(status), *end, *g, now);
            assert_eq!((admin.active, admin.reason), (true, R::Admin));
        }
        let none = decide_access(Role::User, None, None, grace, now);
        assert_eq!((none.active, none.reason), (false, R::NoSubscription));
        assert!(decide_access(Role::Admin, None, None, no_grace, now).active);
    }

    #[test]
    fn stripe_statuses_read_back_and_unknown_ones_are_kept() {
        for known in StripeStatus::KNOWN {
            assert_eq!(StripeStatus::parse(known.as_str()), known);
        }
        let new = StripeStatus::parse("on_hold");
        assert_eq!(new, StripeStatus::Unknown("on_hold".into()));
        assert_eq!(serde_json::to_string(&new).unwrap(), "\"on_hold\"");
        let back: StripeStatus = serde_json::from_str("\"past_due\"").unwrap();
        assert_eq!(back, StripeStatus::PastDue);
    }

    #[test]
    fn plan_prices_read_per_interval_and_the_yearly_saving() {
        let plan = |plan, amount_cents, interval| PlanPriceDto {
            plan,
            amount_cents,
            currency: "EUR".into(),
            interval,
        };
        let plans = [
            plan(Plan::Monthly, 2_900, PlanInterval::Month),
            plan(Plan::Yearly, 29_000, PlanInterval::Year),
        ];
        assert_eq!(plans[0].label(), "29\u{A0}€ / mois");
        assert_eq!(plans[1].label(), "290\u{A0}€ / an");
        assert_eq!(yearly_saving(&plans), Some(5_800));
        let dearer = [
            plans[0].clone(),
            plan(Plan::Yearly, 40_000, PlanInterval::Year),
        ];
        assert_eq!(yearly_saving(&dearer), None);
        assert_eq!(yearly_saving(&plans[..1]), None);
    }

    #[test]
    fn the_period_end_itself_is_already_over() {
        let now = t("2030-06-01T12:00:00Z");
        assert!(
            !decide_access(
                Role::User,
                Some(&StripeStatus::Active),
                Some(now),
                Duration::zero(),
                now
            )
            .active
        );
    }
}
