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
