//! The typed client of the API, on the `common` DTOs. The browser sends the
//! session cookie itself (same origin); errors arrive as problem+json and
//! are turned into French messages by their stable code.

use std::pin::Pin;

use common::api_keys::{ApiKeyDto, CreatedApiKey, NewApiKey};
use common::auth::{
    AuthResponse, Credentials, NewPassword, PasswordChange, PasswordReset, Role, TokenBody, UserDto,
};
use common::bookings::{BookingDto, CancelRequest, CheckoutResponse};
use common::presence::TrainerLinkDto;
use common::resources::{NewResource, ResourceDto, ResourceOrder, ResourcePatch};
use common::sessions::{NewSession, SessionDto, SessionPatch};
use common::subscriptions::{
    AccessDto, Plan, PlanPriceDto, RedirectDto, SubscribeRequest, SubscriberDto,
};
use common::waitlist::WaitlistEntryDto;
use common::webhooks::{
    NewWebhookEndpoint, WebhookDeliveryDto, WebhookEndpointDto, WebhookEndpointPatch,
    WebhookEndpointWithSecret,
};
use common::{ErrorCode, Problem};
use gloo_net::http::{Request, RequestBuilder, Response};
use leptos::wasm_bindgen::JsValue;
use serde::Serialize;
use serde::de::DeserializeOwned;
use uuid::Uuid;

/// What went wrong, for the person using the app.
#[derive(Debug, Clone, PartialEq)]
pub struct ApiError {
    pub code: Option<ErrorCode>,
    pub message: String,
}

impl ApiError {
    pub(crate) fn network() -> Self {
        Self {
            code: None,
            message: "Le serveur ne répond pas. Vérifiez votre connexion et réessayez.".into(),
        }
    }

    pub fn is(&self, code: ErrorCode) -> bool {
        self.code == Some(code)
    }
}

/// The French message for a problem code.
pub fn message_for(code: ErrorCode) -> &'static str {
    match code {
        ErrorCode::InvalidCredentials => "E-mail ou mot de passe incorrect.",
        ErrorCode::EmailTaken => "Un compte existe déjà avec cet e-mail.",
        ErrorCode::RateLimited => "Trop de tentatives : réessayez dans quelques minutes.",
        ErrorCode::Unauthorized => "Connectez-vous pour continuer.",
        ErrorCode::Forbidden => "Vous n'avez pas accès à cette page.",
        ErrorCode::NotFound => "Introuvable.",
        ErrorCode::SessionFull => "Cette session est complète.",
        ErrorCode::HoldLimit => {
            "Trop de places sont déjà retenues : payez ou libérez celles en cours (ou confirmez votre adresse e-mail)."
        }
        ErrorCode::SessionClosed => "Les réservations sont closes pour cette session.",
        ErrorCode::AlreadyBooked => {
            "Vous avez déjà une place (ou une réservation en cours) pour cette session."
        }
        ErrorCode::ValidationFailed => "Certains champs sont invalides.",
        ErrorCode::PaymentGatewayError => {
            "Le service de paiement ne répond pas : aucun montant n'a été débité, réessayez."
        }
        ErrorCode::SubscriptionInactive => "Votre abonnement n'est pas actif.",
        ErrorCode::SubscriptionActive => "Vous avez déjà un abonnement actif.",
        ErrorCode::SubscriptionPending => {
            "Votre paiement d'abonnement est en cours : l'accès s'ouvre dès sa confirmation."
        }
        ErrorCode::NoSubscription => "Aucun abonnement à gérer.",
        ErrorCode::BookingNotCancellable => "Cette réservation ne peut plus être annulée.",
        ErrorCode::SessionHasBookings => {
            "Cette session a des réservations : désactivez-la plutôt que de la supprimer."
        }
        ErrorCode::InvalidToken => {
            "Ce lien n'est plus valable : il a déjà servi ou a expiré. Demandez-en un nouveau."
        }
        ErrorCode::EmailAlreadyVerified => "Votre adresse e-mail est déjà confirmée.",
        ErrorCode::OriginMismatch => "Cette action doit être faite depuis le site Immersion.",
        ErrorCode::AlreadyWaiting => "Vous êtes déjà sur la liste d'attente de cette session.",
        ErrorCode::SessionNotFull => "Des places sont libres : réservez directement.",
        ErrorCode::BookingNotPayable => {
            "Cette place ne vous est plus réservée : le délai de paiement est dépassé."
        }
        ErrorCode::IdempotencyKeyInProgress => "Votre demande est en cours : patientez un instant.",
        ErrorCode::RoleNotChangeable => "Ce rôle ne peut pas être changé ici.",
        ErrorCode::ProfileIncomplete => {
            "Indiquez d'abord votre prénom et votre nom : ils figurent sur la facture."
        }
        _ => "Une erreur est survenue. Réessayez plus tard.",
    }
}

/// A field's rule broken, in French (the API's own text is English).
fn field_message(e: &common::FieldError) -> String {
    let text = match (e.field.as_str(), e.rule.as_str()) {
        (_, "control_characters") => "Ce champ contient des caractères non autorisés.",
        ("starts_on" | "ends_on", "out_of_range") => {
            "Les dates doivent être comprises entre 2000 et 2100."
        }
        ("email", _) => "L'e-mail n'est pas valide.",
        ("password", "mismatch") => "Le mot de passe est incorrect.",
        (_, "in_the_future") => "La présence se note le jour même ou après.",
        (_, "not_an_attendee" | "not_a_session_day") => {
            "Ce participant ou ce jour n'appartient pas à la session."
        }
        ("password" | "new_password", "too_short") => {
            "Le mot de passe doit faire au moins 10 caractères."
        }
        ("password" | "new_password", _) => "Le mot de passe est trop long.",
        ("current_password", _) => "Le mot de passe actuel est incorrect.",
        ("ends_on", _) => "Le dernier jour ne peut pas précéder le premier.",
        ("location", "required") => "Indiquez le lieu.",
        ("location", _) => "Le lieu est trop long.",
        ("description", _) => "La description est trop longue.",
        ("price_cents", _) => {
            "Le prix doit être compris entre 0,50 € et 999 999,99 € : les sessions gratuites ne sont pas vendues."
        }
        ("currency", _) => "Devise inconnue.",
        ("max_places", "below_reserved") => {
            "Le nombre de places ne peut pas être inférieur aux places déjà réservées."
        }
        ("max_places", _) => "Le nombre de places doit être compris entre 1 et 1000.",
        ("title", "required") => "Indiquez un titre.",
        ("title", _) => "Le titre est trop long.",
        ("url", "target") => {
            "Cette adresse est refusée : https, et jamais une adresse privée, locale ou de métadonnées."
        }
        ("url", "required") => "Ce type de ressource demande une adresse.",
        ("url", _) => "L'adresse doit commencer par https:// ou http://.",
        ("body", "required") => "Une ressource texte demande un texte.",
        ("body", _) => "Le texte est trop long.",
        ("first_name" | "last_name", _) => {
            "Indiquez votre prénom et votre nom (100 caractères au plus)."
        }
        ("phone", _) => "Numéro de téléphone invalide.",
        ("company" | "billing_address", _) => "Ce champ est trop long.",
        ("trainer", _) => "Le nom du formateur est trop long.",
        ("name", _) => "Indiquez un nom (100 caractères au plus).",
        ("scopes", _) => "Choisissez au moins une permission.",
        ("event_types", _) => "Choisissez au moins un type d'événement.",
        ("expires_at", _) => "L'expiration doit être dans le futur.",
        ("allowed_ips", _) => {
            "Adresses autorisées : des adresses (203.0.113.7) ou des réseaux (2001:db8::/32), séparés par des virgules."
        }
        _ => return e.message.clone(),
    };
    text.to_owned()
}

/// The French message of a failed answer (problem+json by contract).
async fn failure(res: Response) -> ApiError {
    let problem = res.json::<Problem>().await.ok();
    let code = problem.as_ref().map(|p| p.code);
    let message = match &problem {
        Some(p) if p.code == ErrorCode::ValidationFailed && !p.errors.is_empty() => p
            .errors
            .iter()
            .map(field_message)
            .collect::<Vec<_>>()
            .join(" "),
        Some(p) => message_for(p.code).to_owned(),
        None => ApiError::network().message,
    };
    ApiError { code, message }
}

/// Sends one request and gives the answer's body when it succeeded. It
/// is not generic, so the fetch plumbing is compiled once rather than
/// once per DTO (the wasm size budget); callers decode the text. Boxed,
/// so that its state machine is not inlined into every caller's.
fn call(
    req: RequestBuilder,
    json: Option<String>,
) -> Pin<Box<dyn Future<Output = Result<String, ApiError>>>> {
    Box::pin(call_inner(req, json))
}

async fn call_inner(req: RequestBuilder, json: Option<String>) -> Result<String, ApiError> {
    let sent = match json {
        Some(body) => {
            req.header("Content-Type", "application/json")
                .body(body)
                .map_err(|_| ApiError::network())?
                .send()
                .await
        }
        None => req.send().await,
    };
    let res = sent.map_err(|_| ApiError::network())?;
    if res.ok() {
        return res.text().await.map_err(|_| ApiError::network());
    }
    Err(failure(res).await)
}

fn decode<T: DeserializeOwned>(body: Result<String, ApiError>) -> Result<T, ApiError> {
    serde_json::from_str(&body?).map_err(|_| ApiError::network())
}

/// For answers without a body (204).
async fn done(req: RequestBuilder) -> Result<(), ApiError> {
    call(req, None).await.map(drop)
}

async fn get<T: DeserializeOwned>(url: &str) -> Result<T, ApiError> {
    decode(call(Request::get(url), None).await)
}

async fn delete(url: &str) -> Result<(), ApiError> {
    done(Request::delete(url)).await
}

async fn send_json<B: Serialize, T: DeserializeOwned>(
    req: RequestBuilder,
    body: &B,
) -> Result<T, ApiError> {
    let json = serde_json::to_string(body).map_err(|_| ApiError::network())?;
    decode(call(req, Some(json)).await)
}

pub async fn sessions() -> Result<Vec<SessionDto>, ApiError> {
    get("/api/sessions").await
}

pub async fn session(id: Uuid) -> Result<SessionDto, ApiError> {
    get(&format!("/api/sessions/{id}")).await
}

/// The app remembers that it signed in, so that an anonymous visit does
/// not ask `/api/me` only to be told 401 (a console error in browsers).
/// The server still decides: a 401 clears the mark.
const SIGNED_IN: &str = "immersion.signed_in";

fn storage() -> Option<web_sys::Storage> {
    leptos::prelude::window().local_storage().ok().flatten()
}

pub fn believed_signed_in() -> bool {
    storage()
        .and_then(|s| s.get_item(SIGNED_IN).ok().flatten())
        .is_some()
}

fn mark_signed_in(yes: bool) {
    if let Some(s) = storage() {
        let _ = if yes {
            s.set_item(SIGNED_IN, "1")
        } else {
            s.remove_item(SIGNED_IN)
        };
    }
}

/// Who is signed in; `None` without asking when the app never signed in.
pub async fn me() -> Result<Option<UserDto>, ApiError> {
    if !believed_signed_in() {
        return Ok(None);
    }
    match get::<UserDto>("/api/me").await {
        Ok(user) => Ok(Some(user)),
        Err(e) if e.is(ErrorCode::Unauthorized) => {
            mark_signed_in(false);
            Ok(None)
        }
        Err(e) => Err(e),
    }
}

async fn post_json<B: Serialize, T: DeserializeOwned>(url: &str, body: &B) -> Result<T, ApiError> {
    send_json(Request::post(url), body).await
}

pub async fn login(email: String, password: String) -> Result<AuthResponse, ApiError> {
    let signed = post_json("/api/auth/login", &Credentials { email, password }).await;
    mark_signed_in(signed.is_ok());
    signed
}

pub async fn register(email: String, password: String) -> Result<AuthResponse, ApiError> {
    let signed = post_json("/api/auth/register", &Credentials { email, password }).await;
    mark_signed_in(signed.is_ok());
    signed
}

/// For answers not read back (202, 204, or one the page does not need)
/// to a JSON request.
async fn json_done<B: Serialize>(req: RequestBuilder, body: &B) -> Result<(), ApiError> {
    let json = serde_json::to_string(body).map_err(|_| ApiError::network())?;
    call(req, Some(json)).await.map(drop)
}

async fn post_done<B: Serialize>(url: &str, body: &B) -> Result<(), ApiError> {
    json_done(Request::post(url), body).await
}

pub async fn verify_email(token: String) -> Result<UserDto, ApiError> {
    post_json("/api/auth/verify-email", &TokenBody { token }).await
}

pub async fn resend_verification() -> Result<(), ApiError> {
    post_done("/api/auth/verify-email/resend", &serde_json::json!({})).await
}

pub async fn request_password_reset(email: String) -> Result<(), ApiError> {
    post_done("/api/auth/password-reset", &PasswordReset { email }).await
}

pub async fn reset_password(token: String, password: String) -> Result<(), ApiError> {
    post_done(
        "/api/auth/password-reset/confirm",
        &NewPassword { token, password },
    )
    .await
}

pub async fn change_password(
    current_password: String,
    new_password: String,
) -> Result<(), ApiError> {
    post_done(
        "/api/me/password",
        &PasswordChange {
            current_password,
            new_password,
        },
    )
    .await
}

/// Deletes my account (`DELETE /api/me`), the password typed again; the
/// page then behaves as signed out.
pub async fn delete_account(password: String) -> Result<(), ApiError> {
    json_done(
        Request::delete("/api/me"),
        &common::privacy::AccountDeletion { password },
    )
    .await?;
    mark_signed_in(false);
    Ok(())
}

pub async fn checkout(session_id: Uuid) -> Result<CheckoutResponse, ApiError> {
    post_json(
        &format!("/api/sessions/{session_id}/checkout"),
        &serde_json::json!({}),
    )
    .await
}

/// Opens the payment of a booking held for me (a waiting-list offer).
pub async fn pay_booking(id: Uuid) -> Result<CheckoutResponse, ApiError> {
    post_json(&format!("/api/bookings/{id}/pay"), &serde_json::json!({})).await
}

pub async fn join_waitlist(session_id: Uuid) -> Result<WaitlistEntryDto, ApiError> {
    post_json(
        &format!("/api/sessions/{session_id}/waitlist"),
        &serde_json::json!({}),
    )
    .await
}

pub async fn leave_waitlist(session_id: Uuid) -> Result<(), ApiError> {
    delete(&format!("/api/sessions/{session_id}/waitlist")).await
}

pub async fn my_waitlist() -> Result<Vec<WaitlistEntryDto>, ApiError> {
    get("/api/me/waitlist").await
}

pub async fn booking(id: Uuid) -> Result<BookingDto, ApiError> {
    get(&format!("/api/bookings/{id}")).await
}

pub async fn access() -> Result<AccessDto, ApiError> {
    get("/api/me/access").await
}

pub async fn plans() -> Result<Vec<PlanPriceDto>, ApiError> {
    get("/api/plans").await
}

pub async fn subscribe(plan: Plan) -> Result<RedirectDto, ApiError> {
    post_json("/api/subscriptions/checkout", &SubscribeRequest { plan }).await
}

pub async fn portal() -> Result<RedirectDto, ApiError> {
    post_json("/api/subscriptions/portal", &serde_json::json!({})).await
}

pub async fn member_resources() -> Result<Vec<ResourceDto>, ApiError> {
    get("/api/app/resources").await
}

pub async fn logout() -> Result<(), ApiError> {
    let result = done(Request::post("/api/auth/logout")).await;
    mark_signed_in(false);
    result
}

/// Saves a profile change (the answer, the profile, is not read back).
pub async fn update_profile(patch: common::profile::ProfilePatch) -> Result<(), ApiError> {
    json_done(Request::patch("/api/me/profile"), &patch).await
}

pub async fn my_bookings() -> Result<Vec<BookingDto>, ApiError> {
    get("/api/me/bookings").await
}

pub async fn cancel_booking(id: Uuid) -> Result<BookingDto, ApiError> {
    post_json(
        &format!("/api/bookings/{id}/cancel"),
        &CancelRequest::default(),
    )
    .await
}

/// The body of `GET url`, undecoded (for `json.rs`).
pub async fn call_text(url: &str) -> Result<String, ApiError> {
    call(Request::get(url), None).await
}

pub async fn admin_sessions() -> Result<Vec<SessionDto>, ApiError> {
    get("/api/admin/sessions").await
}

pub async fn create_session(new: NewSession) -> Result<SessionDto, ApiError> {
    post_json("/api/admin/sessions", &new).await
}

pub async fn update_session(id: Uuid, patch: SessionPatch) -> Result<SessionDto, ApiError> {
    send_json(Request::patch(&format!("/api/admin/sessions/{id}")), &patch).await
}

pub async fn delete_session(id: Uuid) -> Result<(), ApiError> {
    delete(&format!("/api/admin/sessions/{id}")).await
}

pub async fn attendees(session_id: Uuid) -> Result<Vec<BookingDto>, ApiError> {
    get(&format!("/api/admin/sessions/{session_id}/bookings")).await
}

/// A plain link downloads the CSV (the cookie signs the request).
pub fn attendees_csv_url(session_id: Uuid) -> String {
    format!("/api/admin/sessions/{session_id}/bookings?format=csv")
}

pub async fn subscribers(active: Option<bool>) -> Result<Vec<SubscriberDto>, ApiError> {
    match active {
        Some(a) => get(&format!("/api/admin/subscriptions?active={a}")).await,
        None => get("/api/admin/subscriptions").await,
    }
}

pub async fn admin_resources() -> Result<Vec<ResourceDto>, ApiError> {
    get("/api/admin/resources").await
}

pub async fn create_resource(new: NewResource) -> Result<ResourceDto, ApiError> {
    post_json("/api/admin/resources", &new).await
}

pub async fn update_resource(id: Uuid, patch: ResourcePatch) -> Result<ResourceDto, ApiError> {
    send_json(
        Request::patch(&format!("/api/admin/resources/{id}")),
        &patch,
    )
    .await
}

pub async fn delete_resource(id: Uuid) -> Result<(), ApiError> {
    delete(&format!("/api/admin/resources/{id}")).await
}

pub async fn set_role(user: Uuid, role: Role) -> Result<(), ApiError> {
    // `{"role":"…"}` written out: serde's serializer for one more type
    // would cost the bundle more than the line (the size budget).
    let url = format!("/api/admin/users/{user}/role");
    let body = format!(r#"{{"role":"{}"}}"#, role.as_str());
    call(Request::put(&url), Some(body)).await.map(drop)
}

pub async fn reorder_resources(ids: Vec<Uuid>) -> Result<Vec<ResourceDto>, ApiError> {
    send_json(Request::put("/api/admin/resources"), &ResourceOrder { ids }).await
}

pub async fn api_keys() -> Result<Vec<ApiKeyDto>, ApiError> {
    get("/api/admin/api-keys").await
}

pub async fn create_api_key(new: NewApiKey) -> Result<CreatedApiKey, ApiError> {
    post_json("/api/admin/api-keys", &new).await
}

pub async fn revoke_api_key(id: Uuid) -> Result<(), ApiError> {
    delete(&format!("/api/admin/api-keys/{id}")).await
}

pub async fn webhook_endpoints() -> Result<Vec<WebhookEndpointDto>, ApiError> {
    get("/api/admin/webhook-endpoints").await
}

pub async fn create_webhook_endpoint(
    new: NewWebhookEndpoint,
) -> Result<WebhookEndpointWithSecret, ApiError> {
    post_json("/api/admin/webhook-endpoints", &new).await
}

/// The endpoint after the change; its `secret` is empty unless rotated.
pub async fn update_webhook_endpoint(
    id: Uuid,
    patch: WebhookEndpointPatch,
) -> Result<WebhookEndpointWithSecret, ApiError> {
    send_json(
        Request::patch(&format!("/api/admin/webhook-endpoints/{id}")),
        &patch,
    )
    .await
}

pub async fn delete_webhook_endpoint(id: Uuid) -> Result<(), ApiError> {
    delete(&format!("/api/admin/webhook-endpoints/{id}")).await
}

pub async fn webhook_deliveries(endpoint: Uuid) -> Result<Vec<WebhookDeliveryDto>, ApiError> {
    get(&format!(
        "/api/admin/webhook-endpoints/{endpoint}/deliveries"
    ))
    .await
}

pub async fn resend_webhook_delivery(id: Uuid) -> Result<(), ApiError> {
    done(Request::post(&format!(
        "/api/admin/webhook-deliveries/{id}/resend"
    )))
    .await
}

/// Whose presence sheet a page shows: a session's, for an admin (the
/// cookie signs), or the one a trainer's link opens (its secret signs).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SheetOf {
    Session(Uuid),
    TrainerLink(String),
}

impl SheetOf {
    fn request(&self, method: fn(&str) -> RequestBuilder) -> RequestBuilder {
        match self {
            Self::Session(id) => method(&format!("/api/admin/sessions/{id}/presence")),
            Self::TrainerLink(secret) => {
                method("/api/trainer/presence").header("Authorization", &format!("Bearer {secret}"))
            }
        }
    }
}

/// The sheet (`PresenceSheetDto`), as the browser parsed it (`json.rs`).
pub async fn presence(of: SheetOf) -> Result<JsValue, ApiError> {
    parsed(call(of.request(Request::get), None).await)
}

/// Records marks (`PresenceUpdate`, as JSON); answers the sheet, parsed.
pub async fn record_presence(of: SheetOf, update: String) -> Result<JsValue, ApiError> {
    parsed(call(of.request(Request::put), Some(update)).await)
}

fn parsed(body: Result<String, ApiError>) -> Result<JsValue, ApiError> {
    js_sys::JSON::parse(&body?).map_err(|_| ApiError::network())
}

pub async fn create_trainer_link(session: Uuid) -> Result<TrainerLinkDto, ApiError> {
    decode(
        call(
            Request::post(&format!("/api/admin/sessions/{session}/trainer-link")),
            None,
        )
        .await,
    )
}
