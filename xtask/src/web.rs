//! Builds the single-page app's two bundles into `web/dist`: cargo (wasm32, size
//! profile, a pinned nightly: see `NIGHTLY`) → wasm-bindgen (the CLI at
//! exactly the version in Cargo.lock) → wasm-opt -Oz (npm's binaryen; Debian's is too old) → content-hashed
//! file names and an `index.html` that loads them. Tools are installed
//! under `target/tools` the first time, from crates.io and npm only.

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::{cargo, status};

const BINARYEN: &str = "binaryen@132.0.0";
const TARGET: &str = "wasm32-unknown-unknown";
const PROFILE: &str = "release-wasm";

/// The browser build alone uses this nightly, for what stable cannot do
/// yet: rebuild `std` with `panic=immediate-abort` (no panic messages,
/// locations or formatting machinery) and compile out `Debug` output.
/// That is a tenth of the gzipped module, and the budget is 200 KB
/// (bench/web_size.sh). The api and the tests stay on stable.
const NIGHTLY: &str = "nightly-2026-05-20";
/// `erase_components`: Leptos erases component types, which is smaller.
const WASM_RUSTFLAGS: &str = "--cfg erase_components -Zunstable-options \
    -Cpanic=immediate-abort -Zlocation-detail=none -Zfmt-debug=none";

/// The workspace this xtask runs in, found at run time: the nearest
/// directory upwards from the current one whose `Cargo.toml` declares a
/// `[workspace]`. (The path baked in at compile time would point at
/// whichever checkout built the binary, when `CARGO_TARGET_DIR` is shared.)
pub fn root() -> PathBuf {
    let start = std::env::current_dir().unwrap_or_else(|_| PathBuf::from("."));
    workspace_above(&start).unwrap_or(start)
}

fn workspace_above(start: &Path) -> Option<PathBuf> {
    start.ancestors().find_map(|dir| {
        let manifest = std::fs::read_to_string(dir.join("Cargo.toml")).ok()?;
        manifest
            .lines()
            .any(|l| l.trim() == "[workspace]")
            .then(|| dir.to_path_buf())
    })
}

/// The `wasm-bindgen` version pinned in Cargo.lock.
fn wasm_bindgen_version(root: &Path) -> Result<String, String> {
    let lock =
        std::fs::read_to_string(root.join("Cargo.lock")).map_err(|e| format!("Cargo.lock: {e}"))?;
    let mut lines = lock.lines();
    while let Some(line) = lines.next() {
        if line == "name = \"wasm-bindgen\"" {
            let version = lines.next().unwrap_or_default();
            return version
                .strip_prefix("version = \"")
                .and_then(|v| v.strip_suffix('"'))
                .map(str::to_owned)
                .ok_or_else(|| "Cargo.lock: wasm-bindgen has no version".to_owned());
        }
    }
    Err("Cargo.lock has no wasm-bindgen".into())
}

fn output_of(cmd: &mut Command) -> Option<String> {
    let out = cmd.output().ok()?;
    out.status
        .success()
        .then(|| String::from_utf8_lossy(&out.stdout).into_owned())
}

/// The wasm-bindgen CLI at `version`, installed under `tools` if needed.
fn wasm_bindgen(tools: &Path, version: &str) -> Result<PathBuf, String> {
    let bin = tools.join("bin").join("wasm-bindgen");
    let installed = output_of(Command::new(&bin).arg("--version"));
    if installed.is_some_and(|v| v.trim().ends_with(version)) {
        return Ok(bin);
    }
    eprintln!("xtask: installing wasm-bindgen-cli {version} (crates.io, a minute or two once)");
    let mut cmd = cargo();
    // Unoptimised and without debug information: it then builds in less
    // than half the time, and binds a bundle in about a second all the same.
    cmd.args([
        "install",
        "wasm-bindgen-cli",
        "--version",
        version,
        "--debug",
        "--force",
        "--root",
    ])
    .arg(tools)
    .env("CARGO_PROFILE_DEV_DEBUG", "false");
    status(cmd)?;
    Ok(bin)
}

/// Installs `NIGHTLY` with the std sources and the wasm target, once.
fn nightly() -> Result<(), String> {
    // Listing the components fails when the toolchain is missing.
    let has_src = output_of(Command::new("rustup").args([
        "component",
        "list",
        "--installed",
        "--toolchain",
        NIGHTLY,
    ]))
    .is_some_and(|list| list.lines().any(|l| l.starts_with("rust-src")));
    if has_src {
        return Ok(());
    }
    eprintln!("xtask: installing Rust {NIGHTLY} for the wasm build (rustup, once)");
    let mut cmd = Command::new("rustup");
    cmd.args([
        "toolchain",
        "install",
        NIGHTLY,
        "--profile",
        "minimal",
        "--component",
        "rust-src",
        "--target",
        TARGET,
    ]);
    status(cmd)
}

/// npm's binaryen `wasm-opt`, installed under `tools` if needed.
fn wasm_opt(tools: &Path) -> Result<PathBuf, String> {
    let prefix = tools.join("npm");
    let bin = prefix.join("node_modules").join(".bin").join("wasm-opt");
    if output_of(Command::new(&bin).arg("--version")).is_some() {
        return Ok(bin);
    }
    eprintln!("xtask: installing {BINARYEN} (npm)");
    let mut cmd = Command::new("npm");
    cmd.args(["install", "--no-audit", "--no-fund", "--prefix"])
        .arg(&prefix)
        .arg(BINARYEN);
    status(cmd)?;
    Ok(bin)
}

/// FNV-1a, 64 bits: stable across builds, enough to bust caches.
fn content_hash(bytes: &[u8]) -> String {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in bytes {
        h ^= u64::from(*b);
        h = h.wrapping_mul(0x0000_0100_0000_01b3);
    }
    format!("{h:016x}")
}

/// Starts the app: a file of its own, so the page has no inline script
/// and the Content-Security-Policy can forbid them.
const BOOT: &str = r#"import init from "/assets/{js}";
init({ module_or_path: "/assets/{wasm}" });
"#;

/// The app's two bundles (`web/src/lib.rs`), each with the page that
/// loads it: the site's, and the administration's (served under `/admin`).
const BUNDLES: [(&str, &str); 2] = [("web", "index.html"), ("admin", "admin.html")];

const INDEX: &str = r#"<!doctype html>
<html lang="fr">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Immersion Élite</title>
<meta name="description" content="Immersion Élite : cinq jours en petit groupe pour pratiquer la méthode Immersion. Dates, places restantes et réservation en ligne.">
<link rel="icon" href="data:,">
<link rel="stylesheet" href="/assets/{css}">
<link rel="modulepreload" href="/assets/{js}">
<link rel="preload" href="/assets/{wasm}" as="fetch" type="application/wasm" crossorigin>
</head>
<body>
<div id="boot"></div>
<noscript>Cette application a besoin de JavaScript.</noscript>
<script type="module" src="/assets/{boot}"></script>
</body>
</html>
"#;

pub fn build() -> Result<(), String> {
    let root = root();
    let tools = root.join("target").join("tools");
    let version = wasm_bindgen_version(&root)?;
    let bindgen = wasm_bindgen(&tools, &version)?;
    let opt = wasm_opt(&tools)?;

    nightly()?;

    // A target directory of its own (under CARGO_TARGET_DIR when that is
    // set): cargo locks the one it builds in, and the api's build may be
    // running beside this one (`cargo xtask run`). Nothing is shared
    // between the two anyway: another toolchain, target and profile.
    let target_dir = std::env::var_os("CARGO_TARGET_DIR")
        .map_or_else(|| root.join("target"), PathBuf::from)
        .join("wasm");
    let mut cmd = Command::new("rustup");
    cmd.args(["run", NIGHTLY, "cargo", "build", "--locked"])
        .args(["-Zbuild-std=std,panic_abort", "-p", "web"])
        .args(["--target", TARGET, "--profile", PROFILE])
        .arg("--target-dir")
        .arg(&target_dir)
        .env(
            "CARGO_TARGET_WASM32_UNKNOWN_UNKNOWN_RUSTFLAGS",
            WASM_RUSTFLAGS,
        );
    status(cmd)?;
    let built = target_dir.join(TARGET).join(PROFILE);

    let dist = root.join("web").join("dist");
    let _ = std::fs::remove_dir_all(&dist);
    let assets = dist.join("assets");
    std::fs::create_dir_all(&assets).map_err(|e| format!("{}: {e}", assets.display()))?;
    let css = read(&root.join("web").join("style.css"))?;
    let css_name = format!("style-{}.css", content_hash(&css));
    write(assets.join(&css_name), &css)?;
    for (bundle, page) in BUNDLES {
        let wasm_in = built.join(format!("{bundle}.wasm"));
        let staging = root.join("target").join("web-staging").join(bundle);
        let (wasm, js) = bind_and_shrink(&bindgen, &opt, &wasm_in, &staging, bundle)?;
        let wasm_name = format!("{bundle}-{}.wasm", content_hash(&wasm));
        let js_name = format!("{bundle}-{}.js", content_hash(&js));
        write(assets.join(&wasm_name), &wasm)?;
        write(assets.join(&js_name), &js)?;
        let boot = BOOT.replace("{wasm}", &wasm_name).replace("{js}", &js_name);
        let boot_name = format!("boot-{}.js", content_hash(boot.as_bytes()));
        write(assets.join(&boot_name), boot.as_bytes())?;
        let html = INDEX
            .replace("{js}", &js_name)
            .replace("{wasm}", &wasm_name)
            .replace("{boot}", &boot_name)
            .replace("{css}", &css_name);
        write(dist.join(page), html.as_bytes())?;
    }
    eprintln!("xtask: web app built in {}", dist.display());
    Ok(())
}

/// `wasm_in` through wasm-bindgen (into `staging`) and `wasm-opt -Oz`:
/// the module and its JS glue.
fn bind_and_shrink(
    bindgen: &Path,
    opt: &Path,
    wasm_in: &Path,
    staging: &Path,
    bundle: &str,
) -> Result<(Vec<u8>, Vec<u8>), String> {
    let _ = std::fs::remove_dir_all(staging);
    let mut cmd = Command::new(bindgen);
    cmd.args([
        "--target",
        "web",
        "--no-typescript",
        "--out-name",
        bundle,
        "--out-dir",
    ])
    .arg(staging)
    .arg(wasm_in);
    status(cmd)?;

    let optimized = staging.join(format!("{bundle}_opt.wasm"));
    let mut cmd = Command::new(opt);
    cmd.arg("-Oz")
        .arg("--enable-bulk-memory")
        .arg("--enable-nontrapping-float-to-int")
        .arg("--enable-sign-ext")
        .arg("--enable-mutable-globals")
        .arg("--enable-reference-types")
        .arg("--enable-multivalue")
        .arg(staging.join(format!("{bundle}_bg.wasm")))
        .arg("-o")
        .arg(&optimized);
    status(cmd)?;
    Ok((
        read(&optimized)?,
        read(&staging.join(format!("{bundle}.js")))?,
    ))
}

fn read(p: &Path) -> Result<Vec<u8>, String> {
    std::fs::read(p).map_err(|e| format!("{}: {e}", p.display()))
}

/// `bytes` at `p`, and beside it its gzipped copy (`name.gz`), which the
/// api sends to browsers that accept gzip (`api/src/http/spa.rs`): the
/// wasm goes out at a third of its size.
fn write(p: PathBuf, bytes: &[u8]) -> Result<(), String> {
    std::fs::write(&p, bytes).map_err(|e| format!("{}: {e}", p.display()))?;
    let mut gz = p.into_os_string();
    gz.push(".gz");
    let gz = PathBuf::from(gz);
    std::fs::write(&gz, gzipped(bytes)).map_err(|e| format!("{}: {e}", gz.display()))
}

/// `bytes`, gzipped at the best ratio.
fn gzipped(bytes: &[u8]) -> Vec<u8> {
    use std::io::Write as _;
    let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
    // Writing to a Vec cannot fail.
    let _ = encoder.write_all(bytes);
    encoder.finish().unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gzipped_copies_read_back_as_the_file() {
        use std::io::Read as _;
        let text = b"web app ".repeat(1000);
        let gz = gzipped(&text);
        assert!(gz.len() < text.len() / 10);
        let mut back = Vec::new();
        flate2::read::GzDecoder::new(gz.as_slice())
            .read_to_end(&mut back)
            .unwrap();
        assert_eq!(back, text);
    }

    #[test]
    fn the_hash_is_stable_and_content_dependent() {
        assert_eq!(content_hash(b"abc"), content_hash(b"abc"));
        assert_ne!(content_hash(b"abc"), content_hash(b"abd"));
        assert_eq!(content_hash(b"").len(), 16);
    }

    #[test]
    fn the_workspace_is_found_from_any_directory_inside_it() {
        let here = Path::new(env!("CARGO_MANIFEST_DIR"));
        let found = workspace_above(&here.join("src")).unwrap();
        assert!(found.join("Cargo.lock").is_file(), "{}", found.display());
        assert_ne!(found, here);
        let outside = std::env::temp_dir().join(format!("xtask-{}", std::process::id()));
        std::fs::create_dir_all(&outside).unwrap();
        assert!(workspace_above(&outside).is_none_or(|w| !w.join("xtask").is_dir()));
        let _ = std::fs::remove_dir(&outside);
    }

    #[test]
    fn the_lock_file_pins_wasm_bindgen() {
        let v = wasm_bindgen_version(&root()).unwrap();
        assert!(v.starts_with("0.2."), "{v}");
    }
}
