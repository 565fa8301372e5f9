//! The subscription prices, read from the provider once and kept for an
//! hour: the plans page is public and must not cost a Stripe call per
//! visit. A price the provider cannot give right now is served stale
//! rather than not at all; one refresh runs at a time.

use chrono::{DateTime, Duration, Utc};
use std::collections::HashMap;

use super::{GatewayError, PaymentGateway, RecurringPrice};

/// How long a price read from the provider is served without asking again.
pub const FRESH_FOR: Duration = Duration::hours(1);

#[derive(Default)]
pub struct PriceBook {
    /// By price id: the price and when it was read.
    prices: tokio::sync::Mutex<HashMap<String, (RecurringPrice, DateTime<Utc>)>>,
}

impl PriceBook {
    pub async fn price(
        &self,
        gateway: &dyn PaymentGateway,
        price_id: &str,
        now: DateTime<Utc>,
    ) -> Result<RecurringPrice, GatewayError> {
        // Held across the call: concurrent visitors wait for one read.
        let mut prices = self.prices.lock().await;
        let known = prices.get(price_id).cloned();
        if let Some((price, read_at)) = &known
            && now - *read_at < FRESH_FOR
        {
            return Ok(price.clone());
        }
        match gateway.price(price_id).await {
            Ok(price) => {
                prices.insert(price_id.to_owned(), (price.clone(), now));
                Ok(price)
            }
            Err(e) => match known {
                Some((stale, _)) => {
                    tracing::warn!(price_id, error = %e, "price not refreshed; serving the last one read");
                    Ok(stale)
                }
                None => Err(e),
            },
        }
    }
}
