//! The layers of `api/src` (ARCHITECTURE.md), checked on the source text: the
//! domain knows nothing of HTTP (no actix, no extractor, no app state), the
//! HTTP edge reaches the database only through the domain, and the payment
//! gateways know nothing of the domain.

use std::path::{Path, PathBuf};

fn sources(dir: &Path) -> Vec<PathBuf> {
    let mut files = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            files.extend(sources(&path));
        } else if path.extension().is_some_and(|e| e == "rs") {
            files.push(path);
        }
    }
    files
}

/// Every line of the files under `dir` (or of the file `dir`) that names
/// one of `forbidden`.
fn offending(dir: &str, forbidden: &[&str]) -> Vec<String> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("src").join(dir);
    let files = if root.is_file() {
        vec![root]
    } else {
        sources(&root)
    };
    let mut found = Vec::new();
    for file in files {
        let text = std::fs::read_to_string(&file).unwrap();
        for (n, line) in text.lines().enumerate() {
            if let Some(name) = forbidden.iter().find(|f| line.contains(*f)) {
                found.push(format!("{}:{}: {name}", file.display(), n + 1));
            }
        }
    }
    found
}

#[test]
fn the_domain_imports_nothing_of_http() {
    let found = offending(
        "domain",
        &[
            "actix_web",
            "crate::http",
            "crate::state",
            "crate::webhooks",
            "auth::extract",
            "AppState",
            "AuthUser",
            "StatusCode",
        ],
    );
    assert!(
        found.is_empty(),
        "the domain reaches into HTTP:\n{}",
        found.join("\n")
    );
}

#[test]
fn the_app_state_names_nothing_of_the_domain() {
    // `startup` opens the domain's services on the state; the state itself
    // holds settings, pool, gateway and keys.
    let found = offending("state.rs", &["crate::domain", "domain::"]);
    assert!(
        found.is_empty(),
        "the state reaches into the domain:\n{}",
        found.join("\n")
    );
}

#[test]
fn the_ground_floor_imports_nothing_above_it() {
    // Settings, e-mail addresses, errors and the pool are read by every
    // layer, so they read none: no cycle through them.
    let mut found = Vec::new();
    for file in ["config.rs", "email.rs", "error.rs", "db"] {
        found.extend(offending(
            file,
            &[
                "crate::domain",
                "crate::http",
                "crate::state",
                "crate::jobs",
            ],
        ));
    }
    assert!(
        found.is_empty(),
        "a cycle through the ground floor:\n{}",
        found.join("\n")
    );
}

#[test]
fn the_payment_gateways_import_nothing_of_the_domain() {
    let found = offending(
        "payments",
        &["crate::domain", "crate::http", "crate::state"],
    );
    assert!(found.is_empty(), "payments reach up:\n{}", found.join("\n"));
}

#[test]
fn the_http_edge_reaches_the_database_only_through_the_domain() {
    let found = offending(
        "http",
        &[
            "Entity::find",
            "Entity::update",
            "Entity::insert",
            "Entity::delete",
        ],
    );
    assert!(
        found.is_empty(),
        "HTTP handlers query tables:\n{}",
        found.join("\n")
    );
}

#[test]
fn statuses_are_named_by_their_enums_not_by_string_literals() {
    // The stored values of bookings, waiting lists, mails, owed calls and
    // Stripe subscriptions are spelled once, in `common`'s enums (and in
    // the migrations).
    let literals: Vec<String> = [
        "held",
        "confirmed",
        "cancelled",
        "expired",
        "refunded",
        "waiting",
        "offered",
        "booked",
        "lapsed",
        "pending",
        "owed",
        // Stripe's subscription statuses ("active" also names a query
        // parameter, so it is left out).
        "trialing",
        "past_due",
        "unpaid",
        "canceled",
        "incomplete",
        "incomplete_expired",
        "paused",
    ]
    .iter()
    .map(|s| format!("\"{s}\""))
    .collect();
    let literals: Vec<&str> = literals.iter().map(String::as_str).collect();
    let mut found = Vec::new();
    for dir in ["domain", "http", "jobs"] {
        found.extend(offending(dir, &literals));
    }
    assert!(found.is_empty(), "status literals:\n{}", found.join("\n"));
}

#[test]
fn the_error_type_knows_nothing_of_the_web_framework() {
    // `http::error` turns an `ApiError` into a response; the domain's
    // results depend on actix through nothing.
    let found = offending("error.rs", &["actix", "HttpResponse", "ResponseError"]);
    assert!(
        found.is_empty(),
        "error.rs names the web framework:\n{}",
        found.join("\n")
    );
}

/// The modules of `api/src`, one per file, and which others each names
/// (`crate::…`, `super::…`, and a `mod.rs`'s `use child::…`), read from
/// the source text. Unit tests at a file's end (`#[cfg(test)]`) are left
/// out: `use super::*` there names the file itself.
mod graph {
    use std::collections::{BTreeMap, BTreeSet};
    use std::path::Path;

    pub type Module = Vec<String>;

    pub struct Graph {
        pub edges: BTreeMap<Module, BTreeSet<Module>>,
    }

    /// A file's module: `a/b.rs` and `a/b/mod.rs` are `a::b`; the crate's
    /// root (`lib.rs`, else `main.rs`) is the empty path.
    fn module_of(rel: &Path, root: &str) -> Module {
        let mut parts: Vec<String> = rel
            .iter()
            .map(|p| p.to_string_lossy().trim_end_matches(".rs").to_owned())
            .collect();
        if parts.last().map(String::as_str) == Some("mod") || parts == [root] {
            parts.pop();
        }
        parts
    }

    /// The paths a `use` tree or an inline path names, braces expanded:
    /// `a::{b, c::d}` gives `a::b` and `a::c::d`.
    fn expand(tree: &str) -> Vec<String> {
        let tree = tree.trim();
        let Some(open) = tree.find('{') else {
            return vec![tree.to_owned()];
        };
        let prefix = &tree[..open];
        let inner = &tree[open + 1..tree.rfind('}').unwrap_or(tree.len())];
        let mut parts = Vec::new();
        let (mut depth, mut start) = (0, 0);
        for (i, ch) in inner.char_indices() {
            match ch {
                '{' => depth += 1,
                '}' => depth -= 1,
                ',' if depth == 0 => {
                    parts.push(&inner[start..i]);
                    start = i + 1;
                }
                _ => {}
            }
        }
        parts.push(&inner[start..]);
        parts
            .into_iter()
            .filter(|p| !p.trim().is_empty())
            .flat_map(|p| expand(&format!("{prefix}{}", p.trim())))
            .collect()
    }

    /// The path starting at `at` in `text`: segments, `::` and one
    /// balanced `{…}` group.
    fn path_at(text: &str, at: usize) -> &str {
        let mut depth = 0;
        for (i, ch) in text[at..].char_indices() {
            match ch {
                '{' => depth += 1,
                '}' if depth == 0 => return &text[at..at + i],
                '}' => depth -= 1,
                c if depth == 0 && !(c.is_alphanumeric() || c == '_' || c == ':') => {
                    return &text[at..at + i];
                }
                _ => {}
            }
        }
        &text[at..]
    }

    /// A file up to its inline unit-test module (`#[cfg(test)] mod … {`),
    /// which sits at the end; a test module in a file of its own
    /// (`mod sync_tests;`) is a module like any other.
    fn without_unit_tests(text: &str) -> &str {
        for (at, _) in text.match_indices("#[cfg(test)]") {
            let inline = text[at..]
                .lines()
                .skip(1)
                .find(|l| !l.trim_start().starts_with("#["))
                .is_some_and(|l| l.starts_with("mod ") && l.trim_end().ends_with('{'));
            if inline {
                return &text[..at];
            }
        }
        text
    }

    impl Graph {
        pub fn read(src: &Path) -> Graph {
            let files = super::sources(src);
            let root = if src.join("lib.rs").exists() {
                "lib"
            } else {
                "main"
            };
            let modules: BTreeMap<Module, String> = files
                .iter()
                .map(|f| {
                    let text = std::fs::read_to_string(f).unwrap();
                    let text = without_unit_tests(&text).to_owned();
                    (module_of(f.strip_prefix(src).unwrap(), root), text)
                })
                .collect();
            let known: BTreeSet<&Module> = modules.keys().collect();
            // The longest known module a path starts with.
            let resolve = |segments: &[String]| -> Option<Module> {
                (1..=segments.len())
                    .rev()
                    .map(|n| segments[..n].to_vec())
                    .find(|m| known.contains(m))
            };
            let mut edges = BTreeMap::new();
            for (module, text) in &modules {
                let mut named = BTreeSet::new();
                // Names that stand for a module in this file: a folder's
                // children, and what `use` brought in (`use crate::http;`
                // then `http::docs::…`).
                let mut aliases: BTreeMap<String, Module> = known
                    .iter()
                    .filter(|m| m.len() == module.len() + 1 && m.starts_with(module))
                    .map(|m| (m[module.len()].clone(), (*m).clone()))
                    .collect();
                let mut note = |path: &str, base: &[String], alias: Option<&str>| {
                    for full in expand(path) {
                        let mut segments: Vec<String> = base.to_vec();
                        segments.extend(
                            full.split("::")
                                .filter(|s| !s.is_empty() && *s != "self" && *s != "*")
                                .map(str::to_owned),
                        );
                        let Some(m) = resolve(&segments) else {
                            continue;
                        };
                        if m == segments {
                            let name = alias.unwrap_or_else(|| &m[m.len() - 1]);
                            aliases.insert(name.to_owned(), m.clone());
                        }
                        if m != *module {
                            named.insert(m);
                        }
                    }
                };
                // `super::` is the parent of a file's module, or of a
                // folder's `mod.rs`.
                let parent = &module[..module.len().saturating_sub(1)];
                for (prefix, base) in [("crate::", &[][..]), ("super::", parent)] {
                    for (at, _) in text.match_indices(prefix) {
                        if text[..at]
                            .chars()
                            .last()
                            .is_some_and(|c| c.is_alphanumeric() || c == '_' || c == ':')
                        {
                            continue;
                        }
                        let path = path_at(text, at + prefix.len());
                        let rest = &text[at + prefix.len() + path.len()..];
                        let alias = rest.strip_prefix(" as ").map(|r| path_at(r, 0));
                        note(path, base, alias);
                    }
                }
                // Then every `name::…` whose name stands for a module.
                let aliases = aliases;
                for (name, target) in &aliases {
                    let needle = format!("{name}::");
                    for (at, _) in text.match_indices(&needle) {
                        if text[..at]
                            .chars()
                            .last()
                            .is_some_and(|c| c.is_alphanumeric() || c == '_' || c == ':')
                        {
                            continue;
                        }
                        for full in expand(path_at(text, at + needle.len())) {
                            let mut segments = target.clone();
                            segments.extend(
                                full.split("::")
                                    .filter(|s| !s.is_empty() && *s != "self" && *s != "*")
                                    .map(str::to_owned),
                            );
                            if let Some(m) = resolve(&segments).filter(|m| m != module) {
                                named.insert(m);
                            }
                        }
                    }
                }
                edges.insert(module.clone(), named);
            }
            Graph { edges }
        }

        /// The groups of modules that reach each other (Tarjan's strongly
        /// connected components), those of more than one module.
        pub fn circles(&self) -> Vec<Vec<String>> {
            struct Walk<'a> {
                g: &'a Graph,
                index: BTreeMap<&'a Module, usize>,
                low: BTreeMap<&'a Module, usize>,
                stack: Vec<&'a Module>,
                on_stack: BTreeSet<&'a Module>,
                found: Vec<Vec<String>>,
            }
            impl<'a> Walk<'a> {
                fn visit(&mut self, v: &'a Module) {
                    let n = self.index.len();
                    self.index.insert(v, n);
                    self.low.insert(v, n);
                    self.stack.push(v);
                    self.on_stack.insert(v);
                    for w in self.g.edges.get(v).into_iter().flatten() {
                        if !self.index.contains_key(w) {
                            self.visit(w);
                            let lw = self.low[w];
                            let lv = self.low.get_mut(v).unwrap();
                            *lv = (*lv).min(lw);
                        } else if self.on_stack.contains(w) {
                            let iw = self.index[w];
                            let lv = self.low.get_mut(v).unwrap();
                            *lv = (*lv).min(iw);
                        }
                    }
                    if self.low[v] == self.index[v] {
                        let mut group = Vec::new();
                        while let Some(w) = self.stack.pop() {
                            self.on_stack.remove(w);
                            group.push(w.join("::"));
                            if w == v {
                                break;
                            }
                        }
                        if group.len() > 1 {
                            group.sort();
                            self.found.push(group);
                        }
                    }
                }
            }
            let mut walk = Walk {
                g: self,
                index: BTreeMap::new(),
                low: BTreeMap::new(),
                stack: Vec::new(),
                on_stack: BTreeSet::new(),
                found: Vec::new(),
            };
            for v in self.edges.keys() {
                if !walk.index.contains_key(v) {
                    walk.visit(v);
                }
            }
            walk.found
        }
    }
}

fn api_graph() -> graph::Graph {
    graph::Graph::read(&Path::new(env!("CARGO_MANIFEST_DIR")).join("src"))
}

#[track_caller]
fn assert_no_circle(graph: &graph::Graph, what: &str) {
    let circles = graph.circles();
    assert!(
        circles.is_empty(),
        "circles between modules of {what}:\n{}",
        circles
            .iter()
            .map(|c| c.join(" <-> "))
            .collect::<Vec<_>>()
            .join("\n")
    );
}

#[test]
fn no_module_of_the_api_reaches_back_to_one_that_reaches_it() {
    assert_no_circle(&api_graph(), "api/src");
}

#[test]
fn no_module_of_the_web_app_reaches_back_to_one_that_reaches_it() {
    let web = Path::new(env!("CARGO_MANIFEST_DIR")).join("../web/src");
    assert_no_circle(&graph::Graph::read(&web), "web/src");
}

/// The domain's folders, lowest first: each may name only those before it.
const DOMAIN_FLOORS: &[&str] = &[
    "platform",
    "accounts",
    "catalog",
    "billing",
    "bookings",
    "subscriptions",
    "payment_events",
    "reports",
    "training",
    "integrations",
    "privacy",
    "upgrades",
    "demo",
];

#[test]
fn the_domain_folders_point_down_only() {
    let graph = api_graph();
    let floor = |m: &graph::Module| -> Option<usize> {
        (m.first().map(String::as_str) == Some("domain"))
            .then(|| m.get(1))
            .flatten()
            .and_then(|f| DOMAIN_FLOORS.iter().position(|d| d == f))
    };
    let mut up = Vec::new();
    for (from, named) in &graph.edges {
        let Some(low) = floor(from) else { continue };
        for to in named {
            if floor(to).is_some_and(|high| high > low) {
                up.push(format!("{} -> {}", from.join("::"), to.join("::")));
            }
        }
    }
    assert!(up.is_empty(), "the domain points up:\n{}", up.join("\n"));
    // Every folder of the domain has its floor.
    let folders: std::collections::BTreeSet<&str> = graph
        .edges
        .keys()
        .filter(|m| m.first().map(String::as_str) == Some("domain") && m.len() > 1)
        .map(|m| m[1].as_str())
        .collect();
    for f in folders {
        assert!(
            DOMAIN_FLOORS.contains(&f),
            "domain/{f} has no floor in DOMAIN_FLOORS"
        );
    }
}

/// The check itself: a circle written on purpose is found.
#[test]
fn the_circle_check_sees_a_circle() {
    let dir = std::env::temp_dir().join(format!("layers-{}", uuid::Uuid::new_v4().simple()));
    std::fs::create_dir_all(dir.join("a")).unwrap();
    std::fs::write(dir.join("lib.rs"), "pub mod a;\npub mod b;\n").unwrap();
    std::fs::write(dir.join("a/mod.rs"), "mod x;\npub use x::f;\n").unwrap();
    std::fs::write(dir.join("a/x.rs"), "use crate::b::g;\npub fn f() {}\n").unwrap();
    std::fs::write(
        dir.join("b.rs"),
        "use crate::{a::{f}, c};\npub fn g() {}\n#[cfg(test)]\nmod tests {\n    use super::*;\n}\n",
    )
    .unwrap();
    let circles = graph::Graph::read(&dir).circles();
    std::fs::remove_dir_all(&dir).ok();
    assert_eq!(circles, vec![vec!["a", "a::x", "b"]]);
}

/// The texts the code is written against live in the repository: no
/// comment or test cites a design document outside it, and every
/// "invariant n" cited is one ARCHITECTURE.md numbers.
#[test]
fn the_code_cites_only_what_the_repository_holds() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let architecture = std::fs::read_to_string(root.join("ARCHITECTURE.md")).unwrap();
    let invariants = architecture
        .split("## Invariants")
        .nth(1)
        .expect("ARCHITECTURE.md numbers the invariants")
        .split("\n## ")
        .next()
        .unwrap_or_default();
    let numbered: Vec<u32> = invariants
        .lines()
        .filter_map(|l| l.split_once(". ").and_then(|(n, _)| n.parse().ok()))
        .collect();
    assert_eq!(
        numbered,
        (1..=numbered.len() as u32).collect::<Vec<_>>(),
        "the invariants are numbered 1, 2, 3, …"
    );
    let mut found = Vec::new();
    for dir in [
        "api/src",
        "api/tests",
        "common/src",
        "entity/src",
        "migration/src",
        "web/src",
        "xtask/src",
    ] {
        for file in sources(&root.join(dir)) {
            let text = std::fs::read_to_string(&file).unwrap();
            for (n, line) in text.lines().enumerate() {
                let at = format!("{}:{}", file.display(), n + 1);
                // Spelled in halves, so that this file does not cite it.
                let cited = [["DESIGN", ".md"].concat(), ["DESIGN", " §"].concat()];
                if cited.iter().any(|c| line.contains(c.as_str())) {
                    found.push(format!("{at}: cites a design text outside the repository"));
                }
                for (i, _) in line.match_indices("invariant ") {
                    let rest = &line[i + "invariant ".len()..];
                    let digits: String = rest.chars().take_while(char::is_ascii_digit).collect();
                    if let Ok(k) = digits.parse::<u32>()
                        && !numbered.contains(&k)
                    {
                        found.push(format!("{at}: invariant {k} is not in ARCHITECTURE.md"));
                    }
                }
            }
        }
    }
    assert!(found.is_empty(), "{}", found.join("\n"));
}
