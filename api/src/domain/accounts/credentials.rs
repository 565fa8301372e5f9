//! What proves an account's owner: the verification mail (the address is
//! theirs; only then can `ADMIN_EMAILS` make it an admin), the password
//! reset mail, and the password change. Each mail goes through the outbox
//! in the transaction that issues its token.

use chrono::{DateTime, Duration, Utc};
use common::ErrorCode;
use common::auth::Role;
use sea_orm::sea_query::Expr;
use sea_orm::{
    ColumnTrait, ConnectionTrait, DatabaseConnection, EntityTrait, QueryFilter, TransactionTrait,
};
use uuid::Uuid;

use crate::domain::accounts::gate::Gate;
use crate::domain::accounts::standing;
use crate::domain::accounts::tokens::{self, Purpose};
use crate::domain::platform::throttles;
use crate::domain::{accounts::sign_ins, platform::mail};
use crate::error::{ApiError, ApiResult};
use entity::users;

fn verification_mail(public_url: &str, token: &str) -> (String, String) {
    // In the fragment: browsers never send it, so no log or proxy sees it.
    let link = format!("{public_url}/verifier-email#token={token}");
    (
        "Confirmez votre adresse e-mail".to_owned(),
        format!(
            "Bonjour,\n\n\
             Pour confirmer que cette adresse est bien la vôtre, ouvrez ce lien \
             dans les 24 heures :\n\n{link}\n\n\
             Si vous n'avez pas créé de compte Immersion, ignorez ce message.\n\n\
             L'équipe Immersion"
        ),
    )
}

fn reset_mail(public_url: &str, token: &str) -> (String, String) {
    let link = format!("{public_url}/mot-de-passe/nouveau#token={token}");
    (
        "Choisissez un nouveau mot de passe".to_owned(),
        format!(
            "Bonjour,\n\n\
             Une demande de nouveau mot de passe a été faite pour votre compte \
             Immersion. Pour en choisir un, ouvrez ce lien dans l'heure :\n\n{link}\n\n\
             Toutes vos sessions ouvertes seront alors fermées. Si vous n'êtes \
             pas à l'origine de cette demande, ignorez ce message : votre mot \
             de passe reste le même.\n\n\
             L'équipe Immersion"
        ),
    )
}

/// Issues a verification token and queues its mail, in `db`'s transaction.
pub(super) async fn send_verification(
    db: &impl ConnectionTrait,
    public_url: &str,
    user: &users::Model,
    now: DateTime<Utc>,
) -> ApiResult<()> {
    let token = tokens::issue(db, user.id, Purpose::VerifyEmail, now).await?;
    let (subject, body) = verification_mail(public_url, &token);
    mail::queue(db, &user.email, subject, body).await?;
    Ok(())
}

fn invalid_token() -> ApiError {
    ApiError::new(
        ErrorCode::InvalidToken,
        "this link is invalid, already used or expired",
    )
}

/// Marks the address verified, and makes the user an admin when it is
/// listed in `ADMIN_EMAILS`: only a proven owner gets the role.
async fn mark_verified(
    db: &impl ConnectionTrait,
    user_id: Uuid,
    admin_emails: &[String],
    now: DateTime<Utc>,
) -> ApiResult<users::Model> {
    let user = users::Entity::find_by_id(user_id)
        .one(db)
        .await?
        .ok_or_else(|| ApiError::internal("token of a deleted user"))?;
    let mut update = users::Entity::update_many()
        .col_expr(users::Column::UpdatedAt, Expr::value(now))
        .filter(users::Column::Id.eq(user_id));
    if user.email_verified_at.is_none() {
        update = update.col_expr(users::Column::EmailVerifiedAt, Expr::value(now));
    }
    update.exec(db).await?;
    if admin_emails.iter().any(|a| a == &user.email) {
        let by = crate::domain::accounts::roles::BY_ADMIN_EMAILS;
        crate::domain::accounts::roles::change(db, &user, Role::Admin, by, now).await?;
    }
    users::Entity::find_by_id(user_id)
        .one(db)
        .await?
        .ok_or_else(|| ApiError::internal("user vanished"))
}

/// `POST /api/auth/verify-email`: the link from the mail, followed while
/// signed in to the account it was sent for. The link alone proves only
/// the mailbox; with the account's session it proves the account too. (An
/// attacker who registered someone else's address holds the session but
/// never sees the mail; the mailbox's owner sees the mail but cannot sign
/// in to the squatted account — a password reset gives them that, and
/// ends the squatter's sessions.)
pub async fn verify_email(
    db: &DatabaseConnection,
    admin_emails: &[String],
    signed_in_as: Uuid,
    token: &str,
    now: DateTime<Utc>,
) -> ApiResult<users::Model> {
    let txn = db.begin().await?;
    if !standing::lock_live(&txn, users::Column::Id.eq(signed_in_as)).await? {
        txn.rollback().await?;
        return Err(standing::account_erased());
    }
    let user_id = tokens::consume_for(&txn, token, Purpose::VerifyEmail, signed_in_as, now)
        .await?
        .ok_or_else(invalid_token)?;
    let user = mark_verified(&txn, user_id, admin_emails, now).await?;
    txn.commit().await?;
    Ok(user)
}

/// Sends the verification mail again, unless the address is verified.
pub async fn resend_verification(
    db: &DatabaseConnection,
    public_url: &str,
    user_id: Uuid,
    now: DateTime<Utc>,
) -> ApiResult<()> {
    let user = users::Entity::find_by_id(user_id)
        .one(db)
        .await?
        .ok_or_else(ApiError::unauthorized)?;
    if user.email_verified_at.is_some() {
        return Err(ApiError::conflict(
            ErrorCode::EmailAlreadyVerified,
            "this address is already verified",
        ));
    }
    let txn = db.begin().await?;
    // Its link and mail go nowhere for an account erased meanwhile.
    if !standing::lock_live(&txn, users::Column::Id.eq(user_id)).await? {
        txn.rollback().await?;
        return Err(standing::account_erased());
    }
    send_verification(&txn, public_url, &user, now).await?;
    txn.commit().await?;
    Ok(())
}

/// A reset mail went to the address this recently: no other is sent. The
/// links no longer void each other, so its owner holds one good for most
/// of its hour, and requests from many client addresses cannot flood the
/// mailbox.
const RESET_MAIL_GAP: Duration = Duration::minutes(10);

/// "Mot de passe oublié": a reset mail when the address has an account,
/// and the same answer either way (nothing tells who has an account).
pub async fn request_reset(
    db: &DatabaseConnection,
    public_url: &str,
    email: &str,
    now: DateTime<Utc>,
) -> ApiResult<()> {
    let Some(user) = users::Entity::find()
        .filter(users::Column::Email.eq(email))
        .one(db)
        .await?
    else {
        return Ok(());
    };
    let since = now - RESET_MAIL_GAP;
    if tokens::pending_since(db, user.id, Purpose::ResetPassword, since, now).await? {
        return Ok(());
    }
    let txn = db.begin().await?;
    // Nothing for an account erased meanwhile (and the same answer).
    if !standing::lock_live(&txn, users::Column::Id.eq(user.id)).await? {
        txn.rollback().await?;
        return Ok(());
    }
    let token = tokens::issue(&txn, user.id, Purpose::ResetPassword, now).await?;
    let (subject, body) = reset_mail(public_url, &token);
    mail::queue(&txn, &user.email, subject, body).await?;
    txn.commit().await?;
    Ok(())
}

/// The reset link with a new password: the password changes, every
/// session ends, and the address counts as verified (the mail reached it).
pub async fn reset_password(
    gate: &Gate<'_>,
    token: &str,
    new_password: String,
    now: DateTime<Utc>,
) -> ApiResult<users::Model> {
    common::auth::check_new_password(&new_password)?;
    // Hash only for a token that may work: no free hashing for guesses.
    if !tokens::is_usable(gate.db, token, Purpose::ResetPassword, now).await? {
        return Err(invalid_token());
    }
    let hash = gate.hashing.hash(new_password).await?;
    let txn = gate.db.begin().await?;
    if !standing::lock_live(&txn, tokens::owner_is(token, Purpose::ResetPassword)).await? {
        // No such token, or its account was erased meanwhile.
        txn.rollback().await?;
        return Err(invalid_token());
    }
    let user_id = tokens::consume(&txn, token, Purpose::ResetPassword, now)
        .await?
        .ok_or_else(invalid_token)?;
    // The other links still pending must not undo this one.
    tokens::revoke_all(&txn, user_id, Purpose::ResetPassword, now).await?;
    set_password(&txn, user_id, hash, now).await?;
    sign_ins::revoke_all(&txn, user_id, None, now).await?;
    let user = mark_verified(&txn, user_id, gate.admin_emails, now).await?;
    txn.commit().await?;
    Ok(user)
}

/// Sets the password of `user_id`, unless the account was erased while
/// the request hashed it: an erasure's unmatchable password stays (401).
/// The condition is in the UPDATE itself, which on PostgreSQL waits for
/// an erasure under way and reads its row again.
async fn set_password(
    txn: &sea_orm::DatabaseTransaction,
    user_id: Uuid,
    hash: String,
    now: DateTime<Utc>,
) -> ApiResult<()> {
    let set = users::Entity::update_many()
        .col_expr(users::Column::PasswordHash, Expr::value(hash))
        .col_expr(users::Column::UpdatedAt, Expr::value(now))
        .filter(users::Column::Id.eq(user_id))
        .filter(users::Column::ErasedAt.is_null())
        .exec(txn)
        .await?;
    if set.rows_affected == 0 {
        return Err(standing::account_erased());
    }
    Ok(())
}

/// The signed-in person's password, typed again before a change that
/// matters (a new password, deleting the account): a mismatch is a 422 on
/// `field`. Counted before the hash is checked, so concurrent guesses
/// cannot slip past the limit; a refused one counts nothing. The failure
/// count is forgiven when the password was right.
pub async fn confirm_password(
    gate: &Gate<'_>,
    user_id: Uuid,
    ip: &str,
    (field, typed): (&str, String),
    now: DateTime<Utc>,
) -> ApiResult<users::Model> {
    let (db, limits) = (gate.db, &gate.limits);
    let account = user_id.to_string();
    let failures = [(limits.password_change_failures, account.as_str())];
    throttles::admit(
        db,
        &[
            (limits.password_changes, account.as_str()),
            (limits.password_changes_per_ip, ip),
            failures[0],
        ],
        now,
    )
    .await?;
    let user = users::Entity::find_by_id(user_id)
        .one(db)
        .await?
        .ok_or_else(ApiError::unauthorized)?;
    let phc = user.password_hash.clone();
    if !gate.hashing.verify_for_change(typed, phc).await? {
        return Err(ApiError::invalid(
            field,
            "mismatch",
            "the password is wrong",
        ));
    }
    throttles::reset(db, &failures).await?;
    Ok(user)
}

/// "Mon compte": the current password and a new one. Every other session
/// ends; this one stays signed in. Answers the account as it is now.
pub async fn change_password(
    gate: &Gate<'_>,
    (user_id, session_id): (Uuid, Uuid),
    ip: &str,
    (current, new_password): (String, String),
    now: DateTime<Utc>,
) -> ApiResult<users::Model> {
    common::auth::check_new_password(&new_password)?;
    let user = confirm_password(gate, user_id, ip, ("current_password", current), now).await?;
    let hash = gate.hashing.hash_for_change(new_password).await?;
    let txn = gate.db.begin().await?;
    set_password(&txn, user_id, hash, now).await?;
    sign_ins::revoke_all(&txn, user_id, Some(session_id), now).await?;
    // A reset link mailed before the change must not undo it, once the
    // address is proven the account's. Before that, the mailbox wins
    // (invariant 17): whoever registered someone else's address cannot
    // void the links its owner was sent.
    if user.email_verified_at.is_some() {
        tokens::revoke_all(&txn, user_id, Purpose::ResetPassword, now).await?;
    }
    let user = users::Entity::find_by_id(user_id)
        .one(&txn)
        .await?
        .ok_or_else(ApiError::unauthorized)?;
    txn.commit().await?;
    Ok(user)
}
