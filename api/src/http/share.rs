//! What a page shows before any script runs. Link previews (chat apps,
//! social networks) and search engines read the `<title>` and meta
//! description of the HTML the server sends: a session's page gets its
//! own (the dates, the place, the start of its description). And the
//! first screen of the pages people land on (the catalog, a session, the
//! subscription page) is sent in the page itself, inside `#boot`, so that
//! it paints before the app has loaded (its largest text is what the
//! browser times as the page's Largest Contentful Paint); the app removes
//! `#boot` when it starts and draws the same content in the same place.

use chrono::Utc;
use common::format::{format_session_dates, paragraphs, summary};
use common::money::format_price;
use common::sessions::SessionDto;
use maud::{Markup, html};
use uuid::Uuid;

use crate::domain::{catalog::sessions, platform::clock::today_at_venue};
use crate::state::AppState;

/// Where the app shows one session (the SPA's `pages/session.rs`).
const SESSION_PAGE: &str = "/immersion-elite/";

/// Longest meta description: what search engines show before cutting.
const DESCRIPTION_CHARS: usize = 160;

/// What the server puts in a page before the app runs.
pub struct FirstPaint {
    /// In place of the site's title and description.
    pub head: Option<Markup>,
    /// Inside `<div id="boot">`: the page's first screen.
    pub boot: Markup,
}

/// The first paint of `path`, when it is a page people land on.
pub async fn first_paint(state: &AppState, path: &str) -> Option<FirstPaint> {
    use common::pages::{CATALOG_LEAD, SUBSCRIBE_LEAD};
    let intro = |title: &str, lead: &str| FirstPaint {
        head: None,
        boot: shell(html! { h1 { (title) } p class="lead" { (lead) } }),
    };
    match path {
        "/" | "/immersion-elite" => Some(intro("Immersion Élite", CATALOG_LEAD)),
        "/abonnement" => Some(intro("Abonnement", SUBSCRIBE_LEAD)),
        _ => session_page(state, path).await,
    }
}

/// The app's frame around a page's first screen (as `components/nav.rs`
/// and `main.rs` draw it, without the account links, which depend on who
/// is signed in).
fn shell(main: Markup) -> Markup {
    html! {
        header class="nav" {
            a href="/immersion-elite" { "Immersion Élite" }
            nav aria-label="Compte" {}
        }
        main { (main) }
    }
}

async fn session_page(state: &AppState, path: &str) -> Option<FirstPaint> {
    let id: Uuid = path
        .strip_prefix(SESSION_PAGE)?
        .trim_end_matches('/')
        .parse()
        .ok()?;
    // From the catalog's cache (the same public sessions, at most a
    // second old): a shared link's visits cost no query of their own.
    let today = today_at_venue(Utc::now());
    let list = state
        .catalog
        .list(today, || sessions::list_public(&state.db, today))
        .await
        .ok()?;
    let s = list.items.iter().find(|s| s.id == id)?;
    Some(FirstPaint {
        head: Some(session_head(s)),
        boot: shell(html! {
            p class="back" { a href="/immersion-elite" { "← Toutes les sessions" } }
            h1 { "Immersion Élite à " (s.location) }
            div class="session-page" {
                section class="description" aria-label="Programme" {
                    @for p in paragraphs(s.description.as_deref().unwrap_or("")) {
                        p { (p) }
                    }
                }
            }
        }),
    })
}

fn session_head(s: &SessionDto) -> Markup {
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
    html! {
        title { (title) }
        meta name="description" content=(description);
        meta property="og:title" content=(title);
        meta property="og:description" content=(description);
    }
}

/// The empty boot element of `index.html` (`xtask`'s template).
const BOOT: &str = "<div id=\"boot\"></div>";

/// `index` with `paint` in it: `head` in place of its title and meta
/// description (kept together by the template), the first screen inside
/// its boot element. A page without them is left as it is.
pub fn painted(index: &str, paint: &FirstPaint) -> String {
    let mut page = index.to_owned();
    if let Some(head) = &paint.head
        && let Some(start) = page.find("<title>")
        && let Some(meta) = page[start..].find("<meta name=\"description\"")
        && let Some(end) = page[start + meta..].find('>')
    {
        page.replace_range(start..start + meta + end + 1, &head.0);
    }
    page.replacen(BOOT, &format!("<div id=\"boot\">{}</div>", paint.boot.0), 1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_head_and_first_screen_go_in_their_places_escaped() {
        let index = "<head>\n<title>Immersion Élite</title>\n<meta name=\"description\" content=\"Le site\">\n<link rel=\"x\">\n</head><body><div id=\"boot\"></div></body>";
        let paint = FirstPaint {
            head: Some(html! {
                title { "A & <b>" }
                meta name="description" content="\"quoted\" <i>";
            }),
            boot: html! { h1 { "<Lyon>" } },
        };
        assert_eq!(
            painted(index, &paint),
            "<head>\n<title>A &amp; &lt;b&gt;</title><meta name=\"description\" content=\"&quot;quoted&quot; &lt;i&gt;\">\n<link rel=\"x\">\n</head><body><div id=\"boot\"><h1>&lt;Lyon&gt;</h1></div></body>"
        );
        let plain = FirstPaint {
            head: None,
            boot: html! { h1 { "x" } },
        };
        assert_eq!(painted("<html>", &plain), "<html>");
    }
}
