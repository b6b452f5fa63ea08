//! The UI's static files (CSS, ES modules, an icon), compiled into the binary and served under
//! content-hashed names (`/static/js/api.3f2a9c1b07.js`) with a year-long immutable cache, so a new
//! release is picked up at once and an unchanged file is never fetched twice.
//!
//! ES modules import each other by relative name (`import { api } from './api.js'`); browsers resolve
//! those against the importing module's URL, so each module's imports are rewritten to the hashed
//! names of their targets before the module itself is hashed (a module's hash covers its imports'
//! hashes). No import map is needed (an inline one would need `unsafe-inline` under our CSP). The
//! unhashed names are served too, with `no-cache`, so a stale reference still works.

use std::collections::HashMap;
use std::sync::LazyLock;

use axum::body::Body;
use axum::extract::Path;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use sha2::{Digest, Sha256};

/// The files, by their logical name under `static/`.
const SOURCES: &[(&str, &str)] = &[
    ("css/app.css", include_str!("../../static/css/app.css")),
    ("img/icon.svg", include_str!("../../static/img/icon.svg")),
    ("js/theme-init.js", include_str!("../../static/js/theme-init.js")),
    ("js/dom.js", include_str!("../../static/js/dom.js")),
    ("js/api.js", include_str!("../../static/js/api.js")),
    ("js/sse.js", include_str!("../../static/js/sse.js")),
    ("js/toast.js", include_str!("../../static/js/toast.js")),
    ("js/theme.js", include_str!("../../static/js/theme.js")),
    ("js/dialog.js", include_str!("../../static/js/dialog.js")),
    ("js/shortcuts.js", include_str!("../../static/js/shortcuts.js")),
    ("js/shell.js", include_str!("../../static/js/shell.js")),
    ("js/progress.js", include_str!("../../static/js/progress.js")),
    ("js/documents.js", include_str!("../../static/js/documents.js")),
    ("js/findings.js", include_str!("../../static/js/findings.js")),
    (
        "js/finding-card.js",
        include_str!("../../static/js/finding-card.js"),
    ),
    (
        "js/section-view.js",
        include_str!("../../static/js/section-view.js"),
    ),
    ("js/chat.js", include_str!("../../static/js/chat.js")),
    ("js/export.js", include_str!("../../static/js/export.js")),
    ("js/charts.js", include_str!("../../static/js/charts.js")),
    (
        "js/activity-log.js",
        include_str!("../../static/js/activity-log.js"),
    ),
    ("js/review.js", include_str!("../../static/js/review.js")),
    ("js/statistics.js", include_str!("../../static/js/statistics.js")),
    ("js/dashboard.js", include_str!("../../static/js/dashboard.js")),
];

/// One served file.
pub(crate) struct Asset {
    /// The hashed URL path (`/static/js/api.<hash>.js`).
    pub(crate) url: String,
    content_type: &'static str,
    body: bytes::Bytes,
    /// Logical names of the modules this one imports.
    imports: Vec<&'static str>,
}

/// Every file, with lookups by logical name and by URL.
pub(crate) struct Assets {
    by_name: HashMap<&'static str, Asset>,
    by_url: HashMap<String, &'static str>,
}

static ASSETS: LazyLock<Assets> = LazyLock::new(|| Assets::build(SOURCES));

/// The table, built on first use (the router forces it at start-up).
pub(crate) fn assets() -> &'static Assets {
    &ASSETS
}

impl Assets {
    /// Builds the table: rewrites module imports to hashed names (dependencies first) and hashes.
    fn build(sources: &[(&'static str, &'static str)]) -> Self {
        let texts: HashMap<&'static str, &'static str> = sources.iter().copied().collect();
        let mut by_name = HashMap::new();
        for (name, _) in sources {
            build_one(name, &texts, &mut by_name, &mut Vec::new());
        }
        let by_url = by_name.iter().map(|(name, a)| (a.url.clone(), *name)).collect();
        Self { by_name, by_url }
    }

    /// The hashed URL of a file, for templates. An unknown name yields its unhashed path, which answers
    /// 404 — the page test catches that.
    pub(crate) fn url(&self, name: &str) -> String {
        self.by_name
            .get(name)
            .map_or_else(|| format!("/static/{name}"), |a| a.url.clone())
    }

    /// The hashed URLs of every module `entry` imports, directly or not (for `modulepreload` links, so
    /// the browser fetches them in parallel instead of discovering them one level at a time).
    pub(crate) fn module_graph(&self, entry: &str) -> Vec<String> {
        let mut seen: Vec<&str> = Vec::new();
        let mut stack = vec![entry];
        while let Some(name) = stack.pop() {
            if let Some(asset) = self.by_name.get(name) {
                for import in &asset.imports {
                    if !seen.contains(import) {
                        seen.push(import);
                        stack.push(import);
                    }
                }
            }
        }
        seen.sort_unstable();
        seen.into_iter().map(|n| self.url(n)).collect()
    }

    fn find(&self, path: &str) -> Option<(&Asset, bool)> {
        if let Some(name) = self.by_url.get(&format!("/static/{path}")) {
            return self.by_name.get(name).map(|a| (a, true));
        }
        self.by_name.get(path).map(|a| (a, false))
    }
}

/// Builds `name` after the modules it imports; `visiting` breaks import cycles (a cyclic import keeps
/// its unhashed name, which is still served).
fn build_one(
    name: &'static str,
    texts: &HashMap<&'static str, &'static str>,
    done: &mut HashMap<&'static str, Asset>,
    visiting: &mut Vec<&'static str>,
) {
    if done.contains_key(name) || visiting.contains(&name) {
        return;
    }
    let Some(text) = texts.get(name) else { return };
    visiting.push(name);
    let (body, imports) = if name.ends_with(".js") {
        let dir = name.rsplit_once('/').map_or("", |(d, _)| d);
        let imports = relative_imports(text)
            .into_iter()
            .filter_map(|spec| {
                let target = format!("{dir}/{}", spec.trim_start_matches("./"));
                texts.get_key_value(target.as_str()).map(|(k, _)| *k)
            })
            .collect::<Vec<_>>();
        for import in &imports {
            build_one(import, texts, done, visiting);
        }
        let mut body = (*text).to_string();
        for import in &imports {
            if let Some(target) = done.get(import) {
                let file = import.rsplit('/').next().unwrap_or(import);
                let hashed = target.url.rsplit('/').next().unwrap_or(&target.url);
                body = body
                    .replace(&format!("'./{file}'"), &format!("'./{hashed}'"))
                    .replace(&format!("\"./{file}\""), &format!("\"./{hashed}\""));
            }
        }
        (body, imports)
    } else {
        ((*text).to_string(), Vec::new())
    };
    visiting.pop();
    let hash = hex_prefix(&Sha256::digest(body.as_bytes()), 10);
    let url = match name.rsplit_once('.') {
        Some((stem, ext)) => format!("/static/{stem}.{hash}.{ext}"),
        None => format!("/static/{name}.{hash}"),
    };
    let asset = Asset {
        url,
        content_type: content_type(name),
        body: bytes::Bytes::from(body),
        imports,
    };
    done.insert(name, asset);
}

/// The `./x.js` specifiers a module names in quotes (imports, re-exports, dynamic imports).
fn relative_imports(text: &str) -> Vec<&str> {
    let mut found = Vec::new();
    for quote in ['\'', '"'] {
        let opener = format!("{quote}./");
        let mut rest = text;
        while let Some(start) = rest.find(&opener) {
            let after = &rest[start + 1..];
            match after.find(quote) {
                Some(end) => {
                    let spec = &after[..end];
                    if spec.ends_with(".js") && !spec.contains(char::is_whitespace) && !found.contains(&spec)
                    {
                        found.push(spec);
                    }
                    rest = &after[end + 1..];
                }
                None => break,
            }
        }
    }
    found
}

fn hex_prefix(digest: &[u8], chars: usize) -> String {
    digest
        .iter()
        .flat_map(|b| [b >> 4, b & 0xf])
        .take(chars)
        .map(|n| char::from_digit(u32::from(n), 16).unwrap_or('0'))
        .collect()
}

fn content_type(name: &str) -> &'static str {
    match name.rsplit('.').next() {
        Some("css") => "text/css; charset=utf-8",
        Some("js") => "text/javascript; charset=utf-8",
        Some("svg") => "image/svg+xml",
        _ => "application/octet-stream",
    }
}

/// `GET /static/{*path}`: a hashed name is cached for a year, a logical name is revalidated.
pub(crate) async fn serve(Path(path): Path<String>) -> Response {
    let Some((asset, hashed)) = assets().find(&path) else {
        return (
            StatusCode::NOT_FOUND,
            [(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"))],
            "no such file",
        )
            .into_response();
    };
    let cache = if hashed {
        "public, max-age=31536000, immutable"
    } else {
        "no-cache"
    };
    (
        [
            (header::CONTENT_TYPE, HeaderValue::from_static(asset.content_type)),
            (header::CACHE_CONTROL, HeaderValue::from_static(cache)),
        ],
        Body::from(asset.body.clone()),
    )
        .into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_relative_import_is_rewritten_to_a_hashed_name() {
        let assets = assets();
        for (name, asset) in &assets.by_name {
            let text = std::str::from_utf8(&asset.body).unwrap_or_default();
            for spec in relative_imports(text) {
                let file = spec.trim_start_matches("./");
                let dir = name.rsplit_once('/').map_or("", |(d, _)| d);
                let url = format!("/static/{dir}/{file}");
                assert!(
                    assets.by_url.contains_key(&url),
                    "{name} imports {spec}, which is not a hashed asset (a cycle or a missing file)"
                );
            }
        }
    }

    #[test]
    fn a_module_hash_changes_when_an_import_changes() {
        let a = Assets::build(&[
            ("js/a.js", "import { b } from './b.js';"),
            ("js/b.js", "export const b = 1;"),
        ]);
        let b = Assets::build(&[
            ("js/a.js", "import { b } from './b.js';"),
            ("js/b.js", "export const b = 2;"),
        ]);
        assert_ne!(a.url("js/a.js"), b.url("js/a.js"));
        assert!(a.by_name["js/a.js"].body.starts_with(b"import { b } from './b."));
        assert_eq!(a.module_graph("js/a.js"), vec![a.url("js/b.js")]);
    }

    #[test]
    fn hashed_and_logical_names_are_both_found() {
        let assets = assets();
        let url = assets.url("css/app.css");
        let path = url.trim_start_matches("/static/");
        assert!(matches!(assets.find(path), Some((_, true))));
        assert!(matches!(assets.find("css/app.css"), Some((_, false))));
        assert!(assets.find("../Cargo.toml").is_none());
    }
}
