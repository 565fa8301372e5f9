//! Requests made with an API key (`Authorization: Bearer imm_live_…`):
//! which endpoints a key may call and with which scope (`ROUTES`, also
//! what the OpenAPI document declares), the key's own rate limit and its
//! `RateLimit` headers, and acting for a user (`on_behalf_of`).
//!
//! A key is not a browser: the cookie and Origin rules never apply. It
//! acts as the admin who issued it on the endpoints its scopes open (and
//! only while they are an admin), and on those that act for a person, as
//! that person, who meets every rule the browser meets (seats, holds, the
//! waiting list): never with an admin's powers. Either way the request is
//! marked with the key (`AuthUser::api_key`): its changes are logged
//! with the key's id, and its idempotency keys are the key's own.

use actix_web::body::BoxBody;
use actix_web::body::MessageBody;
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::{Method, header};
use actix_web::middleware::Next;
use actix_web::{HttpMessage, HttpRequest, web};
use chrono::Utc;
use common::ErrorCode;
use common::api_keys::Scope;
use common::auth::Role;

use crate::domain::accounts::api_keys;
use crate::domain::platform::throttles;
use crate::error::ApiError;
use crate::http::client_ip::client_addr;
use crate::http::extract::AuthUser;
use crate::state::AppState;

/// The query parameter naming the user a key acts for: their id or e-mail.
pub const ON_BEHALF_OF: &str = "on_behalf_of";

/// Whether an endpoint acts for a person.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ForUser {
    /// Never: the key acts as itself.
    No,
    /// When `on_behalf_of` names one; otherwise as itself (an admin would).
    May,
    /// Always: the endpoint is a person's own (`/api/me/…`, holding a seat).
    Must,
}

/// An endpoint a key may call.
#[derive(Debug, Clone)]
pub struct KeyRoute {
    pub method: Method,
    /// The route's template, as the router and the document write it.
    pub path: &'static str,
    pub scope: Scope,
    pub for_user: ForUser,
}

const fn route(method: Method, path: &'static str, scope: Scope, for_user: ForUser) -> KeyRoute {
    KeyRoute {
        method,
        path,
        scope,
        for_user,
    }
}

/// Every endpoint open to keys. Anything else answers a key 403: keys
/// never manage keys, roles or payment anomalies, never sign in or change
/// a password.
pub const ROUTES: &[KeyRoute] = &[
    route(
        Method::GET,
        "/api/admin/sessions",
        Scope::SessionsRead,
        ForUser::No,
    ),
    route(
        Method::POST,
        "/api/admin/sessions",
        Scope::SessionsWrite,
        ForUser::No,
    ),
    route(
        Method::PATCH,
        "/api/admin/sessions/{id}",
        Scope::SessionsWrite,
        ForUser::No,
    ),
    route(
        Method::DELETE,
        "/api/admin/sessions/{id}",
        Scope::SessionsWrite,
        ForUser::No,
    ),
    route(
        Method::POST,
        "/api/admin/sessions/{id}/decision",
        Scope::SessionsWrite,
        ForUser::No,
    ),
    route(
        Method::GET,
        "/api/admin/sessions/{id}/bookings",
        Scope::BookingsRead,
        ForUser::No,
    ),
    route(
        Method::GET,
        "/api/admin/sessions/{id}/attendance",
        Scope::BookingsRead,
        ForUser::No,
    ),
    route(
        Method::GET,
        "/api/admin/sessions/{id}/presence",
        Scope::BookingsRead,
        ForUser::No,
    ),
    route(
        Method::PUT,
        "/api/admin/sessions/{id}/presence",
        Scope::BookingsWrite,
        ForUser::No,
    ),
    route(
        Method::GET,
        "/api/admin/sessions/{id}/certificates",
        Scope::BookingsRead,
        ForUser::No,
    ),
    route(
        Method::GET,
        "/api/admin/sessions/{id}/waitlist",
        Scope::BookingsRead,
        ForUser::No,
    ),
    route(
        Method::GET,
        "/api/bookings/{id}",
        Scope::BookingsRead,
        ForUser::May,
    ),
    route(
        Method::GET,
        "/api/bookings/{id}/calendar.ics",
        Scope::BookingsRead,
        ForUser::May,
    ),
    route(
        Method::GET,
        "/api/me/bookings",
        Scope::BookingsRead,
        ForUser::Must,
    ),
    route(
        Method::GET,
        "/api/me/waitlist",
        Scope::BookingsRead,
        ForUser::Must,
    ),
    route(
        Method::POST,
        "/api/sessions/{id}/checkout",
        Scope::BookingsWrite,
        ForUser::Must,
    ),
    route(
        Method::POST,
        "/api/bookings/{id}/pay",
        Scope::BookingsWrite,
        ForUser::Must,
    ),
    // For a person only: as an admin, a cancel may refund in full after
    // the cutoff (`force_refund`), which no booking scope grants.
    route(
        Method::POST,
        "/api/bookings/{id}/cancel",
        Scope::BookingsWrite,
        ForUser::Must,
    ),
    route(
        Method::POST,
        "/api/sessions/{id}/waitlist",
        Scope::BookingsWrite,
        ForUser::Must,
    ),
    route(
        Method::DELETE,
        "/api/sessions/{id}/waitlist",
        Scope::BookingsWrite,
        ForUser::Must,
    ),
    route(
        Method::DELETE,
        "/api/admin/waitlist/{id}",
        Scope::BookingsWrite,
        ForUser::No,
    ),
    route(
        Method::GET,
        "/api/admin/subscriptions",
        Scope::MembersRead,
        ForUser::No,
    ),
    route(
        Method::GET,
        "/api/admin/resources",
        Scope::MembersRead,
        ForUser::No,
    ),
    route(
        Method::GET,
        "/api/invoices/{id}",
        Scope::InvoicesRead,
        ForUser::May,
    ),
    route(
        Method::GET,
        "/api/me/invoices",
        Scope::InvoicesRead,
        ForUser::Must,
    ),
    route(
        Method::GET,
        "/api/admin/stats",
        Scope::StatsRead,
        ForUser::No,
    ),
    route(Method::GET, "/api/events", Scope::EventsRead, ForUser::No),
    route(
        Method::GET,
        "/api/admin/webhook-endpoints",
        Scope::WebhooksManage,
        ForUser::No,
    ),
    route(
        Method::POST,
        "/api/admin/webhook-endpoints",
        Scope::WebhooksManage,
        ForUser::No,
    ),
    route(
        Method::PATCH,
        "/api/admin/webhook-endpoints/{id}",
        Scope::WebhooksManage,
        ForUser::No,
    ),
    route(
        Method::DELETE,
        "/api/admin/webhook-endpoints/{id}",
        Scope::WebhooksManage,
        ForUser::No,
    ),
    route(
        Method::GET,
        "/api/admin/webhook-endpoints/{id}/deliveries",
        Scope::WebhooksManage,
        ForUser::No,
    ),
    route(
        Method::POST,
        "/api/admin/webhook-deliveries/{id}/resend",
        Scope::WebhooksManage,
        ForUser::No,
    ),
];

/// The entry for a request's method and route template.
pub fn route_of(method: &Method, template: &str) -> Option<&'static KeyRoute> {
    ROUTES
        .iter()
        .find(|r| r.method == method && r.path == template)
}

/// A key's quota after this request, for the `RateLimit-*` headers.
#[derive(Debug, Clone, Copy)]
struct Quota {
    limit: u32,
    remaining: u32,
    reset_secs: u64,
}

/// The user a key's request acts for, as it named them (kept in the next
/// page's link).
#[derive(Debug, Clone)]
pub struct ActingFor(pub String);

fn forbidden(detail: impl Into<String>) -> ApiError {
    ApiError::new(ErrorCode::Forbidden, detail)
}

/// What the OpenAPI document says of each operation: which take no
/// sign-in (a key calls them as anyone would) and which do (closed to a
/// key unless `ROUTES` opens them). Built once, from the served document.
#[derive(Debug, Default)]
pub struct Gate {
    public: Vec<(Method, String)>,
    signed_in: Vec<(Method, String)>,
}

impl Gate {
    pub fn from_openapi(doc: &utoipa::openapi::OpenApi) -> Self {
        let mut gate = Self::default();
        for (path, item) in &doc.paths.paths {
            let mut item = item.clone();
            for method in [
                Method::GET,
                Method::POST,
                Method::PUT,
                Method::PATCH,
                Method::DELETE,
            ] {
                let Some(op) = operation_mut(&mut item, &method) else {
                    continue;
                };
                let public = op.security.as_ref().is_none_or(Vec::is_empty);
                let list = if public {
                    &mut gate.public
                } else {
                    &mut gate.signed_in
                };
                list.push((method, path.clone()));
            }
        }
        gate
    }

    fn is_signed_in(&self, method: &Method, template: &str) -> bool {
        self.signed_in
            .iter()
            .any(|(m, p)| m == method && p == template)
    }
}

/// The middleware: a request that carries a key is authenticated, counted
/// and authorized here, before anything of its body is read. The answer
/// carries the key's `RateLimit-*` headers.
pub async fn gate(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<BoxBody>, actix_web::Error> {
    let Some(secret) = key_in(req.request()) else {
        return Ok(next.call(req).await?.map_into_boxed_body());
    };
    let state = req.app_data::<web::Data<AppState>>().cloned();
    let gate = req.app_data::<web::Data<Gate>>().cloned();
    let (Some(state), Some(gate)) = (state, gate) else {
        return Ok(req.error_response(ApiError::internal("app state missing")));
    };
    let mut res = match admit(req.request(), &state, &gate, &secret).await {
        Ok(user) => {
            if let Some(user) = user {
                req.extensions_mut().insert(user);
            }
            next.call(req).await?.map_into_boxed_body()
        }
        Err(e) => req.error_response(e),
    };
    let quota = res.request().extensions().get::<Quota>().copied();
    if let Some(q) = quota {
        let headers = res.headers_mut();
        for (name, value) in [
            ("ratelimit-limit", q.limit.to_string()),
            ("ratelimit-remaining", q.remaining.to_string()),
            ("ratelimit-reset", q.reset_secs.to_string()),
        ] {
            if let Ok(v) = header::HeaderValue::from_str(&value) {
                headers.insert(header::HeaderName::from_static(name), v);
            }
        }
    }
    Ok(res)
}

/// The key a request carries as `Authorization: Bearer imm_live_…`.
pub fn key_in(req: &HttpRequest) -> Option<String> {
    crate::http::extract::bearer(req)
        .filter(|token| api_keys::is_key(token))
        .map(str::to_owned)
}

/// Authenticates a request by its key: who it acts as on this endpoint
/// (`None`: an endpoint that takes no sign-in, called as anyone would).
async fn admit(
    req: &HttpRequest,
    state: &AppState,
    gate: &Gate,
    secret: &str,
) -> Result<Option<AuthUser>, ApiError> {
    let now = Utc::now();
    let client = client_addr(req, &state.settings.trusted_proxies);
    let key = api_keys::authenticate(&state.db, secret, client, now).await?;
    let throttle = state.limits().api_key;
    let subject = key.id.to_string();
    let quota = match throttles::admit_counted(&state.db, &[(throttle, &subject)], now).await {
        Ok(counted) => {
            let c = counted
                .first()
                .ok_or_else(|| ApiError::internal("no counter"))?;
            Quota {
                limit: throttle.max,
                remaining: throttle
                    .max
                    .saturating_sub(u32::try_from(c.hits).unwrap_or(u32::MAX)),
                reset_secs: u64::try_from(c.window_end - now.timestamp()).unwrap_or(0),
            }
        }
        Err(ApiError::RateLimited { retry_after_secs }) => {
            req.extensions_mut().insert(Quota {
                limit: throttle.max,
                remaining: 0,
                reset_secs: retry_after_secs,
            });
            return Err(ApiError::RateLimited { retry_after_secs });
        }
        Err(e) => return Err(e),
    };
    req.extensions_mut().insert(quota);

    let Some(template) = req.match_pattern() else {
        // No such endpoint: the fallback answers (404, 405).
        return Ok(None);
    };
    let Some(route) = route_of(req.method(), &template) else {
        return if gate.is_signed_in(req.method(), &template) {
            Err(forbidden("API keys cannot call this endpoint"))
        } else {
            Ok(None)
        };
    };
    if !key.scopes.contains(&route.scope) {
        return Err(forbidden(format!(
            "this API key lacks the scope {}",
            route.scope.as_str()
        )));
    }
    let named = on_behalf_of(req)?;
    let user = match (route.for_user, named) {
        (ForUser::No, Some(_)) => {
            return Err(ApiError::bad_request(format!(
                "{ON_BEHALF_OF} is not taken by this endpoint"
            )));
        }
        (ForUser::Must, None) => {
            return Err(ApiError::invalid(
                ON_BEHALF_OF,
                "required",
                "the user (id or e-mail) this key acts for",
            ));
        }
        (_, Some(named)) => {
            let user = person(state, &named).await?;
            req.extensions_mut().insert(ActingFor(named));
            user
        }
        // As itself: as the admin who issued it, marked as the key.
        (_, None) => AuthUser::from_model(key.issuer.clone())?,
    };
    let user = AuthUser {
        api_key: Some(key.id),
        ..user
    };
    if !req.method().is_safe() {
        tracing::info!(
            api_key = %key.id,
            acting_for = %user.id,
            method = %req.method(),
            route = %template,
            "a change made with an API key"
        );
    }
    Ok(Some(user))
}

/// The `on_behalf_of` parameter, if given (once, not empty).
fn on_behalf_of(req: &HttpRequest) -> Result<Option<String>, ApiError> {
    let mut values = url::form_urlencoded::parse(req.query_string().as_bytes())
        .filter(|(name, _)| name == ON_BEHALF_OF)
        .map(|(_, value)| value.trim().to_owned());
    match (values.next(), values.next()) {
        (None, _) => Ok(None),
        (Some(v), None) if !v.is_empty() => Ok(Some(v)),
        _ => Err(ApiError::invalid(
            ON_BEHALF_OF,
            "format",
            "one user id or e-mail",
        )),
    }
}

/// The person a key acts for. Never with an admin's powers, whatever
/// their role: the key's scopes said what it may do, and the person's
/// account says whom it may do it for.
async fn person(state: &AppState, named: &str) -> Result<AuthUser, ApiError> {
    let mut user = AuthUser::from_model(api_keys::person(&state.db, named).await?)?;
    user.role = Role::User;
    Ok(user)
}

/// The operation of `item` for `method`, if it has one.
pub fn operation_mut<'a>(
    item: &'a mut utoipa::openapi::PathItem,
    method: &Method,
) -> Option<&'a mut utoipa::openapi::path::Operation> {
    match *method {
        Method::GET => item.get.as_mut(),
        Method::POST => item.post.as_mut(),
        Method::PUT => item.put.as_mut(),
        Method::PATCH => item.patch.as_mut(),
        Method::DELETE => item.delete.as_mut(),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_route_is_listed_once() {
        for (i, a) in ROUTES.iter().enumerate() {
            for b in &ROUTES[i + 1..] {
                assert!(
                    !(a.method == b.method && a.path == b.path),
                    "{} {} twice",
                    a.method,
                    a.path
                );
            }
        }
    }
}
