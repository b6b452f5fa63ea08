//! Chat over HTTP: streamed answers, stored history sent back as context, citations, honest replies
//! without a model, JSON clients answered by a job, transcripts.

use std::time::Duration;

use aiprism_store::Backend;
use aiprism_testkit::app::TestApp;
use aiprism_testkit::fake_llm::{Behavior, FakeLlm};
use aiprism_testkit::fixtures;
use reqwest::StatusCode;
use secrecy::SecretString;
use serde_json::{Value, json};

aiprism_testkit::on_each_backend!(
    without_a_model_the_chat_says_so_plainly_and_keeps_the_conversation,
    a_model_answer_streams_is_stored_and_cites_sections,
    a_json_client_gets_202_and_the_answer_arrives_in_the_history,
    bad_chat_requests_are_4xx,
);

async fn document(app: &TestApp) -> Value {
    let doc: Value = app
        .upload("d.docx", fixtures::incident_writeup(), &[("review", "false")])
        .await
        .json()
        .await
        .unwrap();
    doc
}

/// (event, data) pairs of an SSE body.
fn events(body: &str) -> Vec<(String, Value)> {
    body.split("\n\n")
        .filter_map(|block| {
            let event = block
                .lines()
                .find_map(|l| l.strip_prefix("event:"))?
                .trim()
                .to_string();
            let data = block.lines().find_map(|l| l.strip_prefix("data:"))?.trim();
            Some((event, serde_json::from_str(data).ok()?))
        })
        .collect()
}

async fn ask(app: &TestApp, doc: &Value, body: Value) -> (StatusCode, Vec<(String, Value)>) {
    let id = doc["id"].as_str().unwrap();
    let response = app
        .client
        .post(app.url(&format!("/api/v1/documents/{id}/chat")))
        .json(&body)
        .send()
        .await
        .unwrap();
    let status = response.status();
    let text = tokio::time::timeout(Duration::from_secs(30), response.text())
        .await
        .unwrap()
        .unwrap();
    (status, events(&text))
}

async fn without_a_model_the_chat_says_so_plainly_and_keeps_the_conversation(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let doc = document(&app).await;
    let (status, events) = ask(&app, &doc, json!({"message": "Is the timeline complete?"})).await;
    assert_eq!(status, StatusCode::OK);
    let (kind, message) = events.last().unwrap();
    assert_eq!(kind, "message");
    assert!(
        message["content"]
            .as_str()
            .unwrap()
            .contains("No AI model is configured")
    );
    assert!(message["model"].is_null());
    let (_, history) = app
        .get_json(&format!("/api/v1/documents/{}/chat", doc["id"].as_str().unwrap()))
        .await;
    let roles: Vec<_> = history["messages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["role"].clone())
        .collect();
    assert_eq!(roles, ["user", "assistant"]);
}

async fn model_app(backend: Backend, fake: &FakeLlm) -> TestApp {
    let url = fake.url();
    TestApp::spawn_with(backend, move |s| {
        s.anthropic.api_key = Some(SecretString::from("sk-ant-test".to_string()));
        s.anthropic.base_url = Some(url);
    })
    .await
}

async fn a_model_answer_streams_is_stored_and_cites_sections(backend: Backend) {
    let fake = FakeLlm::start().await.unwrap();
    let app = model_app(backend, &fake).await;
    let doc = document(&app).await;
    let timeline = doc["sections"][1]["id"].as_str().unwrap();
    fake.push_any([Behavior::Text {
        text: "The timeline [S2] gives times but no dates; see also [S3].".into(),
    }]);
    let (status, events) = ask(
        &app,
        &doc,
        json!({"message": "What is missing?", "section_id": timeline}),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    let tokens: String = events
        .iter()
        .filter(|(k, _)| k == "token")
        .map(|(_, d)| d["text"].as_str().unwrap())
        .collect();
    assert!(
        tokens.contains("no dates"),
        "the answer streams token by token: {events:?}"
    );
    let (kind, reply) = events.last().unwrap();
    assert_eq!(kind, "message");
    assert_eq!(reply["content"], tokens);
    assert_eq!(reply["model"], "claude-sonnet-4-5");
    assert_eq!(reply["section_id"], timeline);
    assert_eq!(reply["citations"], json!([timeline, doc["sections"][2]["id"]]));
    // The current section went with the question.
    let first = fake.requests().last().unwrap().body.to_string();
    assert!(
        first.contains("09:02 Alert fired."),
        "the section text is context"
    );

    // A follow-up carries the conversation so far.
    let (_, _) = ask(&app, &doc, json!({"message": "And the root cause?"})).await;
    let second = fake.requests().last().unwrap().body.to_string();
    assert!(
        second.contains("What is missing?") && second.contains("no dates"),
        "history is sent: {second}"
    );

    let id = doc["id"].as_str().unwrap();
    let (_, history) = app.get_json(&format!("/api/v1/documents/{id}/chat")).await;
    assert_eq!(history["messages"].as_array().unwrap().len(), 4);
    let transcript = app
        .client
        .get(app.url(&format!("/api/v1/documents/{id}/chat/export?format=markdown")))
        .send()
        .await
        .unwrap();
    assert!(
        transcript.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/markdown")
    );
    let text = transcript.text().await.unwrap();
    assert!(text.contains("What is missing?") && text.contains("no dates"));
    let (_, usage) = app.get_json(&format!("/api/v1/documents/{id}/statistics")).await;
    assert!(
        usage["usage"]["input_tokens"].as_u64().unwrap() > 0,
        "chat calls are counted: {usage}"
    );
}

async fn a_json_client_gets_202_and_the_answer_arrives_in_the_history(backend: Backend) {
    let fake = FakeLlm::start().await.unwrap();
    let app = model_app(backend, &fake).await;
    let doc = document(&app).await;
    let id = doc["id"].as_str().unwrap();
    let response = app
        .client
        .post(app.url(&format!("/api/v1/documents/{id}/chat")))
        .header("accept", "application/json")
        .json(&json!({"message": "Summarise the incident."}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::ACCEPTED);
    let body: Value = response.json().await.unwrap();
    assert!(body["job_id"].is_string());
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    loop {
        let (_, history) = app.get_json(&format!("/api/v1/documents/{id}/chat")).await;
        let messages = history["messages"].as_array().unwrap();
        if messages.len() == 2 {
            assert_eq!(messages[1]["role"], "assistant");
            break;
        }
        assert!(tokio::time::Instant::now() < deadline, "no answer arrived");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

async fn bad_chat_requests_are_4xx(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let doc = document(&app).await;
    let id = doc["id"].as_str().unwrap();
    let post = |path: String, body: Value| {
        let request = app.client.post(app.url(&path)).json(&body);
        async move { request.send().await.unwrap().status() }
    };
    assert_eq!(
        post(format!("/api/v1/documents/{id}/chat"), json!({"message": "  "})).await,
        StatusCode::UNPROCESSABLE_ENTITY
    );
    assert_eq!(
        post(
            format!("/api/v1/documents/{id}/chat"),
            json!({"message": "hi", "section_id": "sec_nope"})
        )
        .await,
        StatusCode::UNPROCESSABLE_ENTITY
    );
    assert_eq!(
        post("/api/v1/documents/doc_nope/chat".into(), json!({"message": "hi"})).await,
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        post(format!("/api/v1/documents/{id}/chat"), json!({"text": "hi"})).await,
        StatusCode::BAD_REQUEST
    );
    let (status, _) = app
        .get_json(&format!("/api/v1/documents/{id}/chat/export?format=pdf"))
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
}
