//! The members' area content: admins create, edit, reorder and delete it;
//! subscribers read it in order.

use chrono::Utc;
use common::resources::{
    NewResource, ResourceDto, ResourceOrder, ResourcePatch, validate_resource,
};
use sea_orm::sea_query::Expr;
use sea_orm::{
    ActiveValue::Set, ColumnTrait, DatabaseConnection, EntityTrait, PaginatorTrait, QueryFilter,
    QueryOrder, QuerySelect, TransactionTrait,
};
use uuid::Uuid;

use crate::error::{ApiError, ApiResult};
use entity::member_resources::{self as resources, Column};

fn to_dto(m: resources::Model) -> ResourceDto {
    ResourceDto {
        id: m.id,
        title: m.title,
        kind: m.kind,
        url: m.url,
        body: m.body,
        position: m.position,
        created_at: m.created_at,
        updated_at: m.updated_at,
    }
}

pub async fn list(db: &DatabaseConnection) -> ApiResult<Vec<ResourceDto>> {
    let rows = resources::Entity::find()
        .order_by_asc(Column::Position)
        .order_by_asc(Column::CreatedAt)
        .all(db)
        .await?;
    Ok(rows.into_iter().map(to_dto).collect())
}

#[tracing::instrument(skip(db))]
pub async fn create(db: &DatabaseConnection, new: NewResource) -> ApiResult<ResourceDto> {
    let (title, url, body) = validate_resource(
        &new.title,
        new.kind,
        new.url.as_deref(),
        new.body.as_deref(),
    )
    .map_err(ApiError::Validation)?;
    let txn = db.begin().await?;
    let last: Option<i32> = resources::Entity::find()
        .select_only()
        .column_as(Column::Position.max(), "max")
        .into_tuple::<Option<i32>>()
        .one(&txn)
        .await?
        .flatten();
    let now = Utc::now();
    let model = resources::Entity::insert(resources::ActiveModel {
        id: Set(Uuid::new_v4()),
        title: Set(title),
        kind: Set(new.kind),
        url: Set(url),
        body: Set(body),
        position: Set(last.map_or(0, |p| p + 1)),
        created_at: Set(now),
        updated_at: Set(now),
    })
    .exec_with_returning(&txn)
    .await?;
    txn.commit().await?;
    Ok(to_dto(model))
}

#[tracing::instrument(skip(db))]
pub async fn update(
    db: &DatabaseConnection,
    id: Uuid,
    patch: ResourcePatch,
) -> ApiResult<ResourceDto> {
    let current = resources::Entity::find_by_id(id)
        .one(db)
        .await?
        .ok_or_else(|| ApiError::not_found("resource"))?;
    let kind = patch.kind.unwrap_or(current.kind);
    let title = patch.title.unwrap_or_else(|| current.title.clone());
    let url = patch.url.or_else(|| current.url.clone());
    let body = patch.body.or_else(|| current.body.clone());
    let (title, url, body) = validate_resource(&title, kind, url.as_deref(), body.as_deref())
        .map_err(ApiError::Validation)?;
    let model = resources::Entity::update(resources::ActiveModel {
        id: Set(id),
        title: Set(title),
        kind: Set(kind),
        url: Set(url),
        body: Set(body),
        updated_at: Set(Utc::now()),
        ..Default::default()
    })
    .exec(db)
    .await?;
    Ok(to_dto(model))
}

#[tracing::instrument(skip(db))]
pub async fn delete(db: &DatabaseConnection, id: Uuid) -> ApiResult<()> {
    let res = resources::Entity::delete_by_id(id).exec(db).await?;
    if res.rows_affected == 0 {
        return Err(ApiError::not_found("resource"));
    }
    Ok(())
}

/// Sets the order: `ids` must name every resource exactly once.
#[tracing::instrument(skip(db))]
pub async fn reorder(db: &DatabaseConnection, order: ResourceOrder) -> ApiResult<Vec<ResourceDto>> {
    let txn = db.begin().await?;
    let count = resources::Entity::find().count(&txn).await?;
    let mut seen = std::collections::HashSet::new();
    let complete = order.ids.len() as u64 == count && order.ids.iter().all(|id| seen.insert(*id));
    if !complete {
        return Err(ApiError::invalid(
            "ids",
            "not_a_permutation",
            format!("ids must list each of the {count} resources exactly once"),
        ));
    }
    for (position, id) in order.ids.iter().enumerate() {
        let res = resources::Entity::update_many()
            .col_expr(Column::Position, Expr::value(position as i32))
            .col_expr(Column::UpdatedAt, Expr::value(Utc::now()))
            .filter(Column::Id.eq(*id))
            .exec(&txn)
            .await?;
        if res.rows_affected != 1 {
            return Err(ApiError::invalid(
                "ids",
                "unknown",
                format!("no resource {id}"),
            ));
        }
    }
    txn.commit().await?;
    list(db).await
}
