//! Exports: the reviewed .docx with accepted findings as Word comments on their exact quotes, findings as
//! JSON and CSV, the package (zip download, and object by object on a real S3-compatible server).

use std::io::Read;

use aiprism_store::Backend;
use aiprism_testkit::app::TestApp;
use aiprism_testkit::fixtures;
use reqwest::StatusCode;
use secrecy::SecretString;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

aiprism_testkit::on_each_backend!(
    the_reviewed_docx_has_accepted_findings_as_comments_on_their_quotes,
    pending_findings_go_in_only_when_asked_and_are_marked,
    a_markdown_document_comes_back_as_a_docx_with_the_same_comments,
    findings_export_as_json_and_csv,
    the_package_zip_holds_every_file_its_manifest_lists,
    bad_export_requests_are_4xx,
);

struct Reviewed {
    app: TestApp,
    doc: Value,
    findings: Vec<Value>,
}

async fn reviewed_with(app: TestApp, name: &str, bytes: Vec<u8>) -> Reviewed {
    let doc: Value = app.upload(name, bytes, &[]).await.json().await.unwrap();
    app.wait_for_review(doc["review"]["id"].as_str().unwrap()).await;
    let (_, body) = app
        .get_json(&format!(
            "/api/v1/documents/{}/findings",
            doc["id"].as_str().unwrap()
        ))
        .await;
    let findings = body["findings"].as_array().unwrap().clone();
    assert!(findings.len() >= 2, "{findings:?}");
    Reviewed { app, doc, findings }
}

fn writeup() -> Vec<u8> {
    fixtures::docx(&[
        ("Heading1", "Summary"),
        ("", "The owner is TBD & the fix is TODO <soon>."),
        ("Heading1", "Actions"),
        ("", "Add an alert on certificate expiry."),
    ])
}

async fn decide(app: &TestApp, id: &Value, status: &str) {
    let response = app
        .client
        .post(app.url(&format!("/api/v1/findings/{}/decision", id.as_str().unwrap())))
        .json(&json!({"status": status}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
}

async fn export(app: &TestApp, doc: &Value, body: Value) -> (StatusCode, Value) {
    let response = app
        .client
        .post(app.url(&format!(
            "/api/v1/documents/{}/exports",
            doc["id"].as_str().unwrap()
        )))
        .json(&body)
        .send()
        .await
        .unwrap();
    let status = response.status();
    (status, response.json().await.unwrap())
}

async fn download(app: &TestApp, export: &Value) -> Vec<u8> {
    let response = app
        .client
        .get(app.url(export["download_url"].as_str().unwrap()))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert!(
        response.headers()["content-disposition"]
            .to_str()
            .unwrap()
            .starts_with("attachment")
    );
    response.bytes().await.unwrap().to_vec()
}

fn comments(docx: &[u8]) -> Vec<aiprism_docx::ExistingComment> {
    aiprism_docx::read_comments(docx, &aiprism_docx::Limits::default()).unwrap()
}

async fn the_reviewed_docx_has_accepted_findings_as_comments_on_their_quotes(backend: Backend) {
    let r = reviewed_with(TestApp::spawn(backend).await, "incident.docx", writeup()).await;
    let quoted: Vec<&Value> = r
        .findings
        .iter()
        .filter(|f| !f["quote"].as_str().unwrap().is_empty())
        .collect();
    decide(&r.app, &quoted[0]["id"], "accepted").await;
    decide(&r.app, &quoted[1]["id"], "rejected").await;
    let section = &r.doc["sections"][1];
    let comment = r
        .app
        .client
        .post(r.app.url(&format!("/api/v1/documents/{}/comments", r.doc["id"].as_str().unwrap())))
        .json(&json!({"section_id": section["id"], "text": "Who owns this?\nBy when?", "quote": "certificate expiry"}))
        .send()
        .await
        .unwrap();
    assert_eq!(comment.status(), StatusCode::CREATED);

    let (status, export) = export(&r.app, &r.doc, json!({"kind": "docx"})).await;
    assert_eq!(status, StatusCode::CREATED, "{export}");
    assert_eq!(export["filename"], "incident.reviewed.docx");
    assert_eq!(export["comments_written"], 2);
    let bytes = download(&r.app, &export).await;
    assert_eq!(
        hex::encode(Sha256::digest(&bytes)),
        export["sha256"].as_str().unwrap()
    );
    let written = comments(&bytes);
    assert_eq!(
        written.len(),
        2,
        "the accepted finding and the reviewer comment, not the rejected one"
    );
    let finding_comment = written
        .iter()
        .find(|c| c.author == "aiprism")
        .expect("model/rule comments are by aiprism");
    assert_eq!(
        finding_comment.anchored_text.as_deref(),
        quoted[0]["quote"].as_str()
    );
    assert!(
        finding_comment
            .text
            .contains(quoted[0]["description"].as_str().unwrap())
    );
    let reviewer = written
        .iter()
        .find(|c| c.author == "Local reviewer")
        .expect("reviewer comments by the reviewer");
    assert_eq!(reviewer.anchored_text.as_deref(), Some("certificate expiry"));
    assert_eq!(
        reviewer.text, "Who owns this?\nBy when?",
        "one paragraph per line"
    );
    // The text reads exactly as the original.
    let limits = aiprism_docx::Limits::default();
    let before = aiprism_docx::read(&writeup(), "a.docx", &limits).unwrap();
    let after = aiprism_docx::read(&bytes, "a.docx", &limits).unwrap();
    let texts =
        |d: &aiprism_docx::ParsedDocument| d.paragraphs.iter().map(|p| p.text.clone()).collect::<Vec<_>>();
    assert_eq!(texts(&before), texts(&after));
}

async fn pending_findings_go_in_only_when_asked_and_are_marked(backend: Backend) {
    let r = reviewed_with(TestApp::spawn(backend).await, "incident.docx", writeup()).await;
    let (_, export_default) = export(&r.app, &r.doc, json!({"kind": "docx"})).await;
    assert_eq!(
        export_default["comments_written"], 0,
        "nothing accepted, nothing written"
    );
    let (_, with_pending) = export(&r.app, &r.doc, json!({"kind": "docx", "include_pending": true})).await;
    assert_eq!(
        with_pending["comments_written"].as_u64().unwrap() as usize,
        r.findings.len()
    );
    let written = comments(&download(&r.app, &with_pending).await);
    assert!(
        written.iter().all(|c| c.text.starts_with("[PENDING")),
        "{written:?}"
    );
}

async fn a_markdown_document_comes_back_as_a_docx_with_the_same_comments(backend: Backend) {
    let md = "# Summary\n\nThe owner is TBD and the fix is TODO.\n\n# Actions\n\nAdd an alert.\n";
    let r = reviewed_with(TestApp::spawn(backend).await, "pm.md", md.as_bytes().to_vec()).await;
    for f in &r.findings {
        decide(&r.app, &f["id"], "accepted").await;
    }
    let (status, export) = export(&r.app, &r.doc, json!({"kind": "docx"})).await;
    assert_eq!(status, StatusCode::CREATED);
    assert_eq!(export["filename"], "pm.reviewed.docx");
    let written = comments(&download(&r.app, &export).await);
    assert_eq!(written.len(), r.findings.len());
    for f in r
        .findings
        .iter()
        .filter(|f| !f["quote"].as_str().unwrap().is_empty())
    {
        assert!(
            written
                .iter()
                .any(|c| c.anchored_text.as_deref() == f["quote"].as_str()),
            "no comment on {:?}",
            f["quote"]
        );
    }
}

async fn findings_export_as_json_and_csv(backend: Backend) {
    let r = reviewed_with(TestApp::spawn(backend).await, "incident.docx", writeup()).await;
    decide(&r.app, &r.findings[0]["id"], "accepted").await;
    let (_, json_export) = export(&r.app, &r.doc, json!({"kind": "json"})).await;
    let body: Value = serde_json::from_slice(&download(&r.app, &json_export).await).unwrap();
    assert_eq!(body["findings"].as_array().unwrap().len(), r.findings.len());
    assert_eq!(body["findings"][0]["status"], "accepted");
    let (_, csv_export) = export(&r.app, &r.doc, json!({"kind": "csv"})).await;
    let csv = String::from_utf8(download(&r.app, &csv_export).await).unwrap();
    assert!(csv.starts_with("id,section,source"));
    assert_eq!(csv.lines().count(), r.findings.len() + 1);
    let (_, list) = r
        .app
        .get_json(&format!(
            "/api/v1/documents/{}/exports",
            r.doc["id"].as_str().unwrap()
        ))
        .await;
    assert_eq!(list["exports"].as_array().unwrap().len(), 2);
}

fn unzip(bytes: &[u8]) -> std::collections::BTreeMap<String, Vec<u8>> {
    let mut archive = zip::ZipArchive::new(std::io::Cursor::new(bytes)).unwrap();
    (0..archive.len())
        .map(|i| {
            let mut file = archive.by_index(i).unwrap();
            let mut data = Vec::new();
            file.read_to_end(&mut data).unwrap();
            (file.name().unwrap().to_string(), data)
        })
        .collect()
}

async fn the_package_zip_holds_every_file_its_manifest_lists(backend: Backend) {
    let r = reviewed_with(TestApp::spawn(backend).await, "incident.docx", writeup()).await;
    decide(&r.app, &r.findings[0]["id"], "accepted").await;
    decide(&r.app, &r.findings[1]["id"], "rejected").await;
    let (status, export) = export(&r.app, &r.doc, json!({"kind": "package"})).await;
    assert_eq!(status, StatusCode::CREATED, "{export}");
    assert_eq!(export["media_type"], "application/zip");
    let files = unzip(&download(&r.app, &export).await);
    let manifest: Value = serde_json::from_slice(&files["manifest.json"]).unwrap();
    for entry in manifest["files"].as_array().unwrap() {
        let data = &files[entry["path"].as_str().unwrap()];
        assert_eq!(data.len() as u64, entry["size_bytes"].as_u64().unwrap());
        assert_eq!(
            hex::encode(Sha256::digest(data)),
            entry["sha256"].as_str().unwrap()
        );
    }
    for expected in [
        "documents/original/incident.docx",
        "documents/reviewed/incident.reviewed.docx",
        "findings/accepted.json",
        "findings/rejected.json",
        "findings/pending.json",
        "chat/chat.json",
        "logs/activity.json",
        "statistics.json",
        "report.md",
    ] {
        assert!(
            files.contains_key(expected),
            "{expected} missing from {:?}",
            files.keys()
        );
    }
    assert_eq!(files["documents/original/incident.docx"], writeup());
    let accepted: Value = serde_json::from_slice(&files["findings/accepted.json"]).unwrap();
    assert_eq!(accepted.as_array().unwrap().len(), 1);
    let report = String::from_utf8(files["report.md"].clone()).unwrap();
    assert!(report.contains("1 accepted, 1 rejected"), "{report}");
}

async fn bad_export_requests_are_4xx(backend: Backend) {
    let r = reviewed_with(TestApp::spawn(backend).await, "incident.docx", writeup()).await;
    let (status, _) = export(&r.app, &r.doc, json!({"kind": "pdf"})).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    let (status, body) = export(&r.app, &r.doc, json!({"kind": "docx", "destination": "s3"})).await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (StatusCode::UNPROCESSABLE_ENTITY, Some("s3_export_disabled"))
    );
    let response = r
        .app
        .client
        .post(r.app.url("/api/v1/documents/doc_nope/exports"))
        .json(&json!({"kind": "docx"}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::NOT_FOUND);
    let (status, _) = r.app.get_json("/api/v1/exports/exp_nope").await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let response = r
        .app
        .client
        .get(r.app.url("/api/v1/exports/exp_nope/file"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::NOT_FOUND);
}

/// The package sent to a real S3-compatible server (moto, started by the test script): every key of the
/// manifest is there, with the right size and checksum.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_s3_package_has_every_file_with_matching_sizes_and_checksums() {
    let Some(endpoint) = s3_endpoint() else { return };
    let bucket = format!("aiprism-test-{}", std::process::id());
    let created = reqwest::Client::new()
        .put(format!("{endpoint}/{bucket}"))
        .send()
        .await
        .unwrap();
    assert!(
        created.status().is_success(),
        "creating the bucket: {}",
        created.status()
    );
    let app = TestApp::spawn_with(Backend::Sqlite, |s| {
        s.storage.s3_bucket = Some(bucket.clone());
        s.storage.s3_endpoint = Some(endpoint.clone());
        s.storage.s3_base_path = "team/reviews".into();
        s.storage.region = Some("us-east-1".into());
        s.storage.enable_s3_export = true;
        s.storage.s3_access_key_id = Some("testing".into());
        s.storage.s3_secret_access_key = Some(SecretString::from("testing".to_string()));
    })
    .await;
    let r = reviewed_with(app, "incident.docx", writeup()).await;
    decide(&r.app, &r.findings[0]["id"], "accepted").await;
    let (status, export) = export(&r.app, &r.doc, json!({"kind": "package", "destination": "s3"})).await;
    assert_eq!(status, StatusCode::CREATED, "{export}");
    let location = export["location"].as_str().unwrap();
    let prefix = location
        .strip_prefix(&format!("s3://{bucket}/"))
        .unwrap_or_else(|| panic!("location {location} is not in the bucket"));
    assert!(prefix.starts_with("team/reviews/exports/"), "{prefix}");
    // Read back with a signed client of our own, as any S3 user would.
    let s3 = object_store::aws::AmazonS3Builder::new()
        .with_bucket_name(&bucket)
        .with_endpoint(&endpoint)
        .with_allow_http(true)
        .with_region("us-east-1")
        .with_access_key_id("testing")
        .with_secret_access_key("testing")
        .build()
        .unwrap();
    let get = |key: String| {
        let s3 = &s3;
        async move {
            use object_store::ObjectStoreExt;
            let result = s3.get(&object_store::path::Path::from(key.as_str())).await;
            let result = result.unwrap_or_else(|e| panic!("{key}: {e}"));
            result.bytes().await.unwrap().to_vec()
        }
    };
    let manifest: Value = serde_json::from_slice(&get(format!("{prefix}manifest.json")).await).unwrap();
    let entries = manifest["files"].as_array().unwrap();
    assert!(entries.len() >= 12);
    for entry in entries {
        let data = get(format!("{prefix}{}", entry["path"].as_str().unwrap())).await;
        assert_eq!(data.len() as u64, entry["size_bytes"].as_u64().unwrap());
        assert_eq!(
            hex::encode(Sha256::digest(&data)),
            entry["sha256"].as_str().unwrap()
        );
    }
    let reviewed = get(format!("{prefix}documents/reviewed/incident.reviewed.docx")).await;
    assert_eq!(comments(&reviewed).len(), 1);
}

fn s3_endpoint() -> Option<String> {
    match std::env::var("AIPRISM_TEST_S3_ENDPOINT") {
        Ok(e) => Some(e.trim_end_matches('/').to_string()),
        Err(_) => {
            assert!(
                !aiprism_store::testing::is_ci(),
                "CI=true but AIPRISM_TEST_S3_ENDPOINT is not set"
            );
            eprintln!("note: AIPRISM_TEST_S3_ENDPOINT not set; the S3 export test did not run");
            None
        }
    }
}
