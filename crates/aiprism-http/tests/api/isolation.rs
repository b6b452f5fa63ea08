//! Accounts and isolation: every API route in `aiprism_http::api_routes()` answers 404 when another
//! reviewer uses the owner's ids (and the test fails if any route in the table is not exercised); an
//! admin sees everyone's documents; anonymous API calls get 401; a browser signs in with a fresh session
//! on every login and signs out.

use std::collections::HashSet;
use std::time::Duration;

use aiprism_core::Role;
use aiprism_http::{ApiMethod, IdKind, RouteSpec, api_routes};
use aiprism_store::Backend;
use aiprism_testkit::app::TestApp;
use aiprism_testkit::browser::{cookie, no_redirect_client as client, set_cookie};
use aiprism_testkit::fixtures;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

aiprism_testkit::on_each_backend!(
    another_reviewers_ids_answer_404_on_every_route,
    an_admin_sees_every_users_documents,
    anonymous_api_calls_get_401_and_pages_redirect_to_sign_in,
    a_browser_signs_in_with_a_new_session_each_time_and_signs_out,
);

const PASSWORD: &str = "correct horse battery";

fn method(m: ApiMethod) -> Method {
    match m {
        ApiMethod::Get => Method::GET,
        ApiMethod::Post => Method::POST,
        ApiMethod::Patch => Method::PATCH,
        ApiMethod::Delete => Method::DELETE,
    }
}

/// Sends a JSON request with a bearer token; returns the status and the body (JSON when it is JSON).
async fn call(app: &TestApp, token: &str, m: Method, path: &str, body: Option<Value>) -> (StatusCode, Value) {
    let mut request = client()
        .request(m, app.url(path))
        .bearer_auth(token)
        .header("accept", "application/json");
    if let Some(body) = body {
        request = request.json(&body);
    }
    let response = request.send().await.unwrap();
    let status = response.status();
    let is_stream = response
        .headers()
        .get("content-type")
        .is_some_and(|v| v.to_str().unwrap_or("").starts_with("text/event-stream"));
    if is_stream {
        return (status, Value::Null);
    }
    (status, response.json().await.unwrap_or(Value::Null))
}

async fn upload(app: &TestApp, token: &str, review: bool) -> Value {
    let form = reqwest::multipart::Form::new()
        .part(
            "file",
            reqwest::multipart::Part::bytes(fixtures::incident_writeup()).file_name("w.docx"),
        )
        .text("review", review.to_string());
    let response = client()
        .post(app.url("/api/v1/documents"))
        .bearer_auth(token)
        .multipart(form)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::CREATED);
    response.json().await.unwrap()
}

async fn wait_for_review(app: &TestApp, token: &str, id: &str) {
    for _ in 0..600 {
        let (_, review) = call(app, token, Method::GET, &format!("/api/v1/reviews/{id}"), None).await;
        if !matches!(review["status"].as_str(), Some("queued" | "running")) {
            return;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("review {id} did not finish");
}

/// A's resources, one id per kind.
struct Owned {
    document: String,
    review: String,
    finding: String,
    comment: String,
    export: String,
    framework: String,
    section: String,
}

async fn owned_by(app: &TestApp, token: &str) -> Owned {
    let doc = upload(app, token, true).await;
    let document = doc["id"].as_str().unwrap().to_string();
    let review = doc["review"]["id"].as_str().unwrap().to_string();
    wait_for_review(app, token, &review).await;
    let (_, findings) = call(
        app,
        token,
        Method::GET,
        &format!("/api/v1/documents/{document}/findings"),
        None,
    )
    .await;
    let finding = findings["findings"][0]["id"]
        .as_str()
        .expect("the rules find something")
        .to_string();
    let section = doc["sections"][0]["id"].clone();
    let (status, comment) = call(
        app,
        token,
        Method::POST,
        &format!("/api/v1/documents/{document}/comments"),
        Some(json!({"section_id": section, "text": "Who owns this?"})),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{comment}");
    let (status, chat) = call(
        app,
        token,
        Method::POST,
        &format!("/api/v1/documents/{document}/chat"),
        Some(json!({"message": "What is missing?"})),
    )
    .await;
    assert!(status.is_success(), "{status} {chat}");
    let (status, export) = call(
        app,
        token,
        Method::POST,
        &format!("/api/v1/documents/{document}/exports"),
        Some(json!({"kind": "json"})),
    )
    .await;
    assert!(status.is_success(), "{status} {export}");
    Owned {
        section: section.as_str().unwrap().to_string(),
        framework: doc["framework"].as_str().unwrap().to_string(),
        document,
        review,
        finding,
        comment: comment["id"].as_str().unwrap().to_string(),
        export: export["id"].as_str().unwrap().to_string(),
    }
}

fn path_for(spec: &RouteSpec, ids: &Owned) -> String {
    let id = match spec.id {
        IdKind::None => "",
        IdKind::Document => &ids.document,
        IdKind::Review => &ids.review,
        IdKind::Finding if spec.method == ApiMethod::Delete => &ids.comment,
        IdKind::Finding => &ids.finding,
        IdKind::Export => &ids.export,
        IdKind::Framework => &ids.framework,
    };
    format!("/api/v1{}", spec.path.replace("{id}", id))
}

/// A valid body for each route that takes one, so a 404 can only come from scoping.
fn body_for(spec: &RouteSpec, ids: &Owned) -> Option<Value> {
    match (spec.method, spec.path) {
        (ApiMethod::Post, "/findings/{id}/decision") => Some(json!({"status": "accepted"})),
        (ApiMethod::Patch, "/findings/{id}") => Some(json!({"description": "Name the owner."})),
        (ApiMethod::Post, "/documents/{id}/comments") => {
            Some(json!({"section_id": ids.section, "text": "x"}))
        }
        (ApiMethod::Post, "/documents/{id}/chat") => Some(json!({"message": "hello"})),
        (ApiMethod::Post, "/documents/{id}/exports") => Some(json!({"kind": "json"})),
        (ApiMethod::Post, "/documents/{id}/reviews") => Some(json!({})),
        (ApiMethod::Post, _) => Some(json!({})),
        _ => None,
    }
}

async fn another_reviewers_ids_answer_404_on_every_route(backend: Backend) {
    let app = TestApp::spawn_accounts(backend).await;
    let (_, alice) = app.add_user("alice", Role::Reviewer, PASSWORD).await;
    let (_, bob) = app.add_user("bob", Role::Reviewer, PASSWORD).await;
    let ids = owned_by(&app, &alice).await;
    let mut exercised = HashSet::new();

    for spec in api_routes() {
        let path = path_for(spec, &ids);
        if spec.method == ApiMethod::Post && spec.path == "/documents" {
            // Bob's own upload works and is his.
            let mine = upload(&app, &bob, false).await;
            assert_ne!(mine["id"].as_str(), Some(ids.document.as_str()));
        } else {
            let (status, body) = call(&app, &bob, method(spec.method), &path, body_for(spec, &ids)).await;
            if spec.id.is_owned() {
                assert_eq!(
                    status,
                    StatusCode::NOT_FOUND,
                    "{spec:?} as another reviewer: {body}"
                );
                assert!(body["error"]["code"].is_string(), "{spec:?}: {body}");
            } else {
                assert!(
                    status != StatusCode::UNAUTHORIZED && !status.is_server_error(),
                    "{spec:?} as another reviewer: {status} {body}"
                );
                let text = body.to_string();
                assert!(
                    !text.contains(&ids.document),
                    "{spec:?} leaks alice's document: {text}"
                );
            }
        }
        exercised.insert((spec.method, spec.path));
    }

    // The owner gets an answer (not 404) on the same routes with the same bodies, so the 404s above
    // come from scoping; deleting the document comes last.
    let mut owned: Vec<&RouteSpec> = api_routes().iter().filter(|s| s.id.is_owned()).collect();
    owned.sort_by_key(|s| s.method == ApiMethod::Delete && s.id == IdKind::Document);
    for spec in owned {
        let path = path_for(spec, &ids);
        let (status, body) = call(&app, &alice, method(spec.method), &path, body_for(spec, &ids)).await;
        assert!(
            status.is_success() || status == StatusCode::CONFLICT,
            "{spec:?} as the owner: {status} {body}"
        );
    }

    let all: HashSet<_> = api_routes().iter().map(|s| (s.method, s.path)).collect();
    let missed: Vec<_> = all.difference(&exercised).collect();
    assert!(
        missed.is_empty(),
        "routes not exercised by the isolation test: {missed:?}"
    );
    assert!(all.len() >= 30, "the table lists every API route ({})", all.len());
}

async fn an_admin_sees_every_users_documents(backend: Backend) {
    let app = TestApp::spawn_accounts(backend).await;
    let (_, alice) = app.add_user("alice", Role::Reviewer, PASSWORD).await;
    let (_, admin) = app.add_user("root", Role::Admin, PASSWORD).await;
    let doc = upload(&app, &alice, false).await;
    let id = doc["id"].as_str().unwrap();
    let (status, seen) = call(
        &app,
        &admin,
        Method::GET,
        &format!("/api/v1/documents/{id}"),
        None,
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{seen}");
    let (_, list) = call(&app, &admin, Method::GET, "/api/v1/documents", None).await;
    assert!(
        list["documents"]
            .as_array()
            .unwrap()
            .iter()
            .any(|d| d["id"] == id)
    );
    let (_, own) = call(&app, &alice, Method::GET, "/api/v1/documents", None).await;
    assert_eq!(own["documents"].as_array().unwrap().len(), 1);
}

async fn anonymous_api_calls_get_401_and_pages_redirect_to_sign_in(backend: Backend) {
    let app = TestApp::spawn_accounts(backend).await;
    let (_, alice) = app.add_user("alice", Role::Reviewer, PASSWORD).await;
    let doc = upload(&app, &alice, false).await;
    let id = doc["id"].as_str().unwrap();
    for path in ["/api/v1/documents".to_string(), format!("/api/v1/documents/{id}")] {
        let response = client().get(app.url(&path)).send().await.unwrap();
        assert_eq!(response.status(), StatusCode::UNAUTHORIZED, "{path}");
        let body: Value = response.json().await.unwrap();
        assert_eq!(body["error"]["code"], "unauthenticated");
    }
    let bogus = client()
        .get(app.url("/api/v1/documents"))
        .bearer_auth("aip_0000000000000000000000000000000000000000000000000000000000000000")
        .send()
        .await
        .unwrap();
    assert_eq!(bogus.status(), StatusCode::UNAUTHORIZED);
    let delete = client()
        .delete(app.url(&format!("/api/v1/documents/{id}")))
        .send()
        .await
        .unwrap();
    assert_eq!(delete.status(), StatusCode::UNAUTHORIZED);
    let page = client()
        .get(app.url(&format!("/documents/{id}")))
        .send()
        .await
        .unwrap();
    assert!(page.status().is_redirection());
    let location = page.headers()["location"].to_str().unwrap();
    assert!(location.starts_with("/login?next=/documents/doc_"), "{location}");
    let health = client().get(app.url("/health")).send().await.unwrap();
    assert_eq!(health.status(), StatusCode::OK);
}

async fn sign_in(app: &TestApp, csrf: &str, password: &str) -> reqwest::Response {
    client()
        .post(app.url("/login"))
        .header("cookie", format!("aiprism_csrf={csrf}"))
        .form(&[
            ("csrf", csrf),
            ("next", "/dashboard"),
            ("name", "Alice"),
            ("password", password),
        ])
        .send()
        .await
        .unwrap()
}

async fn a_browser_signs_in_with_a_new_session_each_time_and_signs_out(backend: Backend) {
    let app = TestApp::spawn_accounts(backend).await;
    app.add_user("alice", Role::Reviewer, PASSWORD).await;
    let form = client().get(app.url("/login")).send().await.unwrap();
    assert_eq!(form.status(), StatusCode::OK);
    let csrf = cookie(&form, "aiprism_csrf").unwrap();

    let wrong = sign_in(&app, &csrf, "not the password").await;
    assert_eq!(wrong.status(), StatusCode::UNAUTHORIZED);
    assert!(set_cookie(&wrong, "aiprism_session").is_none());
    assert!(
        wrong
            .text()
            .await
            .unwrap()
            .contains("Wrong user name or password.")
    );
    let forged = client()
        .post(app.url("/login"))
        .header("cookie", format!("aiprism_csrf={csrf}"))
        .form(&[
            ("csrf", "0".repeat(64).as_str()),
            ("name", "alice"),
            ("password", PASSWORD),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(
        forged.status(),
        StatusCode::FORBIDDEN,
        "a form without the matching token is refused"
    );

    let first = sign_in(&app, &csrf, PASSWORD).await;
    assert!(first.status().is_redirection());
    assert_eq!(first.headers()["location"], "/dashboard");
    let header = set_cookie(&first, "aiprism_session").unwrap();
    assert!(
        header.contains("HttpOnly") && header.contains("SameSite=Lax"),
        "{header}"
    );
    assert!(
        !header.contains("Secure"),
        "plain HTTP without configuration: {header}"
    );
    let session = cookie(&first, "aiprism_session").unwrap();
    let cookies = format!("aiprism_csrf={csrf}; aiprism_session={session}");

    let listed = client()
        .get(app.url("/api/v1/documents"))
        .header("cookie", &cookies)
        .send()
        .await
        .unwrap();
    assert_eq!(listed.status(), StatusCode::OK);
    let page = client()
        .get(app.url("/dashboard"))
        .header("cookie", &cookies)
        .send()
        .await
        .unwrap();
    assert_eq!(page.status(), StatusCode::OK);
    assert!(
        page.text().await.unwrap().contains("Sign out alice"),
        "pages show who is signed in"
    );
    let no_csrf = client()
        .post(app.url("/api/v1/models/reset"))
        .header("cookie", &cookies)
        .send()
        .await
        .unwrap();
    assert_eq!(
        no_csrf.status(),
        StatusCode::FORBIDDEN,
        "cookie requests still need the CSRF header"
    );

    let second = sign_in(&app, &csrf, PASSWORD).await;
    let rotated = cookie(&second, "aiprism_session").unwrap();
    assert_ne!(rotated, session, "every sign-in gets a new session id");
    let over_tls = client()
        .post(app.url("/login"))
        .header("cookie", format!("aiprism_csrf={csrf}"))
        .header("x-forwarded-proto", "https")
        .form(&[("csrf", csrf.as_str()), ("name", "alice"), ("password", PASSWORD)])
        .send()
        .await
        .unwrap();
    assert!(
        set_cookie(&over_tls, "aiprism_session")
            .unwrap()
            .contains("Secure")
    );

    let out = client()
        .post(app.url("/logout"))
        .header(
            "cookie",
            format!("aiprism_csrf={csrf}; aiprism_session={rotated}"),
        )
        .form(&[("csrf", csrf.as_str())])
        .send()
        .await
        .unwrap();
    assert!(out.status().is_redirection());
    let after = client()
        .get(app.url("/api/v1/documents"))
        .header("cookie", format!("aiprism_session={rotated}"))
        .send()
        .await
        .unwrap();
    assert_eq!(
        after.status(),
        StatusCode::UNAUTHORIZED,
        "a signed-out session is gone"
    );
}
