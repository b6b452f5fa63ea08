//! Decisions, edits, reviewer comments and highlights, reset, and the audit trail over HTTP.

use aiprism_store::Backend;
use aiprism_testkit::app::TestApp;
use aiprism_testkit::fixtures;
use reqwest::StatusCode;
use serde_json::{Value, json};

aiprism_testkit::on_each_backend!(
    accept_reject_and_undo_keep_one_state_and_survive_a_reload,
    a_finding_can_be_edited_and_the_edit_is_marked,
    reviewer_comments_and_highlights_are_accepted_anchored_and_deletable,
    reset_puts_findings_back_to_pending_and_keeps_comments,
    the_activity_trail_lists_every_change_as_json_and_csv,
    bad_decision_requests_are_4xx,
);

struct Reviewed {
    app: TestApp,
    doc: Value,
    findings: Vec<Value>,
}

async fn reviewed(backend: Backend) -> Reviewed {
    let app = TestApp::spawn(backend).await;
    let bytes = fixtures::docx(&[
        ("Heading1", "Summary"),
        (
            "",
            "The outage lasted 42 minutes. The owner is TBD and the fix is TODO.",
        ),
        ("Heading1", "Actions"),
        ("", "Add an alert on certificate expiry."),
    ]);
    let doc: Value = app.upload("d.docx", bytes, &[]).await.json().await.unwrap();
    app.wait_for_review(doc["review"]["id"].as_str().unwrap()).await;
    let findings = list(&app, &doc).await;
    assert!(
        findings.len() >= 2,
        "the rules find the placeholders: {findings:?}"
    );
    Reviewed { app, doc, findings }
}

async fn list(app: &TestApp, doc: &Value) -> Vec<Value> {
    let (_, body) = app
        .get_json(&format!(
            "/api/v1/documents/{}/findings",
            doc["id"].as_str().unwrap()
        ))
        .await;
    body["findings"].as_array().unwrap().clone()
}

async fn send(app: &TestApp, method: reqwest::Method, path: &str, body: Value) -> (StatusCode, Value) {
    let response = app
        .client
        .request(method, app.url(path))
        .json(&body)
        .send()
        .await
        .unwrap();
    let status = response.status();
    (status, response.json().await.unwrap_or(Value::Null))
}

async fn decide(app: &TestApp, id: &str, status: &str) -> (StatusCode, Value) {
    send(
        app,
        reqwest::Method::POST,
        &format!("/api/v1/findings/{id}/decision"),
        json!({"status": status}),
    )
    .await
}

async fn accept_reject_and_undo_keep_one_state_and_survive_a_reload(backend: Backend) {
    let r = reviewed(backend).await;
    let id = r.findings[0]["id"].as_str().unwrap();
    let (status, accepted) = decide(&r.app, id, "accepted").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(accepted["status"], "accepted");
    let (_, again) = decide(&r.app, id, "accepted").await;
    assert_eq!(
        again["decided_at"], accepted["decided_at"],
        "accepting twice changes nothing"
    );
    let (_, rejected) = decide(&r.app, id, "rejected").await;
    assert_eq!(rejected["status"], "rejected");
    let reloaded = list(&r.app, &r.doc).await;
    let read = reloaded.iter().find(|f| f["id"] == id).unwrap();
    assert_eq!(
        read["status"], "rejected",
        "the decision is stored, not held in a session"
    );
    let (_, undone) = decide(&r.app, id, "pending").await;
    assert_eq!(undone["status"], "pending");
    assert!(undone.get("decided_at").is_none() || undone["decided_at"].is_null());
    let (_, with_note) = send(
        &r.app,
        reqwest::Method::POST,
        &format!("/api/v1/findings/{id}/decision"),
        json!({"status": "accepted", "note": "agreed"}),
    )
    .await;
    assert_eq!(with_note["note"], "agreed");
}

async fn a_finding_can_be_edited_and_the_edit_is_marked(backend: Backend) {
    let r = reviewed(backend).await;
    let id = r.findings[0]["id"].as_str().unwrap();
    let (status, edited) = send(
        &r.app,
        reqwest::Method::PATCH,
        &format!("/api/v1/findings/{id}"),
        json!({"description": "Name the owner.", "risk": "high"}),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{edited}");
    assert_eq!(edited["description"], "Name the owner.");
    assert_eq!(edited["risk"], "high");
    assert_eq!(edited["edited"], true);
    assert_eq!(edited["quote"], r.findings[0]["quote"]);
}

async fn reviewer_comments_and_highlights_are_accepted_anchored_and_deletable(backend: Backend) {
    let r = reviewed(backend).await;
    let doc_id = r.doc["id"].as_str().unwrap();
    let section = &r.doc["sections"][0];
    let path = format!("/api/v1/documents/{doc_id}/comments");
    let (status, comment) = send(
        &r.app,
        reqwest::Method::POST,
        &path,
        json!({"section_id": section["id"], "text": "Which customers? Give numbers & dates.", "quote": "lasted 42 minutes", "highlight_color": "yellow"}),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{comment}");
    assert_eq!(comment["source"], "reviewer");
    assert_eq!(comment["status"], "accepted");
    assert_eq!(comment["quote"], "lasted 42 minutes");
    assert_eq!(comment["anchor"]["start"], 11);
    assert_eq!(comment["anchor"]["end"], 28);
    assert_eq!(comment["highlight_color"], "yellow");
    // A comment on the section as a whole, and a reply to a finding.
    let (status, _) = send(
        &r.app,
        reqwest::Method::POST,
        &path,
        json!({"section_id": section["id"], "text": "Good summary."}),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED);
    let (status, reply) = send(
        &r.app,
        reqwest::Method::POST,
        &path,
        json!({"section_id": section["id"], "text": "Agree with this.", "parent_id": r.findings[0]["id"]}),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED);
    assert_eq!(reply["parent_id"], r.findings[0]["id"]);
    // A quote that is not in the section is refused, never anchored elsewhere.
    let (status, body) = send(
        &r.app,
        reqwest::Method::POST,
        &path,
        json!({"section_id": section["id"], "text": "x", "quote": "not in the text"}),
    )
    .await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (StatusCode::UNPROCESSABLE_ENTITY, Some("quote_not_found"))
    );
    // Reviewer comments can be deleted; rule findings cannot.
    let comment_id = comment["id"].as_str().unwrap();
    let deleted = r
        .app
        .client
        .delete(r.app.url(&format!("/api/v1/findings/{comment_id}")))
        .send()
        .await
        .unwrap();
    assert_eq!(deleted.status(), StatusCode::NO_CONTENT);
    let rule_id = r.findings[0]["id"].as_str().unwrap();
    let refused = r
        .app
        .client
        .delete(r.app.url(&format!("/api/v1/findings/{rule_id}")))
        .send()
        .await
        .unwrap();
    assert_eq!(refused.status(), StatusCode::CONFLICT);
}

async fn reset_puts_findings_back_to_pending_and_keeps_comments(backend: Backend) {
    let r = reviewed(backend).await;
    let doc_id = r.doc["id"].as_str().unwrap();
    for f in &r.findings {
        decide(&r.app, f["id"].as_str().unwrap(), "accepted").await;
    }
    let (_, comment) = send(
        &r.app,
        reqwest::Method::POST,
        &format!("/api/v1/documents/{doc_id}/comments"),
        json!({"section_id": r.doc["sections"][1]["id"], "text": "Who owns this?"}),
    )
    .await;
    let (status, body) = send(
        &r.app,
        reqwest::Method::POST,
        &format!("/api/v1/documents/{doc_id}/decisions/reset"),
        json!({}),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body["reset"], r.findings.len());
    for f in list(&r.app, &r.doc).await {
        if f["id"] == comment["id"] {
            assert_eq!(f["status"], "accepted", "reviewer comments survive a reset");
        } else {
            assert_eq!(f["status"], "pending");
        }
    }
}

async fn the_activity_trail_lists_every_change_as_json_and_csv(backend: Backend) {
    let r = reviewed(backend).await;
    let doc_id = r.doc["id"].as_str().unwrap();
    let id = r.findings[0]["id"].as_str().unwrap();
    decide(&r.app, id, "accepted").await;
    decide(&r.app, id, "rejected").await;
    let (status, body) = r
        .app
        .get_json(&format!("/api/v1/documents/{doc_id}/activity"))
        .await;
    assert_eq!(status, StatusCode::OK);
    let actions: Vec<&str> = body["activity"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["action"].as_str().unwrap())
        .collect();
    assert_eq!(actions[0], "document_uploaded");
    assert!(actions.contains(&"review_started"));
    assert!(actions.contains(&"review_finished"));
    assert!(
        actions.ends_with(&["finding_accepted", "finding_rejected"]),
        "{actions:?}"
    );
    assert!(body["activity"][0]["at"].as_str().unwrap().ends_with('Z'));
    let csv = r
        .app
        .client
        .get(
            r.app
                .url(&format!("/api/v1/documents/{doc_id}/activity?format=csv")),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(csv.status(), StatusCode::OK);
    assert!(
        csv.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/csv")
    );
    let text = csv.text().await.unwrap();
    assert!(text.starts_with("id,at,actor,action,details"));
    assert_eq!(text.lines().count(), actions.len() + 1);
    // The trail outlives the document.
    r.app
        .client
        .delete(r.app.url(&format!("/api/v1/documents/{doc_id}")))
        .send()
        .await
        .unwrap();
    let (status, after) = r
        .app
        .get_json(&format!("/api/v1/documents/{doc_id}/activity"))
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        after["activity"].as_array().unwrap().last().unwrap()["action"],
        "document_deleted"
    );
}

async fn bad_decision_requests_are_4xx(backend: Backend) {
    let r = reviewed(backend).await;
    let id = r.findings[0]["id"].as_str().unwrap();
    let (status, body) = decide(&r.app, id, "maybe").await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    let (status, _) = decide(&r.app, "fnd_nope", "accepted").await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, _) = send(
        &r.app,
        reqwest::Method::POST,
        &format!("/api/v1/findings/{id}/decision"),
        json!({"status": "accepted", "extra": 1}),
    )
    .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    let raw = r
        .app
        .client
        .post(r.app.url(&format!("/api/v1/findings/{id}/decision")))
        .body("{oops")
        .send()
        .await
        .unwrap();
    assert_eq!(raw.status(), StatusCode::BAD_REQUEST);
    let (status, _) = send(
        &r.app,
        reqwest::Method::PATCH,
        &format!("/api/v1/findings/{id}"),
        json!({}),
    )
    .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    let doc_id = r.doc["id"].as_str().unwrap();
    let (status, _) = send(
        &r.app,
        reqwest::Method::POST,
        &format!("/api/v1/documents/{doc_id}/comments"),
        json!({"section_id": "sec_nope", "text": "x"}),
    )
    .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    let (status, _) = send(
        &r.app,
        reqwest::Method::POST,
        &format!("/api/v1/documents/{doc_id}/comments"),
        json!({"section_id": r.doc["sections"][0]["id"], "text": "  "}),
    )
    .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    let (status, _) = r.app.get_json("/api/v1/documents/doc_nope/activity").await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}
