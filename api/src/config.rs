//! Settings, read once at start from the environment (and `.env`), checked
//! together so that every bad value is reported in one go.

use common::subscriptions::{Plan, SubscriptionType};
use std::collections::HashMap;
use std::fmt;
use std::net::SocketAddr;
use std::path::PathBuf;

/// A value that must never reach a log line or a `Debug` dump.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    pub fn new(value: impl Into<String>) -> Self {
        Self(value.into())
    }
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret([redacted])")
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AppEnv {
    Development,
    Production,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogFormat {
    Text,
    Json,
}

/// Where the JWT signing secret came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum JwtSecretSource {
    /// `JWT_SECRET`.
    Configured(Secret),
    /// Development only: generated once and kept in this file.
    DevFile(PathBuf),
}

/// Login throttling, within a fixed window: per client IP (every
/// attempt), per account and client IP (failed attempts: an attacker's
/// failures never lock the owner out from another address), and a
/// per-account ceiling past which failures slow answers down.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RateLimits {
    pub per_ip: u32,
    pub per_account: u32,
    pub account_slowdown_after: u32,
    pub window_seconds: u64,
    /// Account mails (verification, reset) per hour, per account and per IP.
    pub mails_per_hour: u32,
    /// Holds and cancels per hour, per user and per client IP.
    pub seat_changes_per_user: u32,
    pub seat_changes_per_ip: u32,
    /// Requests per minute made with one API key, from everywhere.
    pub api_key_per_minute: u32,
}

/// Where outgoing webhooks may go (`webhook_targets` checks them).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TargetRules {
    /// Only https (production).
    pub require_https: bool,
    /// Loopback, private and link-local addresses too.
    pub allow_private: bool,
}

#[derive(Debug, Clone)]
pub struct Settings {
    pub app_env: AppEnv,
    pub database_url: String,
    /// The pool's size (`DATABASE_MAX_CONNECTIONS`); unset, 32 on
    /// PostgreSQL and 8 on SQLite.
    pub database_max_connections: Option<u32>,
    /// The longest a request waits for a database connection
    /// (`DATABASE_ACQUIRE_TIMEOUT_MS`); unset, 1 s on PostgreSQL, 2 s on
    /// SQLite.
    pub database_acquire_timeout: Option<std::time::Duration>,
    pub bind_addr: SocketAddr,
    /// The external URL; when `PUBLIC_URL` is unset, the bound address
    /// (known only after binding, as the port may be 0).
    pub public_url: String,
    pub public_url_configured: bool,
    /// Proxies whose `X-Forwarded-For` names the client (`TRUSTED_PROXIES`).
    pub trusted_proxies: Vec<ipnet::IpNet>,
    pub jwt_secret: JwtSecretSource,
    pub jwt_ttl_minutes: i64,
    pub admin_emails: Vec<String>,
    pub stripe_secret_key: Option<Secret>,
    pub stripe_webhook_secrets: Vec<Secret>,
    pub stripe_api_base: Option<String>,
    /// How long one call to Stripe may take (`STRIPE_TIMEOUT_SECONDS`,
    /// default 10): shorter than a request's deadline, and than the
    /// claim an owed call holds while it is made.
    pub stripe_timeout: std::time::Duration,
    pub stripe_price_monthly: Option<String>,
    pub stripe_price_yearly: Option<String>,
    /// What the local gateway charges for the plans (euro cents).
    pub local_plan_cents: (i64, i64),
    /// Who issues the invoices the app numbers itself (with the local
    /// gateway; Stripe issues its own), and what they say of VAT.
    pub invoicing: Invoicing,
    pub smtp_url: Option<Secret>,
    /// The sender of our mails.
    pub mail_from: String,
    pub hold_minutes: i64,
    /// After letting a hold of a session lapse or cancelling it unpaid, a
    /// user may hold that session again only this much later (0: at once).
    pub hold_cooldown_minutes: i64,
    /// The seats of one session one client address may hold at once,
    /// across accounts (`HOLDS_PER_ADDRESS`).
    pub holds_per_address: u32,
    /// An account whose address was never verified, holding nothing of
    /// value, is removed this many days after it was made
    /// (`UNVERIFIED_ACCOUNT_DAYS`).
    pub unverified_account_days: i64,
    pub cancellation_cutoff_days: i64,
    /// A session with a minimum is decided this many days before its start,
    /// unless it names its own date.
    pub min_places_decision_days: i64,
    pub past_due_grace_hours: i64,
    /// How long a waiting-list offer holds its seat (Stripe's Checkout
    /// Sessions last at most 24 hours).
    pub waitlist_offer_hours: i64,
    pub demo_data: bool,
    pub login_limits: RateLimits,
    pub web_dist: PathBuf,
    pub log_format: LogFormat,
    /// Background jobs (hold sweeper, mail worker) run in this process.
    pub jobs_enabled: bool,
    /// How long one request may take, its body included (a client that
    /// sends a body slowly holds a worker no longer than this).
    pub request_timeout: std::time::Duration,
    /// On SIGTERM, how long in-flight requests and job runs may take to
    /// finish before the process exits anyway.
    pub shutdown_timeout: std::time::Duration,
    /// Bearer token of `GET /metrics`; unset, `/metrics` answers 404.
    pub metrics_token: Option<Secret>,
    /// How often the hold sweeper and the owed-calls job tick.
    pub sweep_interval: std::time::Duration,
    /// How often the mail worker ticks.
    pub mail_interval: std::time::Duration,
    /// How often webhook deliveries are made (`WEBHOOK_INTERVAL_SECONDS`).
    pub webhook_interval: std::time::Duration,
    /// Where webhooks may go: https in production;
    /// `ALLOW_PRIVATE_WEBHOOK_TARGETS` (default: on in development only).
    pub webhook_targets: TargetRules,
    /// Where the backup job writes its copies (`BACKUP_DIR`; unset, no
    /// job: `immersion backup --to DIR` still works), how often
    /// (`BACKUP_EVERY_HOURS`) and how many it keeps (`BACKUP_KEEP`).
    pub backup: Option<BackupPlan>,
}

/// The rules' numbers, typed once from the settings after the payment
/// gateway is chosen: what the domain works with (it never reads
/// `Settings` itself). Built once at startup (`startup::Gateways::policy`).
#[derive(Debug, Clone)]
pub struct Policy {
    /// How long a hold lasts (at least Stripe's window: see `bookings::hold`).
    pub hold: chrono::Duration,
    /// How long a lapsed unpaid hold keeps its user from holding the same
    /// session again; none when off.
    pub hold_cooldown: Option<chrono::Duration>,
    /// The seats of one session one client address may hold at once.
    pub holds_per_address: u32,
    /// A paid seat is refunded in full up to this many days before the start.
    pub cancellation_cutoff_days: i64,
    /// How seats freed while people wait are offered to them.
    pub offers: Offers,
    /// Where links in mails and Checkout return URLs point.
    pub public_url: String,
    /// How long a past-due subscription still opens the members' area.
    pub past_due_grace: chrono::Duration,
    /// The prices we sell subscriptions at: only these give access.
    pub prices: Prices,
    /// Set when the app issues the invoices itself (the local gateway):
    /// a confirmed seat gets one in the transaction that confirms it.
    /// Stripe issues its own.
    pub invoicing: Option<Invoicing>,
    /// The seller's legal mentions, for the invoices the payment provider
    /// issues (`Invoicing::mentions`).
    pub seller_mentions: Vec<(String, String)>,
}

/// How waiting-list offers are made: how long they hold a seat, and where
/// the mailed link points.
#[derive(Debug, Clone)]
pub struct Offers {
    pub hold: chrono::Duration,
    pub public_url: String,
}

/// The price ids we sell subscriptions at: only these give access.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Prices {
    pub monthly: Option<String>,
    pub yearly: Option<String>,
}

impl Prices {
    /// The price id of a plan, when one is configured.
    pub fn of(&self, plan: Plan) -> Option<&str> {
        match plan {
            Plan::Monthly => self.monthly.as_deref(),
            Plan::Yearly => self.yearly.as_deref(),
        }
    }

    /// The plan a price is, when it is one of ours.
    pub fn plan_of(&self, price_id: Option<&str>) -> Option<SubscriptionType> {
        let price_id = price_id?;
        if self.monthly.as_deref() == Some(price_id) {
            Some(SubscriptionType::PremiumMonthly)
        } else if self.yearly.as_deref() == Some(price_id) {
            Some(SubscriptionType::PremiumYearly)
        } else {
            None
        }
    }
}

impl Settings {
    /// The database pool these settings ask for.
    pub fn pool(&self) -> crate::db::Pool {
        crate::db::Pool {
            max_connections: self.database_max_connections,
            acquire_timeout: self.database_acquire_timeout,
        }
    }
}

impl Settings {
    /// The policy for payments through Stripe, or, with `local_prices`,
    /// through the local gateway: it sells at its own price ids, and the
    /// app issues the invoices.
    pub fn policy(&self, local_prices: Option<Prices>) -> Policy {
        let (prices, invoicing) = match local_prices {
            Some(prices) => (prices, Some(self.invoicing.clone())),
            None => (
                Prices {
                    monthly: self.stripe_price_monthly.clone(),
                    yearly: self.stripe_price_yearly.clone(),
                },
                None,
            ),
        };
        Policy {
            hold: chrono::Duration::minutes(self.hold_minutes),
            hold_cooldown: (self.hold_cooldown_minutes > 0)
                .then(|| chrono::Duration::minutes(self.hold_cooldown_minutes)),
            holds_per_address: self.holds_per_address,
            cancellation_cutoff_days: self.cancellation_cutoff_days,
            offers: Offers {
                hold: chrono::Duration::hours(self.waitlist_offer_hours),
                public_url: self.public_url.clone(),
            },
            public_url: self.public_url.clone(),
            past_due_grace: chrono::Duration::hours(self.past_due_grace_hours),
            prices,
            invoicing,
            seller_mentions: self.invoicing.mentions(),
        }
    }
}

/// Every problem found in the settings, one line each.
#[derive(Debug, thiserror::Error)]
#[error("invalid settings:\n  - {}", .0.join("\n  - "))]
pub struct SettingsError(pub Vec<String>);

/// The backup job's plan.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BackupPlan {
    pub dir: PathBuf,
    pub every: std::time::Duration,
    pub keep: usize,
}

/// The seller's side of an invoice.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Invoicing {
    /// `COMPANY_NAME`: who signs the certificates of completion.
    pub name: String,
    /// The town of `COMPANY_ADDRESS` (its last line, postcode left out):
    /// where certificates are made ("fait à …").
    pub city: Option<String>,
    /// `COMPANY_NAME`, then `COMPANY_ADDRESS` with its " | " as line
    /// breaks, then the legal mentions a French training organisation
    /// prints: its SIRET, its RCS registration when it has one, and its
    /// training-activity declaration number.
    pub seller: String,
    /// `COMPANY_SIRET`: 14 digits (their Luhn check holds).
    pub siret: Option<String>,
    /// `COMPANY_NDA`: the numéro de déclaration d'activité, 11 digits.
    pub nda: Option<String>,
    /// `COMPANY_RCS`: "RCS Paris 123 456 789", when registered.
    pub rcs: Option<String>,
    /// `INVOICE_VAT_RATE` (a percentage), else `INVOICE_VAT_MENTION`
    /// (by default, the exemption of training organisations).
    pub vat: common::invoices::Vat,
}

impl Invoicing {
    /// The legal mentions as (name, value) pairs, for invoices the payment
    /// provider issues (Stripe's custom fields: at most 4, names of 40
    /// characters, values of 140).
    pub fn mentions(&self) -> Vec<(String, String)> {
        let mut out = Vec::new();
        if let Some(siret) = &self.siret {
            out.push(("SIRET".to_owned(), spaced(siret, &[3, 3, 3, 5])));
        }
        if let Some(rcs) = &self.rcs {
            out.push(("RCS".to_owned(), rcs.clone()));
        }
        if let Some(nda) = &self.nda {
            out.push((
                "Déclaration d'activité".to_owned(),
                format!(
                    "{} (ne vaut pas agrément de l'État)",
                    spaced(nda, &[2, 2, 5, 2])
                ),
            ));
        }
        out
    }
}

/// Every variable `Settings` reads. The README's table and the compose file
/// are checked against this list.
pub const SETTING_NAMES: &[&str] = &[
    "APP_ENV",
    "DATABASE_URL",
    "DATABASE_MAX_CONNECTIONS",
    "DATABASE_ACQUIRE_TIMEOUT_MS",
    "BIND_ADDR",
    "PUBLIC_URL",
    "ALLOW_HTTP_PUBLIC_URL",
    "TRUSTED_PROXIES",
    "JWT_SECRET",
    "JWT_TTL_MINUTES",
    "ADMIN_EMAILS",
    "STRIPE_SECRET_KEY",
    "STRIPE_WEBHOOK_SECRET",
    "STRIPE_API_BASE",
    "STRIPE_TIMEOUT_SECONDS",
    "STRIPE_PRICE_MONTHLY",
    "STRIPE_PRICE_YEARLY",
    "LOCAL_PLAN_MONTHLY_CENTS",
    "LOCAL_PLAN_YEARLY_CENTS",
    "COMPANY_NAME",
    "COMPANY_ADDRESS",
    "COMPANY_SIRET",
    "COMPANY_NDA",
    "COMPANY_RCS",
    "INVOICE_VAT_RATE",
    "INVOICE_VAT_MENTION",
    "SMTP_URL",
    "ALLOW_PLAIN_SMTP",
    "MAIL_FROM",
    "HOLD_MINUTES",
    "HOLD_COOLDOWN_MINUTES",
    "HOLDS_PER_ADDRESS",
    "UNVERIFIED_ACCOUNT_DAYS",
    "BACKUP_DIR",
    "BACKUP_EVERY_HOURS",
    "BACKUP_KEEP",
    "CANCELLATION_CUTOFF_DAYS",
    "MIN_PLACES_DECISION_DAYS",
    "PAST_DUE_GRACE_HOURS",
    "WAITLIST_OFFER_HOURS",
    "DEMO_DATA",
    "LOGIN_MAX_PER_IP",
    "LOGIN_MAX_FAILURES_PER_ACCOUNT",
    "LOGIN_WINDOW_SECONDS",
    "LOGIN_ACCOUNT_SLOWDOWN_AFTER",
    "ACCOUNT_MAILS_PER_HOUR",
    "SEAT_CHANGES_PER_USER_PER_HOUR",
    "SEAT_CHANGES_PER_IP_PER_HOUR",
    "API_KEY_REQUESTS_PER_MINUTE",
    "WEB_DIST",
    "LOG_FORMAT",
    "JOBS_ENABLED",
    "REQUEST_TIMEOUT_SECONDS",
    "SHUTDOWN_TIMEOUT_SECONDS",
    "METRICS_TOKEN",
    "SWEEP_INTERVAL_SECONDS",
    "MAIL_INTERVAL_SECONDS",
    "WEBHOOK_INTERVAL_SECONDS",
    "ALLOW_PRIVATE_WEBHOOK_TARGETS",
];

/// The local gateway's plan prices when the settings name none: 29 € a
/// month, 290 € a year (two months free).
pub const DEFAULT_PLAN_CENTS: (i64, i64) = (2_900, 29_000);

/// How an `SMTP_URL` carries mail to its relay.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum SmtpEncryption {
    /// `smtps://`, or `smtp://…?tls=required` (STARTTLS, refused when the
    /// relay does not offer it).
    Required,
    /// Plain, or `tls=opportunistic` (which an attacker on the path can
    /// strip).
    None,
}

/// How `url` carries mail, as lettre reads it; None when it is no SMTP URL.
fn smtp_encryption(url: &str) -> Option<SmtpEncryption> {
    let parsed = url::Url::parse(url).ok()?;
    parsed.host()?;
    let required = match parsed.scheme() {
        "smtps" => true,
        "smtp" => parsed
            .query_pairs()
            .any(|(k, v)| k == "tls" && v == "required"),
        _ => return None,
    };
    Some(if required {
        SmtpEncryption::Required
    } else {
        SmtpEncryption::None
    })
}

/// The directory for the embedded database and dev secrets.
pub const DATA_DIR: &str = "data";

impl Settings {
    /// Reads `.env` (if any) and the process environment.
    pub fn from_env() -> Result<Self, SettingsError> {
        dotenvy::dotenv().ok();
        let vars: HashMap<String, String> = std::env::vars().collect();
        Self::from_vars(&vars)
    }

    /// Parses settings from a map of variables; empty values count as unset.
    pub fn from_vars(vars: &HashMap<String, String>) -> Result<Self, SettingsError> {
        let mut p = Parser {
            vars,
            errors: Vec::new(),
        };
        let app_env = match p.get("APP_ENV").as_deref() {
            None | Some("development" | "dev" | "test") => AppEnv::Development,
            Some("production" | "prod") => AppEnv::Production,
            Some(other) => {
                p.errors.push(format!(
                    "APP_ENV: expected development or production, got {other:?}"
                ));
                AppEnv::Development
            }
        };
        let database_url = p
            .get("DATABASE_URL")
            .unwrap_or_else(|| format!("sqlite://{DATA_DIR}/immersion.db?mode=rwc"));
        if !(database_url.starts_with("sqlite:")
            || database_url.starts_with("postgres://")
            || database_url.starts_with("postgresql://"))
        {
            p.errors
                .push("DATABASE_URL: expected a sqlite: or postgres:// URL".to_owned());
        }
        let bind_addr = p.parse("BIND_ADDR", "an address like 127.0.0.1:8080", || {
            SocketAddr::from(([127, 0, 0, 1], 8080))
        });
        let public_url_configured = p.get("PUBLIC_URL").is_some();
        let public_url = p
            .get("PUBLIC_URL")
            .unwrap_or_else(|| format!("http://{bind_addr}"))
            .trim_end_matches('/')
            .to_owned();
        if !(public_url.starts_with("http://") || public_url.starts_with("https://")) {
            p.errors
                .push("PUBLIC_URL: expected an http:// or https:// URL".to_owned());
        }
        // Production is reached over TLS. Plain http only when explicitly
        // allowed: a TLS-terminating proxy on the same machine.
        let allow_http = p.flag("ALLOW_HTTP_PUBLIC_URL", false);
        if app_env == AppEnv::Production && public_url.starts_with("http://") && !allow_http {
            p.errors.push(
                "PUBLIC_URL: must be https:// when APP_ENV=production (set ALLOW_HTTP_PUBLIC_URL=true only behind a TLS-terminating proxy on loopback)"
                    .to_owned(),
            );
        }
        let trusted_proxies = p
            .get("TRUSTED_PROXIES")
            .map(|list| {
                list.split(',')
                    .map(str::trim)
                    .filter(|c| !c.is_empty())
                    .filter_map(|c| {
                        let parsed = c
                            .parse::<ipnet::IpNet>()
                            .or_else(|_| c.parse::<std::net::IpAddr>().map(ipnet::IpNet::from));
                        match parsed {
                            Ok(net) => Some(net),
                            Err(_) => {
                                p.errors.push(format!(
                                    "TRUSTED_PROXIES: {c:?} is not an address or CIDR"
                                ));
                                None
                            }
                        }
                    })
                    .collect()
            })
            .unwrap_or_default();
        let jwt_secret = match p.get("JWT_SECRET") {
            Some(s) if s.len() < 32 => {
                p.errors
                    .push("JWT_SECRET: must be at least 32 characters".to_owned());
                JwtSecretSource::Configured(Secret::new(s))
            }
            Some(s) => JwtSecretSource::Configured(Secret::new(s)),
            None if app_env == AppEnv::Production => {
                p.errors
                    .push("JWT_SECRET: required when APP_ENV=production".to_owned());
                JwtSecretSource::DevFile(PathBuf::new())
            }
            None => JwtSecretSource::DevFile(PathBuf::from(DATA_DIR).join("dev-jwt-secret")),
        };
        let jwt_ttl_minutes = p.number("JWT_TTL_MINUTES", 60, 1, 7 * 24 * 60);
        let admin_emails = p
            .get("ADMIN_EMAILS")
            .map(|list| {
                list.split(',')
                    .map(str::trim)
                    .filter(|e| !e.is_empty())
                    .filter_map(|e| match crate::email::Email::parse(e) {
                        Some(email) => Some(email.into_string()),
                        None => {
                            p.errors
                                .push(format!("ADMIN_EMAILS: {e:?} is not an e-mail address"));
                            None
                        }
                    })
                    .collect()
            })
            .unwrap_or_default();
        let stripe_secret_key = p.get("STRIPE_SECRET_KEY").map(Secret::new);
        let stripe_webhook_secrets: Vec<Secret> = p
            .get("STRIPE_WEBHOOK_SECRET")
            .map(|list| {
                list.split(',')
                    .map(str::trim)
                    .filter(|s| !s.is_empty())
                    .map(Secret::new)
                    .collect()
            })
            .unwrap_or_default();
        // Production never runs the local gateway: its pay page needs no
        // login and signs "paid" events, so it would give seats away.
        if app_env == AppEnv::Production {
            let missing: Vec<&str> = [
                ("STRIPE_SECRET_KEY", stripe_secret_key.is_none()),
                ("STRIPE_WEBHOOK_SECRET", stripe_webhook_secrets.is_empty()),
            ]
            .into_iter()
            .filter_map(|(name, absent)| absent.then_some(name))
            .collect();
            if !missing.is_empty() {
                p.errors.push(format!(
                    "{}: required when APP_ENV=production (the local payment gateway is for development only)",
                    missing.join(", ")
                ));
            }
        } else if stripe_secret_key.is_some() && stripe_webhook_secrets.is_empty() {
            p.errors
                .push("STRIPE_WEBHOOK_SECRET: required when STRIPE_SECRET_KEY is set".to_owned());
        }
        let stripe_api_base = p.get("STRIPE_API_BASE");
        let stripe_price_monthly = p.get("STRIPE_PRICE_MONTHLY");
        let stripe_price_yearly = p.get("STRIPE_PRICE_YEARLY");
        if stripe_secret_key.is_some() {
            for (key, value) in [
                ("STRIPE_PRICE_MONTHLY", &stripe_price_monthly),
                ("STRIPE_PRICE_YEARLY", &stripe_price_yearly),
            ] {
                if value.is_none() {
                    p.errors
                        .push(format!("{key}: required when STRIPE_SECRET_KEY is set"));
                }
            }
        }
        let (monthly, yearly) = DEFAULT_PLAN_CENTS;
        let local_plan_cents = (
            p.number("LOCAL_PLAN_MONTHLY_CENTS", monthly, 50, 10_000_000),
            p.number("LOCAL_PLAN_YEARLY_CENTS", yearly, 50, 100_000_000),
        );
        let invoicing = p.invoicing();
        // A training organisation's invoices, credit notes and
        // certificates print both (Code du travail L6352-12, Code de
        // commerce R123-237): production does not start without them.
        if app_env == AppEnv::Production {
            let missing: Vec<&str> = [
                ("COMPANY_SIRET", invoicing.siret.is_none()),
                ("COMPANY_NDA", invoicing.nda.is_none()),
            ]
            .into_iter()
            .filter_map(|(name, absent)| absent.then_some(name))
            .collect();
            if !missing.is_empty() {
                p.errors.push(format!(
                    "{}: required when APP_ENV=production (invoices, credit notes and certificates of completion print them)",
                    missing.join(", ")
                ));
            }
        }
        let smtp_url = p.get("SMTP_URL").map(Secret::new);
        // Without it mails are only logged, verification and reset links
        // included: fine on a laptop, a leak in production.
        if app_env == AppEnv::Production && smtp_url.is_none() {
            p.errors.push(
                "SMTP_URL: required when APP_ENV=production (account mails carry sign-in links)"
                    .to_owned(),
            );
        }
        let allow_plain_smtp = p.flag("ALLOW_PLAIN_SMTP", false);
        if let Some(u) = &smtp_url {
            match smtp_encryption(u.expose()) {
                None => p
                    .errors
                    .push("SMTP_URL: expected an smtp:// or smtps:// URL".to_owned()),
                // Sign-in and reset links cross the network in these mails.
                Some(SmtpEncryption::None)
                    if app_env == AppEnv::Production && !allow_plain_smtp =>
                {
                    p.errors.push(
                        "SMTP_URL: in production, mail must travel encrypted: use smtps://… or \
                         smtp://…?tls=required (or ALLOW_PLAIN_SMTP=true for a relay on this \
                         machine)"
                            .to_owned(),
                    )
                }
                Some(_) => {}
            }
        }
        let mail_from = p
            .get("MAIL_FROM")
            .unwrap_or_else(|| "Immersion <no-reply@immersion.test>".to_owned());
        if !mail_from.contains('@') {
            p.errors.push(format!(
                "MAIL_FROM: expected an address like Name <a@b.fr>, got {mail_from:?}"
            ));
        }
        let hold_minutes = p.number("HOLD_MINUTES", 30, 30, 24 * 60);
        let hold_cooldown_minutes = p.number("HOLD_COOLDOWN_MINUTES", 120, 0, 7 * 24 * 60);
        let holds_per_address = p.number("HOLDS_PER_ADDRESS", 2, 1, 1_000_000) as u32;
        let unverified_account_days = p.number("UNVERIFIED_ACCOUNT_DAYS", 7, 1, 365);
        let cancellation_cutoff_days = p.number("CANCELLATION_CUTOFF_DAYS", 14, 0, 365);
        let min_places_decision_days = p.number("MIN_PLACES_DECISION_DAYS", 14, 1, 365);
        let past_due_grace_hours = p.number("PAST_DUE_GRACE_HOURS", 0, 0, 24 * 30);
        let waitlist_offer_hours = p.number("WAITLIST_OFFER_HOURS", 24, 1, 24);
        let demo_requested = p.flag("DEMO_DATA", true);
        // Production never seeds, whatever DEMO_DATA says.
        let demo_data = demo_requested && app_env == AppEnv::Development;
        let login_limits = RateLimits {
            per_ip: p.number("LOGIN_MAX_PER_IP", 30, 1, 100_000) as u32,
            per_account: p.number("LOGIN_MAX_FAILURES_PER_ACCOUNT", 5, 1, 100_000) as u32,
            account_slowdown_after: p.number("LOGIN_ACCOUNT_SLOWDOWN_AFTER", 20, 1, 100_000) as u32,
            window_seconds: p.number("LOGIN_WINDOW_SECONDS", 900, 1, 86_400) as u64,
            mails_per_hour: p.number("ACCOUNT_MAILS_PER_HOUR", 5, 1, 1000) as u32,
            seat_changes_per_user: p.number("SEAT_CHANGES_PER_USER_PER_HOUR", 20, 1, 1_000_000)
                as u32,
            seat_changes_per_ip: p.number("SEAT_CHANGES_PER_IP_PER_HOUR", 300, 1, 1_000_000) as u32,
            api_key_per_minute: p.number("API_KEY_REQUESTS_PER_MINUTE", 600, 1, 1_000_000) as u32,
        };
        let web_dist = PathBuf::from(p.get("WEB_DIST").unwrap_or_else(|| "web/dist".to_owned()));
        let log_format = match p.get("LOG_FORMAT").as_deref() {
            None | Some("text") => LogFormat::Text,
            Some("json") => LogFormat::Json,
            Some(other) => {
                p.errors
                    .push(format!("LOG_FORMAT: expected text or json, got {other:?}"));
                LogFormat::Text
            }
        };
        let jobs_enabled = p.flag("JOBS_ENABLED", true);
        let seconds = |n: i64| std::time::Duration::from_secs(n as u64);
        let request_timeout =
            std::time::Duration::from_secs(p.number("REQUEST_TIMEOUT_SECONDS", 30, 1, 3600) as u64);
        // A checkout waits for Stripe inside its request, and an owed
        // call's claim lasts 60 s: its calls must end before either.
        // Unset, 10 s, or two thirds of a shorter request deadline.
        let stripe_timeout = match p.get("STRIPE_TIMEOUT_SECONDS") {
            Some(_) => {
                // An owed call makes up to four requests in its 60 s claim.
                let set = seconds(p.number("STRIPE_TIMEOUT_SECONDS", 10, 1, 14));
                if set >= request_timeout {
                    p.errors.push(
                        "STRIPE_TIMEOUT_SECONDS: shorter than REQUEST_TIMEOUT_SECONDS (a checkout waits for Stripe inside a request)"
                            .to_owned(),
                    );
                }
                set
            }
            None => Ord::min(seconds(10), request_timeout * 2 / 3),
        };
        let shutdown_timeout = seconds(p.number("SHUTDOWN_TIMEOUT_SECONDS", 30, 1, 3600));
        let sweep_interval = seconds(p.number("SWEEP_INTERVAL_SECONDS", 60, 1, 3600));
        let mail_interval = seconds(p.number("MAIL_INTERVAL_SECONDS", 5, 1, 3600));
        let webhook_interval = seconds(p.number("WEBHOOK_INTERVAL_SECONDS", 2, 1, 3600));
        let webhook_targets = TargetRules {
            require_https: app_env == AppEnv::Production,
            allow_private: p.flag(
                "ALLOW_PRIVATE_WEBHOOK_TARGETS",
                app_env == AppEnv::Development,
            ),
        };
        let backup_every = p.number("BACKUP_EVERY_HOURS", 24, 1, 24 * 7);
        let backup_keep = p.number("BACKUP_KEEP", 14, 1, 10_000) as usize;
        let backup = p.get("BACKUP_DIR").map(|dir| BackupPlan {
            dir: PathBuf::from(dir),
            every: seconds(backup_every * 3600),
            keep: backup_keep,
        });
        let metrics_token = p.get("METRICS_TOKEN").map(Secret::new);
        let database_max_connections = p
            .get("DATABASE_MAX_CONNECTIONS")
            .is_some()
            // Two at least: start-up holds one for its lock while migrating on another.
            .then(|| p.number("DATABASE_MAX_CONNECTIONS", 32, 2, 1000) as u32);
        // How long a request may wait for a connection before it answers
        // 503; unset, the pool's default for its backend (`db::Pool`).
        let database_acquire_timeout = p.get("DATABASE_ACQUIRE_TIMEOUT_MS").is_some().then(|| {
            let ms = p.number("DATABASE_ACQUIRE_TIMEOUT_MS", 1000, 50, 30_000);
            std::time::Duration::from_millis(ms as u64)
        });
        if metrics_token
            .as_ref()
            .is_some_and(|t| t.expose().len() < 16)
        {
            p.errors.push(
                "METRICS_TOKEN: at least 16 characters (it guards the operator's figures)"
                    .to_owned(),
            );
        }
        if !p.errors.is_empty() {
            return Err(SettingsError(p.errors));
        }
        Ok(Self {
            app_env,
            database_url,
            database_max_connections,
            database_acquire_timeout,
            bind_addr,
            public_url,
            public_url_configured,
            trusted_proxies,
            jwt_secret,
            jwt_ttl_minutes,
            admin_emails,
            stripe_secret_key,
            stripe_webhook_secrets,
            stripe_api_base,
            stripe_timeout,
            stripe_price_monthly,
            stripe_price_yearly,
            local_plan_cents,
            invoicing,
            smtp_url,
            mail_from,
            hold_minutes,
            hold_cooldown_minutes,
            holds_per_address,
            unverified_account_days,
            cancellation_cutoff_days,
            min_places_decision_days,
            past_due_grace_hours,
            waitlist_offer_hours,
            demo_data,
            login_limits,
            web_dist,
            log_format,
            jobs_enabled,
            request_timeout,
            shutdown_timeout,
            metrics_token,
            sweep_interval,
            mail_interval,
            webhook_interval,
            webhook_targets,
            backup,
        })
    }

    /// Production cookies are always `Secure`; in development, when the
    /// app is reached over https.
    pub fn cookie_secure(&self) -> bool {
        self.app_env == AppEnv::Production || self.public_url.starts_with("https://")
    }

    /// `scheme://host[:port]` of `PUBLIC_URL`: what a browser sends as
    /// `Origin` from our own pages.
    pub fn public_origin(&self) -> &str {
        let after_scheme = self.public_url.find("://").map_or(0, |i| i + 3);
        let end = self.public_url[after_scheme..]
            .find('/')
            .map_or(self.public_url.len(), |i| i + after_scheme);
        &self.public_url[..end]
    }
}

struct Parser<'a> {
    vars: &'a HashMap<String, String>,
    errors: Vec<String>,
}

impl Parser<'_> {
    fn get(&self, key: &str) -> Option<String> {
        self.vars
            .get(key)
            .map(|v| v.trim().to_owned())
            .filter(|v| !v.is_empty())
    }

    fn parse<T: std::str::FromStr>(
        &mut self,
        key: &str,
        what: &str,
        default: impl FnOnce() -> T,
    ) -> T {
        match self.get(key) {
            None => default(),
            Some(raw) => raw.parse().unwrap_or_else(|_| {
                self.errors
                    .push(format!("{key}: expected {what}, got {raw:?}"));
                default()
            }),
        }
    }

    fn number(&mut self, key: &str, default: i64, min: i64, max: i64) -> i64 {
        let what = format!("a whole number from {min} to {max}");
        let value = self.parse(key, &what, || default);
        if (min..=max).contains(&value) {
            value
        } else {
            self.errors
                .push(format!("{key}: expected {what}, got {value}"));
            default
        }
    }

    fn invoicing(&mut self) -> Invoicing {
        use common::invoices::{TRAINING_EXEMPTION, Vat, parse_rate};
        let name = self
            .get("COMPANY_NAME")
            .unwrap_or_else(|| "Immersion".to_owned());
        let mut seller = name.clone();
        let mut city = None;
        if let Some(address) = self.get("COMPANY_ADDRESS") {
            for line in address.split('|').map(str::trim).filter(|l| !l.is_empty()) {
                seller.push('\n');
                seller.push_str(line);
                city = Some(
                    line.trim_start_matches(|c: char| c.is_ascii_digit())
                        .trim()
                        .to_owned(),
                );
            }
        }
        let siret = self.get("COMPANY_SIRET").map(|v| v.replace(' ', ""));
        if let Some(siret) = &siret
            && !is_siret(siret)
        {
            self.errors.push(format!(
                "COMPANY_SIRET: expected the 14 digits of a SIRET (their check digit holds), got {siret:?}"
            ));
        }
        let nda = self.get("COMPANY_NDA").map(|v| v.replace(' ', ""));
        if let Some(nda) = &nda
            && (nda.len() != 11 || !nda.bytes().all(|b| b.is_ascii_digit()))
        {
            self.errors.push(format!(
                "COMPANY_NDA: expected the 11 digits of the training-activity declaration number, got {nda:?}"
            ));
        }
        let rcs = self.get("COMPANY_RCS");
        if let Some(rcs) = &rcs
            && (rcs.chars().count() > 100 || common::has_control_chars(rcs, false))
        {
            self.errors
                .push("COMPANY_RCS: at most 100 characters on one line".to_owned());
        }
        if let Some(siret) = &siret {
            seller.push_str(&format!("\nSIRET {}", spaced(siret, &[3, 3, 3, 5])));
        }
        if let Some(rcs) = &rcs {
            seller.push('\n');
            seller.push_str(rcs);
        }
        if let Some(nda) = &nda {
            seller.push_str(&format!(
                "\nDéclaration d'activité n° {} (cet enregistrement ne vaut pas agrément de l'État)",
                spaced(nda, &[2, 2, 5, 2])
            ));
        }
        // The whole block, mentions included, is what an invoice keeps
        // (`invoices.seller`, 1000 characters).
        if seller.chars().count() > 1000 || common::has_control_chars(&seller, true) {
            self.errors.push(
                "COMPANY_NAME, COMPANY_ADDRESS, COMPANY_RCS: at most 1000 characters in all with the legal mentions, no control characters"
                    .to_owned(),
            );
        }
        let vat = match (self.get("INVOICE_VAT_RATE"), self.get("INVOICE_VAT_MENTION")) {
            (Some(_), Some(_)) => {
                self.errors.push(
                    "INVOICE_VAT_RATE, INVOICE_VAT_MENTION: set one or the other (a rate, or why there is no VAT)"
                        .to_owned(),
                );
                Vat::Exempt(TRAINING_EXEMPTION.to_owned())
            }
            (Some(rate), None) => Vat::Rate(parse_rate(&rate).unwrap_or_else(|| {
                self.errors.push(format!(
                    "INVOICE_VAT_RATE: expected a percentage from 0 to 100 such as 20 or 5.5, got {rate:?}"
                ));
                0
            })),
            (None, mention) => {
                let mention = mention.unwrap_or_else(|| TRAINING_EXEMPTION.to_owned());
                if mention.chars().count() > 300 || common::has_control_chars(&mention, false) {
                    self.errors.push(
                        "INVOICE_VAT_MENTION: at most 300 characters on one line".to_owned(),
                    );
                }
                Vat::Exempt(mention)
            }
        };
        Invoicing {
            name,
            city: city.filter(|c| !c.is_empty()),
            seller,
            siret,
            nda,
            rcs,
            vat,
        }
    }

    fn flag(&mut self, key: &str, default: bool) -> bool {
        match self.get(key).map(|v| v.to_ascii_lowercase()).as_deref() {
            None => default,
            Some("1" | "true" | "yes" | "on") => true,
            Some("0" | "false" | "no" | "off") => false,
            Some(other) => {
                self.errors
                    .push(format!("{key}: expected true or false, got {other:?}"));
                default
            }
        }
    }
}

/// A SIRET: 14 digits whose Luhn sum is a multiple of 10 (INSEE's check
/// digit), so that a digit mistyped in the settings is caught at start.
fn is_siret(s: &str) -> bool {
    if s.len() != 14 || !s.bytes().all(|b| b.is_ascii_digit()) {
        return false;
    }
    let luhn: u32 = s
        .bytes()
        .rev()
        .map(|b| u32::from(b - b'0'))
        .enumerate()
        .map(|(i, d)| {
            if i % 2 == 1 {
                (d * 2) / 10 + (d * 2) % 10
            } else {
                d
            }
        })
        .sum();
    luhn.is_multiple_of(10)
}

/// `digits` in groups of `sizes`, as printed: "123 456 789 00012".
fn spaced(digits: &str, sizes: &[usize]) -> String {
    let mut out = Vec::new();
    let mut rest = digits;
    for &n in sizes {
        let (head, tail) = rest.split_at(n.min(rest.len()));
        out.push(head);
        rest = tail;
    }
    out.join(" ")
}
#[cfg(test)]
mod tests {
    use super::*;

    fn vars(pairs: &[(&str, &str)]) -> HashMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    }

    #[test]
    fn defaults_give_a_local_sqlite_dev_server() {
        let s = Settings::from_vars(&vars(&[])).unwrap();
        assert_eq!(s.app_env, AppEnv::Development);
        assert_eq!(s.database_url, "sqlite://data/immersion.db?mode=rwc");
        assert_eq!(s.bind_addr.to_string(), "127.0.0.1:8080");
        assert_eq!(s.public_url, "http://127.0.0.1:8080");
        assert!(matches!(s.jwt_secret, JwtSecretSource::DevFile(_)));
        assert!(s.demo_data);
        assert_eq!(s.hold_minutes, 30);
        assert_eq!(s.cancellation_cutoff_days, 14);
        assert_eq!(s.past_due_grace_hours, 0);
    }

    #[test]
    fn the_seller_prints_its_siret_rcs_and_declaration_number() {
        let s = Settings::from_vars(&vars(&[
            ("COMPANY_NAME", "Immersion SAS"),
            ("COMPANY_ADDRESS", "12 rue de la Paix | 75002 Paris"),
            ("COMPANY_SIRET", "732 829 320 00074"),
            ("COMPANY_NDA", "11 75 12345 75"),
            ("COMPANY_RCS", "RCS Paris 732 829 320"),
        ]))
        .unwrap();
        assert_eq!(
            s.invoicing.seller,
            "Immersion SAS\n12 rue de la Paix\n75002 Paris\nSIRET 732 829 320 00074\n\
             RCS Paris 732 829 320\nDéclaration d'activité n° 11 75 12345 75 \
             (cet enregistrement ne vaut pas agrément de l'État)"
        );
        assert_eq!(s.invoicing.nda.as_deref(), Some("11751234575"));
        for (key, bad) in [
            ("COMPANY_SIRET", "732 829 320 00075"),
            ("COMPANY_SIRET", "1234"),
            ("COMPANY_NDA", "11 75 12345"),
            ("COMPANY_RCS", "RCS\u{7}"),
        ] {
            let err = Settings::from_vars(&vars(&[(key, bad)]))
                .unwrap_err()
                .to_string();
            assert!(err.contains(key), "{key}={bad:?}: {err}");
        }
    }

    /// A production configuration without the seller's legal mentions,
    /// with `extra` on top.
    fn production_vars(extra: &[(&'static str, &'static str)]) -> HashMap<String, String> {
        let mut v = vec![
            ("APP_ENV", "production"),
            ("PUBLIC_URL", "https://immersion.example.com"),
            ("JWT_SECRET", "0123456789abcdef0123456789abcdef-long-enough"),
            ("STRIPE_SECRET_KEY", "sk_test_x"),
            ("STRIPE_WEBHOOK_SECRET", "whsec_x"),
            ("STRIPE_PRICE_MONTHLY", "price_m"),
            ("STRIPE_PRICE_YEARLY", "price_y"),
            ("SMTP_URL", "smtps://mail.example.com"),
        ];
        v.extend_from_slice(extra);
        vars(&v)
    }

    #[test]
    fn production_refuses_webhooks_to_loopback_metadata_and_plain_http() {
        use crate::webhook_targets::{Refusal, check_url};
        let production = |extra: &[(&'static str, &'static str)]| {
            let legal = [
                ("COMPANY_SIRET", "73282932000074"),
                ("COMPANY_NDA", "11751234575"),
            ];
            let all = [&legal[..], extra].concat();
            Settings::from_vars(&production_vars(&all))
                .unwrap()
                .webhook_targets
        };
        let rules = production(&[]);
        for url in [
            "https://127.0.0.1/hook",
            "https://169.254.169.254/latest/meta-data/",
        ] {
            assert!(
                matches!(check_url(url, rules), Err(Refusal::PrivateAddress(_))),
                "{url}"
            );
        }
        assert_eq!(
            check_url("http://hooks.example.com/in", rules),
            Err(Refusal::NotHttps)
        );
        assert!(check_url("https://hooks.example.com/in", rules).is_ok());
        // A private network, said so: allowed, still over https.
        let private = production(&[("ALLOW_PRIVATE_WEBHOOK_TARGETS", "true")]);
        assert!(check_url("https://10.0.0.5/hook", private).is_ok());
        assert_eq!(
            check_url("http://10.0.0.5/hook", private),
            Err(Refusal::NotHttps)
        );
        // Development allows this machine, for the tests and the demo.
        let dev = Settings::from_vars(&vars(&[])).unwrap().webhook_targets;
        assert!(check_url("http://127.0.0.1:9000/hook", dev).is_ok());
    }

    #[test]
    fn production_needs_the_siret_and_the_declaration_number() {
        let production =
            |extra: &[(&'static str, &'static str)]| Settings::from_vars(&production_vars(extra));
        let err = production(&[]).unwrap_err().to_string();
        assert!(
            err.contains("COMPANY_SIRET, COMPANY_NDA: required"),
            "{err}"
        );
        let err = production(&[("COMPANY_SIRET", "73282932000074")])
            .unwrap_err()
            .to_string();
        assert!(err.contains("COMPANY_NDA: required"), "{err}");
        assert!(
            production(&[
                ("COMPANY_SIRET", "73282932000074"),
                ("COMPANY_NDA", "11751234575")
            ])
            .is_ok()
        );
    }

    #[test]
    fn invoices_name_the_seller_and_say_a_vat_rate_or_why_there_is_none() {
        use common::invoices::{TRAINING_EXEMPTION, Vat};
        let s = Settings::from_vars(&vars(&[])).unwrap();
        assert_eq!(s.invoicing.seller, "Immersion");
        assert_eq!(s.invoicing.vat, Vat::Exempt(TRAINING_EXEMPTION.to_owned()));
        let s = Settings::from_vars(&vars(&[
            ("COMPANY_NAME", "Immersion SAS"),
            ("COMPANY_ADDRESS", "12 rue de la Paix | 75002 Paris |"),
            ("INVOICE_VAT_RATE", "20"),
        ]))
        .unwrap();
        assert_eq!(
            s.invoicing.seller,
            "Immersion SAS\n12 rue de la Paix\n75002 Paris"
        );
        assert_eq!(s.invoicing.vat, Vat::Rate(2000));
        for bad in [
            vec![("INVOICE_VAT_RATE", "vingt")],
            vec![("INVOICE_VAT_RATE", "120")],
            vec![
                ("INVOICE_VAT_RATE", "20"),
                ("INVOICE_VAT_MENTION", "Exonéré"),
            ],
            vec![("COMPANY_NAME", "x\u{7}y")],
        ] {
            let err = Settings::from_vars(&vars(&bad)).unwrap_err().to_string();
            assert!(
                err.contains("INVOICE_VAT") || err.contains("COMPANY_NAME"),
                "{bad:?}: {err}"
            );
        }
    }

    #[test]
    fn production_requires_a_jwt_secret_and_never_seeds() {
        let err = Settings::from_vars(&vars(&[("APP_ENV", "production")])).unwrap_err();
        assert!(err.to_string().contains("JWT_SECRET: required"), "{err}");
        let s = Settings::from_vars(&vars(&[
            ("APP_ENV", "production"),
            ("PUBLIC_URL", "https://immersion.example"),
            ("SMTP_URL", "smtp://mail.immersion.example:587?tls=required"),
            ("JWT_SECRET", &"k".repeat(40)),
            ("DEMO_DATA", "true"),
            ("STRIPE_SECRET_KEY", "sk_live_x"),
            ("STRIPE_WEBHOOK_SECRET", "whsec_x"),
            ("STRIPE_PRICE_MONTHLY", "price_m"),
            ("STRIPE_PRICE_YEARLY", "price_y"),
            ("COMPANY_SIRET", "73282932000074"),
            ("COMPANY_NDA", "11751234575"),
        ]))
        .unwrap();
        assert!(!s.demo_data);
        assert!(s.cookie_secure());
        assert_eq!(s.public_origin(), "https://immersion.example");
    }

    #[test]
    fn production_mail_travels_encrypted_unless_told_plain_is_fine() {
        let production = |smtp: &str| {
            Settings::from_vars(&vars(&[
                ("APP_ENV", "production"),
                ("PUBLIC_URL", "https://immersion.example"),
                ("SMTP_URL", smtp),
                ("JWT_SECRET", &"k".repeat(40)),
                ("STRIPE_SECRET_KEY", "sk_live_x"),
                ("STRIPE_WEBHOOK_SECRET", "whsec_x"),
                ("STRIPE_PRICE_MONTHLY", "price_m"),
                ("STRIPE_PRICE_YEARLY", "price_y"),
                ("COMPANY_SIRET", "73282932000074"),
                ("COMPANY_NDA", "11751234575"),
            ]))
        };
        for clear in [
            "smtp://mail.immersion.example:587",
            "smtp://user:pw@mail.immersion.example",
            "smtp://mail.immersion.example:587?tls=opportunistic",
            "smtp://10.0.0.5:25",
        ] {
            let err = production(clear).unwrap_err();
            assert!(
                err.0.iter().any(|l| l.contains("must travel encrypted")),
                "{clear}: {err}"
            );
        }
        for fine in [
            "smtps://user:pw@mail.immersion.example:465",
            "smtp://mail.immersion.example:587?tls=required",
        ] {
            assert!(production(fine).is_ok(), "{fine}");
        }
        // A relay on this machine, said so.
        assert!(production("smtp://127.0.0.1:2525").is_err());
        let local = Settings::from_vars(&vars(&[
            ("APP_ENV", "production"),
            ("PUBLIC_URL", "https://immersion.example"),
            ("SMTP_URL", "smtp://127.0.0.1:2525"),
            ("ALLOW_PLAIN_SMTP", "true"),
            ("JWT_SECRET", &"k".repeat(40)),
            ("STRIPE_SECRET_KEY", "sk_live_x"),
            ("STRIPE_WEBHOOK_SECRET", "whsec_x"),
            ("STRIPE_PRICE_MONTHLY", "price_m"),
            ("STRIPE_PRICE_YEARLY", "price_y"),
            ("COMPANY_SIRET", "73282932000074"),
            ("COMPANY_NDA", "11751234575"),
        ]));
        assert!(local.is_ok(), "{local:?}");
        // Development may use a plain local catcher.
        assert!(Settings::from_vars(&vars(&[("SMTP_URL", "smtp://mailhog:1025")])).is_ok());
        assert!(Settings::from_vars(&vars(&[("SMTP_URL", "http://mail")])).is_err());
    }

    #[test]
    fn production_wants_https_unless_told_a_proxy_terminates_tls() {
        let base = [
            ("APP_ENV", "production"),
            ("JWT_SECRET", "k".repeat(40).leak() as &str),
            ("STRIPE_SECRET_KEY", "sk_live_x"),
            ("STRIPE_WEBHOOK_SECRET", "whsec_x"),
            ("STRIPE_PRICE_MONTHLY", "price_m"),
            ("STRIPE_PRICE_YEARLY", "price_y"),
            ("COMPANY_SIRET", "73282932000074"),
            ("COMPANY_NDA", "11751234575"),
            ("SMTP_URL", "smtp://127.0.0.1:2525"),
            ("ALLOW_PLAIN_SMTP", "true"),
            ("PUBLIC_URL", "http://127.0.0.1:8080/"),
        ];
        let err = Settings::from_vars(&vars(&base)).unwrap_err();
        assert!(
            err.0
                .iter()
                .any(|l| l.starts_with("PUBLIC_URL: must be https")),
            "{err}"
        );
        let mut allowed = base.to_vec();
        allowed.push(("ALLOW_HTTP_PUBLIC_URL", "true"));
        let s = Settings::from_vars(&vars(&allowed)).unwrap();
        // Still a production cookie.
        assert!(s.cookie_secure());
        assert_eq!(s.public_origin(), "http://127.0.0.1:8080");
        let dev = Settings::from_vars(&vars(&[("PUBLIC_URL", "http://localhost:8080")])).unwrap();
        assert!(!dev.cookie_secure());
    }

    #[test]
    fn trusted_proxies_are_cidrs_or_addresses() {
        let s = Settings::from_vars(&vars(&[("TRUSTED_PROXIES", "10.0.0.0/8, 127.0.0.1,::1")]))
            .unwrap();
        assert_eq!(s.trusted_proxies.len(), 3);
        let err = Settings::from_vars(&vars(&[("TRUSTED_PROXIES", "10.0.0.0/99")])).unwrap_err();
        assert!(err.0[0].starts_with("TRUSTED_PROXIES"), "{err}");
    }

    #[test]
    fn production_never_runs_the_local_gateway() {
        let base = [
            ("APP_ENV", "production"),
            ("JWT_SECRET", "k".repeat(40).leak() as &str),
        ];
        let err = Settings::from_vars(&vars(&base)).unwrap_err();
        let line = err
            .0
            .iter()
            .find(|l| l.contains("STRIPE_SECRET_KEY"))
            .unwrap_or_else(|| panic!("{err}"));
        assert!(line.contains("STRIPE_WEBHOOK_SECRET"), "{line}");
        let with_key = [base[0], base[1], ("STRIPE_SECRET_KEY", "sk_live_x")];
        let err = Settings::from_vars(&vars(&with_key)).unwrap_err();
        assert!(
            err.0.iter().any(|l| l.starts_with("STRIPE_WEBHOOK_SECRET")),
            "{err}"
        );
        // Development keeps the local gateway.
        assert!(
            Settings::from_vars(&vars(&[]))
                .unwrap()
                .stripe_secret_key
                .is_none()
        );
    }

    #[test]
    fn every_bad_value_is_reported_at_once() {
        let err = Settings::from_vars(&vars(&[
            ("BIND_ADDR", "nowhere"),
            ("HOLD_MINUTES", "abc"),
            ("CANCELLATION_CUTOFF_DAYS", "-3"),
            ("ADMIN_EMAILS", "boss@example.com, not-an-email"),
            ("JWT_SECRET", "short"),
            ("DATABASE_URL", "mysql://x"),
        ]))
        .unwrap_err();
        let lines = &err.0;
        assert_eq!(lines.len(), 6, "{lines:?}");
        for key in [
            "BIND_ADDR",
            "HOLD_MINUTES",
            "CANCELLATION_CUTOFF_DAYS",
            "ADMIN_EMAILS",
            "JWT_SECRET",
            "DATABASE_URL",
        ] {
            assert!(lines.iter().any(|l| l.starts_with(key)), "{key}: {lines:?}");
        }
    }

    #[test]
    fn secrets_never_show_in_debug_output() {
        let s = Settings::from_vars(&vars(&[
            ("JWT_SECRET", "super-secret-value-that-is-long-enough"),
            ("STRIPE_SECRET_KEY", "sk_test_shouldnotleak"),
            ("STRIPE_WEBHOOK_SECRET", "whsec_one,whsec_two"),
            ("STRIPE_PRICE_MONTHLY", "price_m"),
            ("STRIPE_PRICE_YEARLY", "price_y"),
            ("COMPANY_SIRET", "73282932000074"),
            ("COMPANY_NDA", "11751234575"),
            ("SMTP_URL", "smtp://user:hunter2@mail"),
        ]))
        .unwrap();
        let dump = format!("{s:?}");
        for secret in ["super-secret", "sk_test_should", "whsec_", "hunter2"] {
            assert!(!dump.contains(secret), "{secret} leaked: {dump}");
        }
        assert_eq!(s.stripe_webhook_secrets.len(), 2);
    }

    #[test]
    fn stripe_needs_its_webhook_secret_and_both_prices() {
        let err = Settings::from_vars(&vars(&[("STRIPE_SECRET_KEY", "sk_test_x")])).unwrap_err();
        for key in [
            "STRIPE_WEBHOOK_SECRET",
            "STRIPE_PRICE_MONTHLY",
            "STRIPE_PRICE_YEARLY",
        ] {
            assert!(err.0.iter().any(|l| l.starts_with(key)), "{key}: {err}");
        }
    }

    #[test]
    fn admin_emails_are_normalised() {
        let s = Settings::from_vars(&vars(&[(
            "ADMIN_EMAILS",
            " Boss@Example.com ,ops@example.com,",
        )]))
        .unwrap();
        assert_eq!(s.admin_emails, ["boss@example.com", "ops@example.com"]);
    }

    #[test]
    fn the_mentions_fit_the_custom_fields_of_stripes_invoices() {
        let settings = Settings::from_vars(&vars(&[
            ("COMPANY_SIRET", "732 829 320 00074"),
            ("COMPANY_NDA", "11 75 12345 75"),
            ("COMPANY_RCS", &format!("RCS {}", "x".repeat(96))),
        ]))
        .unwrap();
        let mentions = settings.invoicing.mentions();
        let names: Vec<&str> = mentions.iter().map(|(n, _)| n.as_str()).collect();
        assert_eq!(names, ["SIRET", "RCS", "Déclaration d'activité"]);
        assert_eq!(mentions[0].1, "732 829 320 00074");
        for (name, value) in &mentions {
            assert!(
                name.chars().count() <= 40 && value.chars().count() <= 140,
                "{name}: {value}"
            );
        }
        let none = Settings::from_vars(&vars(&[])).unwrap();
        assert!(none.invoicing.mentions().is_empty());
        assert!(none.policy(None).seller_mentions.is_empty());
    }
}
