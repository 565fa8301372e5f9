//! API keys: issued by admins to third parties, shown once, kept only as
//! a SHA-256 digest (the secret is 256 random bits: a fast digest is as
//! good as a slow one, and a request's key is found by one index read).
//! Every request reads its key's row, so a revocation holds on every
//! instance from the moment it commits.

use std::net::IpAddr;

use chrono::{DateTime, Duration, Utc};
use common::api_keys::{ApiKeyDto, CreatedApiKey, NewApiKey, Scope};
use ipnet::IpNet;
use sea_orm::sea_query::Expr;
use sea_orm::{
    ActiveValue::Set, ColumnTrait, Condition, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder,
};
use uuid::Uuid;

use super::tokens::digest;
use crate::error::{ApiError, ApiResult};
use entity::api_keys::{self as keys, Column};

/// What every secret starts with, so that secret scanners find a leaked one.
pub const SECRET_PREFIX: &str = "imm_live_";
/// How much of a secret is kept in clear to tell keys apart.
const SHOWN_CHARS: usize = SECRET_PREFIX.len() + 8;
/// Last use is written at most this often per key: a busy key costs one
/// write a minute, not one per request.
const LAST_USE_PRECISION: Duration = Duration::minutes(1);
const MAX_NAME_CHARS: usize = 100;
const MAX_ALLOWED_IPS: usize = 50;

/// True when `token` claims to be an API key (rather than a sign-in token).
pub fn is_key(token: &str) -> bool {
    token.starts_with(SECRET_PREFIX)
}

/// A key as the request that presented it needs it, with the admin who
/// issued it.
#[derive(Debug, Clone)]
pub struct Key {
    pub id: Uuid,
    pub name: String,
    pub scopes: Vec<Scope>,
    pub issuer: entity::users::Model,
}

/// Creates a key issued by the admin `by`; the answer holds the secret,
/// which is never shown again.
#[tracing::instrument(skip(db, new))]
pub async fn create(
    db: &impl ConnectionTrait,
    by: Uuid,
    new: NewApiKey,
    now: DateTime<Utc>,
) -> ApiResult<CreatedApiKey> {
    let (scopes, allowed) = validate(&new, now)?;
    let secret = format!("{SECRET_PREFIX}{}", hex::encode(rand::random::<[u8; 32]>()));
    let row = keys::ActiveModel {
        id: Set(Uuid::new_v4()),
        name: Set(new.name.trim().to_owned()),
        prefix: Set(secret[..SHOWN_CHARS].to_owned()),
        secret_hash: Set(digest(&secret)),
        scopes: Set(join_scopes(&scopes)),
        allowed_ips: Set(allowed.map(|nets| {
            nets.iter()
                .map(ToString::to_string)
                .collect::<Vec<_>>()
                .join(",")
        })),
        expires_at: Set(new.expires_at),
        issued_by: Set(by),
        created_at: Set(now),
        last_used_at: Set(None),
        revoked_at: Set(None),
        revoked_by: Set(None),
    };
    let row = keys::Entity::insert(row).exec_with_returning(db).await?;
    Ok(CreatedApiKey {
        key: dto(row),
        secret,
    })
}

fn validate(new: &NewApiKey, now: DateTime<Utc>) -> ApiResult<(Vec<Scope>, Option<Vec<IpNet>>)> {
    let name = new.name.trim();
    if name.is_empty() || name.chars().count() > MAX_NAME_CHARS {
        return Err(ApiError::invalid(
            "name",
            "length",
            format!("a name of 1 to {MAX_NAME_CHARS} characters"),
        ));
    }
    if common::has_control_chars(name, false) || common::has_invisible_chars(name) {
        return Err(ApiError::invalid(
            "name",
            "characters",
            "no control or invisible characters",
        ));
    }
    let mut scopes = new.scopes.clone();
    scopes.sort();
    scopes.dedup();
    if scopes.is_empty() {
        return Err(ApiError::invalid(
            "scopes",
            "min_items",
            "at least one scope",
        ));
    }
    if new.expires_at.is_some_and(|at| at <= now) {
        return Err(ApiError::invalid(
            "expires_at",
            "future",
            "an expiry in the future",
        ));
    }
    let allowed = match &new.allowed_ips {
        None => None,
        Some(list) if list.is_empty() || list.len() > MAX_ALLOWED_IPS => {
            return Err(ApiError::invalid(
                "allowed_ips",
                "items",
                format!("1 to {MAX_ALLOWED_IPS} addresses or networks, or none at all"),
            ));
        }
        Some(list) => Some(
            list.iter()
                .map(|s| parse_net(s))
                .collect::<Option<Vec<_>>>()
                .ok_or_else(|| {
                    ApiError::invalid(
                        "allowed_ips",
                        "format",
                        "addresses (203.0.113.7) or networks (2001:db8::/32)",
                    )
                })?,
        ),
    };
    Ok((scopes, allowed))
}

/// An address is the network of that one address.
fn parse_net(s: &str) -> Option<IpNet> {
    let s = s.trim();
    s.parse::<IpNet>()
        .ok()
        .or_else(|| s.parse::<IpAddr>().ok().map(IpNet::from))
        .map(|n| n.trunc())
}

fn join_scopes(scopes: &[Scope]) -> String {
    scopes
        .iter()
        .map(|s| s.as_str())
        .collect::<Vec<_>>()
        .join(" ")
}

/// The scopes as stored; a name this build does not know grants nothing.
fn scopes_of(row: &keys::Model) -> Vec<Scope> {
    row.scopes.split(' ').filter_map(Scope::parse).collect()
}

fn nets_of(row: &keys::Model) -> Option<Vec<IpNet>> {
    row.allowed_ips
        .as_deref()
        .map(|s| s.split(',').filter_map(parse_net).collect())
}

fn dto(row: keys::Model) -> ApiKeyDto {
    ApiKeyDto {
        id: row.id,
        scopes: scopes_of(&row),
        allowed_ips: nets_of(&row).map(|n| n.iter().map(ToString::to_string).collect()),
        name: row.name,
        prefix: row.prefix,
        expires_at: row.expires_at,
        last_used_at: row.last_used_at,
        created_at: row.created_at,
    }
}

/// The keys not revoked, newest first (expired ones too: an admin sees
/// that they have expired).
pub async fn list(db: &impl ConnectionTrait) -> ApiResult<Vec<ApiKeyDto>> {
    Ok(keys::Entity::find()
        .filter(Column::RevokedAt.is_null())
        .order_by_desc(Column::CreatedAt)
        .order_by_desc(Column::Id)
        .all(db)
        .await?
        .into_iter()
        .map(dto)
        .collect())
}

/// Revokes a key at once; 404 for an unknown or already revoked one.
#[tracing::instrument(skip(db))]
pub async fn revoke(
    db: &impl ConnectionTrait,
    by: Uuid,
    id: Uuid,
    now: DateTime<Utc>,
) -> ApiResult<()> {
    let done = keys::Entity::update_many()
        .col_expr(Column::RevokedAt, Expr::value(now))
        .col_expr(Column::RevokedBy, Expr::value(Some(by)))
        .filter(Column::Id.eq(id))
        .filter(Column::RevokedAt.is_null())
        .exec(db)
        .await?;
    if done.rows_affected == 0 {
        return Err(ApiError::not_found("API key"));
    }
    tracing::info!(key = %id, "API key revoked");
    Ok(())
}

/// The key whose secret is `secret`, if it may be used now from `client`:
/// 401 for an unknown, revoked or expired key or one whose issuer is no
/// longer an admin, 403 from an address it does not allow. Notes its use.
pub async fn authenticate(
    db: &impl ConnectionTrait,
    secret: &str,
    client: Option<IpAddr>,
    now: DateTime<Utc>,
) -> ApiResult<Key> {
    let (row, issuer) = keys::Entity::find()
        .filter(Column::SecretHash.eq(digest(secret)))
        .filter(Column::RevokedAt.is_null())
        .find_also_related(entity::users::Entity)
        .one(db)
        .await?
        .ok_or_else(ApiError::unauthorized)?;
    if row.expires_at.is_some_and(|at| at <= now) {
        return Err(ApiError::unauthorized());
    }
    // A key is as good as its issuer: an admin demoted takes their keys
    // with them.
    let Some(issuer) = issuer.filter(|u| u.role == common::auth::Role::Admin) else {
        return Err(ApiError::unauthorized());
    };
    if let Some(nets) = nets_of(&row) {
        let allowed = client.is_some_and(|ip| nets.iter().any(|n| n.contains(&ip)));
        if !allowed {
            return Err(ApiError::new(
                common::ErrorCode::Forbidden,
                "this API key is not allowed from this address",
            ));
        }
    }
    if row
        .last_used_at
        .is_none_or(|at| at <= now - LAST_USE_PRECISION)
    {
        keys::Entity::update_many()
            .col_expr(Column::LastUsedAt, Expr::value(now))
            .filter(Column::Id.eq(row.id))
            .filter(
                Condition::any()
                    .add(Column::LastUsedAt.is_null())
                    .add(Column::LastUsedAt.lte(now - LAST_USE_PRECISION)),
            )
            .exec(db)
            .await?;
    }
    Ok(Key {
        id: row.id,
        scopes: scopes_of(&row),
        name: row.name,
        issuer,
    })
}

/// The person a key acts for (`on_behalf_of`): a user by id, or by
/// e-mail address (read as sign-up reads it); 404 for nobody.
pub async fn person(db: &impl ConnectionTrait, named: &str) -> ApiResult<entity::users::Model> {
    use entity::users;
    let query = users::Entity::find();
    let query = match named.parse::<Uuid>() {
        Ok(id) => query.filter(users::Column::Id.eq(id)),
        Err(_) => match crate::email::Email::parse(named) {
            Some(email) => query.filter(users::Column::Email.eq(email.as_str())),
            None => return Err(ApiError::not_found("user")),
        },
    };
    // An erased account acts for no one.
    query
        .filter(users::Column::ErasedAt.is_null())
        .one(db)
        .await?
        .ok_or_else(|| ApiError::not_found("user"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn new(scopes: Vec<Scope>, ips: Option<Vec<&str>>) -> NewApiKey {
        NewApiKey {
            name: "CRM".into(),
            scopes,
            expires_at: None,
            allowed_ips: ips.map(|l| l.into_iter().map(str::to_owned).collect()),
        }
    }

    #[test]
    fn scopes_are_required_and_kept_once() {
        let now = Utc::now();
        assert!(validate(&new(vec![], None), now).is_err());
        let (scopes, _) = validate(
            &new(
                vec![Scope::StatsRead, Scope::SessionsRead, Scope::StatsRead],
                None,
            ),
            now,
        )
        .unwrap();
        assert_eq!(scopes, vec![Scope::SessionsRead, Scope::StatsRead]);
    }

    #[test]
    fn allowed_addresses_are_addresses_or_networks() {
        let now = Utc::now();
        let (_, nets) = validate(
            &new(
                vec![Scope::StatsRead],
                Some(vec!["203.0.113.7", "2001:db8::1/32"]),
            ),
            now,
        )
        .unwrap();
        let nets = nets.unwrap();
        assert_eq!(nets[0].to_string(), "203.0.113.7/32");
        assert_eq!(nets[1].to_string(), "2001:db8::/32");
        for bad in ["example.com", "10.0.0.0/33", ""] {
            assert!(validate(&new(vec![Scope::StatsRead], Some(vec![bad])), now).is_err());
        }
        assert!(validate(&new(vec![Scope::StatsRead], Some(vec![])), now).is_err());
    }

    #[test]
    fn an_expiry_must_be_ahead() {
        let now = Utc::now();
        let mut key = new(vec![Scope::StatsRead], None);
        key.expires_at = Some(now);
        assert!(validate(&key, now).is_err());
        key.expires_at = Some(now + Duration::days(1));
        assert!(validate(&key, now).is_ok());
    }
}
