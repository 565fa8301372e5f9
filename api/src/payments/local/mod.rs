//! The local gateway (no Stripe key): checkout URLs open our own pay page;
//! paying or cancelling there produces the events Stripe would send,
//! signed with the webhook secret, through the same pipeline.

pub mod events;

use std::collections::{HashMap, HashSet};
use std::sync::Mutex;

use uuid::Uuid;

use super::{
    CheckoutRequest, CheckoutSession, GatewayError, PaymentGateway, Refund, RefundRequest,
};

/// The path of the local pay page, under `PUBLIC_URL`.
pub const PAY_PATH: &str = "/local-checkout";

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
}

impl LocalGateway {
    pub fn new(public_url: &str) -> Self {
        Self {
            public_url: public_url.trim_end_matches('/').to_owned(),
            expired: Mutex::new(HashSet::new()),
            refunds: Mutex::new(HashMap::new()),
        }
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
}
