//! The typed client of the API, on the `common` DTOs. The browser sends the
//! session cookie itself (same origin); errors arrive as problem+json and
//! are turned into French messages by their stable code.

use common::auth::{AuthResponse, Credentials, UserDto};
use common::bookings::{BookingDto, CheckoutResponse};
use common::resources::ResourceDto;
use common::sessions::SessionDto;
use common::subscriptions::{AccessDto, Plan, RedirectDto, SubscribeRequest};
use common::{ErrorCode, Problem};
use gloo_net::http::{Request, Response};
use serde::de::DeserializeOwned;
use uuid::Uuid;

/// What went wrong, for the person using the app.
#[derive(Debug, Clone, PartialEq)]
pub struct ApiError {
    pub code: Option<ErrorCode>,
    pub message: String,
}

impl ApiError {
    fn network() -> Self {
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
        ErrorCode::NoSubscription => "Aucun abonnement à gérer.",
        ErrorCode::BookingNotCancellable => "Cette réservation ne peut plus être annulée.",
        _ => "Une erreur est survenue. Réessayez plus tard.",
    }
}

async fn read<T: DeserializeOwned>(res: Result<Response, gloo_net::Error>) -> Result<T, ApiError> {
    let res = res.map_err(|_| ApiError::network())?;
    if res.ok() {
        return res.json::<T>().await.map_err(|_| ApiError::network());
    }
    let problem = res.json::<Problem>().await.ok();
    let code = problem.as_ref().map(|p| p.code);
    let message = match &problem {
        Some(p) if p.code == ErrorCode::ValidationFailed && !p.errors.is_empty() => p
            .errors
            .iter()
            .map(|e| e.message.clone())
            .collect::<Vec<_>>()
            .join(" "),
        Some(p) => message_for(p.code).to_owned(),
        None => ApiError::network().message,
    };
    Err(ApiError { code, message })
}

pub async fn sessions() -> Result<Vec<SessionDto>, ApiError> {
    read(Request::get("/api/sessions").send().await).await
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
    match read::<UserDto>(Request::get("/api/me").send().await).await {
        Ok(user) => Ok(Some(user)),
        Err(e) if e.is(ErrorCode::Unauthorized) => {
            mark_signed_in(false);
            Ok(None)
        }
        Err(e) => Err(e),
    }
}

async fn post_json<B: serde::Serialize, T: DeserializeOwned>(
    url: &str,
    body: &B,
) -> Result<T, ApiError> {
    let req = Request::post(url)
        .json(body)
        .map_err(|_| ApiError::network())?;
    read(req.send().await).await
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

pub async fn checkout(session_id: Uuid) -> Result<CheckoutResponse, ApiError> {
    post_json(
        &format!("/api/sessions/{session_id}/checkout"),
        &serde_json::json!({}),
    )
    .await
}

pub async fn booking(id: Uuid) -> Result<BookingDto, ApiError> {
    read(Request::get(&format!("/api/bookings/{id}")).send().await).await
}

pub async fn access() -> Result<AccessDto, ApiError> {
    read(Request::get("/api/me/access").send().await).await
}

pub async fn subscribe(plan: Plan) -> Result<RedirectDto, ApiError> {
    post_json("/api/subscriptions/checkout", &SubscribeRequest { plan }).await
}

pub async fn portal() -> Result<RedirectDto, ApiError> {
    post_json("/api/subscriptions/portal", &serde_json::json!({})).await
}

pub async fn member_resources() -> Result<Vec<ResourceDto>, ApiError> {
    read(Request::get("/api/app/resources").send().await).await
}
