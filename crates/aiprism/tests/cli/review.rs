//! `aiprism review FILE...`: reports, exit codes, and a real model call through a fake provider.

use aiprism_testkit::fake_llm::FakeLlm;
use aiprism_testkit::fixtures;
use serde_json::Value;

use crate::support::aiprism;

fn writeup() -> Vec<u8> {
    fixtures::docx(&[
        ("Heading1", "Summary"),
        ("", "The outage affected customers. The owner is TBD."),
        ("Heading1", "Actions"),
        ("", "Add an alert on certificate expiry."),
    ])
}

fn report(dir: &std::path::Path, stem: &str) -> Value {
    let text = std::fs::read_to_string(dir.join(format!("{stem}.review.json"))).unwrap();
    serde_json::from_str(&text).unwrap()
}

fn assert_quotes_in_sections(report: &Value) {
    let sections = report["document"]["sections"].as_array().unwrap();
    for f in report["findings"].as_array().unwrap() {
        let section = sections.iter().find(|s| s["id"] == f["section_id"]).unwrap();
        let quote = f["quote"].as_str().unwrap();
        assert!(
            section["text"].as_str().unwrap().contains(quote),
            "{quote:?} not in {section}"
        );
    }
}

#[test]
fn without_a_model_it_writes_a_report_of_rule_findings_and_says_so() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("incident.docx");
    std::fs::write(&file, writeup()).unwrap();
    let out = dir.path().join("out");
    let output = aiprism(dir.path())
        .arg("review")
        .arg(&file)
        .arg("--out")
        .arg(&out)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert_eq!(
        output.status.code(),
        Some(0),
        "{stdout}\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(
        stdout.contains("incident.docx") && stdout.contains("succeeded"),
        "{stdout}"
    );
    let report = report(&out, "incident");
    assert_eq!(report["review"]["status"], "succeeded");
    assert!(
        report["review"]["notice"]
            .as_str()
            .unwrap()
            .contains("No AI model is configured")
    );
    assert_eq!(report["document"]["sections"].as_array().unwrap().len(), 2);
    let findings = report["findings"].as_array().unwrap();
    assert!(
        findings.iter().any(|f| f["rule_id"] == "placeholder-text"),
        "{findings:?}"
    );
    assert!(findings.iter().all(|f| f["source"] == "rule"));
    assert_quotes_in_sections(&report);
    // The reviewed .docx carries the findings the view shows (confidence at or above 0.8) as comments.
    let reviewed =
        std::fs::read(out.join("incident.reviewed.docx")).expect("the reviewed document is written");
    let comments = aiprism_docx::read_comments(&reviewed, &aiprism_docx::Limits::default()).unwrap();
    let shown = findings
        .iter()
        .filter(|f| f["confidence"].as_f64().unwrap() >= 0.8 - 1e-6)
        .count();
    assert!(shown > 0);
    assert_eq!(comments.len(), shown);
    assert!(
        comments
            .iter()
            .all(|c| c.author == "aiprism" && !c.text.contains("PENDING"))
    );
}

#[test]
fn fail_on_turns_findings_at_that_risk_into_exit_status_1() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("incident.docx");
    std::fs::write(&file, writeup()).unwrap();
    let status = |threshold: &str| {
        aiprism(dir.path())
            .args(["review", "--fail-on", threshold])
            .arg(&file)
            .output()
            .unwrap()
            .status
            .code()
    };
    assert_eq!(
        status("low"),
        Some(1),
        "the placeholder finding is at least low risk"
    );
    let bad = aiprism(dir.path())
        .args(["review", "--fail-on", "catastrophic"])
        .arg(&file)
        .output()
        .unwrap();
    assert_eq!(bad.status.code(), Some(2), "a bad option is a usage error");
}

#[test]
fn an_unreadable_file_exits_2_and_the_others_are_still_reviewed() {
    let dir = tempfile::tempdir().unwrap();
    let good = dir.path().join("good.md");
    std::fs::write(&good, "# Summary\n\nIt broke. TODO: explain.\n").unwrap();
    let bad = dir.path().join("bad.docx");
    std::fs::write(&bad, b"PK\x03\x04 not really a zip").unwrap();
    let output = aiprism(dir.path())
        .arg("review")
        .arg(&bad)
        .arg(&good)
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(2));
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(stdout.contains("error"), "{stdout}");
    assert!(dir.path().join("good.review.json").exists());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_a_model_the_report_has_verified_model_findings_usage_and_sarif() {
    let fake = FakeLlm::start().await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("incident.docx");
    std::fs::write(&file, writeup()).unwrap();
    let mut command = aiprism(dir.path());
    command
        .env("ANTHROPIC_API_KEY", "sk-ant-test")
        .env("ANTHROPIC_BASE_URL", fake.url())
        .args(["review", "--format", "sarif"])
        .arg(&file);
    let output = tokio::task::spawn_blocking(move || command.output().unwrap())
        .await
        .unwrap();
    assert_eq!(
        output.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let report = report(dir.path(), "incident");
    assert_eq!(
        report["review"]["models_used"],
        serde_json::json!(["claude-sonnet-4-5"])
    );
    assert!(report["usage"]["input_tokens"].as_u64().unwrap() > 0);
    let findings = report["findings"].as_array().unwrap();
    assert!(findings.iter().any(|f| f["source"] == "model"));
    assert_quotes_in_sections(&report);
    let sarif: Value =
        serde_json::from_str(&std::fs::read_to_string(dir.path().join("incident.review.sarif")).unwrap())
            .unwrap();
    assert_eq!(sarif["version"], "2.1.0");
    assert_eq!(
        sarif["runs"][0]["results"].as_array().unwrap().len(),
        findings.len()
    );
    assert!(!String::from_utf8_lossy(&output.stdout).contains("sk-ant-test"));
}
