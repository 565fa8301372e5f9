//! Outgoing webhooks: the endpoints, and the deliveries of the events
//! outbox to them.
//!
//! Each tick (once across instances) fans the numbered events out to
//! every endpoint on, from where it stopped: one delivery per event and
//! endpoint (unique), so nothing is delivered twice by fanning out again
//! and nothing is skipped (events are numbered in commit order). A
//! delivery is attempted when due and when no earlier delivery about the
//! same resource to the same endpoint is still pending: in order per
//! resource. A failure is tried again after 5 s, 5 min, 30 min, 2 h, 5 h,
//! then every 10 h; 3 days after its first failure it has failed for
//! good, the endpoint is turned off and the admins are mailed. Every
//! attempt is logged. Each attempt claims its delivery first, so ticks
//! that overlap (a slow one, and another instance's) never send it twice.

use chrono::{DateTime, Duration, Utc};
use common::events::EventType;
use common::webhooks::{
    DeliveryStatus, NewWebhookEndpoint, WebhookAttemptDto, WebhookDeliveryDto, WebhookEndpointDto,
    WebhookEndpointPatch, WebhookEndpointWithSecret,
};
use sea_orm::sea_query::{Expr, ExprTrait, OnConflict, Query};
use sea_orm::{
    ActiveValue::Set, ColumnTrait, ConnectionTrait, DatabaseConnection, DbErr, EntityTrait,
    QueryFilter, QueryOrder, QuerySelect, TransactionTrait,
};
use uuid::Uuid;

use crate::domain::platform::{events, mail};
use crate::error::{ApiError, ApiResult};
use crate::webhook_targets::{self, TargetRules};
use entity::webhook_attempts as attempts;
use entity::webhook_deliveries::{self as deliveries, Column as D};
use entity::webhook_endpoints::{self as endpoints, Column as E};

/// How long a delivery is tried before it has failed for good.
pub const GIVE_UP_AFTER: Duration = Duration::days(3);
/// How long a rotated-out secret still signs beside the new one.
pub const ROTATION_OVERLAP: Duration = Duration::hours(24);
/// The waits after the 1st, 2nd, … failure; the last one repeats.
const BACKOFF: [Duration; 6] = [
    Duration::seconds(5),
    Duration::minutes(5),
    Duration::minutes(30),
    Duration::hours(2),
    Duration::hours(5),
    Duration::hours(10),
];
/// Events fanned out per endpoint and tick.
const FAN_OUT_BATCH: u64 = 500;
const MAX_DESCRIPTION_CHARS: usize = 200;

const PENDING: DeliveryStatus = DeliveryStatus::Pending;

fn new_secret() -> String {
    use base64::Engine;
    format!(
        "whsec_{}",
        base64::engine::general_purpose::STANDARD.encode(rand::random::<[u8; 32]>())
    )
}

fn join_types(types: &[EventType]) -> String {
    types
        .iter()
        .map(|t| t.as_str())
        .collect::<Vec<_>>()
        .join(" ")
}

fn types_of(row: &endpoints::Model) -> Vec<EventType> {
    row.event_types
        .split(' ')
        .filter_map(EventType::parse)
        .collect()
}

fn dto(row: &endpoints::Model) -> WebhookEndpointDto {
    WebhookEndpointDto {
        id: row.id,
        url: row.url.clone(),
        event_types: types_of(row),
        description: row.description.clone(),
        enabled: row.enabled,
        disabled_reason: row.disabled_reason.clone(),
        previous_secret_until: row.previous_secret_until,
        created_at: row.created_at,
    }
}

fn checked_types(types: &[EventType]) -> ApiResult<Vec<EventType>> {
    let mut types = types.to_vec();
    types.sort();
    types.dedup();
    if types.is_empty() {
        return Err(ApiError::invalid(
            "event_types",
            "min_items",
            "at least one event type",
        ));
    }
    Ok(types)
}

fn checked_url(url: &str, rules: TargetRules) -> ApiResult<String> {
    webhook_targets::check_url(url, rules)
        .map(|u| u.to_string())
        .map_err(|refusal| ApiError::invalid("url", "target", refusal.to_string()))
}

fn checked_description(d: Option<String>) -> ApiResult<Option<String>> {
    let d = d.map(|d| d.trim().to_owned()).filter(|d| !d.is_empty());
    if let Some(d) = &d
        && (d.chars().count() > MAX_DESCRIPTION_CHARS || common::has_control_chars(d, false))
    {
        return Err(ApiError::invalid(
            "description",
            "length",
            format!("at most {MAX_DESCRIPTION_CHARS} characters, on one line"),
        ));
    }
    Ok(d)
}

/// Registers an endpoint; it hears of events from now on. The answer
/// holds its secret, shown this once.
pub async fn create(
    db: &DatabaseConnection,
    rules: TargetRules,
    by: Uuid,
    new: NewWebhookEndpoint,
    now: DateTime<Utc>,
) -> ApiResult<WebhookEndpointWithSecret> {
    let url = checked_url(&new.url, rules)?;
    let types = checked_types(&new.event_types)?;
    let description = checked_description(new.description)?;
    // From now on: the events numbered so far are not its.
    events::sequence(db).await?;
    let highest: Option<Option<i64>> = entity::events::Entity::find()
        .select_only()
        .column_as(entity::events::Column::Seq.max(), "highest")
        .into_tuple()
        .one(db)
        .await?;
    let secret = new_secret();
    let row = endpoints::Entity::insert(endpoints::ActiveModel {
        id: Set(Uuid::new_v4()),
        url: Set(url),
        description: Set(description),
        event_types: Set(join_types(&types)),
        secret: Set(secret.clone()),
        previous_secret: Set(None),
        previous_secret_until: Set(None),
        enabled: Set(true),
        disabled_reason: Set(None),
        fanned_out_to: Set(highest.flatten().unwrap_or(0)),
        created_by: Set(by),
        created_at: Set(now),
        updated_at: Set(now),
    })
    .exec_with_returning(db)
    .await?;
    Ok(WebhookEndpointWithSecret {
        endpoint: dto(&row),
        secret,
    })
}

pub async fn list(db: &impl ConnectionTrait) -> ApiResult<Vec<WebhookEndpointDto>> {
    Ok(endpoints::Entity::find()
        .order_by_desc(E::CreatedAt)
        .order_by_desc(E::Id)
        .all(db)
        .await?
        .iter()
        .map(dto)
        .collect())
}

async fn endpoint(db: &impl ConnectionTrait, id: Uuid) -> ApiResult<endpoints::Model> {
    endpoints::Entity::find_by_id(id)
        .one(db)
        .await?
        .ok_or_else(|| ApiError::not_found("webhook endpoint"))
}

/// Edits an endpoint. With `rotate_secret`, answers the new secret (the
/// old one signs beside it for 24 hours).
pub async fn update(
    db: &DatabaseConnection,
    rules: TargetRules,
    id: Uuid,
    patch: WebhookEndpointPatch,
    now: DateTime<Utc>,
) -> ApiResult<(WebhookEndpointDto, Option<String>)> {
    let txn = db.begin().await?;
    let current = endpoint(&txn, id).await?;
    let mut row: endpoints::ActiveModel = current.clone().into();
    if let Some(url) = &patch.url {
        row.url = Set(checked_url(url, rules)?);
    }
    if let Some(types) = &patch.event_types {
        row.event_types = Set(join_types(&checked_types(types)?));
    }
    if patch.description.is_some() {
        row.description = Set(checked_description(patch.description)?);
    }
    if let Some(enabled) = patch.enabled {
        row.enabled = Set(enabled);
        row.disabled_reason = Set((!enabled).then(|| "turned off by an admin".to_owned()));
    }
    let rotated = patch.rotate_secret.unwrap_or(false).then(new_secret);
    if let Some(secret) = &rotated {
        row.previous_secret = Set(Some(current.secret.clone()));
        row.previous_secret_until = Set(Some(now + ROTATION_OVERLAP));
        row.secret = Set(secret.clone());
    }
    row.updated_at = Set(now);
    let updated = endpoints::Entity::update(row).exec(&txn).await?;
    txn.commit().await?;
    Ok((dto(&updated), rotated))
}

pub async fn delete(db: &impl ConnectionTrait, id: Uuid) -> ApiResult<()> {
    let res = endpoints::Entity::delete_by_id(id).exec(db).await?;
    if res.rows_affected == 0 {
        return Err(ApiError::not_found("webhook endpoint"));
    }
    Ok(())
}

/// An endpoint's deliveries, newest first, each with its attempts.
pub async fn deliveries_of(
    db: &impl ConnectionTrait,
    endpoint_id: Uuid,
) -> ApiResult<Vec<WebhookDeliveryDto>> {
    endpoint(db, endpoint_id).await?;
    let rows = deliveries::Entity::find()
        .filter(D::EndpointId.eq(endpoint_id))
        .order_by_desc(D::EventSeq)
        .limit(1000)
        .all(db)
        .await?;
    let ids: Vec<Uuid> = rows.iter().map(|d| d.id).collect();
    let all_attempts = attempts::Entity::find()
        .filter(attempts::Column::DeliveryId.is_in(ids))
        .order_by_asc(attempts::Column::At)
        .all(db)
        .await?;
    Ok(rows
        .into_iter()
        .map(|d| delivery_dto(d, &all_attempts))
        .collect())
}

fn delivery_dto(d: deliveries::Model, all: &[attempts::Model]) -> WebhookDeliveryDto {
    WebhookDeliveryDto {
        id: d.id,
        endpoint_id: d.endpoint_id,
        event_id: d.event_id,
        event_type: EventType::parse(&d.event_type).unwrap_or(EventType::SessionUpdated),
        status: d.status,
        next_attempt_at: d.next_attempt_at,
        attempts: all
            .iter()
            .filter(|a| a.delivery_id == d.id)
            .map(|a| WebhookAttemptDto {
                at: a.at,
                status_code: a.status_code.and_then(|c| u16::try_from(c).ok()),
                duration_ms: u64::try_from(a.duration_ms).unwrap_or(0),
                excerpt: a.excerpt.clone(),
            })
            .collect(),
        created_at: d.created_at,
    }
}

/// Sends a delivery again at the next tick, whatever it came to (the
/// same event, the same `webhook-id`).
pub async fn resend(db: &impl ConnectionTrait, id: Uuid, now: DateTime<Utc>) -> ApiResult<()> {
    let res = deliveries::Entity::update_many()
        .col_expr(D::Status, Expr::value(PENDING.as_str()))
        .col_expr(D::NextAttemptAt, Expr::value(Some(now)))
        .col_expr(D::FailingSince, Expr::value(None::<DateTime<Utc>>))
        .filter(D::Id.eq(id))
        .exec(db)
        .await?;
    if res.rows_affected == 0 {
        return Err(ApiError::not_found("webhook delivery"));
    }
    Ok(())
}

/// Fans the numbered events out to every endpoint that is on, from where
/// each stopped; answers how many deliveries were made.
pub async fn fan_out(db: &DatabaseConnection, now: DateTime<Utc>) -> Result<u64, DbErr> {
    events::sequence(db).await?;
    let mut made = 0;
    let on = endpoints::Entity::find()
        .filter(E::Enabled.eq(true))
        .all(db)
        .await?;
    for endpoint in on {
        let wanted = types_of(&endpoint);
        let mut from = endpoint.fanned_out_to;
        loop {
            let batch = events::rows_after(db, from, FAN_OUT_BATCH).await?;
            let Some(last) = batch.last().and_then(|e| e.seq) else {
                break;
            };
            let rows: Vec<deliveries::ActiveModel> = batch
                .iter()
                .filter(|e| EventType::parse(&e.event_type).is_some_and(|t| wanted.contains(&t)))
                .filter_map(|e| {
                    Some(deliveries::ActiveModel {
                        id: Set(Uuid::new_v4()),
                        endpoint_id: Set(endpoint.id),
                        event_id: Set(e.id),
                        event_seq: Set(e.seq?),
                        event_type: Set(e.event_type.clone()),
                        resource_id: Set(e.resource_id),
                        status: Set(PENDING),
                        next_attempt_at: Set(Some(now)),
                        failing_since: Set(None),
                        created_at: Set(now),
                        delivered_at: Set(None),
                    })
                })
                .collect();
            made += rows.len() as u64;
            let txn = db.begin().await?;
            if !rows.is_empty() {
                deliveries::Entity::insert_many(rows)
                    .on_conflict(
                        OnConflict::columns([D::EndpointId, D::EventId])
                            .do_nothing()
                            .to_owned(),
                    )
                    .exec_without_returning(&txn)
                    .await?;
            }
            endpoints::Entity::update_many()
                .col_expr(E::FannedOutTo, Expr::value(last))
                .filter(E::Id.eq(endpoint.id))
                .filter(E::FannedOutTo.eq(from))
                .exec(&txn)
                .await?;
            txn.commit().await?;
            from = last;
            if (batch.len() as u64) < FAN_OUT_BATCH {
                break;
            }
        }
    }
    Ok(made)
}

/// A delivery due now, with what it needs to be sent.
#[derive(Debug, Clone)]
pub struct Due {
    pub delivery: deliveries::Model,
    pub endpoint: endpoints::Model,
    /// The payload's `data`, `type` and time.
    pub event: common::events::EventDto,
}

/// How long an attempt holds its delivery: another tick (this instance's
/// or another's) leaves it alone meanwhile. Longer than an attempt can
/// take (the target's resolution and the request, each bounded).
pub const CLAIM: Duration = Duration::seconds(60);

/// The deliveries due now to endpoints that are on, oldest event first,
/// leaving out any whose resource has an earlier delivery still pending
/// to the same endpoint; each claimed for this attempt (`CLAIM`), so two
/// ticks never send one twice.
pub async fn due(
    db: &impl ConnectionTrait,
    now: DateTime<Utc>,
    limit: u64,
) -> Result<Vec<Due>, DbErr> {
    let earlier = Query::select()
        .expr(Expr::val(1))
        .from_as(deliveries::Entity, "earlier")
        .and_where(
            Expr::col(("earlier", D::EndpointId)).equals((deliveries::Entity, D::EndpointId)),
        )
        .and_where(
            Expr::col(("earlier", D::ResourceId)).equals((deliveries::Entity, D::ResourceId)),
        )
        .and_where(
            Expr::col(("earlier", D::EventSeq)).lt(Expr::col((deliveries::Entity, D::EventSeq))),
        )
        .and_where(Expr::col(("earlier", D::Status)).eq(PENDING.as_str()))
        .to_owned();
    let on = Query::select()
        .column(E::Id)
        .from(endpoints::Entity)
        .and_where(Expr::col(E::Enabled).eq(true))
        .to_owned();
    let rows = deliveries::Entity::find()
        .filter(D::Status.eq(PENDING))
        .filter(D::NextAttemptAt.lte(now))
        .filter(D::EndpointId.in_subquery(on))
        .filter(Expr::exists(earlier).not())
        .order_by_asc(D::EventSeq)
        .limit(limit)
        .all(db)
        .await?;
    // Claimed in one statement: only those still due are this tick's.
    let ids: Vec<Uuid> = rows.iter().map(|d| d.id).collect();
    let claimed = deliveries::Entity::update_many()
        .col_expr(D::NextAttemptAt, Expr::value(Some(now + CLAIM)))
        .filter(D::Id.is_in(ids))
        .filter(D::Status.eq(PENDING))
        .filter(D::NextAttemptAt.lte(now))
        .exec_with_returning(db)
        .await?;
    let endpoint_ids: Vec<Uuid> = claimed.iter().map(|d| d.endpoint_id).collect();
    let endpoints_of = endpoints::Entity::find()
        .filter(E::Id.is_in(endpoint_ids))
        .all(db)
        .await?;
    let event_ids: Vec<Uuid> = claimed.iter().map(|d| d.event_id).collect();
    let events_of = entity::events::Entity::find()
        .filter(entity::events::Column::Id.is_in(event_ids))
        .all(db)
        .await?;
    let mut due = Vec::with_capacity(claimed.len());
    for delivery in claimed {
        let endpoint = endpoints_of.iter().find(|e| e.id == delivery.endpoint_id);
        let event = events_of.iter().find(|e| e.id == delivery.event_id);
        let (Some(endpoint), Some(event)) = (endpoint, event) else {
            continue;
        };
        due.push(Due {
            endpoint: endpoint.clone(),
            event: events::to_dto(event.clone())?,
            delivery,
        });
    }
    due.sort_by_key(|d| d.delivery.event_seq);
    Ok(due)
}

/// What one attempt came to.
#[derive(Debug, Clone)]
pub struct Attempt {
    pub at: DateTime<Utc>,
    pub status_code: Option<u16>,
    pub duration_ms: u64,
    pub excerpt: String,
}

impl Attempt {
    pub fn succeeded(&self) -> bool {
        self.status_code.is_some_and(|c| (200..300).contains(&c))
    }
}

/// Records an attempt and what follows: delivered, tried again later, or
/// (3 days after the first) failed for good, the endpoint turned off and
/// the admins mailed.
pub async fn record_attempt(
    db: &DatabaseConnection,
    due: &Due,
    attempt: &Attempt,
) -> Result<DeliveryStatus, DbErr> {
    let txn = db.begin().await?;
    attempts::Entity::insert(attempts::ActiveModel {
        id: Set(Uuid::new_v4()),
        delivery_id: Set(due.delivery.id),
        at: Set(attempt.at),
        status_code: Set(attempt.status_code.map(i32::from)),
        duration_ms: Set(i64::try_from(attempt.duration_ms).unwrap_or(i64::MAX)),
        excerpt: Set(attempt.excerpt.chars().take(500).collect()),
    })
    .exec_without_returning(&txn)
    .await?;
    let failing_since = due.delivery.failing_since.unwrap_or(attempt.at);
    let failures = attempts::Entity::find()
        .filter(attempts::Column::DeliveryId.eq(due.delivery.id))
        .filter(attempts::Column::At.gte(failing_since))
        .all(&txn)
        .await?
        .iter()
        .filter(|a| !a.status_code.is_some_and(|c| (200..300).contains(&c)))
        .count();
    // Only a delivery still pending moves (a resend or another tick may
    // have moved it meanwhile).
    let still_pending = || {
        deliveries::Entity::update_many()
            .filter(D::Id.eq(due.delivery.id))
            .filter(D::Status.eq(PENDING))
    };
    let status = if attempt.succeeded() {
        still_pending()
            .col_expr(D::Status, Expr::value(DeliveryStatus::Delivered.as_str()))
            .col_expr(D::NextAttemptAt, Expr::value(None::<DateTime<Utc>>))
            .col_expr(D::FailingSince, Expr::value(None::<DateTime<Utc>>))
            .col_expr(D::DeliveredAt, Expr::value(Some(attempt.at)))
            .exec(&txn)
            .await?;
        DeliveryStatus::Delivered
    } else if attempt.at - failing_since >= GIVE_UP_AFTER {
        still_pending()
            .col_expr(D::Status, Expr::value(DeliveryStatus::Failed.as_str()))
            .col_expr(D::NextAttemptAt, Expr::value(None::<DateTime<Utc>>))
            .exec(&txn)
            .await?;
        turn_off(&txn, &due.endpoint, attempt.at).await?;
        DeliveryStatus::Failed
    } else {
        let wait = BACKOFF[failures.saturating_sub(1).min(BACKOFF.len() - 1)];
        still_pending()
            .col_expr(D::NextAttemptAt, Expr::value(Some(attempt.at + wait)))
            .col_expr(D::FailingSince, Expr::value(Some(failing_since)))
            .exec(&txn)
            .await?;
        DeliveryStatus::Pending
    };
    txn.commit().await?;
    Ok(status)
}

/// Turns an endpoint off after 3 days of failures and tells every admin.
async fn turn_off(
    txn: &impl ConnectionTrait,
    endpoint: &endpoints::Model,
    now: DateTime<Utc>,
) -> Result<(), DbErr> {
    let turned = endpoints::Entity::update_many()
        .col_expr(E::Enabled, Expr::value(false))
        .col_expr(
            E::DisabledReason,
            Expr::value(Some("failing for 3 days".to_owned())),
        )
        .col_expr(E::UpdatedAt, Expr::value(now))
        .filter(E::Id.eq(endpoint.id))
        .filter(E::Enabled.eq(true))
        .exec(txn)
        .await?;
    if turned.rows_affected == 0 {
        return Ok(());
    }
    tracing::warn!(endpoint = %endpoint.id, "webhook endpoint failing for 3 days: turned off");
    let admins = entity::users::Entity::find()
        .filter(entity::users::Column::Role.eq(common::auth::Role::Admin))
        .all(txn)
        .await?;
    let subject = "Webhook désactivé".to_owned();
    let body = format!(
        "Bonjour,\n\nLes envois vers {} échouent depuis 3 jours : ce webhook est désactivé.\n\
         Les événements restent dans le journal ; réactivez-le depuis l'administration une \
         fois le destinataire rétabli, et il reprendra là où il s'est arrêté.\n",
        endpoint.url
    );
    for admin in admins {
        mail::queue(txn, &admin.email, subject.clone(), body.clone()).await?;
    }
    Ok(())
}
