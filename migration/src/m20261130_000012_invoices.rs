//! Invoices (`invoices`) and the gap-free counter that numbers the ones the
//! app issues itself (`invoice_numbers`).
//!
//! With Stripe, Stripe issues and numbers the invoices: a row keeps its
//! number and links (`provider_invoice_id`, `hosted_url`, `pdf_url`). With
//! the local gateway the app issues them: `sequence` comes from the
//! counter, incremented in the transaction that writes the invoice, so a
//! rolled-back payment gives its number back and numbers have no gaps
//! (French invoices must follow one unbroken sequence). What an invoice
//! says is kept as issued (seller, buyer, line, VAT): a profile edited
//! later does not change an invoice already sent.

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    fn use_transaction(&self) -> Option<bool> {
        Some(true)
    }

    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table("invoice_numbers")
                    .col(string_len("name", 32).primary_key())
                    .col(big_integer("last"))
                    .to_owned(),
            )
            .await?;
        manager
            .exec_stmt(
                Query::insert()
                    .into_table("invoice_numbers")
                    .columns(["name", "last"])
                    .values_panic(["invoices".into(), 0i64.into()])
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table("invoices")
                    .col(pk_uuid("id"))
                    .col(uuid("user_id"))
                    .col(uuid_null("booking_id").unique_key())
                    .col(string_len_null("subscription_id", 255))
                    .col(string_len_null("provider_invoice_id", 255).unique_key())
                    .col(string_len("number", 64).unique_key())
                    .col(big_integer_null("sequence").unique_key())
                    .col(string_len("description", 500))
                    .col(big_integer("amount_cents"))
                    .col(string_len("currency", 3))
                    .col(integer_null("vat_rate_bp"))
                    .col(string_len_null("vat_mention", 300))
                    .col(string_len("seller", 1000))
                    .col(string_len("bill_to", 1000))
                    .col(string_len_null("hosted_url", 2048))
                    .col(string_len_null("pdf_url", 2048))
                    .col(timestamp_with_time_zone_null("period_start"))
                    .col(timestamp_with_time_zone_null("period_end"))
                    .col(timestamp_with_time_zone("issued_at"))
                    .check(Expr::col("amount_cents").gte(0))
                    .check(
                        Expr::col("vat_rate_bp")
                            .is_null()
                            .or(Expr::col("vat_rate_bp").between(0, 10_000)),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_invoices_user")
                            .from("invoices", "user_id")
                            .to("users", "id")
                            .on_delete(ForeignKeyAction::Restrict),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_invoices_booking")
                            .from("invoices", "booking_id")
                            .to("immersion_bookings", "id")
                            .on_delete(ForeignKeyAction::Restrict),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_invoices_user")
                    .table("invoices")
                    .col("user_id")
                    .col("issued_at")
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table("invoices").to_owned())
            .await?;
        manager
            .drop_table(Table::drop().table("invoice_numbers").to_owned())
            .await
    }
}
