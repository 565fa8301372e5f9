use sea_orm::entity::prelude::*;

/// A credit note ("facture d'avoir"): the correction of an invoice by a
/// refund, never edited (invariant 18). The app's own are numbered from
/// the `credit_notes` counter (`sequence`, gap-free); Stripe's keep
/// Stripe's number.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "credit_notes")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    /// The invoice it corrects.
    pub invoice_id: Uuid,
    pub user_id: Uuid,
    pub booking_id: Option<Uuid>,
    /// Stripe's `cn_…`.
    #[sea_orm(unique)]
    pub provider_credit_note_id: Option<String>,
    #[sea_orm(unique)]
    pub number: String,
    #[sea_orm(unique)]
    pub sequence: Option<i64>,
    /// Why the money went back (`common::invoices::CreditReason`).
    pub reason: String,
    pub description: String,
    /// Credited, taxes included: more than zero.
    pub amount_cents: i64,
    pub currency: String,
    pub vat_rate_bp: Option<i32>,
    pub vat_mention: Option<String>,
    pub seller: String,
    pub bill_to: String,
    pub pdf_url: Option<String>,
    pub issued_at: DateTimeUtc,
    /// The SHA-256 of what it says (`api/src/domain/billing/seals.rs`).
    pub content_hash: String,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
