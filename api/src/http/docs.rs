//! The OpenAPI document (built from the real handlers) and its docs page.

use utoipa::openapi::OpenApi as OpenApiDoc;
use utoipa::openapi::security::{ApiKey, ApiKeyValue, HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi};
use utoipa_actix_web::AppExt;

use crate::http::problems as p;

#[derive(OpenApi)]
#[openapi(
    info(
        title = "Immersion API",
        description = "Seats in Immersion Élite sessions and the members' subscription. \
            Errors are `application/problem+json` (RFC 9457) with a stable `code`.",
        license(name = "MIT", identifier = "MIT")
    ),
    components(
        schemas(common::Problem, common::ErrorCode, common::FieldError),
        responses(
            p::BadRequest, p::Unauthorized, p::Forbidden, p::NotFound, p::Conflict,
            p::UnsupportedMediaType, p::PayloadTooLarge, p::ValidationFailed,
            p::RateLimited, p::Internal, p::Unavailable, p::BadGateway
        )
    ),
    modifiers(&Security),
    tags(
        (name = "auth", description = "Accounts, sign-in and my profile"),
        (name = "sessions", description = "The public catalog"),
        (name = "bookings", description = "Seats: hold, pay, cancel"),
        (name = "waitlist", description = "Waiting lists of full sessions: join, leave, my place in line"),
        (name = "subscriptions", description = "The members' subscription"),
        (name = "members", description = "The members' area (active subscription or admin)"),
        (name = "admin", description = "Catalog, resources and subscribers (admins)"),
        (name = "trainer", description = "Presence, recorded by a session's trainer through their link"),
        (name = "webhooks", description = "Signed events from Stripe"),
        (name = "ops", description = "Health and readiness"),
    )
)]
struct ApiDoc;

struct Security;

impl Modify for Security {
    fn modify(&self, openapi: &mut OpenApiDoc) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .bearer_format("JWT")
                    .build(),
            ),
        );
        components.add_security_scheme(
            "api_key",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .bearer_format("imm_live_…")
                    .description(Some(
                        "An API key, issued by an admin: its scopes say which \
                         operations it may call (each operation names the one it needs).",
                    ))
                    .build(),
            ),
        );
        components.add_security_scheme(
            "trainer_link",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .bearer_format("imm_trn_…")
                    .description(Some(
                        "A session's trainer link, made by an admin: it opens that \
                         session's presence sheet and nothing else.",
                    ))
                    .build(),
            ),
        );
        components.add_security_scheme(
            "cookie",
            SecurityScheme::ApiKey(ApiKey::Cookie(ApiKeyValue::new(
                crate::auth::token::COOKIE_NAME,
            ))),
        );
    }
}

/// Any operation can fail on our side; say so once, for all of them.
struct ServerErrors;

impl Modify for ServerErrors {
    fn modify(&self, openapi: &mut OpenApiDoc) {
        use utoipa::openapi::{Ref, RefOr};
        for item in openapi.paths.paths.values_mut() {
            for op in [
                &mut item.get,
                &mut item.post,
                &mut item.put,
                &mut item.patch,
                &mut item.delete,
            ]
            .into_iter()
            .flatten()
            {
                for (status, name) in [("500", "Internal"), ("503", "Unavailable")] {
                    op.responses
                        .responses
                        .entry(status.to_owned())
                        .or_insert_with(|| RefOr::Ref(Ref::from_response_name(name)));
                }
            }
        }
    }
}

/// The operations open to API keys: each names the scope it needs, and
/// those that act for a person take `on_behalf_of` (`key_auth::ROUTES`).
struct KeyScopes;

impl Modify for KeyScopes {
    fn modify(&self, openapi: &mut OpenApiDoc) {
        use crate::http::key_auth::{ForUser, ON_BEHALF_OF, ROUTES, operation_mut};
        use utoipa::openapi::path::{ParameterBuilder, ParameterIn};
        use utoipa::openapi::security::SecurityRequirement;
        use utoipa::openapi::{ObjectBuilder, Required, Type};
        for route in ROUTES {
            let Some(op) = openapi
                .paths
                .paths
                .get_mut(route.path)
                .and_then(|item| operation_mut(item, &route.method))
            else {
                continue;
            };
            op.security
                .get_or_insert_with(Vec::new)
                .push(SecurityRequirement::new("api_key", [route.scope.as_str()]));
            if route.for_user == ForUser::No {
                continue;
            }
            let description = match route.for_user {
                ForUser::Must => "With an API key: the user (id or e-mail) it acts for; required.",
                _ => {
                    "With an API key: the user (id or e-mail) it acts for; absent, it acts as an admin would."
                }
            };
            op.parameters.get_or_insert_with(Vec::new).push(
                ParameterBuilder::new()
                    .name(ON_BEHALF_OF)
                    .parameter_in(ParameterIn::Query)
                    .required(Required::False)
                    .description(Some(description))
                    .schema(Some(
                        ObjectBuilder::new()
                            .schema_type(Type::String)
                            .max_length(Some(254)),
                    ))
                    .build(),
            );
        }
    }
}

/// The document's frame (info, shared components); paths come from `routes`.
pub fn base() -> OpenApiDoc {
    ApiDoc::openapi()
}

/// The full document, as the server serves it.
pub fn openapi() -> OpenApiDoc {
    let (_, doc) = actix_web::App::new()
        .into_utoipa_app()
        .openapi(base())
        .configure(crate::http::routes)
        .split_for_parts();
    let mut doc = doc;
    ServerErrors.modify(&mut doc);
    KeyScopes.modify(&mut doc);
    doc
}

/// The committed `openapi.yaml` is exactly this text.
pub fn openapi_yaml() -> Result<String, serde_norway::Error> {
    serde_norway::to_string(&openapi())
}
