//! Frameworks: the two built-in ones, uploads validated at load.

use aiprism_store::Backend;
use aiprism_testkit::app::TestApp;
use reqwest::StatusCode;
use serde_json::Value;

aiprism_testkit::on_each_backend!(
    the_built_in_frameworks_are_listed_and_shown,
    an_uploaded_framework_is_validated_stored_and_usable,
);

async fn the_built_in_frameworks_are_listed_and_shown(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let (status, list) = app.get_json("/api/v1/frameworks").await;
    assert_eq!(status, StatusCode::OK);
    let ids: Vec<_> = list["frameworks"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["id"].clone())
        .collect();
    assert_eq!(ids, ["investigation-writeup", "incident-postmortem"]);
    let (status, fw) = app.get_json("/api/v1/frameworks/investigation-writeup").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(fw["checkpoints"].as_array().unwrap().len(), 20);
    assert!(fw["source"].as_str().unwrap().contains("investigation-writeup"));
    assert!(!fw["rules"].as_array().unwrap().is_empty());
    let (status, _) = app.get_json("/api/v1/frameworks/nope").await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}

const CUSTOM: &str = r#"
id = "team-checklist"
name = "Team checklist"
description = "Our own short checklist."
version = "1"

[[checkpoints]]
id = "T1"
title = "Dates"
guidance = "Every event has a date."
"#;

async fn an_uploaded_framework_is_validated_stored_and_usable(backend: Backend) {
    let app = TestApp::spawn_with(backend, |s| s.server.workers = false).await;
    let post = |body: String| {
        let request = app
            .client
            .post(app.url("/api/v1/frameworks"))
            .header("content-type", "application/toml")
            .body(body);
        async move {
            let response = request.send().await.unwrap();
            (response.status(), response.json::<Value>().await.unwrap())
        }
    };
    let (status, body) = post(CUSTOM.to_string()).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    assert_eq!(body["id"], "team-checklist");
    let (status, body) = post(CUSTOM.replace("[[checkpoints]]", "[[checkpoint]]")).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(body["error"]["code"], "invalid_framework");
    let (status, body) = post(CUSTOM.replace("team-checklist", "investigation-writeup")).await;
    assert_eq!(status, StatusCode::CONFLICT, "{body}");
    let (_, list) = app.get_json("/api/v1/frameworks").await;
    assert_eq!(list["frameworks"].as_array().unwrap().len(), 3);
    let doc: Value = app
        .upload(
            "d.docx",
            aiprism_testkit::fixtures::incident_writeup(),
            &[("framework", "team-checklist")],
        )
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(doc["framework"], "team-checklist");
}
