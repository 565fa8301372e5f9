//! The payment provider's customer of an erased account is deleted there
//! too (GDPR article 17): its e-mail, name and cards live at Stripe, not
//! here. The deletion is owed like the other calls (`owed_gateway_calls`
//! kind `delete_customer`, whose CHECK is widened).

use sea_orm_migration::prelude::*;

use crate::m20261201_000018_subscription_calls::set_kinds;
use crate::m20261202_000024_credit_notes::KINDS as KINDS_BEFORE;

/// The owed calls' kinds, with the deletion of a customer.
const KINDS: &str = "kind IN ('refund', 'expire_checkout', 'cancel_sub', 'refund_invoice', 'credit_note', 'delete_customer')";

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    /// All or nothing: a crash mid-rebuild must not leave the calls in a
    /// side table.
    fn use_transaction(&self) -> Option<bool> {
        Some(true)
    }

    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        set_kinds(manager, KINDS_BEFORE, KINDS).await
    }

    /// Refused while deletions are recorded: they are the proof that an
    /// erasure reached the provider.
    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        set_kinds(manager, KINDS, KINDS_BEFORE).await
    }
}
