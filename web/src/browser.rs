//! What the pages ask of the browser itself.

use chrono::NaiveDate;

/// Today's date as the browser sees it (for display only: the server
/// applies the rules with the venue's calendar).
pub fn today() -> NaiveDate {
    let now = js_sys::Date::new_0();
    NaiveDate::from_ymd_opt(
        now.get_full_year() as i32,
        now.get_month() + 1,
        now.get_date(),
    )
    .unwrap_or_default()
}

/// Leaves the app for `url` (Checkout, the portal, a download).
pub fn go(url: &str) {
    let _ = leptos::prelude::window().location().set_href(url);
}

/// An instant in the browser's own time zone, as "15/03/2027 à 14:30".
pub fn local_date_time(t: chrono::DateTime<chrono::Utc>) -> String {
    let d = js_sys::Date::new(&leptos::wasm_bindgen::JsValue::from_f64(
        t.timestamp_millis() as f64,
    ));
    format!(
        "{:02}/{:02}/{} à {:02}:{:02}",
        d.get_date(),
        d.get_month() + 1,
        d.get_full_year(),
        d.get_hours(),
        d.get_minutes()
    )
}
