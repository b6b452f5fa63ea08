//! `POST/GET/DELETE /api/v1/documents...` and the error shape.

use aiprism_store::Backend;
use aiprism_testkit::app::TestApp;
use reqwest::StatusCode;
use serde_json::Value;

use aiprism_testkit::fixtures;

aiprism_testkit::on_each_backend!(
    uploading_a_docx_returns_the_document_with_its_sections,
    a_document_can_be_listed_read_and_deleted,
    an_unknown_document_is_404_in_the_error_shape,
    uploads_that_are_not_documents_are_refused_with_a_clear_4xx,
    an_upload_over_the_limit_is_413,
    an_unknown_framework_is_422,
    guidelines_are_read_and_kept_with_the_document,
    markdown_and_text_uploads_produce_sections,
    an_upload_without_a_file_field_is_400,
    a_refused_upload_leaves_no_document_behind,
);

fn assert_error_shape(body: &Value) -> &str {
    let code = body["error"]["code"]
        .as_str()
        .unwrap_or_else(|| panic!("no error.code in {body}"));
    let message = body["error"]["message"]
        .as_str()
        .unwrap_or_else(|| panic!("no error.message in {body}"));
    assert!(!message.is_empty());
    assert!(
        code.chars().all(|c| c.is_ascii_lowercase() || c == '_'),
        "code {code:?} is not snake_case"
    );
    code
}

async fn uploading_a_docx_returns_the_document_with_its_sections(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let bytes = fixtures::incident_writeup();
    let response = app
        .upload("incident.docx", bytes.clone(), &[("review", "false")])
        .await;
    assert_eq!(response.status(), StatusCode::CREATED);
    assert!(response.headers().contains_key("x-request-id"));
    let doc: Value = response.json().await.unwrap();
    assert_eq!(doc["filename"], "incident.docx");
    assert_eq!(doc["format"], "docx");
    assert_eq!(doc["size_bytes"], bytes.len());
    assert_eq!(doc["sha256"].as_str().unwrap().len(), 64);
    assert_eq!(doc["framework"], "investigation-writeup");
    assert!(doc["review"].is_null());
    assert!(doc["created_at"].as_str().unwrap().ends_with('Z'));

    let sections = doc["sections"].as_array().unwrap();
    let titles: Vec<_> = sections.iter().map(|s| s["title"].as_str().unwrap()).collect();
    assert_eq!(
        titles,
        [
            "Executive Summary",
            "Timeline",
            "Root Cause",
            "Contributing factors"
        ]
    );
    let levels: Vec<_> = sections.iter().map(|s| s["level"].as_u64().unwrap()).collect();
    assert_eq!(levels, [1, 1, 1, 2]);
    assert_eq!(sections[1]["text"], "09:02 Alert fired.\n09:44 Service restored.");
    assert_eq!(sections[1]["index"], 1);
    assert_eq!(sections[1]["paragraph_start"], 2);
    assert_eq!(sections[1]["paragraph_end"], 4);

    // The original is stored unchanged, keyed by document id.
    let id = doc["id"].as_str().unwrap();
    let (meta, stored) = app
        .app
        .original(&app.app.local_user(), &aiprism_core::DocumentId::new(id))
        .await
        .unwrap();
    assert_eq!(stored.as_ref(), bytes.as_slice());
    assert_eq!(meta.sha256, doc["sha256"].as_str().unwrap());
}

async fn a_document_can_be_listed_read_and_deleted(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let first: Value = app
        .upload("a.docx", fixtures::incident_writeup(), &[])
        .await
        .json()
        .await
        .unwrap();
    let second: Value = app
        .upload("b.docx", fixtures::incident_writeup(), &[])
        .await
        .json()
        .await
        .unwrap();

    let (status, list) = app.get_json("/api/v1/documents").await;
    assert_eq!(status, StatusCode::OK);
    let ids: Vec<_> = list["documents"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["id"].clone())
        .collect();
    assert_eq!(ids, [second["id"].clone(), first["id"].clone()], "newest first");

    let id = first["id"].as_str().unwrap();
    let (status, read) = app.get_json(&format!("/api/v1/documents/{id}")).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(read["sections"], first["sections"]);

    let deleted = app
        .client
        .delete(app.url(&format!("/api/v1/documents/{id}")))
        .send()
        .await
        .unwrap();
    assert_eq!(deleted.status(), StatusCode::NO_CONTENT);
    let (status, body) = app.get_json(&format!("/api/v1/documents/{id}")).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(assert_error_shape(&body), "not_found");
    let again = app
        .client
        .delete(app.url(&format!("/api/v1/documents/{id}")))
        .send()
        .await
        .unwrap();
    assert_eq!(again.status(), StatusCode::NOT_FOUND);
    let (_, list) = app.get_json("/api/v1/documents").await;
    assert_eq!(list["documents"].as_array().unwrap().len(), 1);
}

async fn an_unknown_document_is_404_in_the_error_shape(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let (status, body) = app.get_json("/api/v1/documents/doc_nope").await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(assert_error_shape(&body), "not_found");
    let (status, body) = app.get_json("/api/v1/no-such-route").await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_error_shape(&body);
}

async fn uploads_that_are_not_documents_are_refused_with_a_clear_4xx(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let mut ole = vec![0xD0, 0xCF, 0x11, 0xE0, 0xA1, 0xB1, 0x1A, 0xE1];
    ole.resize(4096, 0);
    let mut truncated = fixtures::incident_writeup();
    truncated.truncate(truncated.len() / 2);
    let cases: Vec<(&str, Vec<u8>, StatusCode)> = vec![
        ("old.doc", ole, StatusCode::UNSUPPORTED_MEDIA_TYPE),
        (
            "scan.pdf",
            b"%PDF-1.7\n...".to_vec(),
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
        ),
        ("broken.docx", truncated, StatusCode::UNPROCESSABLE_ENTITY),
        (
            "image.docx",
            vec![0x89, b'P', b'N', b'G', 0, 0, 0, 0, 1, 2, 3, 255, 254],
            StatusCode::UNPROCESSABLE_ENTITY,
        ),
        (
            "image.png",
            vec![0x89, b'P', b'N', b'G', 0, 0, 0, 0, 1, 2, 3, 255, 254],
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
        ),
        ("empty.docx", Vec::new(), StatusCode::UNPROCESSABLE_ENTITY),
    ];
    for (name, bytes, expected) in cases {
        let response = app.upload(name, bytes, &[]).await;
        let status = response.status();
        let body: Value = response.json().await.unwrap();
        assert_eq!(status, expected, "{name}: {body}");
        assert_error_shape(&body);
    }
    let not_multipart = app
        .client
        .post(app.url("/api/v1/documents"))
        .header("content-type", "application/json")
        .body("{}")
        .send()
        .await
        .unwrap();
    assert_eq!(not_multipart.status(), StatusCode::UNSUPPORTED_MEDIA_TYPE);
    assert_error_shape(&not_multipart.json().await.unwrap());
}

async fn an_upload_over_the_limit_is_413(backend: Backend) {
    let app = TestApp::spawn_with(backend, |s| s.server.max_upload_bytes = 64 * 1024).await;
    let big = vec![b'a'; 100 * 1024];
    let response = app.upload("big.txt", big, &[]).await;
    assert_eq!(response.status(), StatusCode::PAYLOAD_TOO_LARGE);
    assert_eq!(assert_error_shape(&response.json().await.unwrap()), "too_large");
    // Far over the limit: refused from the Content-Length before the body is read. The server answers
    // 413 at once and closes; a client still writing may see the closed connection instead of the answer.
    let form = reqwest::multipart::Form::new().part(
        "file",
        reqwest::multipart::Part::bytes(vec![b'a'; 1024 * 1024]).file_name("huge.txt"),
    );
    // A client of its own, so the connection the server closes is not reused by the requests below.
    let client = reqwest::Client::new();
    match client
        .post(app.url("/api/v1/documents"))
        .multipart(form)
        .send()
        .await
    {
        Ok(response) => {
            assert_eq!(response.status(), StatusCode::PAYLOAD_TOO_LARGE);
            assert_error_shape(&response.json().await.unwrap());
        }
        Err(e) => assert!(e.is_request() || e.is_body(), "unexpected error: {e}"),
    }
    let (_, list) = app.get_json("/api/v1/documents").await;
    assert!(list["documents"].as_array().unwrap().is_empty());
}

async fn an_unknown_framework_is_422(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let response = app
        .upload(
            "a.docx",
            fixtures::incident_writeup(),
            &[("framework", "astrology")],
        )
        .await;
    assert_eq!(response.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(
        assert_error_shape(&response.json().await.unwrap()),
        "unknown_framework"
    );
}

async fn guidelines_are_read_and_kept_with_the_document(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let form = reqwest::multipart::Form::new()
        .part(
            "file",
            reqwest::multipart::Part::bytes(fixtures::incident_writeup()).file_name("doc.docx"),
        )
        .part(
            "guidelines",
            reqwest::multipart::Part::bytes(b"# Rules\n\nEvery action needs an owner.\n".to_vec())
                .file_name("rules.md"),
        )
        .text("document_type", "incident write-up");
    let response = app
        .client
        .post(app.url("/api/v1/documents"))
        .multipart(form)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::CREATED);
    let doc: Value = response.json().await.unwrap();
    assert_eq!(doc["guidelines"]["filename"], "rules.md");
    assert!(doc["guidelines"]["characters"].as_u64().unwrap() > 10);
    assert_eq!(doc["document_type"], "incident write-up");
    let meta = app
        .app
        .store
        .document(
            &aiprism_core::Scope::All,
            &aiprism_core::DocumentId::new(doc["id"].as_str().unwrap()),
        )
        .await
        .unwrap()
        .unwrap();
    assert!(
        meta.guidelines
            .unwrap()
            .text
            .contains("Every action needs an owner.")
    );
}

async fn markdown_and_text_uploads_produce_sections(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let md = "# Summary\n\nThe API was down.\n\nRoot cause\n----------\n\nA bad deploy.\n";
    let doc: Value = app
        .upload("pm.md", md.as_bytes().to_vec(), &[])
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(doc["format"], "md");
    let titles: Vec<_> = doc["sections"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["title"].clone())
        .collect();
    assert_eq!(titles, ["Summary", "Root cause"]);

    let txt = "SUMMARY\n\nThe API was down.\n\n1. Root Cause\n\nA bad deploy.\n";
    let doc: Value = app
        .upload("pm.txt", txt.as_bytes().to_vec(), &[])
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(doc["format"], "txt");
    let titles: Vec<_> = doc["sections"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["title"].clone())
        .collect();
    assert_eq!(titles.len(), 2, "{titles:?}");
}

async fn an_upload_without_a_file_field_is_400(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let form = reqwest::multipart::Form::new().text("framework", "investigation-writeup");
    let response = app
        .client
        .post(app.url("/api/v1/documents"))
        .multipart(form)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    assert_eq!(
        assert_error_shape(&response.json().await.unwrap()),
        "missing_file"
    );
}

async fn a_refused_upload_leaves_no_document_behind(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let mut truncated = fixtures::incident_writeup();
    truncated.truncate(200);
    assert!(
        app.upload("bad.docx", truncated, &[])
            .await
            .status()
            .is_client_error()
    );
    let (_, list) = app.get_json("/api/v1/documents").await;
    assert!(list["documents"].as_array().unwrap().is_empty());
    let objects = app.app.settings.objects_dir().join("documents");
    let stored = std::fs::read_dir(&objects).map(|d| d.count()).unwrap_or(0);
    assert_eq!(stored, 0, "no object may be left for a refused upload");
}
