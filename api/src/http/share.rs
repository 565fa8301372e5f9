//! What a shared link shows before any script runs: link previews (chat
//! apps, social networks) and search engines read the page's `<title>` and
//! meta description from the HTML the server sends. The single-page app's
//! `index.html` carries the site's; a session page's gets its own: the
//! dates, the place, and the start of its description.

use chrono::Utc;
use common::format::{format_session_dates, summary};
use common::money::format_price;
use maud::{Markup, html};
use uuid::Uuid;

use crate::domain::{clock::today_at_venue, sessions};
use crate::state::AppState;

/// Where the app shows one session (the SPA's `pages/session.rs`).
const SESSION_PAGE: &str = "/immersion-elite/";

/// Longest meta description: what search engines show before cutting.
const DESCRIPTION_CHARS: usize = 160;

/// The head for `path`, when it is a public session's page.
pub async fn head_for(state: &AppState, path: &str) -> Option<Markup> {
    let id: Uuid = path
        .strip_prefix(SESSION_PAGE)?
        .trim_end_matches('/')
        .parse()
        .ok()?;
    let today = today_at_venue(Utc::now());
    let s = sessions::get_public(&state.db, id, today).await.ok()?;
    let dates = format_session_dates(s.starts_on, s.ends_on);
    let title = format!("Immersion Élite · {dates} · {}", s.location);
    let facts = format!(
        "{dates} à {}, {} par personne.",
        s.location,
        format_price(s.price_cents, &s.currency)
    );
    let description = match s.description.as_deref().map(str::trim) {
        Some(text) if !text.is_empty() => summary(&format!("{facts} {text}"), DESCRIPTION_CHARS),
        _ => facts,
    };
    Some(html! {
        title { (title) }
        meta name="description" content=(description);
        meta property="og:title" content=(title);
        meta property="og:description" content=(description);
    })
}

/// `index` with its title and meta description replaced by `head`. The
/// page keeps them together (`xtask`'s template); a page without them is
/// left as it is.
pub fn with_head(index: &str, head: &Markup) -> Option<String> {
    let start = index.find("<title>")?;
    let meta = index[start..].find("<meta name=\"description\"")? + start;
    let end = index[meta..].find('>')? + meta + 1;
    Some(format!("{}{}{}", &index[..start], head.0, &index[end..]))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_head_replaces_title_and_description_and_is_escaped() {
        let index = "<head>\n<title>Immersion Élite</title>\n<meta name=\"description\" content=\"Le site\">\n<link rel=\"x\">\n</head>";
        let head = html! {
            title { "A & <b>" }
            meta name="description" content="\"quoted\" <i>";
        };
        let page = with_head(index, &head).unwrap();
        assert_eq!(
            page,
            "<head>\n<title>A &amp; &lt;b&gt;</title><meta name=\"description\" content=\"&quot;quoted&quot; &lt;i&gt;\">\n<link rel=\"x\">\n</head>"
        );
        assert_eq!(with_head("<html>", &head), None);
    }
}
