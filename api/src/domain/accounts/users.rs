//! Accounts: registration (with its verification mail), login (throttled
//! per account and client address, uniform failures), promotion.

use chrono::Utc;
use common::ErrorCode;
use common::auth::{License, MAX_PASSWORD_BYTES, Role, check_new_password};
use sea_orm::{
    ActiveValue::Set, ColumnTrait, ConnectionTrait, DatabaseConnection, EntityTrait, QueryFilter,
    TransactionTrait,
};
use uuid::Uuid;

use crate::domain::accounts::gate::Gate;
use crate::domain::is_unique_violation;
use crate::domain::platform::throttles;
use crate::email::Email;
use crate::error::{ApiError, ApiResult};
use entity::users;

fn checked_email(raw: &str) -> ApiResult<Email> {
    Email::parse(raw)
        .ok_or_else(|| ApiError::invalid("email", "format", "not a valid e-mail address"))
}

fn listed_admin(gate: &Gate<'_>, email: &str) -> bool {
    gate.admin_emails.iter().any(|a| a == email)
}

/// A user's e-mail address.
pub async fn email_of(
    db: &impl ConnectionTrait,
    id: Uuid,
) -> Result<Option<String>, sea_orm::DbErr> {
    Ok(users::Entity::find_by_id(id)
        .one(db)
        .await?
        .map(|u| u.email))
}

/// Inserts a user with an already-hashed password.
pub async fn insert_user(
    db: &impl ConnectionTrait,
    email: &str,
    password_hash: String,
    role: Role,
    license: License,
) -> Result<users::Model, sea_orm::DbErr> {
    let now = Utc::now();
    users::Entity::insert(users::ActiveModel {
        id: Set(Uuid::new_v4()),
        email: Set(email.to_owned()),
        email_skeleton: Set(Some(crate::email::skeleton(email))),
        password_hash: Set(password_hash),
        role: Set(role),
        license: Set(license),
        email_verified_at: Set(None),
        erased_at: Set(None),
        created_at: Set(now),
        updated_at: Set(now),
    })
    .exec_with_returning(db)
    .await
}

/// Fills the skeleton of accounts made before it was kept, oldest first.
/// An account whose address looks like an older one's keeps none, and is
/// named in the log: one of the two may be an impostor, for a person to
/// look at. Answers how many were filled.
pub async fn fill_skeletons(db: &impl ConnectionTrait) -> Result<u64, sea_orm::DbErr> {
    use sea_orm::{QueryOrder, sea_query::Expr};
    let missing = users::Entity::find()
        .filter(users::Column::EmailSkeleton.is_null())
        .order_by_asc(users::Column::CreatedAt)
        .all(db)
        .await?;
    let mut filled = 0;
    for user in missing {
        let skeleton = crate::email::skeleton(&user.email);
        let set = users::Entity::update_many()
            .col_expr(users::Column::EmailSkeleton, Expr::value(skeleton))
            .filter(users::Column::Id.eq(user.id))
            .filter(users::Column::EmailSkeleton.is_null())
            .exec(db)
            .await;
        match set {
            Ok(_) => filled += 1,
            Err(e) if is_unique_violation(&e) => {
                tracing::warn!(user = %user.id, "this account's address looks like an older account's")
            }
            Err(e) => return Err(e),
        }
    }
    Ok(filled)
}

/// Creates an account, always as a plain user: an address listed in
/// `ADMIN_EMAILS` becomes admin only once its owner follows the link of
/// the verification mail, queued here in the same transaction.
#[tracing::instrument(skip_all, fields(ip = %ip))]
pub async fn register(
    gate: &Gate<'_>,
    ip: &str,
    email: &str,
    password: String,
) -> ApiResult<users::Model> {
    throttles::admit(gate.db, &[(gate.limits.per_ip, ip)], Utc::now()).await?;
    let email = checked_email(email)?;
    check_new_password(&password)?;
    let hash = gate.hashing.hash(password).await?;
    let txn = gate.db.begin().await?;
    let user = insert_user(&txn, email.as_str(), hash, Role::User, License::None)
        .await
        .map_err(|e| {
            if is_unique_violation(&e) {
                ApiError::conflict(
                    ErrorCode::EmailTaken,
                    "an account already uses this e-mail, or one that looks the same",
                )
            } else {
                e.into()
            }
        })?;
    crate::domain::accounts::credentials::send_verification(
        &txn,
        gate.public_url,
        &user,
        Utc::now(),
    )
    .await?;
    txn.commit().await?;
    Ok(user)
}

/// The failure counter of an account as tried from one client address.
fn account_key(email: &str, ip: &str) -> String {
    format!("{email}|{ip}")
}

/// Past the per-account ceiling (failures from every address, `failures`
/// counting this attempt), guesses at the account are let through one
/// every few seconds, from everywhere together: a distributed guesser gets
/// a handful a minute, and the owner waits seconds at most.
async fn trickle(gate: &Gate<'_>, account: &str, failures: i32) -> ApiResult<()> {
    if i64::from(failures) <= i64::from(gate.limits.per_account.max) {
        return Ok(());
    }
    throttles::admit(
        gate.db,
        &[(gate.limits.account_trickle, account)],
        Utc::now(),
    )
    .await
}

/// A client that signed in to an account before, as its device cookie
/// proves (the http layer checks the signature): the account, and the
/// key its own failures are counted under.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Device {
    pub user_id: Uuid,
    pub key: String,
    /// The password it was issued under (`token::credential_of`): a
    /// cookie from before a reset or a change counts for nothing.
    pub credential: String,
}

/// Checks credentials. Unknown e-mail and wrong password give the same
/// answer after the same work (a decoy hash is verified).
///
/// Invariant 17: an owner's correct password is never refused because of
/// someone else's failures. A refused attempt counts nowhere; a success
/// does not count against its address; and a client that signed in to
/// the account before (`device`) is counted on its own, outside the pair
/// and account counters that others' failures fill.
#[tracing::instrument(skip_all, fields(ip = %ip))]
pub async fn login(
    gate: &Gate<'_>,
    ip: &str,
    email: &str,
    password: String,
    device: Option<Device>,
) -> ApiResult<users::Model> {
    let invalid = || {
        ApiError::new(
            ErrorCode::InvalidCredentials,
            "unknown e-mail or wrong password",
        )
    };
    let now = Utc::now();
    // Not an address: no account can match, and no counter is keyed by it
    // (a flood of junk keys would only cost memory).
    let key = Email::parse(email).map(Email::into_string);
    // Only a device cookie needs the account before the counters; any
    // other attempt reads it once admitted (a refused one costs no read).
    let mut found = None;
    let device = match (&key, device) {
        (Some(k), Some(d)) => {
            let account = by_email(gate.db, k).await?;
            let ours = account.as_ref().is_some_and(|u| {
                u.id == d.user_id
                    && crate::auth::token::credential_of(&u.password_hash) == d.credential
            });
            found = Some(account);
            ours.then_some(d)
        }
        _ => None,
    };
    let pair = key.as_deref().map(|k| account_key(k, ip));
    let limits = gate.limits;
    // Every decision is made on the counts that this attempt's own upsert
    // answers, never on an earlier read: a burst of concurrent guesses on
    // several instances cannot all pass a check before any is counted.
    // Each attempt counts as a failure until the password proves otherwise.
    let mut counters = vec![(limits.per_ip, ip)];
    match (&device, &pair) {
        (Some(d), _) => counters.push((limits.per_device, d.key.as_str())),
        (None, Some(p)) => counters.push((limits.per_account_ip, p.as_str())),
        (None, None) => {}
    }
    let admitted = throttles::admit_counted(gate.db, &counters, now).await?;
    let Some(key) = key else {
        return Err(invalid());
    };
    let mut failures = counters[1..].to_vec();
    if device.is_none() {
        let account = throttles::hit(gate.db, &[(limits.per_account, key.as_str())], now).await?;
        let hits = account.first().map_or(0, |c| c.hits);
        if let Err(refused) = trickle(gate, &key, hits).await {
            // Refused unheard: this attempt is no failure of anyone's.
            throttles::take_back(gate.db, &admitted).await?;
            throttles::take_back(gate.db, &account).await?;
            return Err(refused);
        }
        failures.push((limits.per_account, key.as_str()));
    }
    if password.len() > MAX_PASSWORD_BYTES {
        return Err(invalid());
    }
    let found = match found {
        Some(account) => account,
        None => by_email(gate.db, &key).await?,
    }
    // An erased account never signs in again, whatever its hash became.
    .filter(|u| u.erased_at.is_none());
    let phc = found
        .as_ref()
        .map_or_else(|| gate.decoy_hash.to_owned(), |u| u.password_hash.clone());
    let matches = gate.hashing.verify(password, phc).await?;
    let Some(user) = found.filter(|_| matches) else {
        return Err(invalid());
    };
    throttles::reset(gate.db, &failures).await?;
    // A success is no attempt against the address.
    throttles::take_back(gate.db, &admitted[..1]).await?;
    ensure_configured_admin(gate, user).await
}

/// The account of a normalised address.
async fn by_email(
    db: &DatabaseConnection,
    email: &str,
) -> Result<Option<users::Model>, sea_orm::DbErr> {
    users::Entity::find()
        .filter(users::Column::Email.eq(email))
        .one(db)
        .await
}

/// A verified user listed in `ADMIN_EMAILS` becomes admin at their next
/// login.
async fn ensure_configured_admin(gate: &Gate<'_>, user: users::Model) -> ApiResult<users::Model> {
    if user.role == Role::Admin
        || user.email_verified_at.is_none()
        || !listed_admin(gate, &user.email)
    {
        return Ok(user);
    }
    let by = crate::domain::accounts::roles::BY_ADMIN_EMAILS;
    crate::domain::accounts::roles::change(gate.db, &user, Role::Admin, by, Utc::now()).await?;
    Ok(users::Entity::find_by_id(user.id)
        .one(gate.db)
        .await?
        .unwrap_or(user))
}

#[derive(Debug, thiserror::Error)]
pub enum PromoteError {
    #[error("no user has the e-mail {0}")]
    UnknownUser(String),
    #[error(transparent)]
    Db(#[from] sea_orm::DbErr),
}

/// The CLI's `promote-admin` and `demote-admin`: an existing user gets
/// `role`, and the change is kept.
pub async fn set_role_by_cli(
    db: &DatabaseConnection,
    email: &str,
    role: Role,
) -> Result<users::Model, PromoteError> {
    let email = Email::parse(email)
        .ok_or_else(|| PromoteError::UnknownUser(email.to_owned()))?
        .into_string();
    let user = by_email(db, &email)
        .await?
        .ok_or(PromoteError::UnknownUser(email))?;
    crate::domain::accounts::roles::change(
        db,
        &user,
        role,
        crate::domain::accounts::roles::BY_CLI,
        Utc::now(),
    )
    .await?;
    Ok(users::Entity::find_by_id(user.id)
        .one(db)
        .await?
        .unwrap_or(user))
}
