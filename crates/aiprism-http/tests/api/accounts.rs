//! Accounts over HTTP: the one-time first-admin link and the trusted SSO header.

use aiprism_store::Backend;
use aiprism_testkit::app::TestApp;
use aiprism_testkit::browser::{cookie, no_redirect_client as client};
use reqwest::StatusCode;
use serde_json::Value;

aiprism_testkit::on_each_backend!(
    the_first_admin_link_creates_an_admin_once,
    the_sso_header_is_trusted_only_when_configured,
);

async fn the_first_admin_link_creates_an_admin_once(backend: Backend) {
    let app = TestApp::spawn_accounts(backend).await;
    assert!(app.app.accounts.needs_first_admin().await.unwrap());
    let token = app.app.accounts.first_admin_link().await.unwrap();
    let path = format!("/signin/{token}");
    let form = client().get(app.url(&path)).send().await.unwrap();
    assert_eq!(form.status(), StatusCode::OK);
    let csrf = cookie(&form, "aiprism_csrf").expect("a CSRF cookie");
    let post = |name: &'static str, password: &'static str, again: &'static str| {
        let (url, csrf) = (app.url(&path), csrf.clone());
        async move {
            client()
                .post(url)
                .header("cookie", format!("aiprism_csrf={csrf}"))
                .form(&[
                    ("csrf", csrf.as_str()),
                    ("name", name),
                    ("password", password),
                    ("password2", again),
                ])
                .send()
                .await
                .unwrap()
        }
    };
    let mismatch = post("root", "long password", "other password").await;
    assert_eq!(mismatch.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let weak = post("root", "short", "short").await;
    assert_eq!(weak.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        app.app.accounts.needs_first_admin().await.unwrap(),
        "failed attempts keep the link"
    );

    let created = post("root", "long password", "long password").await;
    assert!(created.status().is_redirection(), "{}", created.status());
    let session = cookie(&created, "aiprism_session").expect("a session cookie");
    let me = client()
        .get(app.url("/api/v1/documents"))
        .header("cookie", format!("aiprism_session={session}"))
        .send()
        .await
        .unwrap();
    assert_eq!(me.status(), StatusCode::OK);
    assert!(!app.app.accounts.needs_first_admin().await.unwrap());

    let reused = post("second", "long password", "long password").await;
    assert_eq!(reused.status(), StatusCode::NOT_FOUND, "the link works once");
    assert_eq!(
        client().get(app.url(&path)).send().await.unwrap().status(),
        StatusCode::NOT_FOUND
    );
}

async fn the_sso_header_is_trusted_only_when_configured(backend: Backend) {
    let plain = TestApp::spawn_accounts(backend).await;
    let ignored = client()
        .get(plain.url("/api/v1/documents"))
        .header("x-forwarded-user", "mallory")
        .send()
        .await
        .unwrap();
    assert_eq!(
        ignored.status(),
        StatusCode::UNAUTHORIZED,
        "no header is trusted by default"
    );

    let app = TestApp::spawn_with(backend, |s| {
        s.auth.mode = aiprism_app::settings::AuthMode::Accounts;
        s.auth.sso_header = Some("x-forwarded-user".into());
    })
    .await;
    let first = client()
        .get(app.url("/api/v1/documents"))
        .header("x-forwarded-user", "Carol")
        .send()
        .await
        .unwrap();
    assert_eq!(first.status(), StatusCode::OK);
    let body: Value = first.json().await.unwrap();
    assert_eq!(body["documents"].as_array().unwrap().len(), 0);
    let account = app.app.store.account_by_login("carol").await.unwrap().unwrap();
    assert_eq!(account.user.role, aiprism_core::Role::Reviewer);
    assert!(account.password_hash.is_none());
    let again = client()
        .get(app.url("/api/v1/documents"))
        .header("x-forwarded-user", "carol")
        .send()
        .await
        .unwrap();
    assert_eq!(again.status(), StatusCode::OK);
    assert_eq!(
        app.app.store.account_count().await.unwrap(),
        1,
        "the same login is the same account"
    );
}
