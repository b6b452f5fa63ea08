//! The web UI's pages, assets and CSRF protection over real HTTP against a real server, on SQLite and on
//! PostgreSQL. (The browser end-to-end tests live in `e2e/` at the repository root.)

#![allow(clippy::unwrap_used)] // Tests fail loudly on purpose.

use std::collections::BTreeSet;

use aiprism_store::Backend;
use aiprism_testkit::app::TestApp;
use reqwest::StatusCode;
use reqwest::header::{CACHE_CONTROL, CONTENT_SECURITY_POLICY, CONTENT_TYPE, COOKIE, HeaderMap, SET_COOKIE};
use serde_json::Value;

aiprism_testkit::on_each_backend!(
    every_page_answers_200_with_the_csp_header_and_no_cache,
    every_asset_the_pages_reference_is_served_with_an_immutable_cache,
    pages_set_a_csrf_cookie_once_and_reuse_it,
    a_cookie_request_without_the_matching_csrf_header_is_refused,
    requests_without_cookies_are_not_affected_by_csrf,
    an_unknown_document_page_is_an_html_404,
    document_text_is_escaped_in_the_page,
    pages_and_assets_are_compressed_when_the_browser_accepts_gzip,
    the_documents_page_lists_documents_with_status_and_counts,
);

const MARKDOWN: &str = "# Summary\n\nThe outage began at 09:14 UTC. Owner: TBD.\n\n# Timeline\n\n\
    09:14 alerts fired.\n09:20 the on-call engineer acknowledged.\n\n# Actions\n\nFix the thing by [DATE].\n";

async fn upload(app: &TestApp, text: &str, review: bool) -> String {
    upload_as(app, "writeup.md", text, review).await
}

async fn upload_as(app: &TestApp, name: &str, text: &str, review: bool) -> String {
    let response = app
        .upload(
            name,
            text.as_bytes().to_vec(),
            &[("review", if review { "true" } else { "false" })],
        )
        .await;
    assert_eq!(response.status(), StatusCode::CREATED);
    let body: Value = response.json().await.unwrap();
    body["id"].as_str().unwrap().to_string()
}

async fn page(app: &TestApp, path: &str) -> (HeaderMap, String) {
    let response = app.client.get(app.url(path)).send().await.unwrap();
    let status = response.status();
    let headers = response.headers().clone();
    let body = response.text().await.unwrap();
    assert_eq!(status, StatusCode::OK, "{path} answered {status}: {body}");
    (headers, body)
}

fn page_paths(id: &str) -> Vec<String> {
    vec![
        "/".to_string(),
        format!("/documents/{id}"),
        format!("/documents/{id}/statistics"),
        "/dashboard".to_string(),
    ]
}

/// Values of `src="..."` and `href="..."` attributes that point at our static files.
fn static_refs(html: &str) -> BTreeSet<String> {
    let mut found = BTreeSet::new();
    for attr in ["src=\"", "href=\""] {
        for (i, _) in html.match_indices(attr) {
            let rest = &html[i + attr.len()..];
            if let Some(end) = rest.find('"') {
                let value = &rest[..end];
                if value.starts_with("/static/") {
                    found.insert(value.to_string());
                }
            }
        }
    }
    found
}

/// `./x.js` imports of a module, resolved against its URL.
fn module_imports(url: &str, text: &str) -> Vec<String> {
    let dir = &url[..url.rfind('/').unwrap() + 1];
    let mut found = Vec::new();
    for (i, _) in text.match_indices("'./") {
        let rest = &text[i + 3..];
        if let Some(end) = rest.find('\'') {
            found.push(format!("{dir}{}", &rest[..end]));
        }
    }
    found
}

async fn every_page_answers_200_with_the_csp_header_and_no_cache(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let id = upload(&app, MARKDOWN, false).await;
    for path in page_paths(&id) {
        let (headers, html) = page(&app, &path).await;
        let csp = headers[CONTENT_SECURITY_POLICY].to_str().unwrap();
        assert!(
            csp.contains("script-src 'self'") && csp.contains("style-src 'self'"),
            "{path}: {csp}"
        );
        assert!(!csp.contains("unsafe-inline"), "{path}: {csp}");
        assert_eq!(headers[CACHE_CONTROL], "no-cache", "{path}");
        assert!(headers[CONTENT_TYPE].to_str().unwrap().starts_with("text/html"));
        assert!(html.starts_with("<!doctype html>"), "{path}");
        // No inline scripts, styles or event handlers: the CSP would block them.
        assert!(!html.contains(" style=\""), "{path} has an inline style");
        assert!(!html.contains(" onclick="), "{path} has an inline handler");
        for (i, _) in html.match_indices("<script") {
            let tag = &html[i..i + html[i..].find('>').unwrap()];
            assert!(
                tag.contains(" src=\"/static/"),
                "{path} has an inline script: {tag}"
            );
        }
    }
}

async fn every_asset_the_pages_reference_is_served_with_an_immutable_cache(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let id = upload(&app, MARKDOWN, false).await;
    let mut pending: Vec<String> = Vec::new();
    for path in page_paths(&id) {
        let (_, html) = page(&app, &path).await;
        pending.extend(static_refs(&html));
    }
    assert!(pending.iter().any(|u| u.ends_with(".css")));
    assert!(pending.iter().any(|u| u.contains("/js/review.")));
    let mut seen = BTreeSet::new();
    while let Some(url) = pending.pop() {
        if !seen.insert(url.clone()) {
            continue;
        }
        let response = app.client.get(app.url(&url)).send().await.unwrap();
        assert_eq!(response.status(), StatusCode::OK, "{url}");
        assert_eq!(
            response.headers()[CACHE_CONTROL],
            "public, max-age=31536000, immutable",
            "{url}"
        );
        let content_type = response.headers()[CONTENT_TYPE].to_str().unwrap().to_string();
        let text = response.text().await.unwrap();
        if url.ends_with(".js") {
            assert!(
                content_type.starts_with("text/javascript"),
                "{url}: {content_type}"
            );
            assert!(!text.contains("innerHTML"), "{url} uses innerHTML");
            pending.extend(module_imports(&url, &text));
        }
    }
    // Every module of the UI was reached from the pages.
    assert!(seen.len() >= 20, "only {} assets reached: {seen:?}", seen.len());
    // Logical names answer too (revalidated), and unknown ones 404.
    let logical = app
        .client
        .get(app.url("/static/css/app.css"))
        .send()
        .await
        .unwrap();
    assert_eq!(logical.status(), StatusCode::OK);
    assert_eq!(logical.headers()[CACHE_CONTROL], "no-cache");
    let missing = app
        .client
        .get(app.url("/static/js/nope.js"))
        .send()
        .await
        .unwrap();
    assert_eq!(missing.status(), StatusCode::NOT_FOUND);
}

fn csrf_cookie(headers: &HeaderMap) -> Option<String> {
    headers
        .get_all(SET_COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find(|v| v.starts_with("aiprism_csrf="))
        .map(|v| {
            assert!(v.contains("SameSite=Strict"), "{v}");
            v["aiprism_csrf=".len()..v.find(';').unwrap()].to_string()
        })
}

async fn pages_set_a_csrf_cookie_once_and_reuse_it(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let (first, html) = page(&app, "/").await;
    let token = csrf_cookie(&first).expect("the first page sets the CSRF cookie");
    assert!(html.contains(&format!("<meta name=\"csrf-token\" content=\"{token}\">")));
    let again = app
        .client
        .get(app.url("/dashboard"))
        .header(COOKIE, format!("aiprism_csrf={token}"))
        .send()
        .await
        .unwrap();
    assert!(
        csrf_cookie(again.headers()).is_none(),
        "an existing token is kept"
    );
    assert!(again.text().await.unwrap().contains(&token));
}

async fn a_cookie_request_without_the_matching_csrf_header_is_refused(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let id = upload(&app, MARKDOWN, false).await;
    let (first, _) = page(&app, "/").await;
    let token = csrf_cookie(&first).unwrap();
    let cookie = format!("aiprism_csrf={token}");
    let path = app.url(&format!("/api/v1/documents/{id}"));

    let missing = app
        .client
        .delete(&path)
        .header(COOKIE, &cookie)
        .send()
        .await
        .unwrap();
    assert_eq!(missing.status(), StatusCode::FORBIDDEN);
    let body: Value = missing.json().await.unwrap();
    assert_eq!(body["error"]["code"], "csrf");
    assert!(!body["error"]["message"].as_str().unwrap().is_empty());

    let wrong = app
        .client
        .delete(&path)
        .header(COOKIE, &cookie)
        .header("X-CSRF-Token", "0".repeat(64))
        .send()
        .await
        .unwrap();
    assert_eq!(wrong.status(), StatusCode::FORBIDDEN);
    let (status, _) = app.get_json(&format!("/api/v1/documents/{id}")).await;
    assert_eq!(status, StatusCode::OK, "the refused requests changed nothing");

    let form = reqwest::multipart::Form::new().part(
        "file",
        reqwest::multipart::Part::bytes(MARKDOWN.as_bytes().to_vec()).file_name("x.md"),
    );
    let upload = app
        .client
        .post(app.url("/api/v1/documents"))
        .header(COOKIE, &cookie)
        .multipart(form)
        .send()
        .await
        .unwrap();
    assert_eq!(upload.status(), StatusCode::FORBIDDEN);

    let matching = app
        .client
        .delete(&path)
        .header(COOKIE, &cookie)
        .header("X-CSRF-Token", &token)
        .send()
        .await
        .unwrap();
    assert_eq!(matching.status(), StatusCode::NO_CONTENT);
}

async fn requests_without_cookies_are_not_affected_by_csrf(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let id = upload(&app, MARKDOWN, false).await;
    let response = app
        .client
        .delete(app.url(&format!("/api/v1/documents/{id}")))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::NO_CONTENT);
}

async fn an_unknown_document_page_is_an_html_404(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let response = app
        .client
        .get(app.url("/documents/doc_nope"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::NOT_FOUND);
    assert!(
        response.headers()[CONTENT_TYPE]
            .to_str()
            .unwrap()
            .starts_with("text/html")
    );
    assert!(response.headers().contains_key(CONTENT_SECURITY_POLICY));
    assert!(response.text().await.unwrap().contains("Not found"));
}

async fn document_text_is_escaped_in_the_page(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let text = "Findings <img src=x onerror=alert(1)>\n\nSee <script>alert(\"x\")</script> & more.\n";
    let id = upload_as(&app, "notes.txt", text, false).await;
    let (_, html) = page(&app, &format!("/documents/{id}")).await;
    assert!(!html.contains("<script>alert"), "document text became markup");
    assert!(!html.contains("<img src=x"), "document text became markup");
    assert!(
        html.contains("&#60;script&#62;alert("),
        "the text is shown escaped"
    );
}

async fn pages_and_assets_are_compressed_when_the_browser_accepts_gzip(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let (_, html) = page(&app, "/").await;
    let css = static_refs(&html)
        .into_iter()
        .find(|u| u.ends_with(".css"))
        .unwrap();
    for path in ["/".to_string(), css] {
        let response = app
            .client
            .get(app.url(&path))
            .header("Accept-Encoding", "gzip")
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::OK);
        assert_eq!(response.headers()["content-encoding"], "gzip", "{path}");
    }
}

async fn the_documents_page_lists_documents_with_status_and_counts(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let id = upload(&app, MARKDOWN, true).await;
    let (_, document) = app.get_json(&format!("/api/v1/documents/{id}")).await;
    app.wait_for_review(document["review"]["id"].as_str().unwrap())
        .await;
    let (_, html) = page(&app, "/").await;
    assert!(html.contains(&format!("href=\"/documents/{id}\"")));
    assert!(html.contains("writeup.md"));
    assert!(html.contains("status-succeeded"), "the review's status is shown");
    assert!(html.contains(" pending</span>"));
}
