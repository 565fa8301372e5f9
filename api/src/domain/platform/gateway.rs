//! How a failed call to the payment gateway is answered, wherever the
//! domain makes one.

use common::ErrorCode;

use crate::error::ApiError;
use crate::payments::GatewayError;

/// A 502 that says what happened: the provider refused (the log has its
/// message) or did not answer.
pub fn gateway_failed(e: GatewayError) -> ApiError {
    tracing::error!(error = %e, "payment gateway call failed");
    let detail = match e {
        GatewayError::Refused(_) => "the payment provider refused the request; nothing was charged",
        GatewayError::Unavailable(_) => {
            "the payment provider did not answer; nothing was charged, try again"
        }
    };
    ApiError::new(ErrorCode::PaymentGatewayError, detail)
}
