//! Reading an API answer as the browser parsed it (`JSON.parse`), field by
//! field. Most pages decode the `common` DTOs with serde; a few read-only
//! displays (the admin dashboard, the invoice list, the profile form's
//! first values) read this way instead, because every typed decoder costs
//! the app KB of its 200 KB budget (bench/web_size.sh). Their browser
//! tests compare what is shown with the JSON, so a renamed field fails
//! them.

use js_sys::{Array, Reflect};
use leptos::wasm_bindgen::JsValue;

use crate::api::{ApiError, call_text};

/// `GET url`, parsed by the browser.
pub async fn get(url: &str) -> Result<JsValue, ApiError> {
    let text = call_text(url).await?;
    js_sys::JSON::parse(&text).map_err(|_| ApiError::network())
}

/// `o[key]`, or `undefined`.
pub fn at(o: &JsValue, key: &str) -> JsValue {
    Reflect::get(o, &JsValue::from_str(key)).unwrap_or(JsValue::UNDEFINED)
}

/// A whole number (the API's counts and cents are exact in a double).
pub fn num(o: &JsValue, key: &str) -> Option<i64> {
    at(o, key).as_f64().map(|n| n as i64)
}

pub fn int(o: &JsValue, key: &str) -> i64 {
    num(o, key).unwrap_or(0)
}

/// A string, when there is one (`null` and absent are none).
pub fn opt_text(o: &JsValue, key: &str) -> Option<String> {
    at(o, key).as_string()
}

pub fn text(o: &JsValue, key: &str) -> String {
    opt_text(o, key).unwrap_or_default()
}

/// The items of an array (none when it is not one).
pub fn items(array: &JsValue) -> Vec<JsValue> {
    Array::from(array).to_vec()
}

/// The items of the array at `o[key]`.
pub fn list(o: &JsValue, key: &str) -> Vec<JsValue> {
    items(&at(o, key))
}
