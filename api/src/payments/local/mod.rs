//! The local gateway (no Stripe key): checkout URLs open our own pay page;
//! paying or cancelling there produces the events Stripe would send,
//! signed with the webhook secret, through the same pipeline.

pub mod events;
pub mod subscriptions;

use std::collections::{HashMap, HashSet};
use std::sync::Mutex;

use chrono::{DateTime, Utc};
use common::subscriptions::Plan;
use uuid::Uuid;

use super::{
    CheckoutRequest, CheckoutSession, GatewayError, PaymentGateway, Refund, RefundRequest,
    SubscriptionCheckoutRequest,
};

/// The path of the local pay page, under `PUBLIC_URL`.
pub const PAY_PATH: &str = "/local-checkout";
/// The path of the local Customer Portal.
pub const PORTAL_PATH: &str = "/local-portal";

/// A subscription Checkout Session waiting on the local pay page.
#[derive(Debug, Clone)]
pub struct PendingSubscription {
    pub user_id: Uuid,
    pub customer_id: String,
    pub plan: Plan,
    pub success_url: String,
    pub cancel_url: String,
}

#[derive(Debug, Clone)]
pub struct PortalSession {
    pub customer_id: String,
    pub return_url: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LocalRefund {
    pub id: String,
    pub payment_intent_id: String,
    pub amount_cents: i64,
    pub booking_id: Uuid,
}

pub struct LocalGateway {
    public_url: String,
    expired: Mutex<HashSet<String>>,
    /// Refunds by idempotency key: a repeated key returns the first refund.
    refunds: Mutex<HashMap<String, LocalRefund>>,
    subscription_checkouts: Mutex<HashMap<String, PendingSubscription>>,
    portals: Mutex<HashMap<String, PortalSession>>,
    /// The last `created` time handed out: each action's events are later
    /// than the previous action's, as Stripe's would be.
    clock: Mutex<i64>,
}

impl LocalGateway {
    pub fn new(public_url: &str) -> Self {
        Self {
            public_url: public_url.trim_end_matches('/').to_owned(),
            expired: Mutex::new(HashSet::new()),
            refunds: Mutex::new(HashMap::new()),
            subscription_checkouts: Mutex::new(HashMap::new()),
            portals: Mutex::new(HashMap::new()),
            clock: Mutex::new(0),
        }
    }

    pub fn subscription_checkout(&self, id: &str) -> Option<PendingSubscription> {
        lock(&self.subscription_checkouts).get(id).cloned()
    }

    /// Marks a subscription checkout as used; false when it already was.
    pub fn close_subscription_checkout(&self, id: &str) -> bool {
        lock(&self.subscription_checkouts).remove(id).is_some()
    }

    pub fn portal(&self, token: &str) -> Option<PortalSession> {
        lock(&self.portals).get(token).cloned()
    }

    /// A time for the next action's events: now, or one second after the
    /// previous action if that was in the same second.
    pub fn next_instant(&self) -> DateTime<Utc> {
        let mut last = lock(&self.clock);
        let now = Utc::now().timestamp().max(*last + 1);
        *last = now;
        DateTime::from_timestamp(now, 0).unwrap_or_else(Utc::now)
    }

    pub fn is_expired(&self, checkout_session_id: &str) -> bool {
        lock(&self.expired).contains(checkout_session_id)
    }

    /// Every refund made, once each.
    pub fn refunds(&self) -> Vec<LocalRefund> {
        lock(&self.refunds).values().cloned().collect()
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    // Poisoning only means a panic elsewhere; the data is still consistent
    // (every mutation is a single insert).
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

#[async_trait::async_trait]
impl PaymentGateway for LocalGateway {
    async fn create_checkout(
        &self,
        _req: &CheckoutRequest,
    ) -> Result<CheckoutSession, GatewayError> {
        let id = format!("cs_local_{}", Uuid::new_v4().simple());
        let url = format!("{}{PAY_PATH}/{id}", self.public_url);
        Ok(CheckoutSession { id, url })
    }

    async fn expire_checkout(&self, checkout_session_id: &str) -> Result<(), GatewayError> {
        lock(&self.expired).insert(checkout_session_id.to_owned());
        Ok(())
    }

    async fn refund(&self, req: &RefundRequest) -> Result<Refund, GatewayError> {
        let mut refunds = lock(&self.refunds);
        let refund = refunds
            .entry(req.idempotency_key.clone())
            .or_insert_with(|| LocalRefund {
                id: format!("re_local_{}", Uuid::new_v4().simple()),
                payment_intent_id: req.payment_intent_id.clone(),
                amount_cents: req.amount_cents,
                booking_id: req.booking_id,
            });
        Ok(Refund {
            id: refund.id.clone(),
        })
    }

    async fn create_customer(&self, _user_id: Uuid, _email: &str) -> Result<String, GatewayError> {
        Ok(format!("cus_local_{}", Uuid::new_v4().simple()))
    }

    async fn create_subscription_checkout(
        &self,
        req: &SubscriptionCheckoutRequest,
    ) -> Result<CheckoutSession, GatewayError> {
        let id = format!("cs_local_sub_{}", Uuid::new_v4().simple());
        lock(&self.subscription_checkouts).insert(
            id.clone(),
            PendingSubscription {
                user_id: req.user_id,
                customer_id: req.customer_id.clone(),
                plan: req.plan,
                success_url: req.success_url.clone(),
                cancel_url: req.cancel_url.clone(),
            },
        );
        let url = format!("{}{PAY_PATH}/{id}", self.public_url);
        Ok(CheckoutSession { id, url })
    }

    async fn create_portal_session(
        &self,
        customer_id: &str,
        return_url: &str,
    ) -> Result<String, GatewayError> {
        let token = format!("bps_local_{}", Uuid::new_v4().simple());
        lock(&self.portals).insert(
            token.clone(),
            PortalSession {
                customer_id: customer_id.to_owned(),
                return_url: return_url.to_owned(),
            },
        );
        Ok(format!("{}{PORTAL_PATH}/{token}", self.public_url))
    }
}
