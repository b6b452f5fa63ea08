//! `serve`, `migrate`, `check` and the placeholders of commands that arrive later.

use crate::support::{Server, aiprism};

#[test]
fn serve_answers_health_and_stops_cleanly_on_sigterm() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(aiprism(dir.path()));
    let health: serde_json::Value = reqwest::blocking::get(format!("{}/health", server.base_url))
        .unwrap()
        .json()
        .unwrap();
    assert_eq!(health["status"], "ok");
    let ready = reqwest::blocking::get(format!("{}/ready", server.base_url)).unwrap();
    assert_eq!(ready.status(), 200);
    assert!(
        dir.path().join("aiprism.db").exists(),
        "the embedded default is an SQLite file in the data dir"
    );
    let status = server.terminate();
    assert!(status.success(), "serve exited with {status}");
}

#[test]
fn an_invalid_variable_stops_start_up_and_names_it() {
    let dir = tempfile::tempdir().unwrap();
    let output = aiprism(dir.path())
        .env("FEEDBACK_MIN_CONFIDENCE", "1.5")
        .arg("serve")
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("FEEDBACK_MIN_CONFIDENCE"), "{stderr}");
}

#[test]
fn check_redacts_secrets_and_reports_an_unreachable_database() {
    let dir = tempfile::tempdir().unwrap();
    let output = aiprism(dir.path())
        .env("DATABASE_URL", "postgres://app:hunter2@127.0.0.1:1/aiprism")
        .env("ANTHROPIC_API_KEY", "sk-ant-top-secret")
        .env("SECRET_KEY", "cookie-secret-value")
        .env("REDIS_URL", "redis://:redispass@127.0.0.1:6379")
        .env("AIPRISM_METRICS_TOKEN", "scrape-token-value")
        .arg("check")
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    for secret in [
        "hunter2",
        "sk-ant-top-secret",
        "cookie-secret-value",
        "redispass",
        "scrape-token-value",
    ] {
        assert!(
            !stdout.contains(secret) && !stderr.contains(secret),
            "{secret} leaked:\n{stdout}\n{stderr}"
        );
    }
    assert!(
        stdout.contains("postgres://app:***@127.0.0.1:1/aiprism"),
        "{stdout}"
    );
    assert!(
        stdout.contains("FAILED"),
        "an unreachable database must be reported: {stdout}"
    );
    assert!(
        stdout.contains("redis://:***@127.0.0.1:6379"),
        "Redis is shown redacted: {stdout}"
    );
    assert_eq!(output.status.code(), Some(1));
}

#[test]
fn check_reports_redis_and_that_sessions_and_limits_are_shared_through_it() {
    let Some(url) = aiprism_redis::testing::test_url() else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let output = aiprism(dir.path())
        .env("REDIS_URL", &url)
        .arg("check")
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(output.status.success(), "{stdout}");
    assert!(stdout.contains("ok (PING answers, Redis "), "{stdout}");
    for line in ["model limits", "sessions", "api limits"] {
        let shown = stdout
            .lines()
            .find(|l| l.trim_start().starts_with(line))
            .unwrap_or("");
        assert!(
            shown.contains("shared across processes (Redis)"),
            "{line}: {stdout}"
        );
    }
}

#[test]
fn check_passes_on_the_embedded_defaults() {
    let dir = tempfile::tempdir().unwrap();
    let output = aiprism(dir.path()).arg("check").output().unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(output.status.success(), "{stdout}");
    assert!(stdout.contains("rule reviewer runs alone"), "{stdout}");
    assert!(
        stdout.contains("database") && stdout.contains("ok (sqlite answers"),
        "{stdout}"
    );
    assert!(stdout.contains("per process (no REDIS_URL)"), "{stdout}");
    assert!(
        !stdout.contains("PING"),
        "no Redis is probed without REDIS_URL: {stdout}"
    );
}

#[test]
fn migrate_applies_the_schema_once() {
    let dir = tempfile::tempdir().unwrap();
    let first = aiprism(dir.path()).arg("migrate").output().unwrap();
    assert!(
        first.status.success(),
        "{}",
        String::from_utf8_lossy(&first.stderr)
    );
    let first = String::from_utf8_lossy(&first.stdout).to_string();
    assert!(!first.contains(": 0 migration"), "{first}");
    let second = aiprism(dir.path()).arg("migrate").output().unwrap();
    assert!(String::from_utf8_lossy(&second.stdout).contains(": 0 migration(s) applied"));
}

#[tokio::test]
async fn migrate_works_on_postgres() {
    if !aiprism_testkit::app::postgres_available() {
        return;
    }
    let db = aiprism_store::testing::TestDatabase::postgres().await;
    let dir = tempfile::tempdir().unwrap();
    let output = aiprism(dir.path())
        .env("DATABASE_URL", &db.url)
        .arg("migrate")
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(String::from_utf8_lossy(&output.stdout).contains("schema up to date"));
}

#[test]
fn user_commands_create_a_user_set_a_password_and_print_a_token_once() {
    let dir = tempfile::tempdir().unwrap();
    let run = |args: &[&str], stdin: Option<&str>| {
        let mut command = aiprism(dir.path());
        command.arg("user").args(args);
        command.stdin(std::process::Stdio::piped());
        command.stdout(std::process::Stdio::piped());
        command.stderr(std::process::Stdio::piped());
        let mut child = command.spawn().unwrap();
        {
            use std::io::Write;
            let mut input = child.stdin.take().unwrap();
            if let Some(text) = stdin {
                input.write_all(text.as_bytes()).unwrap();
            }
        }
        child.wait_with_output().unwrap()
    };
    let added = run(
        &["add", "Alice", "--role", "admin", "--password-stdin"],
        Some("s3cret-pass\n"),
    );
    assert!(
        added.status.success(),
        "{}",
        String::from_utf8_lossy(&added.stderr)
    );
    let stdout = String::from_utf8_lossy(&added.stdout);
    assert!(stdout.contains("created Alice (admin"), "{stdout}");
    assert!(!stdout.contains("s3cret-pass"), "the password is never echoed");

    let again = run(&["add", "alice", "--password-stdin"], Some("another-pass\n"));
    assert_eq!(again.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&again.stderr).contains("already exists"));

    let weak = run(&["passwd", "alice", "--password-stdin"], Some("short\n"));
    assert_eq!(weak.status.code(), Some(1));
    let generated = run(&["passwd", "alice"], None);
    assert!(
        generated.status.success(),
        "{}",
        String::from_utf8_lossy(&generated.stderr)
    );
    assert!(String::from_utf8_lossy(&generated.stdout).contains("password (shown once): "));

    let token = run(&["token", "alice", "--label", "ci"], None);
    assert!(
        token.status.success(),
        "{}",
        String::from_utf8_lossy(&token.stderr)
    );
    let printed = String::from_utf8_lossy(&token.stdout).trim().to_string();
    assert!(printed.starts_with("aip_") && printed.len() == 68, "{printed}");

    let missing = run(&["token", "nobody"], None);
    assert_eq!(missing.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&missing.stderr).contains("not found"));
}

/// Starts `serve` with stderr captured; returns the child and stderr lines up to the "listening" line
/// (printed on stdout, after the start-up messages).
fn serve_with_stderr(
    command: &mut std::process::Command,
    needle: &str,
) -> (std::process::Child, Vec<String>) {
    use std::io::BufRead;
    let mut child = command
        .args(["serve", "--bind", "127.0.0.1:0", "--no-workers"])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let stderr = child.stderr.take().unwrap();
    let mut seen = Vec::new();
    for line in std::io::BufReader::new(stderr).lines() {
        let line = line.unwrap();
        let done = line.contains(needle);
        seen.push(line);
        if done {
            break;
        }
    }
    (child, seen)
}

#[test]
fn serve_on_loopback_says_it_is_in_single_user_mode() {
    let dir = tempfile::tempdir().unwrap();
    let mut command = aiprism(dir.path());
    command.env("LOG_LEVEL", "info");
    let (mut child, lines) = serve_with_stderr(&mut command, "single-user mode");
    let _ = child.kill();
    let _ = child.wait();
    assert!(
        lines
            .iter()
            .any(|l| l.contains("single-user mode") && l.contains("AIPRISM_AUTH=accounts")),
        "{lines:?}"
    );
}

#[test]
fn serve_in_accounts_mode_without_accounts_prints_a_one_time_sign_in_link() {
    let dir = tempfile::tempdir().unwrap();
    let mut command = aiprism(dir.path());
    command.env("AIPRISM_AUTH", "accounts");
    let (mut child, lines) = serve_with_stderr(&mut command, "/signin/");
    let link = lines
        .iter()
        .find_map(|l| l.trim().strip_prefix("http://"))
        .map(|rest| format!("http://{rest}"));
    let page = link
        .as_deref()
        .map(|url| reqwest::blocking::get(url).unwrap().status());
    let _ = child.kill();
    let _ = child.wait();
    assert!(
        link.as_deref().is_some_and(|l| l.contains("/signin/")),
        "{lines:?}"
    );
    assert_eq!(
        page,
        Some(reqwest::StatusCode::OK),
        "the link opens the first-admin form"
    );
}

#[test]
fn single_user_mode_is_refused_off_loopback() {
    let dir = tempfile::tempdir().unwrap();
    let output = aiprism(dir.path())
        .env("AIPRISM_AUTH", "single-user")
        .args(["serve", "--bind", "0.0.0.0:0", "--no-workers"])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("not a loopback address"), "{stderr}");
}

#[tokio::test]
async fn a_new_password_ends_the_users_sessions_in_redis() {
    use aiprism_store::{SessionRecord, SessionStore};
    let Some(redis) = aiprism_redis::testing::TestRedis::new().await else {
        return;
    };
    let url = aiprism_redis::testing::test_url().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let run = |args: &[&str]| {
        aiprism(dir.path())
            .env("REDIS_URL", &url)
            .env("REDIS_KEY_PREFIX", &redis.config.prefix)
            .arg("user")
            .args(args)
            .output()
            .unwrap()
    };
    let added = run(&["add", "carol"]);
    assert!(
        added.status.success(),
        "{}",
        String::from_utf8_lossy(&added.stderr)
    );
    let stdout = String::from_utf8_lossy(&added.stdout).to_string();
    let id = stdout
        .split("id ")
        .nth(1)
        .and_then(|rest| rest.split(')').next())
        .unwrap()
        .to_string();
    let sessions = aiprism_redis::RedisSessionStore::new(redis.redis.clone());
    let now = chrono::Utc::now();
    sessions
        .insert_session(&SessionRecord {
            id_hash: "cd".repeat(32),
            user_id: aiprism_core::UserId::new(id),
            created_at: now,
            last_seen_at: now,
            expires_at: now + chrono::Duration::hours(1),
        })
        .await
        .unwrap();
    let changed = run(&["passwd", "carol"]);
    assert!(
        changed.status.success(),
        "{}",
        String::from_utf8_lossy(&changed.stderr)
    );
    assert_eq!(
        sessions.session(&"cd".repeat(32)).await.unwrap(),
        None,
        "the session kept in Redis ended with the old password"
    );
}
