//! The sessions catalog: what the public sees, and what admins change.
//! Every write that can touch places derives `status` in the same
//! statement (invariant 3); reads derive it too, because "closed
//! once started" changes with the calendar, not with a write.

use chrono::{DateTime, NaiveDate, Utc};
use common::ErrorCode;
use common::events::EventType;
use common::sessions::{
    NewSession, SessionDecision, SessionDto, SessionFields, SessionPatch, SessionStatus,
    default_decide_on, derive_status, validate_minimum, validate_session,
};
use sea_orm::sea_query::{Expr, ExprTrait};
use sea_orm::{
    ActiveValue::Set, ColumnTrait, ConnectionTrait, DatabaseConnection, EntityTrait, QueryFilter,
    QueryOrder, TransactionTrait,
};
use uuid::Uuid;

use crate::config::Offers;
use crate::domain::catalog::waitlist;
use crate::domain::platform::clock::today_at_venue;
use crate::error::{ApiError, ApiResult};
use entity::immersion_bookings as bookings;
use entity::immersion_sessions::{self as sessions, Column};

pub use super::views::session_dto as to_dto;

/// Says how many wait for each of `list` (never who).
async fn with_waiting(
    db: &impl ConnectionTrait,
    mut list: Vec<SessionDto>,
) -> Result<Vec<SessionDto>, sea_orm::DbErr> {
    let counts = crate::domain::catalog::waitlist::waiting_counts(db).await?;
    for s in &mut list {
        s.waiting = counts.get(&s.id).copied().unwrap_or(0);
    }
    Ok(list)
}

async fn one_with_waiting(db: &impl ConnectionTrait, s: SessionDto) -> ApiResult<SessionDto> {
    with_waiting(db, vec![s])
        .await?
        .pop()
        .ok_or_else(|| ApiError::internal("session lost"))
}

/// Active sessions that have not ended yet, by start date.
#[tracing::instrument(skip(db))]
pub async fn list_public(db: &DatabaseConnection, today: NaiveDate) -> ApiResult<Vec<SessionDto>> {
    let rows = sessions::Entity::find()
        .filter(Column::IsActive.eq(true))
        .filter(Column::EndsOn.gte(today))
        .order_by_asc(Column::StartsOn)
        .order_by_asc(Column::Id)
        .all(db)
        .await?;
    Ok(with_waiting(db, rows.into_iter().map(|m| to_dto(m, today)).collect()).await?)
}

/// One session as the public may see it: inactive or ended ones are 404.
#[tracing::instrument(skip(db))]
pub async fn get_public(
    db: &DatabaseConnection,
    id: Uuid,
    today: NaiveDate,
) -> ApiResult<SessionDto> {
    let found = sessions::Entity::find_by_id(id)
        .filter(Column::IsActive.eq(true))
        .filter(Column::EndsOn.gte(today))
        .one(db)
        .await?
        .map(|m| to_dto(m, today))
        .ok_or_else(|| ApiError::not_found("session"))?;
    one_with_waiting(db, found).await
}

/// One session, whatever its state (for admins).
pub async fn get_any(db: &DatabaseConnection, id: Uuid, today: NaiveDate) -> ApiResult<SessionDto> {
    let found = sessions::Entity::find_by_id(id)
        .one(db)
        .await?
        .map(|m| to_dto(m, today))
        .ok_or_else(|| ApiError::not_found("session"))?;
    one_with_waiting(db, found).await
}

/// Every session, inactive and past ones too, by start date.
#[tracing::instrument(skip(db))]
pub async fn list_all(db: &DatabaseConnection, today: NaiveDate) -> ApiResult<Vec<SessionDto>> {
    let rows = sessions::Entity::find()
        .order_by_asc(Column::StartsOn)
        .order_by_asc(Column::Id)
        .all(db)
        .await?;
    Ok(with_waiting(db, rows.into_iter().map(|m| to_dto(m, today)).collect()).await?)
}

/// A minimum group size and the day it is decided on.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Minimum {
    pub min_places: Option<i32>,
    pub decide_on: Option<NaiveDate>,
}

/// How a minimum is checked: the decision days, today, and whether this
/// write sets or moves it (a date already past is refused only then: an
/// undecided session whose date has just come stays editable).
#[derive(Debug, Clone, Copy)]
struct Dating {
    decision_days: i64,
    today: NaiveDate,
    changing: bool,
}

impl Minimum {
    /// The decision date defaults to `decision_days` before the start, but
    /// never before tomorrow (a session created late is not decided at
    /// once); no minimum, no date.
    fn dated(self, starts_on: NaiveDate, d: Dating) -> Self {
        let default = || {
            Ord::max(
                default_decide_on(starts_on, d.decision_days),
                d.today + chrono::Duration::days(1),
            )
        };
        Self {
            min_places: self.min_places,
            decide_on: self
                .min_places
                .map(|_| self.decide_on.unwrap_or_else(default)),
        }
    }
}

/// Validates the fields and the minimum together: every broken rule is
/// reported at once.
fn validated(f: SessionFields, minimum: Minimum, d: Dating) -> ApiResult<(SessionFields, Minimum)> {
    let dated = minimum.dated(f.starts_on, d);
    let mut errors = validate_minimum(dated.min_places, dated.decide_on, f.max_places, f.starts_on);
    if d.changing && dated.decide_on.is_some_and(|day| day <= d.today) {
        errors.push(common::FieldError::new(
            "decide_on",
            "in_the_past",
            "decide_on must be after today (and before starts_on)",
        ));
    }
    match validate_session(f) {
        Ok(f) if errors.is_empty() => Ok((f, dated)),
        Ok(_) => Err(ApiError::Validation(errors)),
        Err(mut field_errors) => {
            field_errors.append(&mut errors);
            Err(ApiError::Validation(field_errors))
        }
    }
}

/// Inserts a validated session with `reserved` places already taken (the
/// demo seeds fill levels through real bookings in the same transaction).
pub(crate) async fn insert(
    db: &impl ConnectionTrait,
    f: SessionFields,
    minimum: Minimum,
    is_active: bool,
    reserved: i32,
    today: NaiveDate,
) -> Result<sessions::Model, sea_orm::DbErr> {
    let now = Utc::now();
    let status = derive_status(false, f.starts_on, today, reserved, f.max_places);
    sessions::Entity::insert(sessions::ActiveModel {
        id: Set(Uuid::new_v4()),
        starts_on: Set(f.starts_on),
        ends_on: Set(f.ends_on),
        max_places: Set(f.max_places),
        reserved_places: Set(reserved),
        status: Set(status),
        closed_by_admin: Set(false),
        location: Set(f.location),
        price_cents: Set(f.price_cents),
        currency: Set(f.currency),
        description: Set(f.description),
        trainer: Set(f.trainer),
        half_day_minutes: Set(f.half_day_minutes),
        is_active: Set(is_active),
        min_places: Set(minimum.min_places),
        decide_on: Set(minimum.decide_on),
        decision: Set(None),
        decided_at: Set(None),
        created_at: Set(now),
        updated_at: Set(now),
    })
    .exec_with_returning(db)
    .await
}

#[tracing::instrument(skip(db))]
pub async fn create(
    db: &DatabaseConnection,
    new: NewSession,
    today: NaiveDate,
    decision_days: i64,
) -> ApiResult<SessionDto> {
    let minimum = Minimum {
        min_places: new.min_places,
        decide_on: new.decide_on,
    };
    let (fields, minimum) = validated(
        SessionFields {
            starts_on: new.starts_on,
            ends_on: new.ends_on,
            location: new.location,
            description: new.description,
            trainer: new.trainer,
            half_day_minutes: new.half_day_minutes,
            price_cents: new.price_cents,
            currency: new.currency,
            max_places: new.max_places,
        },
        minimum,
        Dating {
            decision_days,
            today,
            changing: true,
        },
    )?;
    let txn = db.begin().await?;
    let model = insert(&txn, fields, minimum, new.is_active, 0, today).await?;
    super::views::announce_session(&txn, &model, EventType::SessionCreated, Utc::now()).await?;
    txn.commit().await?;
    Ok(to_dto(model, today))
}

/// Applies a partial edit. `max_places` may never drop below the places
/// already reserved: the update itself is conditional on it, so a seat
/// taken concurrently cannot slip under the new limit. Seats the edit
/// frees (more places, reopened, reactivated) go to those waiting, in the
/// same transaction (invariant 13): nobody from the catalog gets in first.
#[tracing::instrument(skip(db, offers))]
pub async fn update(
    db: &DatabaseConnection,
    id: Uuid,
    patch: SessionPatch,
    now: DateTime<Utc>,
    decision_days: i64,
    offers: &Offers,
) -> ApiResult<SessionDto> {
    let today = today_at_venue(now);
    // The row is locked before it is read (a no-op write), so two edits at
    // once apply one after the other, each to what the other left.
    let txn = db.begin().await?;
    sessions::Entity::update_many()
        .col_expr(Column::UpdatedAt, Expr::col(Column::UpdatedAt))
        .filter(Column::Id.eq(id))
        .exec(&txn)
        .await?;
    let current = sessions::Entity::find_by_id(id)
        .one(&txn)
        .await?
        .ok_or_else(|| ApiError::not_found("session"))?;
    let description = match patch.description {
        Some(d) => Some(d),
        None => current.description.clone(),
    };
    let trainer = patch.trainer.or_else(|| current.trainer.clone());
    // A new start moves a default decision date with it; one given stays.
    let moved = patch.starts_on.is_some_and(|d| d != current.starts_on);
    let minimum = Minimum {
        min_places: match patch.min_places {
            Some(0) => None,
            Some(n) => Some(n),
            None => current.min_places,
        },
        decide_on: patch.decide_on.or(current.decide_on.filter(|_| !moved)),
    };
    let changing = current.decided_at.is_none()
        && (patch
            .min_places
            .is_some_and(|n| Some(n) != current.min_places)
            || patch
                .decide_on
                .is_some_and(|d| Some(d) != current.decide_on)
            || moved && minimum.min_places.is_some());
    // A session priced below today's minimum (from before it) may still be
    // edited, closed or deactivated; only a new price must meet it.
    let old_price = (patch.price_cents.is_none()
        && current.price_cents < common::sessions::MIN_PRICE_CENTS)
        .then_some(current.price_cents);
    let (mut f, minimum) = validated(
        SessionFields {
            starts_on: patch.starts_on.unwrap_or(current.starts_on),
            ends_on: patch.ends_on.unwrap_or(current.ends_on),
            location: patch.location.unwrap_or_else(|| current.location.clone()),
            description,
            trainer,
            half_day_minutes: patch.half_day_minutes.unwrap_or(current.half_day_minutes),
            price_cents: match old_price {
                Some(_) => common::sessions::MIN_PRICE_CENTS,
                None => patch.price_cents.unwrap_or(current.price_cents),
            },
            currency: patch.currency.unwrap_or_else(|| current.currency.clone()),
            max_places: patch.max_places.unwrap_or(current.max_places),
        },
        minimum,
        Dating {
            decision_days,
            today,
            changing,
        },
    )?;
    if let Some(price) = old_price {
        f.price_cents = price;
    }
    let closed_by_admin = patch.closed.unwrap_or(current.closed_by_admin);
    let is_active = patch.is_active.unwrap_or(current.is_active);
    let status = super::seats::status_rule(
        Expr::value(closed_by_admin),
        Expr::value(f.starts_on),
        Expr::value(f.max_places),
        0,
        today,
    );
    let max_places = f.max_places;
    let res = sessions::Entity::update_many()
        .col_expr(Column::StartsOn, Expr::value(f.starts_on))
        .col_expr(Column::EndsOn, Expr::value(f.ends_on))
        .col_expr(Column::Location, Expr::value(f.location))
        .col_expr(Column::Description, Expr::value(f.description))
        .col_expr(Column::Trainer, Expr::value(f.trainer))
        .col_expr(Column::HalfDayMinutes, Expr::value(f.half_day_minutes))
        .col_expr(Column::PriceCents, Expr::value(f.price_cents))
        .col_expr(Column::Currency, Expr::value(f.currency))
        .col_expr(Column::MaxPlaces, Expr::value(max_places))
        .col_expr(Column::IsActive, Expr::value(is_active))
        .col_expr(Column::MinPlaces, Expr::value(minimum.min_places))
        .col_expr(Column::DecideOn, Expr::value(minimum.decide_on))
        // A cancelled session stays closed (its seats were refunded), even
        // when the decision lands between our read and this write.
        .col_expr(
            Column::ClosedByAdmin,
            Expr::case(cancelled_expr(), true)
                .finally(closed_by_admin)
                .into(),
        )
        .col_expr(
            Column::Status,
            Expr::case(cancelled_expr(), SessionStatus::Closed.as_str())
                .finally(status)
                .into(),
        )
        .col_expr(Column::UpdatedAt, Expr::value(Utc::now()))
        .filter(Column::Id.eq(id))
        .filter(Column::ReservedPlaces.lte(max_places))
        .exec(&txn)
        .await?;
    if res.rows_affected == 0 {
        let reserved = sessions::Entity::find_by_id(id)
            .one(&txn)
            .await?
            .ok_or_else(|| ApiError::not_found("session"))?
            .reserved_places;
        return Err(ApiError::invalid(
            "max_places",
            "below_reserved",
            format!("max_places cannot be below the {reserved} places already reserved"),
        ));
    }
    let edited = sessions::Entity::find_by_id(id)
        .one(&txn)
        .await?
        .ok_or_else(|| ApiError::not_found("session"))?;
    super::views::announce_session(&txn, &edited, EventType::SessionUpdated, now).await?;
    // The row stays locked until the commit.
    waitlist::offer_free_seats(&txn, id, now, offers).await?;
    txn.commit().await?;
    let updated = sessions::Entity::find_by_id(id)
        .one(db)
        .await?
        .ok_or_else(|| ApiError::not_found("session"))?;
    one_with_waiting(db, to_dto(updated, today)).await
}

fn cancelled_expr() -> sea_orm::sea_query::SimpleExpr {
    Expr::col(Column::Decision).eq(SessionDecision::Cancelled.as_str())
}

/// Deletes a session that has no held or confirmed booking. The condition
/// is on `reserved_places` in the same statement, which equals that count
/// (invariant 1) and is re-checked under the row lock.
#[tracing::instrument(skip(db))]
pub async fn delete(db: &DatabaseConnection, id: Uuid) -> ApiResult<()> {
    use sea_orm::sea_query::{Expr, ExprTrait, Query};
    // Payment records are never deleted (invariant 11): a session
    // with any booking, in any status, stays; the foreign key (RESTRICT)
    // backs this up against a booking made meanwhile.
    let any_booking = Query::select()
        .expr(Expr::val(1))
        .from(bookings::Entity)
        .and_where(Expr::col((bookings::Entity, bookings::Column::SessionId)).eq(id))
        .to_owned();
    let res = sessions::Entity::delete_many()
        .filter(Column::Id.eq(id))
        .filter(Expr::exists(any_booking).not())
        .exec(db)
        .await;
    match res {
        Ok(r) if r.rows_affected == 1 => return Ok(()),
        Ok(_) => {}
        Err(e)
            if matches!(
                e.sql_err(),
                Some(sea_orm::SqlErr::ForeignKeyConstraintViolation(_))
            ) => {}
        Err(e) => return Err(e.into()),
    }
    match sessions::Entity::find_by_id(id).one(db).await? {
        None => Err(ApiError::not_found("session")),
        Some(_) => Err(ApiError::conflict(
            ErrorCode::SessionHasBookings,
            "the session has bookings, whose payment records are kept: deactivate it instead",
        )),
    }
}
