//! Calls the payment provider owes us (invariant 10). A refund or
//! the expiry of a Checkout Session is first committed as owed, in the
//! transaction of the change that makes it due; the provider is called
//! after the commit, with an idempotency key derived from our record, so a
//! retry never refunds twice; the result is recorded last. Whatever a
//! crash or a failing provider leaves owed, `settle_due` (a job, and the
//! `reconcile` command) finishes.

use chrono::{DateTime, Duration, Utc};
use sea_orm::sea_query::Expr;
use sea_orm::{
    ActiveValue::Set, ColumnTrait, ConnectionTrait, DatabaseConnection, DbErr, EntityTrait,
    QueryFilter, QueryOrder, QuerySelect,
};
use uuid::Uuid;

use crate::payments::{GatewayError, PaymentGateway, RefundRequest};
use common::payments::{OwedCallKind, OwedCallStatus};
use entity::immersion_bookings as bookings;
use entity::owed_gateway_calls::{self as owed, Column};

const OWED: &str = OwedCallStatus::Owed.as_str();
const DONE: &str = OwedCallStatus::Done.as_str();
const FAILED: &str = OwedCallStatus::Failed.as_str();

/// How long a claimed call is left to the instance that claimed it before
/// another may try, counted from the claim. One call makes at most four
/// requests to the provider (an invoice's payment, read two ways, the
/// refund, what is left to refund), each bounded by its client's timeout
/// (`STRIPE_TIMEOUT_SECONDS`, at most 14 s): it never outlasts its claim,
/// so the claim needs no renewal.
const CLAIM: Duration = Duration::seconds(60);
/// Calls one pass settles; the next pass takes the rest.
const BATCH: u64 = 100;
/// After this many refusals the provider will not change its mind.
const MAX_REFUSALS: i32 = 5;
/// Stripe keeps an idempotency key for 24 hours: past that, a retry could
/// act twice, so a person must look instead.
const KEY_LIFETIME: Duration = Duration::hours(23);

/// Why a call is owed: why money goes back, or why a subscription is
/// cancelled.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OwedReason {
    /// The owner or an admin cancelled a paid seat.
    Cancel,
    /// A payment arrived after its hold lapsed and no seat was left, or
    /// after the session had begun.
    Late,
    /// A payment that claimed to be ours and did not match what was sold.
    Anomaly,
    /// The session was cancelled (too few attendees, or by an admin).
    SessionCancelled,
    /// A second subscription billed to a customer who had one
    /// (invariant 16).
    SecondSubscription,
    /// A subscription whose payments failed, replaced by the member's
    /// new one (cancelled, nothing refunded).
    Replaced,
    /// The person's account was erased: their live subscription ends.
    Erasure,
}

impl OwedReason {
    fn as_str(self) -> &'static str {
        match self {
            Self::Cancel => "cancel",
            Self::Late => "late",
            Self::Anomaly => "anomaly",
            Self::SessionCancelled => "session_cancelled",
            Self::SecondSubscription => "second_subscription",
            Self::Replaced => "replaced",
            Self::Erasure => "erasure",
        }
    }
}

fn retry_after(attempts: i32) -> Duration {
    // 1, 2, 4 … minutes, at most an hour apart.
    Duration::minutes(1_i64 << attempts.clamp(0, 6))
}

/// A call to owe.
struct NewCall<'a> {
    kind: OwedCallKind,
    reason: &'static str,
    booking_id: Option<Uuid>,
    target: &'a str,
    amount_cents: Option<i64>,
    idempotency_key: String,
}

impl<'a> NewCall<'a> {
    /// A refund of `amount_cents` from `target` (a payment, or an invoice),
    /// keyed by its reason and target. None when nothing was taken (a free
    /// session from before they were refused): nothing goes back, and
    /// Stripe refuses a refund of nothing.
    fn refund(
        kind: OwedCallKind,
        reason: OwedReason,
        booking_id: Option<Uuid>,
        target: &'a str,
        amount_cents: i64,
    ) -> Option<Self> {
        (amount_cents > 0).then(|| Self {
            kind,
            reason: reason.as_str(),
            booking_id,
            target,
            amount_cents: Some(amount_cents),
            idempotency_key: format!("refund-{}-{target}", reason.as_str()),
        })
    }
}

async fn insert(
    db: &impl ConnectionTrait,
    call: NewCall<'_>,
    now: DateTime<Utc>,
) -> Result<Option<Uuid>, DbErr> {
    let id = Uuid::new_v4();
    let key = call.idempotency_key.clone();
    let inserted = owed::Entity::insert(owed::ActiveModel {
        id: Set(id),
        kind: Set(call.kind),
        reason: Set(call.reason.to_owned()),
        booking_id: Set(call.booking_id),
        target: Set(call.target.to_owned()),
        amount_cents: Set(call.amount_cents),
        idempotency_key: Set(call.idempotency_key),
        status: Set(OwedCallStatus::Owed),
        result_id: Set(None),
        attempts: Set(0),
        last_error: Set(None),
        next_attempt_at: Set(now),
        created_at: Set(now),
        done_at: Set(None),
    })
    .on_conflict(
        sea_orm::sea_query::OnConflict::column(Column::IdempotencyKey)
            .do_nothing()
            .to_owned(),
    )
    .exec_without_returning(db)
    .await?;
    if inserted == 1 {
        return Ok(Some(id));
    }
    // The same key owed twice is one call: answer the first.
    Ok(owed::Entity::find()
        .filter(Column::IdempotencyKey.eq(key))
        .one(db)
        .await?
        .map(|c| c.id))
}

/// Owes a refund of `payment_intent`, keyed by what it refunds: the same
/// payment refunded for the same reason is one refund, however often
/// this runs.
pub async fn owe_refund(
    db: &impl ConnectionTrait,
    booking_id: Option<Uuid>,
    payment_intent: &str,
    amount_cents: i64,
    reason: OwedReason,
    now: DateTime<Utc>,
) -> Result<Option<Uuid>, DbErr> {
    let kind = OwedCallKind::Refund;
    let Some(call) = NewCall::refund(kind, reason, booking_id, payment_intent, amount_cents) else {
        return Ok(None);
    };
    insert(db, call, now).await
}

/// Owes the expiry of a Checkout Session whose booking no longer waits
/// for payment, so its page can no longer take money.
pub async fn owe_expiry(
    db: &impl ConnectionTrait,
    booking_id: Uuid,
    checkout_session_id: Option<&str>,
    now: DateTime<Utc>,
) -> Result<Option<Uuid>, DbErr> {
    let Some(cs) = checkout_session_id else {
        return Ok(None);
    };
    let call = NewCall {
        kind: OwedCallKind::ExpireCheckout,
        reason: "hold_ended",
        booking_id: Some(booking_id),
        target: cs,
        amount_cents: None,
        idempotency_key: format!("expire-{cs}"),
    };
    insert(db, call, now).await
}

/// Owes the expiry of a subscription's Checkout page no one may pay any
/// more (its account was erased).
pub async fn owe_page_expiry(
    db: &impl ConnectionTrait,
    checkout_session_id: &str,
    reason: OwedReason,
    now: DateTime<Utc>,
) -> Result<Option<Uuid>, DbErr> {
    let call = NewCall {
        kind: OwedCallKind::ExpireCheckout,
        reason: reason.as_str(),
        booking_id: None,
        target: checkout_session_id,
        amount_cents: None,
        idempotency_key: format!("expire-{checkout_session_id}"),
    };
    insert(db, call, now).await
}

/// Owes the refund of what paid a subscription invoice, keyed by the
/// invoice: one refund however often this runs.
pub async fn owe_invoice_refund(
    db: &impl ConnectionTrait,
    invoice_id: &str,
    amount_cents: i64,
    reason: OwedReason,
    now: DateTime<Utc>,
) -> Result<Option<Uuid>, DbErr> {
    let kind = OwedCallKind::RefundInvoice;
    let Some(call) = NewCall::refund(kind, reason, None, invoice_id, amount_cents) else {
        return Ok(None);
    };
    // One refund per invoice, whatever became of its key (`owe_rest`
    // renames it when only part can still go back).
    if let Some(owed) = owed::Entity::find()
        .filter(Column::Kind.eq(OwedCallKind::RefundInvoice.as_str()))
        .filter(Column::Target.eq(invoice_id))
        .one(db)
        .await?
    {
        return Ok(Some(owed.id));
    }
    insert(db, call, now).await
}

/// Owes the provider's credit note on its invoice `invoice_id` for
/// `amount_cents` given back, keyed by the total it brings the invoice's
/// credit to: the same correction is one credit note, however often this
/// runs.
pub async fn owe_credit_note(
    db: &impl ConnectionTrait,
    booking_id: Option<Uuid>,
    invoice_id: &str,
    amount_cents: i64,
    reason: common::invoices::CreditReason,
    credited_total: i64,
    now: DateTime<Utc>,
) -> Result<Option<Uuid>, DbErr> {
    if amount_cents <= 0 {
        return Ok(None);
    }
    let call = NewCall {
        kind: OwedCallKind::CreditNote,
        reason: reason.as_str(),
        booking_id,
        target: invoice_id,
        amount_cents: Some(amount_cents),
        idempotency_key: format!("credit-note-{invoice_id}-{credited_total}"),
    };
    insert(db, call, now).await
}

/// What the refunds owed or made on a subscription's invoice
/// `invoice_id` give back, and the reason of the latest (a failed one
/// gave nothing back).
pub async fn invoice_refunds(
    db: &impl ConnectionTrait,
    invoice_id: &str,
) -> Result<(i64, Option<String>), DbErr> {
    let calls = owed::Entity::find()
        .filter(Column::Kind.eq(OwedCallKind::RefundInvoice.as_str()))
        .filter(Column::Target.eq(invoice_id))
        .filter(Column::Status.ne(FAILED))
        .order_by_asc(Column::CreatedAt)
        .all(db)
        .await?;
    let total = calls.iter().filter_map(|c| c.amount_cents).sum();
    Ok((total, calls.last().map(|c| c.reason.clone())))
}

/// What the provider's credit notes still owed on `invoice_id` will give
/// back.
pub async fn credit_owed(db: &impl ConnectionTrait, invoice_id: &str) -> Result<i64, DbErr> {
    Ok(owed::Entity::find()
        .filter(Column::Kind.eq(OwedCallKind::CreditNote.as_str()))
        .filter(Column::Target.eq(invoice_id))
        .filter(Column::Status.eq(OWED))
        .all(db)
        .await?
        .iter()
        .filter_map(|c| c.amount_cents)
        .sum())
}

/// Owes the cancellation of a subscription at the provider.
pub async fn owe_cancel_subscription(
    db: &impl ConnectionTrait,
    subscription_id: &str,
    reason: OwedReason,
    now: DateTime<Utc>,
) -> Result<Option<Uuid>, DbErr> {
    let call = NewCall {
        kind: OwedCallKind::CancelSubscription,
        reason: reason.as_str(),
        booking_id: None,
        target: subscription_id,
        amount_cents: None,
        idempotency_key: format!("cancel-{subscription_id}"),
    };
    insert(db, call, now).await
}

/// Owes the deletion of a customer at the provider, with their e-mail,
/// name and cards. It is made after every call owed before it (the
/// erasure's cancels and refunds, their credit notes): the provider acts
/// no more for a customer once deleted.
pub async fn owe_customer_deletion(
    db: &impl ConnectionTrait,
    customer_id: &str,
    reason: OwedReason,
    now: DateTime<Utc>,
) -> Result<Option<Uuid>, DbErr> {
    let call = NewCall {
        kind: OwedCallKind::DeleteCustomer,
        reason: reason.as_str(),
        booking_id: None,
        target: customer_id,
        amount_cents: None,
        idempotency_key: format!("delete-{customer_id}"),
    };
    insert(db, call, now).await
}

/// Whether a call is still owed on what `call`'s customer's person
/// bought (a seat's refund, expiry or credit note; a subscription's end,
/// an invoice's refund or credit note), or by the erasure that owed the
/// deletion (a subscription page's expiry: same reason, same moment):
/// the deletion waits for it, since the provider acts no more for a
/// customer once deleted. Nobody else's calls hold it back.
async fn owed_for_customer(db: &impl ConnectionTrait, call: &owed::Model) -> Result<bool, DbErr> {
    use entity::{invoices, stripe_subscriptions as subs, subscription_status as status};
    use sea_orm::Condition;
    let customer = call.target.as_str();
    let mut people: Vec<Uuid> = status::Entity::find()
        .filter(status::Column::StripeCustomerId.eq(customer))
        .all(db)
        .await?
        .into_iter()
        .map(|s| s.user_id)
        .collect();
    people.extend(
        subs::Entity::find()
            .filter(subs::Column::CustomerId.eq(customer))
            .all(db)
            .await?
            .into_iter()
            .map(|s| s.user_id),
    );
    // (A customer no person is known by still waits for its erasure's
    // other calls: the lists below are then empty.)
    let seats = bookings::Entity::find()
        .filter(bookings::Column::UserId.is_in(people.clone()))
        .all(db)
        .await?
        .into_iter()
        .map(|b| b.id);
    let mut targets: Vec<String> = subs::Entity::find()
        .filter(subs::Column::UserId.is_in(people.clone()))
        .all(db)
        .await?
        .into_iter()
        .map(|s| s.id)
        .collect();
    targets.extend(
        invoices::Entity::find()
            .filter(invoices::Column::UserId.is_in(people))
            .all(db)
            .await?
            .into_iter()
            .filter_map(|i| i.provider_invoice_id),
    );
    Ok(owed::Entity::find()
        .filter(Column::Status.eq(OWED))
        .filter(Column::Kind.ne(OwedCallKind::DeleteCustomer.as_str()))
        .filter(
            Condition::any()
                .add(Column::BookingId.is_in(seats))
                .add(Column::Target.is_in(targets))
                .add(
                    Condition::all()
                        .add(Column::Reason.eq(call.reason.as_str()))
                        .add(Column::CreatedAt.eq(call.created_at)),
                ),
        )
        .one(db)
        .await?
        .is_some())
}

/// How long a deletion waits before it looks again at the calls it waits
/// for: it leaves the head of the line to them meanwhile.
const DEFER: Duration = Duration::minutes(1);

/// Puts a deletion that must wait back in line, `DEFER` from now.
async fn defer(
    db: &impl ConnectionTrait,
    call: &owed::Model,
    now: DateTime<Utc>,
) -> Result<(), DbErr> {
    owed::Entity::update_many()
        .col_expr(
            Column::NextAttemptAt,
            Expr::value(now.max(Utc::now()) + DEFER),
        )
        .filter(Column::Id.eq(call.id))
        .filter(Column::Status.eq(OWED))
        .filter(Column::Attempts.eq(call.attempts))
        .exec(db)
        .await?;
    Ok(())
}

/// What became of one call in a pass.
enum Made {
    Done,
    /// Failed, or claimed by another instance: tried again later.
    NotYet,
    /// A deletion that waits for other calls (not tried).
    Deferred,
}

/// What one settling pass did.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Settled {
    pub done: u64,
    pub failed: u64,
    /// Deletions left waiting for calls owed before them.
    pub deferred: u64,
}

/// Takes the call for this instance: a conditional update on a due call,
/// so two instances (or a job and the request that owed it) never both
/// hold the same claim.
async fn claim(
    db: &impl ConnectionTrait,
    call: &owed::Model,
    now: DateTime<Utc>,
) -> Result<bool, DbErr> {
    let res = owed::Entity::update_many()
        .col_expr(
            Column::NextAttemptAt,
            Expr::value(now.max(Utc::now()) + CLAIM),
        )
        .col_expr(Column::Attempts, Expr::value(call.attempts + 1))
        .filter(Column::Id.eq(call.id))
        .filter(Column::Status.eq(OWED))
        .filter(Column::Attempts.eq(call.attempts))
        .filter(Column::NextAttemptAt.lte(now))
        .exec(db)
        .await?;
    Ok(res.rows_affected == 1)
}

/// Updates a call this instance claimed (its attempt number proves it).
fn claimed(call: &owed::Model) -> sea_orm::UpdateMany<owed::Entity> {
    owed::Entity::update_many()
        .filter(Column::Id.eq(call.id))
        .filter(Column::Status.eq(OWED))
        .filter(Column::Attempts.eq(call.attempts + 1))
}

/// What a call gave back.
enum Answer {
    /// The provider's refund (`re_…`).
    Made(String),
    /// Nothing to record: done without a refund id (an expiry, a cancel,
    /// or money that was already back).
    Nothing,
    /// Only this much can still go back: owe that instead.
    Rest(i64),
}

/// Refunds `payment` for `call`.
async fn refund(
    gateway: &dyn PaymentGateway,
    call: &owed::Model,
    payment: &str,
) -> Result<Answer, GatewayError> {
    let amount = call.amount_cents.unwrap_or_default();
    let refunded = gateway
        .refund(&RefundRequest {
            payment_intent_id: payment.to_owned(),
            amount_cents: amount,
            idempotency_key: call.idempotency_key.clone(),
            booking_id: call.booking_id,
        })
        .await;
    match refunded {
        // Refused: money may have gone back meanwhile (a refund in
        // Stripe's Dashboard whose event has not arrived). Every refund
        // we owe gives back all that is left, so what is already back is
        // not asked again (invariant 15).
        Err(GatewayError::Refused(why)) => match gateway.refundable(payment).await {
            Ok(0) => Ok(Answer::Nothing),
            Ok(left) if left < amount => Ok(Answer::Rest(left)),
            _ => Err(GatewayError::Refused(why)),
        },
        other => other.map(|r| Answer::Made(r.id)),
    }
}

/// Makes one owed call and records its result. No transaction is open
/// while the provider is called.
async fn settle_one(
    db: &impl ConnectionTrait,
    gateway: &dyn PaymentGateway,
    call: &owed::Model,
    now: DateTime<Utc>,
) -> Result<Made, DbErr> {
    if call.kind == OwedCallKind::DeleteCustomer && owed_for_customer(db, call).await? {
        defer(db, call, now).await?;
        return Ok(Made::Deferred);
    }
    if !claim(db, call, now).await? {
        return Ok(Made::NotYet);
    }
    let result = match call.kind {
        OwedCallKind::Refund => refund(gateway, call, &call.target).await,
        // The invoice's payment is named by the provider now: the
        // transaction that owed the refund could not ask (invariant 10).
        OwedCallKind::RefundInvoice => match gateway.invoice_payment(&call.target).await {
            Ok(Some(payment)) => refund(gateway, call, &payment).await,
            // Nothing paid it: nothing goes back.
            Ok(None) => Ok(Answer::Nothing),
            Err(e) => Err(e),
        },
        OwedCallKind::ExpireCheckout => match gateway
            .expire_checkout(&call.target, &call.idempotency_key)
            .await
        {
            // Refused because it is no longer open (paid or expired): it
            // can take no payment, which is all the expiry was for. A
            // payment it took arrives as a late payment.
            Err(GatewayError::Refused(why)) => match gateway.checkout_session(&call.target).await {
                Ok(Some(_)) => Ok(Answer::Nothing),
                _ => Err(GatewayError::Refused(why)),
            },
            other => other.map(|()| Answer::Nothing),
        },
        OwedCallKind::CreditNote => {
            let request = crate::payments::CreditNoteRequest {
                invoice_id: call.target.clone(),
                amount_cents: call.amount_cents.unwrap_or_default(),
                memo: common::invoices::CreditReason::parse(&call.reason)
                    .map_or("Remboursement", common::invoices::CreditReason::french)
                    .to_owned(),
                idempotency_key: call.idempotency_key.clone(),
                booking_id: call.booking_id,
            };
            match gateway.create_credit_note(&request).await {
                Ok(note) => {
                    // Kept before the call is marked done: a crash between
                    // makes the same call again, which Stripe answers with
                    // the same credit note, kept once.
                    super::credit_note_rows::keep_providers(db, call, &note, now).await?;
                    Ok(Answer::Made(note.id))
                }
                Err(e) => Err(e),
            }
        }
        OwedCallKind::CancelSubscription => match gateway
            .cancel_subscription(&call.target, &call.idempotency_key)
            .await
        {
            // Refused because it has ended already: it bills no more,
            // which is all the cancel was for.
            Err(GatewayError::Refused(why)) => match gateway.subscription_ended(&call.target).await
            {
                Ok(true) => Ok(Answer::Nothing),
                _ => Err(GatewayError::Refused(why)),
            },
            other => other.map(|()| Answer::Nothing),
        },
        OwedCallKind::DeleteCustomer => gateway
            .delete_customer(&call.target)
            .await
            .map(|()| Answer::Nothing),
    };
    let result = match result {
        Ok(Answer::Rest(left)) => {
            owe_rest(db, call, left, now).await?;
            return Ok(Made::NotYet);
        }
        Ok(Answer::Made(id)) => Ok(Some(id)),
        Ok(Answer::Nothing) => Ok(None),
        Err(e) => Err(e),
    };
    match result {
        Ok(result_id) => {
            claimed(call)
                .col_expr(Column::Status, Expr::value(DONE))
                .col_expr(Column::ResultId, Expr::value(result_id.clone()))
                .col_expr(Column::DoneAt, Expr::value(Utc::now()))
                .col_expr(Column::LastError, Expr::value(Option::<String>::None))
                .exec(db)
                .await?;
            if let (Some(refund_id), Some(booking)) = (result_id, call.booking_id)
                && call.kind == OwedCallKind::Refund
                && call.reason != OwedReason::Anomaly.as_str()
            {
                bookings::Entity::update_many()
                    .col_expr(bookings::Column::RefundId, Expr::value(refund_id))
                    .filter(bookings::Column::Id.eq(booking))
                    .exec(db)
                    .await?;
            }
            Ok(Made::Done)
        }
        Err(e) => {
            let refused = matches!(e, GatewayError::Refused(_));
            // A deletion does the same however often it is made (it has no
            // key): time is no reason to stop trying.
            let outlived =
                call.kind != OwedCallKind::DeleteCustomer && now - call.created_at > KEY_LIFETIME;
            let give_up = (refused && call.attempts + 1 >= MAX_REFUSALS) || outlived;
            if give_up {
                tracing::error!(call = %call.id, kind = %call.kind, error = %e, "owed payment call failed for good");
            } else {
                tracing::warn!(call = %call.id, kind = %call.kind, error = %e, "owed payment call failed; will retry");
            }
            claimed(call)
                .col_expr(Column::LastError, Expr::value(e.to_string()))
                .col_expr(
                    Column::NextAttemptAt,
                    Expr::value(Ord::max(now, Utc::now()) + retry_after(call.attempts)),
                )
                .col_expr(
                    Column::Status,
                    Expr::value(if give_up { FAILED } else { OWED }),
                )
                .exec(db)
                .await?;
            Ok(Made::NotYet)
        }
    }
}

/// A refund of which only `left` can still go back: the call now owes
/// that, under a key of its own (Stripe refuses a key sent again with
/// another amount), due at once.
async fn owe_rest(
    db: &impl ConnectionTrait,
    call: &owed::Model,
    left: i64,
    now: DateTime<Utc>,
) -> Result<(), DbErr> {
    claimed(call)
        .col_expr(Column::AmountCents, Expr::value(left))
        .col_expr(
            Column::IdempotencyKey,
            Expr::value(format!("{}-rest-{left}", call.idempotency_key)),
        )
        .col_expr(Column::NextAttemptAt, Expr::value(now))
        .exec(db)
        .await?;
    Ok(())
}

async fn settle(
    db: &impl ConnectionTrait,
    gateway: &dyn PaymentGateway,
    mut calls: Vec<owed::Model>,
    now: DateTime<Utc>,
) -> Result<Settled, DbErr> {
    // Deletions last (a stable sort), once the calls they wait for are made.
    calls.sort_by_key(|c| c.kind == OwedCallKind::DeleteCustomer);
    let mut settled = Settled::default();
    for call in calls {
        match settle_one(db, gateway, &call, now).await? {
            Made::Done => settled.done += 1,
            Made::NotYet => settled.failed += 1,
            Made::Deferred => settled.deferred += 1,
        }
    }
    Ok(settled)
}

/// Right after the commit that owed them at `now`: these calls.
pub async fn settle_now(
    db: &impl ConnectionTrait,
    gateway: &dyn PaymentGateway,
    ids: &[Uuid],
    now: DateTime<Utc>,
) -> Result<Settled, DbErr> {
    if ids.is_empty() {
        return Ok(Settled::default());
    }
    let calls = owed::Entity::find()
        .filter(Column::Id.is_in(ids.iter().copied()))
        .filter(Column::Status.eq(OWED))
        .all(db)
        .await?;
    settle(db, gateway, calls, now).await
}

/// What becomes of the calls a change owed, once its transaction has
/// committed. A payment gateway makes them at once (jobs, the command
/// line, the simulation); the app's `Settler` makes them in the
/// background, so that no request waits on the provider.
#[async_trait::async_trait]
pub trait AfterCommit: Send + Sync {
    async fn owed(&self, db: &DatabaseConnection, ids: Vec<Uuid>, now: DateTime<Utc>);
}

#[async_trait::async_trait]
impl AfterCommit for dyn PaymentGateway + '_ {
    async fn owed(&self, db: &DatabaseConnection, ids: Vec<Uuid>, now: DateTime<Utc>) {
        // What fails here stays owed: the job finishes it.
        if let Err(e) = settle_now(db, self, &ids, now).await {
            tracing::warn!(error = %e, "owed calls left to the job");
        }
    }
}

#[async_trait::async_trait]
impl<G: PaymentGateway> AfterCommit for G {
    async fn owed(&self, db: &DatabaseConnection, ids: Vec<Uuid>, now: DateTime<Utc>) {
        (self as &dyn PaymentGateway).owed(db, ids, now).await;
    }
}

/// Keeps the calls owed by several changes, to hand them on together
/// (`take`): one pass then makes them in order, a deletion after the
/// calls owed before it, where separate tasks would race.
#[derive(Default)]
pub struct Gathered(std::sync::Mutex<Vec<Uuid>>);

impl Gathered {
    pub fn take(&self) -> Vec<Uuid> {
        std::mem::take(
            &mut *self
                .0
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner),
        )
    }
}

#[async_trait::async_trait]
impl AfterCommit for Gathered {
    async fn owed(&self, _db: &DatabaseConnection, ids: Vec<Uuid>, _now: DateTime<Utc>) {
        self.0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .extend(ids);
    }
}

/// Makes owed calls right after the commit that owed them, in a task of
/// their own: a cancel answers once its refund is owed, however slow the
/// provider. What fails stays owed for the job; a claim keeps the job
/// from making the same call meanwhile.
pub struct Settler<'a> {
    pub gateway: &'a std::sync::Arc<dyn PaymentGateway>,
    pub tasks: &'a crate::tasks::Tasks,
}

#[async_trait::async_trait]
impl AfterCommit for Settler<'_> {
    async fn owed(&self, db: &DatabaseConnection, ids: Vec<Uuid>, now: DateTime<Utc>) {
        if ids.is_empty() {
            return;
        }
        let (db, gateway) = (db.clone(), self.gateway.clone());
        self.tasks.spawn(async move {
            gateway.as_ref().owed(&db, ids, now).await;
        });
    }
}

/// Of these bookings, those whose refund is owed and not made yet (or
/// refused for good: then a person is on it). A refund of a payment
/// declined as an anomaly is not the booking's.
pub async fn refunds_pending(
    db: &impl ConnectionTrait,
    bookings: impl IntoIterator<Item = Uuid>,
) -> Result<std::collections::HashSet<Uuid>, DbErr> {
    Ok(owed::Entity::find()
        .filter(Column::BookingId.is_in(bookings))
        .filter(Column::Kind.eq(OwedCallKind::Refund.as_str()))
        .filter(Column::Reason.ne(OwedReason::Anomaly.as_str()))
        .filter(Column::Status.is_in([OWED, FAILED]))
        .all(db)
        .await?
        .into_iter()
        .filter_map(|c| c.booking_id)
        .collect())
}

/// Every owed call whose time has come (the job, and `reconcile`).
pub async fn settle_due(
    db: &impl ConnectionTrait,
    gateway: &dyn PaymentGateway,
    now: DateTime<Utc>,
) -> Result<Settled, DbErr> {
    let calls = owed::Entity::find()
        .filter(Column::Status.eq(OWED))
        .filter(Column::NextAttemptAt.lte(now))
        .order_by_asc(Column::NextAttemptAt)
        .limit(BATCH)
        .all(db)
        .await?;
    settle(db, gateway, calls, now).await
}

/// The customers deleted at the provider (an erasure's): nothing is
/// asked about them any more.
pub async fn deleted_customers(
    db: &impl ConnectionTrait,
) -> Result<std::collections::HashSet<String>, DbErr> {
    Ok(owed::Entity::find()
        .filter(Column::Kind.eq(OwedCallKind::DeleteCustomer.as_str()))
        .filter(Column::Status.eq(DONE))
        .all(db)
        .await?
        .into_iter()
        .map(|c| c.target)
        .collect())
}

/// Calls the provider refused for good, or that outlived its idempotency
/// window: a person must look (the audit reports them).
pub async fn failed(db: &impl ConnectionTrait) -> Result<Vec<owed::Model>, DbErr> {
    owed::Entity::find()
        .filter(Column::Status.eq(FAILED))
        .order_by_asc(Column::CreatedAt)
        .all(db)
        .await
}

/// Calls still owed (the audit reports them).
pub async fn still_owed(db: &impl ConnectionTrait) -> Result<Vec<owed::Model>, DbErr> {
    owed::Entity::find()
        .filter(Column::Status.eq(OWED))
        .order_by_asc(Column::CreatedAt)
        .all(db)
        .await
}
