//! Words the server and the app both show: the server sends a page's
//! first screen before the app has loaded (`api/src/http/share.rs`), and
//! the app then draws the same words in the same place.

/// Under the catalog's title.
pub const CATALOG_LEAD: &str = "Cinq jours en petit groupe, du lundi au vendredi.";

/// Under the subscription page's title.
pub const SUBSCRIBE_LEAD: &str =
    "L'espace membres : les replays, fiches et ressources des sessions.";
