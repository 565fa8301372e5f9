//! What the account services that check people work with, gathered once
//! from the app's state: signing up and in (`users`) and proving the
//! account's owner (`credentials`).

use sea_orm::DatabaseConnection;

use crate::auth::password::HashLimit;
use crate::domain::platform::throttles::LoginLimits;

/// What signing up and in, and proving the account's owner, work with:
/// the database, the throttles, the line for password hashes, the decoy
/// hash an unknown address is checked against, the addresses of
/// `ADMIN_EMAILS`, and where mailed links point.
pub struct Gate<'a> {
    pub db: &'a DatabaseConnection,
    pub limits: LoginLimits,
    pub hashing: &'a HashLimit,
    pub decoy_hash: &'a str,
    pub admin_emails: &'a [String],
    pub public_url: &'a str,
}
