//! Every table of the data model, with the rules the database itself enforces:
//! CHECK constraints on places and dates, unique keys, and at most one
//! held-or-confirmed booking per (session, user).

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

fn created_updated(mut t: TableCreateStatement) -> TableCreateStatement {
    t.col(timestamp_with_time_zone("created_at"))
        .col(timestamp_with_time_zone("updated_at"));
    t
}

fn users() -> TableCreateStatement {
    let mut t = Table::create();
    t.table("users")
        .col(pk_uuid("id"))
        .col(string_len_uniq("email", 254))
        .col(string("password_hash"))
        .col(string_len("role", 16).default("user"))
        .col(string_len("license", 16).default("none"))
        .check(("ck_users_role", Expr::cust("role IN ('user', 'admin')")))
        .check((
            "ck_users_license",
            Expr::cust("license IN ('none', 'immersion')"),
        ));
    created_updated(t)
}

fn sessions() -> TableCreateStatement {
    let mut t = Table::create();
    t.table("immersion_sessions")
        .col(pk_uuid("id"))
        .col(date("starts_on"))
        .col(date("ends_on"))
        .col(integer("max_places"))
        .col(integer("reserved_places").default(0))
        .col(string_len("status", 16).default("open"))
        .col(boolean("closed_by_admin").default(false))
        .col(string_len("location", 200))
        .col(big_integer("price_cents"))
        .col(char_len("currency", 3))
        .col(text_null("description"))
        .col(boolean("is_active").default(true))
        .check((
            "ck_sessions_places",
            Expr::cust(
                "reserved_places >= 0 AND reserved_places <= max_places AND max_places >= 1",
            ),
        ))
        .check(("ck_sessions_dates", Expr::cust("ends_on >= starts_on")))
        .check(("ck_sessions_price", Expr::cust("price_cents >= 0")))
        .check((
            "ck_sessions_status",
            Expr::cust("status IN ('open', 'full', 'closed')"),
        ));
    created_updated(t)
}

fn bookings() -> TableCreateStatement {
    let mut t = Table::create();
    t.table("immersion_bookings")
        .col(pk_uuid("id"))
        .col(uuid("session_id"))
        .col(uuid("user_id"))
        .col(string_len("user_email", 254))
        .col(string_len("status", 16))
        .col(timestamp_with_time_zone_null("hold_expires_at"))
        .col(string_len_null("stripe_checkout_session_id", 255).unique_key())
        .col(string_len_null("stripe_payment_intent_id", 255))
        .col(big_integer("amount_cents"))
        .col(char_len("currency", 3))
        .check((
            "ck_bookings_status",
            Expr::cust("status IN ('held', 'confirmed', 'cancelled', 'expired', 'refunded')"),
        ))
        .check(("ck_bookings_amount", Expr::cust("amount_cents >= 0")))
        .foreign_key(
            ForeignKey::create()
                .name("fk_bookings_session")
                .from("immersion_bookings", "session_id")
                .to("immersion_sessions", "id")
                .on_delete(ForeignKeyAction::Cascade),
        )
        .foreign_key(
            ForeignKey::create()
                .name("fk_bookings_user")
                .from("immersion_bookings", "user_id")
                .to("users", "id")
                .on_delete(ForeignKeyAction::Restrict),
        );
    created_updated(t)
}

fn subscription_status() -> TableCreateStatement {
    let mut t = Table::create();
    t.table("subscription_status")
        .col(pk_uuid("user_id"))
        .col(boolean("is_active").default(false))
        .col(string_len("subscription_type", 32).default("free"))
        .col(string_len_null("stripe_customer_id", 255))
        .col(string_len_null("stripe_subscription_id", 255))
        .col(string_len_null("stripe_status", 32))
        .col(timestamp_with_time_zone_null("current_period_end"))
        .col(boolean("cancel_at_period_end").default(false))
        .col(timestamp_with_time_zone_null("last_event_at"))
        .col(timestamp_with_time_zone("updated_at"))
        .check((
            "ck_subscription_type",
            Expr::cust("subscription_type IN ('free', 'premium_monthly', 'premium_yearly')"),
        ))
        .foreign_key(
            ForeignKey::create()
                .name("fk_subscription_user")
                .from("subscription_status", "user_id")
                .to("users", "id")
                .on_delete(ForeignKeyAction::Cascade),
        );
    t
}

fn stripe_events() -> TableCreateStatement {
    let mut t = Table::create();
    t.table("stripe_events")
        .col(string_len("id", 255).primary_key())
        .col(string_len("type", 255))
        .col(timestamp_with_time_zone("created"))
        .col(timestamp_with_time_zone("received_at"))
        .col(timestamp_with_time_zone_null("processed_at"))
        .col(string_len_null("outcome", 64));
    t
}

fn mail_outbox() -> TableCreateStatement {
    let mut t = Table::create();
    t.table("mail_outbox")
        .col(pk_uuid("id"))
        .col(string_len("recipient", 254))
        .col(string_len("subject", 255))
        .col(text("body"))
        .col(string_len("status", 16).default("pending"))
        .col(integer("attempts").default(0))
        .col(timestamp_with_time_zone("next_attempt_at"))
        .col(timestamp_with_time_zone_null("sent_at"))
        .col(text_null("last_error"))
        .col(timestamp_with_time_zone("created_at"))
        .check((
            "ck_mail_status",
            Expr::cust("status IN ('pending', 'sent', 'failed')"),
        ));
    t
}

fn member_resources() -> TableCreateStatement {
    let mut t = Table::create();
    t.table("member_resources")
        .col(pk_uuid("id"))
        .col(string_len("title", 200))
        .col(string_len("kind", 16))
        .col(text_null("url"))
        .col(text_null("body"))
        .col(integer("position").default(0))
        .check((
            "ck_resources_kind",
            Expr::cust("kind IN ('link', 'video', 'document', 'text')"),
        ));
    created_updated(t)
}

/// Raw statements are used where the portable subset of SQL says it best:
/// both SQLite and PostgreSQL support partial unique indexes.
const INDEXES: &[&str] = &[
    "CREATE UNIQUE INDEX ux_bookings_one_active ON immersion_bookings (session_id, user_id) WHERE status IN ('held', 'confirmed')",
    "CREATE INDEX ix_bookings_session_status ON immersion_bookings (session_id, status)",
    "CREATE INDEX ix_bookings_user ON immersion_bookings (user_id, created_at)",
    "CREATE INDEX ix_bookings_hold_expiry ON immersion_bookings (hold_expires_at) WHERE status = 'held'",
    "CREATE INDEX ix_sessions_active_start ON immersion_sessions (is_active, starts_on)",
    "CREATE INDEX ix_subscription_customer ON subscription_status (stripe_customer_id)",
    "CREATE INDEX ix_subscription_period_end ON subscription_status (current_period_end) WHERE is_active",
    "CREATE INDEX ix_mail_pending ON mail_outbox (next_attempt_at) WHERE status = 'pending'",
    "CREATE INDEX ix_resources_position ON member_resources (position)",
];

const TABLES: &[&str] = &[
    "member_resources",
    "mail_outbox",
    "stripe_events",
    "subscription_status",
    "immersion_bookings",
    "immersion_sessions",
    "users",
];

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for table in [
            users(),
            sessions(),
            bookings(),
            subscription_status(),
            stripe_events(),
            mail_outbox(),
            member_resources(),
        ] {
            manager.create_table(table).await?;
        }
        let db = manager.get_connection();
        for sql in INDEXES {
            db.execute_unprepared(sql).await?;
        }
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for table in TABLES {
            manager
                .drop_table(Table::drop().table(*table).to_owned())
                .await?;
        }
        Ok(())
    }
}
