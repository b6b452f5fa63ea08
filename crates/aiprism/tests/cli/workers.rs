//! Separate `aiprism worker` processes on one database; one is killed with SIGKILL in the middle of a
//! 100-section review and nothing is lost or done twice.

use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use aiprism_store::Backend;
use aiprism_store::testing::TestDatabase;
use aiprism_testkit::fake_llm::{Behavior, FakeLlm};
use serde_json::Value;

use crate::support::{Server, aiprism};

const SECTIONS: usize = 100;

fn hundred_sections() -> String {
    let mut md = String::from("# Incident 4711\n\n");
    for i in 0..SECTIONS {
        md.push_str(&format!(
            "## Part {i}\n\nStep {i} of the response happened as planned. More text follows.\n\n"
        ));
    }
    md
}

struct Worker(Child);

impl Worker {
    fn start(mut command: Command) -> Self {
        let child = command
            .arg("worker")
            .stdout(Stdio::null())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("starting a worker");
        Worker(child)
    }

    fn kill_9(&mut self) {
        let pid = self.0.id().to_string();
        let status = Command::new("kill")
            .args(["-KILL", &pid])
            .status()
            .expect("kill -9");
        assert!(status.success());
        let _ = self.0.wait();
    }
}

impl Drop for Worker {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Every process gets the same configuration: one database, and a model chain whose quota does not slow
/// the test down (the fake answers each call after 150 ms).
fn configured(dir: &std::path::Path, db: &TestDatabase, fake: &FakeLlm) -> Command {
    let config = dir.join("aiprism.toml");
    if !config.exists() {
        let toml = format!(
            "[[models]]\nprovider = \"anthropic\"\nmodel = \"claude-sonnet-4-5\"\nbase_url = \"{}\"\n\
             api_key = \"sk-ant-test\"\nrequests_per_minute = 100000\ntokens_per_minute = 0\nmax_concurrency = 64\n",
            fake.url()
        );
        std::fs::write(&config, toml).unwrap();
    }
    let mut command = aiprism(dir);
    command
        .arg("--config")
        .arg(&config)
        .env("DATABASE_URL", &db.url)
        .env("AIPRISM_JOB_LEASE", "3")
        .env("AIPRISM_ANALYSIS_CONCURRENCY", "4");
    command
}

async fn a_worker_killed_mid_review_loses_nothing_and_duplicates_nothing(backend: Backend) {
    let fake = FakeLlm::start().await.unwrap();
    fake.set_default(Behavior::Delayed {
        millis: 150,
        then: Box::new(Behavior::Findings),
    });
    let db = TestDatabase::new(backend).await;
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(configured(dir.path(), &db, &fake));
    let mut doomed = Worker::start(configured(dir.path(), &db, &fake));
    let _survivor = Worker::start(configured(dir.path(), &db, &fake));

    let client = reqwest::Client::new();
    let form = reqwest::multipart::Form::new().part(
        "file",
        reqwest::multipart::Part::bytes(hundred_sections().into_bytes()).file_name("big.md"),
    );
    let doc: Value = client
        .post(format!("{}/api/v1/documents", server.base_url))
        .multipart(form)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let review_id = doc["review"]["id"].as_str().expect("review started").to_string();
    let total = doc["review"]["progress"]["sections_total"].as_u64().unwrap();
    assert_eq!(
        total as usize,
        SECTIONS + 1,
        "the title's preamble plus 100 parts"
    );

    let review_url = format!("{}/api/v1/reviews/{review_id}", server.base_url);
    let read = || async {
        client
            .get(&review_url)
            .send()
            .await
            .unwrap()
            .json::<Value>()
            .await
            .unwrap()
    };
    // Kill one worker once the review is well under way.
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let review = read().await;
        if review["progress"]["sections_done"].as_u64().unwrap() >= 10 {
            break;
        }
        assert!(Instant::now() < deadline, "the review did not start: {review}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    doomed.kill_9();
    let killed_at = read().await["progress"]["sections_done"].as_u64().unwrap();
    assert!(killed_at < total, "the worker was killed mid-review");

    let review = loop {
        let review = read().await;
        if !matches!(review["status"].as_str(), Some("queued" | "running")) {
            break review;
        }
        assert!(
            Instant::now() < deadline + Duration::from_secs(60),
            "the review never finished: {review}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    assert_eq!(review["status"], "succeeded", "{review}");
    assert_eq!(review["progress"]["sections_done"].as_u64(), Some(total));

    let findings: Value = client
        .get(format!(
            "{}/api/v1/documents/{}/findings?source=model",
            server.base_url,
            doc["id"].as_str().unwrap()
        ))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let mut per_section = std::collections::HashMap::<String, usize>::new();
    for f in findings["findings"].as_array().unwrap() {
        *per_section
            .entry(f["section_id"].as_str().unwrap().to_string())
            .or_default() += 1;
    }
    // Every section with text got its one model finding (the title's own section has no text).
    assert_eq!(per_section.len(), SECTIONS, "every section was reviewed");
    assert!(
        per_section.values().all(|n| *n == 1),
        "no section has duplicate findings: {per_section:?}"
    );

    let events = client
        .get(format!("{review_url}/events"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let done = events.matches("event: section_done").count();
    assert_eq!(done as u64, total, "every section finished exactly once");
    assert!(fake.requests().len() as u64 >= total);
    drop(server);
}

aiprism_testkit::on_each_backend!(a_worker_killed_mid_review_loses_nothing_and_duplicates_nothing);
