//! Profiles: a user's names (required before a first booking or
//! subscription) and what an invoice to a company needs.

use std::collections::HashMap;

use chrono::Utc;
use common::profile::{ProfileDto, ProfilePatch, full_name, validate_profile};
use sea_orm::sea_query::OnConflict;
use sea_orm::{
    ActiveValue::Set, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, TransactionTrait,
};
use uuid::Uuid;

use crate::error::{ApiError, ApiResult};
use common::ErrorCode;
use entity::user_profiles::{self as profiles, Column};

fn to_dto(p: Option<profiles::Model>) -> ProfileDto {
    let Some(p) = p else {
        return ProfileDto::default();
    };
    ProfileDto {
        complete: p.first_name.is_some() && p.last_name.is_some(),
        first_name: p.first_name,
        last_name: p.last_name,
        company: p.company,
        billing_address: p.billing_address,
        phone: p.phone,
    }
}

pub async fn get(db: &impl ConnectionTrait, user_id: Uuid) -> ApiResult<ProfileDto> {
    Ok(to_dto(profiles::Entity::find_by_id(user_id).one(db).await?))
}

/// Applies a checked change in one statement (an upsert of the fields it
/// names), and answers the profile as it now is. An account erased while
/// the request ran gets no profile back (401).
pub async fn update(
    db: &sea_orm::DatabaseConnection,
    user_id: Uuid,
    patch: ProfilePatch,
) -> ApiResult<ProfileDto> {
    let v = validate_profile(patch).map_err(ApiError::Validation)?;
    let mut row = profiles::ActiveModel {
        user_id: Set(user_id),
        updated_at: Set(Utc::now()),
        ..Default::default()
    };
    let mut changed = vec![Column::UpdatedAt];
    let txn = db.begin().await?;
    let mut set = |col: Column, value: Option<Option<String>>| {
        if let Some(value) = value {
            changed.push(col);
            Some(Set(value))
        } else {
            None
        }
    };
    if let Some(s) = set(Column::FirstName, v.first_name.map(Some)) {
        row.first_name = s;
    }
    if let Some(s) = set(Column::LastName, v.last_name.map(Some)) {
        row.last_name = s;
    }
    if let Some(s) = set(Column::Company, v.company) {
        row.company = s;
    }
    if let Some(s) = set(Column::BillingAddress, v.billing_address) {
        row.billing_address = s;
    }
    if let Some(s) = set(Column::Phone, v.phone) {
        row.phone = s;
    }
    profiles::Entity::insert(row)
        .on_conflict(
            OnConflict::column(Column::UserId)
                .update_columns(changed)
                .to_owned(),
        )
        .exec_without_returning(&txn)
        .await?;
    if let Err(gone) = crate::domain::accounts::standing::require_live(&txn, user_id).await {
        txn.rollback().await?;
        return Err(gone);
    }
    let now = get(&txn, user_id).await?;
    txn.commit().await?;
    Ok(now)
}

/// Refuses (409 `profile_incomplete`) a user who has not given both
/// names: a first booking or subscription needs them, since invoices and
/// attendance sheets name the person.
pub async fn require_names(db: &impl ConnectionTrait, user_id: Uuid) -> ApiResult<()> {
    if get(db, user_id).await?.complete {
        return Ok(());
    }
    Err(names_missing())
}

/// 409 `profile_incomplete`: the one answer when names are missing.
pub fn names_missing() -> ApiError {
    ApiError::conflict(
        ErrorCode::ProfileIncomplete,
        "give your first and last name (PATCH /api/me/profile) before a first booking or subscription",
    )
}

/// "First Last" of each of `users` that has both names.
pub async fn names_of(
    db: &impl ConnectionTrait,
    users: impl IntoIterator<Item = Uuid>,
) -> ApiResult<HashMap<Uuid, String>> {
    let rows = profiles::Entity::find()
        .filter(Column::UserId.is_in(users))
        .all(db)
        .await?;
    Ok(rows
        .into_iter()
        .filter_map(|p| {
            full_name(p.first_name.as_deref(), p.last_name.as_deref()).map(|n| (p.user_id, n))
        })
        .collect())
}
