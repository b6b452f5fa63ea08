//! Statistics per document and across documents, and learning from decisions.

use aiprism_store::Backend;
use aiprism_testkit::app::TestApp;
use aiprism_testkit::fixtures;
use reqwest::StatusCode;
use serde_json::{Value, json};

aiprism_testkit::on_each_backend!(
    document_statistics_count_what_is_stored,
    rejecting_a_category_again_and_again_ranks_it_down_and_lowers_its_confidence,
    the_activity_log_across_documents_is_newest_first_in_json_and_csv,
);

fn writeup() -> Vec<u8> {
    fixtures::docx(&[
        ("Heading1", "Summary"),
        (
            "",
            "The owner is TBD. The cause is TODO. Contact [NAME] for details.",
        ),
        ("Heading1", "Actions"),
        ("", "Add an alert on certificate expiry."),
        ("", "Rotate the certificates."),
    ])
}

async fn reviewed(app: &TestApp) -> (Value, Vec<Value>) {
    let doc: Value = app.upload("d.docx", writeup(), &[]).await.json().await.unwrap();
    app.wait_for_review(doc["review"]["id"].as_str().unwrap()).await;
    let (_, body) = app
        .get_json(&format!(
            "/api/v1/documents/{}/findings",
            doc["id"].as_str().unwrap()
        ))
        .await;
    (doc, body["findings"].as_array().unwrap().clone())
}

async fn decide(app: &TestApp, id: &str, status: &str) {
    let response = app
        .client
        .post(app.url(&format!("/api/v1/findings/{id}/decision")))
        .json(&json!({"status": status}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
}

async fn document_statistics_count_what_is_stored(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let (doc, findings) = reviewed(&app).await;
    assert!(findings.len() >= 3, "{findings:?}");
    decide(&app, findings[0]["id"].as_str().unwrap(), "accepted").await;
    decide(&app, findings[1]["id"].as_str().unwrap(), "rejected").await;
    let id = doc["id"].as_str().unwrap();
    let (status, stats) = app.get_json(&format!("/api/v1/documents/{id}/statistics")).await;
    assert_eq!(status, StatusCode::OK);
    let n = findings.len() as u64;
    assert_eq!(stats["by_status"]["accepted"], 1);
    assert_eq!(stats["by_status"]["rejected"], 1);
    assert_eq!(stats["by_status"]["pending"], n - 2);
    assert_eq!(stats["acceptance_rate"], 0.5);
    assert_eq!(stats["coverage"]["sections_total"], 2);
    assert_eq!(stats["coverage"]["sections_reviewed"], 2);
    assert_eq!(stats["coverage"]["findings_total"], n);
    assert_eq!(stats["coverage"]["findings_decided"], 2);
    let per_section: u64 = stats["by_section"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["total"].as_u64().unwrap())
        .sum();
    assert_eq!(per_section, n);
    let by_risk: u64 = stats["by_risk"]
        .as_object()
        .unwrap()
        .values()
        .map(|v| v.as_u64().unwrap())
        .sum();
    assert_eq!(by_risk, n);
    assert!(!stats["timeline"].as_array().unwrap().is_empty());

    // A second document: categories recur across documents.
    reviewed(&app).await;
    let (_, overall) = app.get_json("/api/v1/statistics").await;
    assert_eq!(overall["documents"], 2);
    assert_eq!(overall["findings"], 2 * n);
    let top = &overall["recurring_categories"][0];
    assert_eq!(top["documents"], 2, "{overall}");
}

async fn rejecting_a_category_again_and_again_ranks_it_down_and_lowers_its_confidence(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let mut placeholder_confidence = None;
    // Reject every placeholder finding in three documents.
    for _ in 0..3 {
        let (_, findings) = reviewed(&app).await;
        for f in findings.iter().filter(|f| f["rule_id"] == "placeholder-text") {
            placeholder_confidence.get_or_insert(f["raw_confidence"].as_f64().unwrap());
            decide(&app, f["id"].as_str().unwrap(), "rejected").await;
        }
    }
    let (_, learning) = app.get_json("/api/v1/learning").await;
    let entries = learning["frameworks"][0]["entries"].as_array().unwrap();
    let category = entries
        .iter()
        .find(|e| e["checkpoint"].is_null() && e["rejected"].as_u64().unwrap() >= 5)
        .unwrap();
    assert_eq!(category["downranked"], true, "{learning}");
    assert_eq!(category["acceptance_rate"], 0.0);

    let (doc, findings) = reviewed(&app).await;
    let placeholder = findings
        .iter()
        .find(|f| f["rule_id"] == "placeholder-text")
        .unwrap();
    assert_eq!(placeholder["downranked"], true);
    // Ranked down means listed last: no finding of another category comes after it.
    let first_down = findings.iter().position(|f| f["downranked"] == true).unwrap();
    assert!(
        first_down > 0 && findings[first_down..].iter().all(|f| f["downranked"] == true),
        "ranked-down findings are listed last: {findings:?}"
    );
    assert!(placeholder["confidence"].as_f64().unwrap() < placeholder["raw_confidence"].as_f64().unwrap());
    assert_eq!(placeholder["raw_confidence"].as_f64(), placeholder_confidence);
    // The threshold applies to the confidence shown.
    let threshold = placeholder["confidence"].as_f64().unwrap() + 0.01;
    let (_, filtered) = app
        .get_json(&format!(
            "/api/v1/documents/{}/findings?min_confidence={threshold}",
            doc["id"].as_str().unwrap()
        ))
        .await;
    assert!(
        filtered["findings"]
            .as_array()
            .unwrap()
            .iter()
            .all(|f| f["id"] != placeholder["id"])
    );
}

async fn the_activity_log_across_documents_is_newest_first_in_json_and_csv(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let (first, _) = reviewed(&app).await;
    let (second, findings) = reviewed(&app).await;
    decide(&app, findings[0]["id"].as_str().unwrap(), "accepted").await;
    let (status, log) = app.get_json("/api/v1/activity?limit=500").await;
    assert_eq!(status, StatusCode::OK);
    let entries = log["activity"].as_array().unwrap();
    let ids: Vec<i64> = entries.iter().map(|e| e["id"].as_i64().unwrap()).collect();
    assert!(ids.windows(2).all(|w| w[0] > w[1]), "newest first: {ids:?}");
    assert_eq!(entries[0]["action"], "finding_accepted", "{log}");
    assert_eq!(entries[0]["document_id"], second["id"]);
    for doc in [&first, &second] {
        assert!(
            entries
                .iter()
                .any(|e| e["document_id"] == doc["id"] && e["action"] == "document_uploaded"),
            "{log}"
        );
    }
    let (_, one) = app.get_json("/api/v1/activity?limit=1").await;
    assert_eq!(one["activity"].as_array().unwrap().len(), 1);

    let response = app
        .client
        .get(app.url("/api/v1/activity?format=csv"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert!(
        response.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/csv")
    );
    let csv = response.text().await.unwrap();
    assert!(
        csv.starts_with("id,at,actor,action,details,document_id\r\n"),
        "{csv}"
    );
    assert_eq!(csv.lines().count(), entries.len() + 1);
    let (status, body) = app.get_json("/api/v1/activity?format=xml").await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (StatusCode::UNPROCESSABLE_ENTITY, Some("invalid_format"))
    );
}
