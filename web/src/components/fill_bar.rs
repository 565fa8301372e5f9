//! How full a session is, as a bar (the catalog and the admin list).

use leptos::prelude::*;

#[component]
pub fn FillBar(reserved: i32, max: i32) -> impl IntoView {
    let filled = if max > 0 { reserved * 100 / max } else { 100 };
    view! {
        <div class="fill" role="progressbar" aria-label=format!("Places réservées : {reserved} sur {max}")
            aria-valuemin="0" aria-valuemax=max aria-valuenow=reserved>
            <div class="fill-bar" style=format!("width: {filled}%")></div>
        </div>
    }
}
