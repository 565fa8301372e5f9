//! Client-side routing. The app's pages sit at fixed paths, so the History
//! API, one path signal and one click handler do all the routing it needs.
//! (leptos_router did this too, but weighed about a tenth of the gzipped
//! module, and the budget is 200 KB: bench/web_size.sh.) Each bundle
//! (`lib.rs`) routes its own pages; the other's load from the server.
//!
//! `navigate` pushes a history entry and fires `popstate`, the event the
//! browser fires for Back and Forward, so a single listener follows every
//! change of page and nothing needs a context to navigate.

use std::sync::OnceLock;

use leptos::ev;
use leptos::prelude::*;
use leptos::wasm_bindgen::{JsCast, JsValue};
use web_sys::{Element, MouseEvent, PopStateEvent};

use crate::Pages;

/// Where a session's page lives: this prefix, then the session's id.
pub const SESSION_PATH: &str = "/immersion-elite/";

/// The session a path names, when it is a session page's.
pub fn session_id_of(path: &str) -> Option<uuid::Uuid> {
    path.strip_prefix(SESSION_PATH)?
        .trim_end_matches('/')
        .parse()
        .ok()
}

/// The pages of the bundle running, set once at its start.
static PAGES: OnceLock<Pages> = OnceLock::new();

/// Whether this bundle draws `path` (with or without a query).
fn has_page(path: &str) -> bool {
    PAGES
        .get()
        .is_some_and(|pages| pages(path_of(path)).is_some())
}

/// The current path, kept in step with the address bar. `pages` says
/// which paths this bundle draws; links to any other path (the other
/// bundle's pages, the API's CSV download) are left to the browser. The
/// path is also provided as `CurrentPath`, for `Link`.
pub fn current_path(pages: Pages) -> Memo<String> {
    let _ = PAGES.set(pages);
    let path = RwSignal::new(location_path());
    // The handles are dropped on purpose: the listeners live as long as
    // the page, like the app itself.
    let _ = window_event_listener(ev::popstate, move |_| path.set(location_path()));
    let _ = window_event_listener(ev::click, move |ev| {
        if let Some(href) = same_app_link(&ev).filter(|h| has_page(h)) {
            ev.prevent_default();
            navigate(&href);
        }
    });
    let current = Memo::new(move |_| path.get());
    provide_context(CurrentPath(current));
    current
}

#[derive(Clone, Copy)]
pub struct CurrentPath(Memo<String>);

/// A menu link, marked `aria-current="page"` while its page is shown:
/// screen readers announce it, and the style underlines it.
#[component]
pub fn Link(href: &'static str, children: Children) -> impl IntoView {
    let current = use_context::<CurrentPath>();
    let here = move || {
        current
            .is_some_and(|c| c.0.with(|path| path == href))
            .then_some("page")
    };
    view! { <a href=href aria-current=here>{children()}</a> }
}

/// Goes to `to` (a path with an optional query): inside the app when this
/// bundle draws it, else by loading the page (the other bundle's).
pub fn navigate(to: &str) {
    let w = window();
    if !has_page(to) {
        let _ = w.location().set_href(to);
        return;
    }
    let pushed = w
        .history()
        .and_then(|h| h.push_state_with_url(&JsValue::NULL, "", Some(to)));
    if pushed.is_err() {
        let _ = w.location().set_href(to);
        return;
    }
    if let Ok(event) = PopStateEvent::new("popstate") {
        let _ = w.dispatch_event(&event);
    }
    w.scroll_to_with_x_and_y(0.0, 0.0);
}

/// The value of `name` in the address's query string, decoded.
pub fn query(name: &str) -> Option<String> {
    let search = window().location().search().ok()?;
    pair_value(search.trim_start_matches('?'), name)
}

/// The value of `name` in the address's fragment (`#token=…`: mailed
/// links carry their secret there, which browsers never send).
pub fn fragment(name: &str) -> Option<String> {
    let hash = window().location().hash().ok()?;
    pair_value(hash.trim_start_matches('#'), name)
}

fn pair_value(pairs: &str, name: &str) -> Option<String> {
    pairs.split('&').find_map(|pair| {
        let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
        (key == name)
            .then(|| js_sys::decode_uri_component(&value.replace('+', " ")).ok())
            .flatten()
            .map(String::from)
    })
}

fn location_path() -> String {
    window()
        .location()
        .pathname()
        .unwrap_or_else(|_| "/".into())
}

fn path_of(href: &str) -> &str {
    href.split(['?', '#']).next().unwrap_or(href)
}

/// The `href` of the link a plain left click landed on, when it is a path
/// of this site that opens in this tab.
fn same_app_link(ev: &MouseEvent) -> Option<String> {
    if ev.default_prevented()
        || ev.button() != 0
        || ev.meta_key()
        || ev.ctrl_key()
        || ev.shift_key()
        || ev.alt_key()
    {
        return None;
    }
    let target = ev.target()?.dyn_into::<Element>().ok()?;
    let link = target.closest("a[href]").ok()??;
    if link.has_attribute("target") || link.has_attribute("download") {
        return None;
    }
    let href = link.get_attribute("href")?;
    is_local_path(&href).then_some(href)
}

/// Where a page that sends the visitor on should send them: the `suite`
/// of the address when it is a path of this site (anything else would be
/// an open redirect dressed as a link of ours), else `default`.
pub fn next_or(default: &str) -> String {
    query("suite")
        .filter(|s| is_local_path(s))
        .unwrap_or_else(|| default.to_owned())
}

/// A path on this site: one leading slash, not followed by another or by
/// a backslash (browsers read both as the start of another host), and no
/// control character (browsers drop tabs and line breaks from addresses,
/// so "/\t/host" is "//host").
pub fn is_local_path(s: &str) -> bool {
    s.starts_with('/') && !s[1..].starts_with(['/', '\\']) && !s.chars().any(char::is_control)
}
