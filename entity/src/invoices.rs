use sea_orm::entity::prelude::*;

/// An invoice, as it was issued: by Stripe (its number and links), or by
/// the app with the local gateway (`sequence`, gap-free). Never edited.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "invoices")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub user_id: Uuid,
    /// The seat it bills; none for a subscription's invoice.
    #[sea_orm(unique)]
    pub booking_id: Option<Uuid>,
    pub subscription_id: Option<String>,
    /// Stripe's `in_…` (the local gateway's `in_local_…`).
    #[sea_orm(unique)]
    pub provider_invoice_id: Option<String>,
    #[sea_orm(unique)]
    pub number: String,
    /// The app's own counter, when the app issued it.
    #[sea_orm(unique)]
    pub sequence: Option<i64>,
    pub description: String,
    /// Paid, taxes included.
    pub amount_cents: i64,
    pub currency: String,
    /// VAT in basis points (2000 = 20 %), or none with `vat_mention`.
    pub vat_rate_bp: Option<i32>,
    pub vat_mention: Option<String>,
    pub seller: String,
    pub bill_to: String,
    pub hosted_url: Option<String>,
    pub pdf_url: Option<String>,
    pub period_start: Option<DateTimeUtc>,
    pub period_end: Option<DateTimeUtc>,
    pub issued_at: DateTimeUtc,
    /// The SHA-256 of what it says (`api/src/domain/billing/seals.rs`):
    /// the audit finds a row changed by hand. None only between the
    /// migration that added it and the api's first start after it.
    pub content_hash: Option<String>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
