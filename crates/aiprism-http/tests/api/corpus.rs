//! Every corpus file through `POST /api/v1/documents`: good files answer 201 with at least one section,
//! malformed ones a 4xx in the API's error shape. Reads `AIPRISM_CORPUS` (CI sets it; a missing corpus
//! fails in CI).

use std::path::PathBuf;

use aiprism_store::Backend;
use aiprism_testkit::app::TestApp;
use serde_json::Value;

fn corpus_dir() -> Option<PathBuf> {
    match std::env::var("AIPRISM_CORPUS") {
        Ok(dir) => Some(PathBuf::from(dir)),
        Err(_) => {
            assert!(
                !aiprism_store::testing::is_ci(),
                "CI=true but AIPRISM_CORPUS is not set"
            );
            eprintln!("note: AIPRISM_CORPUS not set; corpus upload test not run");
            None
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_corpus_file_uploads_or_is_refused_with_a_4xx() {
    let Some(dir) = corpus_dir() else { return };
    let manifest = std::fs::read_to_string(dir.join("MANIFEST.tsv")).expect("reading MANIFEST.tsv");
    let mut lines = manifest.lines();
    let header: Vec<&str> = lines.next().expect("manifest header").split('\t').collect();
    let col = |name: &str| {
        header
            .iter()
            .position(|h| *h == name)
            .unwrap_or_else(|| panic!("no {name} column"))
    };
    let (path_col, kind_col, malformed_col, text_col) =
        (col("rel_path"), col("kind"), col("malformed"), col("text_chars"));

    let app = TestApp::spawn(Backend::Sqlite).await;
    let (mut good, mut refused, mut failures) = (0, 0, Vec::new());
    for line in lines {
        let fields: Vec<&str> = line.split('\t').collect();
        if fields.get(kind_col) != Some(&"docx") {
            continue;
        }
        let rel = fields[path_col];
        let malformed = !fields.get(malformed_col).unwrap_or(&"").is_empty();
        let has_text = fields
            .get(text_col)
            .and_then(|t| t.parse::<u64>().ok())
            .unwrap_or(0)
            > 0;
        let bytes = std::fs::read(dir.join(rel)).unwrap_or_else(|e| panic!("reading {rel}: {e}"));
        let name = rel.rsplit('/').next().unwrap_or(rel);
        let response = app.upload(name, bytes, &[("review", "false")]).await;
        let status = response.status();
        let body: Value = response.json().await.unwrap_or(Value::Null);
        if malformed {
            if status.is_client_error() && body["error"]["code"].is_string() {
                refused += 1;
            } else {
                failures.push(format!("{rel}: malformed but answered {status}: {body}"));
            }
        } else if status.as_u16() == 201 {
            let sections = body["sections"].as_array().map_or(0, Vec::len);
            if sections == 0 && has_text {
                failures.push(format!("{rel}: accepted with no sections"));
            } else {
                good += 1;
            }
        } else if !has_text && status.as_u16() == 422 && body["error"]["code"] == "empty_document" {
            // A package with no text at all (e.g. a footer-only file) is refused as empty: there is
            // nothing to review. The manifest's text_chars = 0 says so.
            good += 1;
        } else {
            failures.push(format!("{rel}: answered {status}: {body}"));
        }
    }
    println!(
        "corpus upload: {good} good files accepted, {refused} malformed files refused, {} failures",
        failures.len()
    );
    assert!(failures.is_empty(), "corpus failures:\n{}", failures.join("\n"));
    assert!(good > 80, "expected the corpus's good files, saw {good}");
    assert!(
        refused >= 5,
        "expected the corpus's malformed files, saw {refused}"
    );
}
