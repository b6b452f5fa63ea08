//! Reviews over HTTP: 202 at once, workers in the server process, progress and events, findings whose
//! quotes are in their sections, model failures reported honestly, cancellation.

use std::time::Duration;

use aiprism_store::Backend;
use aiprism_testkit::app::TestApp;
use aiprism_testkit::fake_llm::{Behavior, FakeLlm};
use reqwest::StatusCode;
use secrecy::SecretString;
use serde_json::Value;

use aiprism_testkit::fixtures;

aiprism_testkit::on_each_backend!(
    without_a_model_the_rule_reviewer_runs_alone_and_says_so,
    with_a_model_findings_quote_their_sections_and_usage_is_counted,
    when_every_model_is_throttled_the_review_is_partial_with_rule_findings_only,
    a_model_quote_that_is_not_in_the_section_is_never_stored,
    accepted_findings_become_examples_in_later_prompts_and_guidelines_reach_the_model,
    when_every_model_returns_malformed_output_no_model_finding_is_invented,
    a_review_can_be_cancelled_before_workers_pick_it_up,
    the_event_stream_replays_progress_and_resumes_after_last_event_id,
    bad_review_requests_are_4xx,
);

/// A write-up with a placeholder, an undated timeline and an action without an owner: rules find those.
fn writeup() -> Vec<u8> {
    fixtures::docx(&[
        ("Heading1", "Executive Summary"),
        (
            "",
            "The payment service failed for many customers. Owner: [NAME of owning director].",
        ),
        ("Heading1", "Timeline"),
        ("", "The alert fired and the team responded."),
        ("Heading1", "Preventative Actions"),
        ("", "Add monitoring for certificate expiry."),
    ])
}

fn section_text(doc: &Value, section_id: &str) -> String {
    doc["sections"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["id"] == section_id)
        .map(|s| s["text"].as_str().unwrap().to_string())
        .unwrap_or_else(|| panic!("no section {section_id}"))
}

async fn upload_and_wait(app: &TestApp) -> (Value, Value, Vec<Value>) {
    let response = app.upload("writeup.docx", writeup(), &[]).await;
    assert_eq!(response.status(), StatusCode::CREATED);
    let doc: Value = response.json().await.unwrap();
    let review_id = doc["review"]["id"]
        .as_str()
        .expect("a review starts with the upload")
        .to_string();
    let review = app.wait_for_review(&review_id).await;
    let id = doc["id"].as_str().unwrap();
    let (_, doc) = app.get_json(&format!("/api/v1/documents/{id}")).await;
    let (status, findings) = app.get_json(&format!("/api/v1/documents/{id}/findings")).await;
    assert_eq!(status, StatusCode::OK);
    (doc, review, findings["findings"].as_array().unwrap().clone())
}

fn assert_quotes_are_in_their_sections(doc: &Value, findings: &[Value]) {
    for f in findings {
        let quote = f["quote"].as_str().unwrap();
        let text = section_text(doc, f["section_id"].as_str().unwrap());
        assert!(
            text.contains(quote),
            "quote {quote:?} is not in its section {text:?}"
        );
        if !quote.is_empty() {
            assert!(f["anchor"].is_object(), "a quoted finding is anchored: {f}");
        }
    }
}

async fn without_a_model_the_rule_reviewer_runs_alone_and_says_so(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let (doc, review, findings) = upload_and_wait(&app).await;
    assert_eq!(review["status"], "succeeded", "{review}");
    assert!(
        review["notice"]
            .as_str()
            .unwrap()
            .contains("No AI model is configured")
    );
    assert_eq!(
        review["progress"]["sections_done"],
        review["progress"]["sections_total"]
    );
    assert_eq!(review["progress"]["sections_total"], 3);
    assert_eq!(review["models_used"], serde_json::json!([]));
    assert_eq!(doc["review"]["id"], review["id"]);
    assert!(!findings.is_empty(), "the rules find the placeholder at least");
    assert!(
        findings.iter().all(|f| f["source"] == "rule"),
        "no invented findings: {findings:?}"
    );
    assert!(findings.iter().any(|f| f["rule_id"] == "placeholder-text"));
    assert_quotes_are_in_their_sections(&doc, &findings);
    let (_, models) = app.get_json("/api/v1/models").await;
    assert_eq!(models["configured"], false);
}

async fn model_app(backend: Backend, fake: &FakeLlm, timeout_secs: u32) -> TestApp {
    let url = fake.url();
    TestApp::spawn_with(backend, move |s| {
        s.anthropic.api_key = Some(SecretString::from("sk-ant-test".to_string()));
        s.anthropic.base_url = Some(url);
        s.anthropic.model = Some("claude-sonnet-4-5".into());
        s.review.section_timeout_secs = timeout_secs;
    })
    .await
}

async fn with_a_model_findings_quote_their_sections_and_usage_is_counted(backend: Backend) {
    let fake = FakeLlm::start().await.unwrap();
    let app = model_app(backend, &fake, 30).await;
    let (doc, review, findings) = upload_and_wait(&app).await;
    assert_eq!(review["status"], "succeeded", "{review}");
    assert!(review["notice"].is_null());
    assert_eq!(review["models_used"], serde_json::json!(["claude-sonnet-4-5"]));
    assert!(review["usage"]["input_tokens"].as_u64().unwrap() > 0);
    assert!(review["usage"]["cost_usd"].as_f64().unwrap() > 0.0);
    let model_findings: Vec<_> = findings.iter().filter(|f| f["source"] == "model").collect();
    assert_eq!(
        model_findings.len(),
        3,
        "one per section from the fake: {findings:?}"
    );
    assert!(model_findings.iter().all(|f| f["model"] == "claude-sonnet-4-5"));
    assert_quotes_are_in_their_sections(&doc, &findings);
    // The framework and outline were sent as a cacheable prefix, so later sections read it from cache.
    assert!(review["usage"]["cached_tokens"].as_u64().unwrap() > 0, "{review}");
    let requests = fake.requests();
    assert_eq!(requests.len(), 3);
    let (_, models) = app.get_json("/api/v1/models").await;
    assert_eq!(models["configured"], true);
    assert_eq!(models["endpoints"].as_array().unwrap().len(), 1);
}

async fn when_every_model_is_throttled_the_review_is_partial_with_rule_findings_only(backend: Backend) {
    let fake = FakeLlm::start().await.unwrap();
    fake.set_default(Behavior::Throttle {
        retry_after_secs: Some(30),
    });
    let app = model_app(backend, &fake, 2).await;
    let (doc, review, findings) = upload_and_wait(&app).await;
    assert_eq!(review["status"], "partial", "{review}");
    let error = review["error"].as_str().unwrap();
    assert!(error.contains("AI review unavailable"), "{error}");
    assert!(!findings.is_empty());
    assert!(
        findings.iter().all(|f| f["source"] == "rule"),
        "never invented: {findings:?}"
    );
    assert_quotes_are_in_their_sections(&doc, &findings);
}

/// One finding the model made up a quote for, one quoting the section with different whitespace:
/// only the second is kept, anchored on the section's own words. (A reply whose quotes are all made up
/// is malformed instead: see the test below.)
async fn a_model_quote_that_is_not_in_the_section_is_never_stored(backend: Backend) {
    let fake = FakeLlm::start().await.unwrap();
    let finding = |quote: &str, description: &str| {
        serde_json::json!({
            "type": "important", "category": "Evidence", "description": description,
            "suggestion": "Say where the number comes from.", "risk": "medium",
            "confidence": 0.9, "quote": quote,
        })
    };
    fake.set_default(Behavior::ToolInput {
        input: serde_json::json!({"findings": [
            finding("Revenue fell by 40% in the third quarter.", "invented"),
            finding("The  alert   fired and the team\nresponded.", "verified"),
        ]}),
    });
    let app = model_app(backend, &fake, 30).await;
    let file = fixtures::docx(&[
        ("Heading1", "Timeline"),
        (
            "",
            "The alert fired and the team responded. Nobody wrote down when.",
        ),
    ]);
    let doc: Value = app.upload("t.docx", file, &[]).await.json().await.unwrap();
    let review = app.wait_for_review(doc["review"]["id"].as_str().unwrap()).await;
    assert_eq!(review["status"], "succeeded", "{review}");
    let id = doc["id"].as_str().unwrap();
    let (_, doc) = app.get_json(&format!("/api/v1/documents/{id}")).await;
    let (_, findings) = app.get_json(&format!("/api/v1/documents/{id}/findings")).await;
    let findings = findings["findings"].as_array().unwrap().clone();
    let model: Vec<&Value> = findings.iter().filter(|f| f["source"] == "model").collect();
    assert_eq!(model.len(), 1, "only the verified finding is kept: {model:?}");
    assert_eq!(model[0]["description"], "verified");
    assert_eq!(model[0]["quote"], "The alert fired and the team responded.");
    assert!(model[0]["anchor"].is_object());
    assert_quotes_are_in_their_sections(&doc, &findings);
}

/// A finding accepted in one document is shown to the model as an example when the same reviewer's next
/// document is reviewed under the same framework; the guidelines uploaded with a document reach the model.
async fn accepted_findings_become_examples_in_later_prompts_and_guidelines_reach_the_model(backend: Backend) {
    let fake = FakeLlm::start().await.unwrap();
    let app = model_app(backend, &fake, 30).await;
    let (_, _, findings) = upload_and_wait(&app).await;
    let accepted = findings
        .iter()
        .find(|f| f["source"] == "model")
        .expect("a model finding");
    let response = app
        .client
        .post(app.url(&format!(
            "/api/v1/findings/{}/decision",
            accepted["id"].as_str().unwrap()
        )))
        .json(&serde_json::json!({"status": "accepted"}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let before = fake.requests().len();
    assert!(
        !fake.requests().iter().any(|r| r
            .body
            .to_string()
            .contains("reviewer accepted in other write-ups")),
        "no examples before anything was accepted"
    );

    let guidelines = reqwest::multipart::Part::bytes(
        b"House rule: every timeline entry names its source system.".to_vec(),
    )
    .file_name("guidelines.txt");
    let form = reqwest::multipart::Form::new()
        .part(
            "file",
            reqwest::multipart::Part::bytes(writeup()).file_name("second.docx"),
        )
        .part("guidelines", guidelines);
    let response = app
        .client
        .post(app.url("/api/v1/documents"))
        .multipart(form)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::CREATED);
    let doc: Value = response.json().await.unwrap();
    app.wait_for_review(doc["review"]["id"].as_str().unwrap()).await;
    let later: Vec<String> = fake.requests()[before..]
        .iter()
        .map(|r| r.body.to_string())
        .collect();
    assert!(!later.is_empty());
    let description = accepted["description"].as_str().unwrap();
    let needle = serde_json::to_string(description).unwrap();
    let needle = needle.trim_matches('"');
    for body in &later {
        assert!(
            body.contains("reviewer accepted in other write-ups"),
            "examples are in every section's prompt"
        );
        assert!(body.contains(needle), "the accepted finding is one of them");
        assert!(
            body.contains("every timeline entry names its source system"),
            "guidelines reach the model"
        );
    }
}

/// Broken JSON and schema-violating JSON from the only model: one repair attempt each, then the
/// section keeps its rule findings and says why; no model finding is ever made up.
async fn when_every_model_returns_malformed_output_no_model_finding_is_invented(backend: Backend) {
    for behavior in [Behavior::MalformedJson, Behavior::SchemaViolation] {
        let fake = FakeLlm::start().await.unwrap();
        fake.set_default(behavior.clone());
        let app = model_app(backend, &fake, 30).await;
        let (doc, review, findings) = upload_and_wait(&app).await;
        assert_eq!(review["status"], "partial", "{behavior:?}: {review}");
        assert!(
            review["error"]
                .as_str()
                .unwrap()
                .contains("AI review unavailable"),
            "{review}"
        );
        assert!(!findings.is_empty(), "rule findings stay");
        assert!(
            findings.iter().all(|f| f["source"] == "rule"),
            "{behavior:?} produced findings: {findings:?}"
        );
        assert!(
            review["usage"]["input_tokens"].as_u64().unwrap() > 0,
            "unusable answers are billed, so they are counted: {review}"
        );
        assert_quotes_are_in_their_sections(&doc, &findings);
        assert!(
            fake.requests().len() >= 6,
            "each of 3 sections had a first try and a repair: {}",
            fake.requests().len()
        );
    }
}

async fn a_review_can_be_cancelled_before_workers_pick_it_up(backend: Backend) {
    let app = TestApp::spawn_with(backend, |s| s.server.workers = false).await;
    let doc: Value = app.upload("w.docx", writeup(), &[]).await.json().await.unwrap();
    let review_id = doc["review"]["id"].as_str().unwrap();
    assert_eq!(doc["review"]["status"], "queued");
    let response = app
        .client
        .post(app.url(&format!("/api/v1/reviews/{review_id}/cancel")))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::ACCEPTED);
    let review: Value = response.json().await.unwrap();
    assert_eq!(review["status"], "cancelled");
    assert_eq!(
        review["progress"]["sections_done"], 3,
        "cancelled sections are done"
    );
    let depth = app
        .app
        .queue
        .depth(aiprism_store::queue::QueueName::Analysis)
        .await
        .unwrap();
    assert_eq!(depth.queued, 0, "queued section jobs were cancelled too");
}

async fn the_event_stream_replays_progress_and_resumes_after_last_event_id(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let (_, review, findings) = upload_and_wait(&app).await;
    let id = review["id"].as_str().unwrap();
    let read = |last: Option<String>| {
        let mut request = app.client.get(app.url(&format!("/api/v1/reviews/{id}/events")));
        if let Some(last) = last {
            request = request.header("Last-Event-ID", last);
        }
        async move {
            let response = tokio::time::timeout(Duration::from_secs(20), request.send())
                .await
                .unwrap()
                .unwrap();
            assert_eq!(response.status(), StatusCode::OK);
            assert!(
                response.headers()["content-type"]
                    .to_str()
                    .unwrap()
                    .starts_with("text/event-stream")
            );
            tokio::time::timeout(Duration::from_secs(20), response.text())
                .await
                .expect("stream ends")
                .unwrap()
        }
    };
    let all = parse_sse(&read(None).await);
    let kinds: Vec<&str> = all.iter().map(|(_, kind, _)| kind.as_str()).collect();
    assert_eq!(kinds.iter().filter(|k| **k == "section_started").count(), 3);
    assert_eq!(kinds.iter().filter(|k| **k == "section_done").count(), 3);
    assert_eq!(kinds.iter().filter(|k| **k == "finding").count(), findings.len());
    assert_eq!(kinds.last(), Some(&"review_done"));
    // A browser that reconnects after the third event gets exactly the rest.
    let third = all[2].0.clone();
    let rest = parse_sse(&read(Some(third)).await);
    assert_eq!(rest.len(), all.len() - 3);
    assert_eq!(rest.first().map(|e| &e.0), all.get(3).map(|e| &e.0));
}

/// (id, event, data) triples of an SSE body.
fn parse_sse(body: &str) -> Vec<(String, String, Value)> {
    body.split("\n\n")
        .filter_map(|block| {
            let mut id = None;
            let mut event = None;
            let mut data = None;
            for line in block.lines() {
                if let Some(v) = line.strip_prefix("id:") {
                    id = Some(v.trim().to_string());
                } else if let Some(v) = line.strip_prefix("event:") {
                    event = Some(v.trim().to_string());
                } else if let Some(v) = line.strip_prefix("data:") {
                    data = serde_json::from_str(v.trim()).ok();
                }
            }
            Some((id?, event?, data?))
        })
        .collect()
}

async fn bad_review_requests_are_4xx(backend: Backend) {
    let app = TestApp::spawn_with(backend, |s| s.server.workers = false).await;
    let doc: Value = app
        .upload("w.docx", writeup(), &[("review", "false")])
        .await
        .json()
        .await
        .unwrap();
    let id = doc["id"].as_str().unwrap();
    let post = |path: String, body: &'static str| {
        let request = app
            .client
            .post(app.url(&path))
            .header("content-type", "application/json")
            .body(body);
        async move {
            let response = request.send().await.unwrap();
            let status = response.status();
            (status, response.json::<Value>().await.unwrap_or(Value::Null))
        }
    };
    let (status, body) = post("/api/v1/documents/doc_nope/reviews".into(), "").await;
    assert_eq!(status, StatusCode::NOT_FOUND, "{body}");
    let (status, body) = post(
        format!("/api/v1/documents/{id}/reviews"),
        "{\"sections\": [\"sec_x\"]}",
    )
    .await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (StatusCode::UNPROCESSABLE_ENTITY, Some("unknown_section"))
    );
    let (status, _) = post(format!("/api/v1/documents/{id}/reviews"), "{not json").await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    let (status, body) = post(
        format!("/api/v1/documents/{id}/reviews"),
        "{\"framework\": \"nope\"}",
    )
    .await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (StatusCode::UNPROCESSABLE_ENTITY, Some("unknown_framework"))
    );
    let (status, review) = post(format!("/api/v1/documents/{id}/reviews"), "").await;
    assert_eq!(status, StatusCode::ACCEPTED);
    assert_eq!(review["status"], "queued");
    let (status, _) = app.get_json("/api/v1/reviews/rev_nope").await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, _) = app
        .get_json(&format!("/api/v1/documents/{id}/findings?min_confidence=2"))
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    let (status, _) = app
        .get_json(&format!("/api/v1/documents/{id}/findings?status=maybe"))
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
}
