//! Taking and giving back seats. Each is one conditional UPDATE that also
//! derives the session's status from the new count (invariants 2
//! and 3); callers run it in the same transaction as the booking change.

use std::sync::LazyLock;

use chrono::{DateTime, NaiveDate, Utc};
use common::bookings::BookingStatus;
use common::events::EventType;
use common::sessions::{SessionDecision, SessionStatus};
use common::waitlist::WaitlistStatus;
use sea_orm::sea_query::{Expr, ExprTrait, Query, SelectStatement, SimpleExpr, SubQueryStatement};
use sea_orm::{
    ColumnTrait, ConnectionTrait, DbBackend, DbErr, EntityTrait, Iterable, PaginatorTrait,
    QueryFilter, QueryOrder, QueryTrait, Statement, Value,
};
use uuid::Uuid;

use crate::db::rendered::{self, Fresh, Inputs, Rendered};
use entity::immersion_bookings as bookings;
use entity::immersion_sessions::{self as sessions, Column};

pub use super::views::{announce_booking, announce_session, booking_dto};

/// The status once `reserved_places` has moved by `delta`.
fn status_after(delta: i32, today: NaiveDate) -> SimpleExpr {
    status_rule(
        Expr::col(Column::ClosedByAdmin),
        Expr::col(Column::StartsOn),
        Expr::col(Column::MaxPlaces),
        delta,
        today,
    )
}

/// `common::derive_status` in SQL, the one copy every UPDATE of a
/// session's status uses (`tests/api/status_rule.rs` checks it against
/// the rule for every case). The closing flag, start and size are given
/// as expressions: an UPDATE that changes them passes their new values,
/// since SQL reads the old ones on the right-hand side.
pub(crate) fn status_rule(
    closed_by_admin: SimpleExpr,
    starts_on: SimpleExpr,
    max_places: SimpleExpr,
    delta: i32,
    today: NaiveDate,
) -> SimpleExpr {
    Expr::case(
        closed_by_admin.eq(true).or(starts_on.lte(today)),
        SessionStatus::Closed.as_str(),
    )
    .case(
        Expr::col(Column::ReservedPlaces).add(delta).gte(max_places),
        SessionStatus::Full.as_str(),
    )
    .finally(SessionStatus::Open.as_str())
    .into()
}

/// What the seat's UPDATE is built from (`take`'s arguments, owned).
struct Take {
    session_id: Uuid,
    today: NaiveDate,
    now: DateTime<Utc>,
    open_only: bool,
    taker: Option<TakerInputs>,
}

struct TakerInputs {
    user: Uuid,
    cooldown_since: Option<DateTime<Utc>>,
    from_catalog: bool,
    address: Option<(String, u32)>,
    one_hold_unless_verified: bool,
    named: bool,
}

/// Owned, as the statement's inputs are; `taker` lends it back.
impl From<Taker<'_>> for TakerInputs {
    fn from(t: Taker<'_>) -> Self {
        Self {
            user: t.user,
            cooldown_since: t.cooldown_since,
            from_catalog: t.from_catalog,
            address: t.address.map(|(a, limit)| (a.to_owned(), limit)),
            one_hold_unless_verified: t.one_hold_unless_verified,
            named: t.named,
        }
    }
}

impl TakerInputs {
    fn taker(&self) -> Taker<'_> {
        Taker {
            user: self.user,
            cooldown_since: self.cooldown_since,
            from_catalog: self.from_catalog,
            address: self.address.as_ref().map(|(a, limit)| (a.as_str(), *limit)),
            one_hold_unless_verified: self.one_hold_unless_verified,
            named: self.named,
        }
    }
}

impl Inputs for Take {
    fn values(&self) -> Vec<Value> {
        let t = self.taker.as_ref();
        let address = t.and_then(|t| t.address.as_ref());
        vec![
            self.session_id.into(),
            self.today.into(),
            self.now.into(),
            t.map(|t| t.user).into(),
            t.and_then(|t| t.cooldown_since).into(),
            address.map(|(a, _)| a.clone()).into(),
            address.map(|(_, limit)| i64::from(*limit)).into(),
        ]
    }

    fn stand_in(&self, fresh: &mut Fresh) -> Self {
        Self {
            session_id: fresh.uuid(),
            today: fresh.date(),
            now: fresh.time(),
            open_only: self.open_only,
            taker: self.taker.as_ref().map(|t| TakerInputs {
                user: fresh.uuid(),
                cooldown_since: t.cooldown_since.map(|_| fresh.time()),
                from_catalog: t.from_catalog,
                address: t.address.as_ref().map(|_| (fresh.text(), fresh.number())),
                one_hold_unless_verified: t.one_hold_unless_verified,
                named: t.named,
            }),
        }
    }

    fn shape(&self) -> u64 {
        let t = self.taker.as_ref();
        rendered::shape(&[
            self.open_only,
            t.is_some(),
            t.is_some_and(|t| t.cooldown_since.is_some()),
            t.is_some_and(|t| t.from_catalog),
            t.is_some_and(|t| t.address.is_some()),
            t.is_some_and(|t| t.one_hold_unless_verified),
            t.is_some_and(|t| t.named),
        ])
    }
}

/// The seat's UPDATE, rendered once per shape: the hot statement of a
/// hold.
static TAKE: LazyLock<Rendered<Take>> = LazyLock::new(|| Rendered::new("take", take_statement));

/// `UPDATE immersion_sessions SET reserved_places = reserved_places + 1,
/// status = … WHERE` a seat is free and the taker may have it
/// `RETURNING` the session.
fn take_statement(inputs: &Take, backend: DbBackend) -> Statement {
    let (session_id, today) = (inputs.session_id, inputs.today);
    let mut update = sessions::Entity::update_many()
        .col_expr(
            Column::ReservedPlaces,
            Expr::col(Column::ReservedPlaces).add(1),
        )
        .col_expr(Column::Status, status_after(1, today))
        .col_expr(Column::UpdatedAt, Expr::value(inputs.now))
        .filter(Column::Id.eq(session_id))
        .filter(Expr::col(Column::ReservedPlaces).lt(Expr::col(Column::MaxPlaces)))
        // A cancelled session seats nobody, not even a late payment: its
        // seats were refunded.
        .filter(
            Column::Decision
                .is_null()
                .or(Column::Decision.ne(SessionDecision::Cancelled.as_str())),
        );
    if inputs.open_only {
        update = update
            .filter(Column::IsActive.eq(true))
            .filter(Column::ClosedByAdmin.eq(false))
            .filter(Column::StartsOn.gt(today));
    }
    if let Some(taker) = inputs.taker.as_ref().map(TakerInputs::taker) {
        update = update.filter(Expr::exists(blocking_booking(session_id, taker)).not());
        if taker.from_catalog {
            update = update.filter(Expr::exists(someone_waiting(session_id)).not());
        }
        if let Some((address, limit)) = taker.address {
            let held = SimpleExpr::SubQuery(
                None,
                Box::new(SubQueryStatement::SelectStatement(held_from(
                    session_id, address,
                ))),
            );
            update = update.filter(held.lt(i64::from(limit)));
        }
        if taker.one_hold_unless_verified {
            update = update.filter(
                Expr::exists(verified(taker.user)).or(Expr::exists(a_hold_of(taker.user)).not()),
            );
        }
        if taker.named {
            update = update.filter(Expr::exists(named(taker.user)));
        }
    }
    // As sea-orm's `exec_with_returning` asks for the row.
    let mut query = update.into_query();
    query.returning(
        Query::returning().exprs(
            <sessions::Entity as EntityTrait>::Column::iter()
                .map(|c| c.select_as(c.into_returning_expr(backend))),
        ),
    );
    backend.build(&query)
}

/// Why a seat could not be taken.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NoSeat {
    NotFound,
    Closed,
    Full,
    /// A seat is free but people wait in line for it: it is theirs.
    OwedToLine,
    /// The user already holds or has a seat in this session.
    AlreadyBooked,
    /// The user let a hold of this session lapse (or cancelled it) unpaid
    /// too recently: at this instant.
    CoolingDown(chrono::DateTime<chrono::Utc>),
    /// The client address already holds this many seats of the session.
    AddressLimit(u32),
    /// The account's address is not verified and it holds a seat already.
    VerifyFirst,
    /// The user has not given both names, which a first booking needs.
    Unnamed,
    /// The account was erased while the request ran.
    Erased,
}

/// Who takes the seat, and since when their lapsed holds of the session
/// still count against them (holding seats without paying, over and over,
/// would keep a session full for nobody).
#[derive(Debug, Clone, Copy)]
pub struct Taker<'a> {
    pub user: Uuid,
    pub cooldown_since: Option<chrono::DateTime<chrono::Utc>>,
    /// A hold from the catalog: it takes a seat only when nobody waits for
    /// one (invariant 13). An offer to the first in line, or a late
    /// payment, is not from the catalog.
    pub from_catalog: bool,
    /// The client address that asks (its keyed hash) and how many seats
    /// of the session it may hold at once, across accounts: throwaway
    /// accounts from one address cannot hoard a session. None for an
    /// offer or a late payment, which no address asked for.
    pub address: Option<(&'a str, u32)>,
    /// An account whose e-mail address is not verified holds one seat at
    /// a time, in any session.
    pub one_hold_unless_verified: bool,
    /// The user must have given both names (invoices and attendance
    /// sheets name the person); false for an offer or a late payment,
    /// whose seat was asked for already.
    pub named: bool,
}

/// Takes one seat and returns the session as updated. With `open_only`,
/// the session must be bookable (active, not closed, not started); a late
/// payment passes false and may take any free seat. With `for_user`, the
/// seat is taken only if that user holds none there yet — in the same
/// statement, so the common case costs one round trip.
pub async fn take(
    db: &impl ConnectionTrait,
    session_id: Uuid,
    today: NaiveDate,
    open_only: bool,
    for_user: Option<Taker<'_>>,
) -> Result<Result<sessions::Model, NoSeat>, DbErr> {
    let inputs = Take {
        session_id,
        today,
        now: Utc::now(),
        open_only,
        taker: for_user.map(TakerInputs::from),
    };
    let statement = TAKE.statement(db.get_database_backend(), &inputs);
    let updated = sessions::Entity::find()
        .from_raw_sql(statement)
        .all(db)
        .await?
        .into_iter()
        .next();
    if let Some(updated) = updated {
        if updated.reserved_places >= updated.max_places {
            announce_session(db, &updated, EventType::SessionFull, Utc::now()).await?;
        }
        return Ok(Ok(updated));
    }
    // Nothing changed: say why, from the rows as they are now.
    if let Some(taker) = for_user {
        if taker.named
            && !crate::domain::accounts::profiles::get(db, taker.user)
                .await
                .map_err(|e| DbErr::Custom(e.to_string()))?
                .complete
        {
            // The names go with an erased account: a request under way
            // when the erasure committed is told that, not asked for names.
            let erased = crate::domain::accounts::standing::was_erased(db, taker.user).await?;
            return Ok(Err(if erased {
                NoSeat::Erased
            } else {
                NoSeat::Unnamed
            }));
        }
        let mine = || {
            bookings::Entity::find()
                .filter(bookings::Column::SessionId.eq(session_id))
                .filter(bookings::Column::UserId.eq(taker.user))
        };
        if mine()
            .filter(bookings::Column::Status.is_in(ACTIVE))
            .one(db)
            .await?
            .is_some()
        {
            return Ok(Err(NoSeat::AlreadyBooked));
        }
        if let Some(broken) = limit_broken(db, session_id, taker, false).await? {
            return Ok(Err(broken));
        }
        if let Some(since) = taker.cooldown_since
            && let Some(last) = mine()
                .filter(lapsed_unpaid_since(since))
                .order_by_desc(bookings::Column::UpdatedAt)
                .one(db)
                .await?
        {
            return Ok(Err(NoSeat::CoolingDown(last.updated_at)));
        }
    }
    let Some(s) = sessions::Entity::find_by_id(session_id).one(db).await? else {
        return Ok(Err(NoSeat::NotFound));
    };
    Ok(Err(if open_only && !s.is_active {
        NoSeat::NotFound
    } else if open_only && (s.closed_by_admin || s.starts_on <= today) {
        NoSeat::Closed
    } else if s.reserved_places < s.max_places && for_user.is_some_and(|t| t.from_catalog) {
        NoSeat::OwedToLine
    } else {
        NoSeat::Full
    }))
}

/// The limits of `taker` counted again once its hold is inserted, in the
/// same transaction: the UPDATE that took the seat holds the session's row
/// lock, so this count sees every other hold of the session that came
/// first. (The statement's own subqueries read the snapshot it started
/// with: on PostgreSQL a hold that committed while it waited for the lock
/// is not in it.) None when within the limits.
pub async fn over_limits(
    db: &impl ConnectionTrait,
    session_id: Uuid,
    taker: Taker<'_>,
) -> Result<Option<NoSeat>, DbErr> {
    limit_broken(db, session_id, taker, true).await
}

/// The limit of `taker` that its hold breaks, counted from the rows:
/// `inserted` when the hold is among them already (the recount), not yet
/// when saying why a seat was refused. The recount serializes an
/// unverified account's holds in other sessions by a lock on its user row.
async fn limit_broken(
    db: &impl ConnectionTrait,
    session_id: Uuid,
    taker: Taker<'_>,
    inserted: bool,
) -> Result<Option<NoSeat>, DbErr> {
    let theirs = u64::from(!inserted);
    let held = || {
        bookings::Entity::find().filter(bookings::Column::Status.eq(BookingStatus::Held.as_str()))
    };
    if let Some((address, limit)) = taker.address {
        let inputs = FromAddress {
            session_id,
            address: address.to_owned(),
        };
        let count = HELD_FROM.statement(db.get_database_backend(), &inputs);
        let from_there = match db.query_one_raw(count).await? {
            Some(row) => u64::try_from(row.try_get_by_index::<i64>(0)?).unwrap_or(0),
            None => 0,
        };
        if from_there + theirs > u64::from(limit) {
            return Ok(Some(NoSeat::AddressLimit(limit)));
        }
    }
    if taker.one_hold_unless_verified {
        use entity::users::{Column as U, Entity as Users};
        let unverified = if inserted {
            // A write on the row is its lock, on both databases; it
            // changes a row only when the address is not verified, which
            // an erased account's never is. Made after the booking's
            // insert, whose reference to the row waits for an erasure
            // under way: this reads the row as the erasure left it.
            let lock = LOCK_UNVERIFIED.statement(db.get_database_backend(), &taker.user);
            match db.query_one_raw(lock).await? {
                Some(row) if row.try_get_by_index::<bool>(0)? => return Ok(Some(NoSeat::Erased)),
                Some(_) => true,
                None => false,
            }
        } else {
            Users::find_by_id(taker.user)
                .filter(U::EmailVerifiedAt.is_null())
                .one(db)
                .await?
                .is_some()
        };
        if unverified {
            let holds = held()
                .filter(bookings::Column::UserId.eq(taker.user))
                .count(db)
                .await?;
            if holds + theirs > 1 {
                return Ok(Some(NoSeat::VerifyFirst));
            }
        }
    }
    Ok(None)
}

/// A session and a client address: `held_from`'s inputs.
struct FromAddress {
    session_id: Uuid,
    address: String,
}

impl Inputs for FromAddress {
    fn values(&self) -> Vec<Value> {
        vec![self.session_id.into(), self.address.clone().into()]
    }

    fn stand_in(&self, fresh: &mut Fresh) -> Self {
        Self {
            session_id: fresh.uuid(),
            address: fresh.text(),
        }
    }

    fn shape(&self) -> u64 {
        0
    }
}

/// The recount of an address's holds, after each hold.
static HELD_FROM: LazyLock<Rendered<FromAddress>> = LazyLock::new(|| {
    Rendered::new("held_from", |i: &FromAddress, backend: DbBackend| {
        backend.build(&held_from(i.session_id, &i.address))
    })
});

/// The user's row, written onto itself while their e-mail address is not
/// verified: the lock that serializes an unverified account's holds.
/// Answers whether the account was erased.
static LOCK_UNVERIFIED: LazyLock<Rendered<Uuid>> = LazyLock::new(|| {
    Rendered::new("lock_unverified", |user: &Uuid, backend: DbBackend| {
        use entity::users::{Column as U, Entity as Users};
        let mut update = Users::update_many()
            .col_expr(U::Email, Expr::col(U::Email))
            .filter(U::Id.eq(*user))
            .filter(U::EmailVerifiedAt.is_null())
            .into_query();
        update.returning(Query::returning().expr(Expr::col(U::ErasedAt).is_not_null()));
        backend.build(&update)
    })
});

/// The seats of the session held from one client address.
fn held_from(session_id: Uuid, address: &str) -> SelectStatement {
    use bookings::{Column as B, Entity as E};
    Query::select()
        .expr(Expr::col((E, B::Id)).count())
        .from(E)
        .and_where(Expr::col((E, B::SessionId)).eq(session_id))
        .and_where(Expr::col((E, B::Status)).eq(BookingStatus::Held.as_str()))
        .and_where(Expr::col((E, B::ClientAddress)).eq(address))
        .to_owned()
}

/// `SELECT 1 FROM table WHERE` all of `conditions`: a row for EXISTS.
fn rows_where(
    table: impl sea_orm::sea_query::IntoTableRef,
    conditions: impl IntoIterator<Item = SimpleExpr>,
) -> SelectStatement {
    let mut select = Query::select();
    select.expr(Expr::val(1)).from(table);
    for condition in conditions {
        select.and_where(condition);
    }
    select
}

/// The user, when their e-mail address is verified.
fn verified(user: Uuid) -> SelectStatement {
    use entity::users::{Column as U, Entity as E};
    rows_where(
        E,
        [
            Expr::col((E, U::Id)).eq(user),
            Expr::col((E, U::EmailVerifiedAt)).is_not_null(),
        ],
    )
}

/// The user's profile, with both names.
fn named(user: Uuid) -> SelectStatement {
    use entity::user_profiles::{Column as P, Entity as E};
    rows_where(
        E,
        [
            Expr::col((E, P::UserId)).eq(user),
            Expr::col((E, P::FirstName)).is_not_null(),
            Expr::col((E, P::LastName)).is_not_null(),
        ],
    )
}

/// A seat the user holds, in any session.
fn a_hold_of(user: Uuid) -> SelectStatement {
    use bookings::{Column as B, Entity as E};
    rows_where(
        E,
        [
            Expr::col((E, B::UserId)).eq(user),
            Expr::col((E, B::Status)).eq(BookingStatus::Held.as_str()),
        ],
    )
}

/// Someone waiting in line for a seat of the session.
fn someone_waiting(session_id: Uuid) -> SelectStatement {
    use entity::waitlist_entries::{Column as W, Entity as E};
    rows_where(
        E,
        [
            Expr::col((E, W::SessionId)).eq(session_id),
            Expr::col((E, W::Status)).eq(WaitlistStatus::Waiting.as_str()),
        ],
    )
}

/// Statuses that occupy a seat.
const ACTIVE: [&str; 2] = [
    BookingStatus::Held.as_str(),
    BookingStatus::Confirmed.as_str(),
];

/// Statuses of a hold that ended without payment.
const LAPSED: [&str; 2] = [
    BookingStatus::Expired.as_str(),
    BookingStatus::Cancelled.as_str(),
];

/// A hold that got its Checkout Session and ended unpaid after `since`.
/// (A hold whose Checkout Session could not be opened was our failure,
/// not the user's.)
fn lapsed_unpaid_since(since: chrono::DateTime<chrono::Utc>) -> SimpleExpr {
    use bookings::{Column as B, Entity as E};
    Expr::col((E, B::Status))
        .is_in(LAPSED)
        .and(Expr::col((E, B::StripePaymentIntentId)).is_null())
        .and(Expr::col((E, B::StripeCheckoutSessionId)).is_not_null())
        .and(Expr::col((E, B::UpdatedAt)).gt(since))
}

/// A booking that stops `taker` from taking a seat of the session: one
/// that holds or has a seat, or (within the cooldown) a hold they let
/// lapse or cancelled unpaid.
fn blocking_booking(session_id: Uuid, taker: Taker<'_>) -> SelectStatement {
    use bookings::{Column as B, Entity as E};
    let mut blocking = Expr::col((E, B::Status)).is_in(ACTIVE);
    if let Some(since) = taker.cooldown_since {
        blocking = blocking.or(lapsed_unpaid_since(since));
    }
    rows_where(
        E,
        [
            Expr::col((E, B::SessionId)).eq(session_id),
            Expr::col((E, B::UserId)).eq(taker.user),
            blocking,
        ],
    )
}

/// Gives one seat back.
pub async fn release(
    db: &impl ConnectionTrait,
    session_id: Uuid,
    today: NaiveDate,
) -> Result<(), DbErr> {
    let res = sessions::Entity::update_many()
        .col_expr(
            Column::ReservedPlaces,
            Expr::col(Column::ReservedPlaces).sub(1),
        )
        .col_expr(Column::Status, status_after(-1, today))
        .col_expr(Column::UpdatedAt, Expr::value(chrono::Utc::now()))
        .filter(Column::Id.eq(session_id))
        .filter(Column::ReservedPlaces.gt(0))
        .exec(db)
        .await?;
    if res.rows_affected != 1 {
        // The booking said it held a seat but the counter had none: the
        // invariant is broken somewhere; refuse rather than go negative.
        return Err(DbErr::Custom(format!(
            "release of a seat of session {session_id} found no reserved place"
        )));
    }
    Ok(())
}

/// A booking holding the seat just taken for `user` until `expires` (a
/// hold from the catalog, or an offer from a waiting list).
pub fn held_booking(
    id: Uuid,
    session: &sessions::Model,
    user: (Uuid, &str),
    (expires, address): (chrono::DateTime<chrono::Utc>, Option<&str>),
    now: chrono::DateTime<chrono::Utc>,
) -> bookings::Model {
    bookings::Model {
        id,
        session_id: session.id,
        user_id: user.0,
        user_email: user.1.to_owned(),
        status: BookingStatus::Held,
        hold_expires_at: Some(expires),
        stripe_checkout_session_id: None,
        stripe_payment_intent_id: None,
        amount_cents: session.price_cents,
        currency: session.currency.clone(),
        refund_id: None,
        refunded_cents: None,
        confirmed_at: None,
        cancelled_at: None,
        created_at: now,
        updated_at: now,
        client_address: address.map(str::to_owned),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every shape the seat's UPDATE can take, on both databases, with
    /// limits at their edges: each is bound rather than built, and binds
    /// to what it builds (checked inside, on debug builds).
    #[test]
    fn every_shape_of_the_seat_s_update_is_rendered_once() {
        let now = Utc::now();
        for backend in [DbBackend::Sqlite, DbBackend::Postgres] {
            for bits in 0..128_u32 {
                let on = |i: u32| bits & (1 << i) != 0;
                let inputs = Take {
                    session_id: Uuid::new_v4(),
                    today: now.date_naive(),
                    now,
                    open_only: on(0),
                    taker: on(1).then(|| TakerInputs {
                        user: Uuid::new_v4(),
                        cooldown_since: on(2).then(|| now - chrono::Duration::hours(2)),
                        from_catalog: on(3),
                        address: on(4).then(|| ("a-hash".to_owned(), bits % 3)),
                        one_hold_unless_verified: on(5),
                        named: on(6),
                    }),
                };
                assert!(
                    TAKE.learned(backend, &inputs),
                    "shape {bits} on {backend:?}"
                );
            }
            let from = FromAddress {
                session_id: Uuid::new_v4(),
                address: "a-hash".into(),
            };
            assert!(HELD_FROM.learned(backend, &from));
            assert!(LOCK_UNVERIFIED.learned(backend, &Uuid::new_v4()));
        }
    }
}
