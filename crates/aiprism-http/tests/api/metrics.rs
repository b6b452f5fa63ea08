//! `GET /metrics`: the Prometheus text format with HTTP, queue, job, document and finding series, route
//! labels that are templates rather than paths, and a 404 when metrics are disabled.

use aiprism_store::Backend;
use aiprism_testkit::app::TestApp;
use aiprism_testkit::fake_llm::FakeLlm;
use aiprism_testkit::fixtures;
use aiprism_testkit::prometheus::{Sample, parse};
use reqwest::StatusCode;
use secrecy::SecretString;
use serde_json::Value;

aiprism_testkit::on_each_backend!(
    metrics_cover_requests_by_route_template_queues_jobs_documents_and_findings,
    model_calls_tokens_and_cost_are_counted_per_endpoint,
    metrics_answer_404_when_disabled,
    a_metrics_token_keeps_scrapes_without_it_out,
);

/// A write-up with a placeholder the rules flag.
fn writeup() -> Vec<u8> {
    fixtures::docx(&[
        ("Heading1", "Executive Summary"),
        (
            "",
            "The payment service failed. Owner: [NAME of owning director].",
        ),
        ("Heading1", "Timeline"),
        ("", "The alert fired and the team responded."),
    ])
}

async fn scrape(app: &TestApp) -> (String, Vec<Sample>) {
    let response = app.client.get(app.url("/metrics")).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let content_type = response.headers()["content-type"].to_str().unwrap().to_string();
    assert!(content_type.starts_with("text/plain"), "{content_type}");
    let text = response.text().await.unwrap();
    let samples = parse(&text);
    (text, samples)
}

async fn metrics_cover_requests_by_route_template_queues_jobs_documents_and_findings(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let response = app.upload("writeup.docx", writeup(), &[]).await;
    assert_eq!(response.status(), StatusCode::CREATED);
    let doc: Value = response.json().await.unwrap();
    let document_id = doc["id"].as_str().unwrap().to_string();
    let review_id = doc["review"]["id"]
        .as_str()
        .expect("a review starts with the upload");
    let review = app.wait_for_review(review_id).await;
    assert_eq!(
        review["status"], "succeeded",
        "the rule reviewer runs alone: {review}"
    );
    let (status, findings) = app
        .get_json(&format!("/api/v1/documents/{document_id}/findings"))
        .await;
    assert_eq!(status, StatusCode::OK);
    let found = findings["findings"].as_array().unwrap().len();
    assert!(found > 0, "the rules find something in the write-up");
    let (status, _) = app.get_json(&format!("/api/v1/documents/{document_id}")).await;
    assert_eq!(status, StatusCode::OK);
    let (status, _) = app.get_json("/api/v1/no-such-route/123").await;
    assert_eq!(status, StatusCode::NOT_FOUND);

    let (text, samples) = scrape(&app).await;

    let upload = [
        ("method", "POST"),
        ("route", "/api/v1/documents"),
        ("status", "201"),
    ];
    let uploads = samples
        .iter()
        .find(|s| s.has("aiprism_http_request_duration_seconds_count", &upload))
        .unwrap_or_else(|| panic!("no latency histogram for the upload route:\n{text}"));
    assert!(uploads.value >= 1.0);
    assert!(
        samples
            .iter()
            .any(|s| s.has("aiprism_http_request_duration_seconds_bucket", &upload)
                && s.label("le") == Some("0.005")),
        "the HTTP histogram has the configured buckets:\n{text}"
    );
    assert!(
        samples
            .iter()
            .any(|s| s.has("aiprism_http_requests_total", &upload) && s.value >= 1.0)
    );
    assert!(
        samples.iter().any(|s| s.has(
            "aiprism_http_requests_total",
            &[("route", "/api/v1/documents/{id}"), ("status", "200")]
        )),
        "reads are counted under their template:\n{text}"
    );
    assert!(
        samples.iter().any(|s| s.has(
            "aiprism_http_requests_total",
            &[("route", "unmatched"), ("status", "404")]
        )),
        "unmatched paths share one label:\n{text}"
    );
    for sample in samples.iter().filter(|s| s.name.starts_with("aiprism_http_")) {
        let route = sample.label("route").unwrap();
        assert!(
            !route.contains(&document_id),
            "a document id in a route label: {route}"
        );
        assert!(
            !route.contains(review_id),
            "a review id in a route label: {route}"
        );
        assert!(
            !route.contains("no-such-route"),
            "a raw path in a route label: {route}"
        );
    }

    let documents = samples
        .iter()
        .find(|s| s.has("aiprism_documents_uploaded_total", &[("format", "docx")]))
        .unwrap_or_else(|| panic!("no documents counter:\n{text}"));
    assert!(documents.value >= 1.0);
    let rule_findings = samples
        .iter()
        .find(|s| s.has("aiprism_findings_created_total", &[("source", "rule")]))
        .unwrap_or_else(|| panic!("no findings counter:\n{text}"));
    assert!(
        rule_findings.value >= found as f64,
        "{found} findings stored:\n{text}"
    );

    for queue in ["analysis", "chat", "monitoring"] {
        for state in ["queued", "scheduled", "running", "dead"] {
            assert!(
                samples
                    .iter()
                    .any(|s| s.has("aiprism_queue_jobs", &[("queue", queue), ("state", state)])),
                "no depth series for {queue}/{state}:\n{text}"
            );
        }
    }
    let sections = review["progress"]["sections_total"].as_f64().unwrap();
    let completed = samples
        .iter()
        .find(|s| {
            s.has(
                "aiprism_jobs_total",
                &[("queue", "analysis"), ("outcome", "completed")],
            )
        })
        .unwrap_or_else(|| panic!("no job outcome counter:\n{text}"));
    assert!(
        completed.value >= sections,
        "one completed job per section:\n{text}"
    );
    assert!(samples.iter().any(|s| s.has(
        "aiprism_job_duration_seconds_count",
        &[("queue", "analysis"), ("outcome", "completed")]
    )));
}

async fn model_calls_tokens_and_cost_are_counted_per_endpoint(backend: Backend) {
    let fake = FakeLlm::start().await.unwrap();
    let url = fake.url();
    let app = TestApp::spawn_with(backend, move |s| {
        s.anthropic.api_key = Some(SecretString::from("sk-ant-test".to_string()));
        s.anthropic.base_url = Some(url);
        s.anthropic.model = Some("claude-sonnet-4-5".into());
    })
    .await;
    let doc: Value = app
        .upload("writeup.docx", writeup(), &[])
        .await
        .json()
        .await
        .unwrap();
    let review = app.wait_for_review(doc["review"]["id"].as_str().unwrap()).await;
    assert_eq!(review["status"], "succeeded", "{review}");
    let (_, models) = app.get_json("/api/v1/models").await;
    let endpoint = models["endpoints"][0]["name"].as_str().unwrap().to_string();

    let (text, samples) = scrape(&app).await;
    let find = |name: &str, labels: &[(&str, &str)]| {
        samples
            .iter()
            .find(|s| s.has(name, labels))
            .map(|s| s.value)
            .unwrap_or_else(|| panic!("no {name} {labels:?}:\n{text}"))
    };
    let at = [("endpoint", endpoint.as_str())];
    assert!(
        find(
            "aiprism_model_calls_total",
            &[("endpoint", &endpoint), ("outcome", "success")]
        ) >= 2.0
    );
    assert!(
        find(
            "aiprism_model_tokens_total",
            &[("endpoint", &endpoint), ("kind", "input")]
        ) > 0.0
    );
    assert!(
        find(
            "aiprism_model_tokens_total",
            &[("endpoint", &endpoint), ("kind", "output")]
        ) > 0.0
    );
    assert!(find("aiprism_model_cost_microdollars_total", &at) > 0.0);
    assert!(find("aiprism_model_call_duration_seconds_count", &at) >= 2.0);
    assert_eq!(find("aiprism_model_in_flight", &at), 0.0);
    assert_eq!(find("aiprism_model_cooling_down", &at), 0.0);
    assert!(!text.contains("sk-ant-test"), "no secret in the exposition");
}

async fn metrics_answer_404_when_disabled(backend: Backend) {
    let app = TestApp::spawn_with(backend, |s| s.observability.metrics = false).await;
    let response = app.client.get(app.url("/metrics")).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::NOT_FOUND);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["error"]["code"], "not_found");
    let (status, _) = app.get_json("/health").await;
    assert_eq!(status, StatusCode::OK, "the rest of the app is unaffected");
}

async fn a_metrics_token_keeps_scrapes_without_it_out(backend: Backend) {
    let app = TestApp::spawn_with(backend, |s| {
        s.observability.metrics_token = Some(SecretString::from("scrape-secret-1".to_string()));
    })
    .await;
    for auth in [
        None,
        Some("Bearer wrong"),
        Some("scrape-secret-1"),
        Some("Bearer "),
    ] {
        let mut request = app.client.get(app.url("/metrics"));
        if let Some(a) = auth {
            request = request.header("authorization", a);
        }
        let response = request.send().await.unwrap();
        assert_eq!(response.status(), StatusCode::UNAUTHORIZED, "{auth:?}");
        assert_eq!(response.headers()["www-authenticate"], "Bearer");
        let body: Value = response.json().await.unwrap();
        assert_eq!(body["error"]["code"], "unauthorized");
        assert!(!body.to_string().contains("scrape-secret-1"));
    }
    let response = app
        .client
        .get(app.url("/metrics"))
        .header("authorization", "Bearer scrape-secret-1")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert!(response.text().await.unwrap().contains("aiprism_http_requests"));
    let (status, _) = app.get_json("/health").await;
    assert_eq!(status, StatusCode::OK, "health stays open");
}
