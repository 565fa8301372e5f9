//! Credit notes (`credit_notes`, factures d'avoir) and the seal of every
//! legal record (`content_hash`).
//!
//! A French invoice is never edited or deleted: a refund is documented by
//! a credit note that refers to its invoice (invariant 18). The app's own
//! credit notes are numbered in a series of their own, gap-free like the
//! invoices' (`invoice_numbers` row `credit_notes`, taken in the
//! transaction that records the refund); Stripe's keep Stripe's number
//! (`provider_credit_note_id`).
//!
//! Stripe's credit notes are owed to Stripe like refunds
//! (`owed_gateway_calls` kind `credit_note`, whose CHECK is widened).
//!
//! `content_hash` is the SHA-256 of what a record says, written when it is
//! issued; `immersion audit` recomputes it, so a row changed by hand is
//! found. Invoices issued before this migration are sealed by the api
//! right after it (`domain/billing/seals.rs`), under the setup lock.

use sea_orm_migration::{prelude::*, schema::*};

use crate::m20261201_000018_subscription_calls::{AFTER as KINDS_BEFORE, set_kinds};

/// The owed calls' kinds, with Stripe's credit notes.
pub(crate) const KINDS: &str =
    "kind IN ('refund', 'expire_checkout', 'cancel_sub', 'refund_invoice', 'credit_note')";

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    fn use_transaction(&self) -> Option<bool> {
        Some(true)
    }

    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        set_kinds(manager, KINDS_BEFORE, KINDS).await?;
        manager
            .alter_table(
                Table::alter()
                    .table("invoices")
                    .add_column(string_len_null("content_hash", 64))
                    .to_owned(),
            )
            .await?;
        manager
            .exec_stmt(
                Query::insert()
                    .into_table("invoice_numbers")
                    .columns(["name", "last"])
                    .values_panic(["credit_notes".into(), 0i64.into()])
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table("credit_notes")
                    .col(pk_uuid("id"))
                    .col(uuid("invoice_id"))
                    .col(uuid("user_id"))
                    .col(uuid_null("booking_id"))
                    .col(string_len_null("provider_credit_note_id", 255).unique_key())
                    .col(string_len("number", 64).unique_key())
                    .col(big_integer_null("sequence").unique_key())
                    .col(string_len("reason", 32))
                    .col(string_len("description", 500))
                    .col(big_integer("amount_cents"))
                    .col(string_len("currency", 3))
                    .col(integer_null("vat_rate_bp"))
                    .col(string_len_null("vat_mention", 300))
                    .col(string_len("seller", 2000))
                    .col(string_len("bill_to", 1000))
                    .col(string_len_null("pdf_url", 2048))
                    .col(timestamp_with_time_zone("issued_at"))
                    .col(string_len("content_hash", 64))
                    .check(Expr::col("amount_cents").gt(0))
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_credit_notes_invoice")
                            .from("credit_notes", "invoice_id")
                            .to("invoices", "id")
                            .on_delete(ForeignKeyAction::Restrict),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_credit_notes_invoice")
                    .table("credit_notes")
                    .col("invoice_id")
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_credit_notes_user")
                    .table("credit_notes")
                    .col("user_id")
                    .col("issued_at")
                    .to_owned(),
            )
            .await
    }

    /// Refused while Stripe credit notes are owed or recorded: they are
    /// payment records, never deleted.
    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        set_kinds(manager, KINDS, KINDS_BEFORE).await?;
        manager
            .drop_table(Table::drop().table("credit_notes").to_owned())
            .await?;
        manager
            .exec_stmt(
                Query::delete()
                    .from_table("invoice_numbers")
                    .and_where(Expr::col("name").eq("credit_notes"))
                    .to_owned(),
            )
            .await?;
        manager
            .alter_table(
                Table::alter()
                    .table("invoices")
                    .drop_column("content_hash")
                    .to_owned(),
            )
            .await
    }
}
