//! `aiprism check`: prints the resolved configuration (secrets redacted), whether every configured
//! dependency answers (Redis too, when `REDIS_URL` is set), and where sessions and limits live. Exits 0
//! when all dependencies answer, 1 otherwise.

use std::process::ExitCode;
use std::time::Instant;

use aiprism_app::{Objects, Settings};
use aiprism_redis::{Redis, RedisConfig};
use aiprism_store::{DocumentStore, SqlStore, redact_url};
use secrecy::ExposeSecret;

/// Runs the command.
pub async fn run(settings: &Settings) -> ExitCode {
    println!("Configuration (secrets shown as ***):");
    let rows = settings.describe();
    let width = rows.iter().map(|(k, _)| k.len()).max().unwrap_or(0);
    for (key, value) in &rows {
        println!("  {key:width$}  {value}");
    }
    println!();
    println!("Dependencies:");
    let mut ok = true;

    let started = Instant::now();
    let url = settings.database_url();
    let database = async {
        if settings.database.url.is_none() {
            std::fs::create_dir_all(&settings.server.data_dir).map_err(|e| e.to_string())?;
        }
        let store = SqlStore::connect(&url).await.map_err(|e| e.to_string())?;
        store.ping().await.map_err(|e| e.to_string())?;
        Ok::<_, String>(store.backend().as_str())
    }
    .await;
    ok &= report(
        "database",
        &redact_url(&url),
        database.map(|b| format!("{b} answers")),
        started,
    );

    let started = Instant::now();
    let objects = match Objects::from_settings(settings) {
        Ok(objects) => {
            let description = objects.description().to_string();
            (
                description,
                objects
                    .probe()
                    .await
                    .map(|()| "write, read and delete work".to_string()),
            )
        }
        Err(e) => ("(invalid)".to_string(), Err(e)),
    };
    ok &= report(
        "object store",
        &objects.0,
        objects.1.map_err(|e| e.to_string()),
        started,
    );

    if let Some(config) = RedisConfig::from_settings(&settings.redis) {
        let started = Instant::now();
        let answer = async {
            let redis = Redis::connect(&config).await?;
            redis.ping().await
        }
        .await
        .map(|info| format!("PING answers, Redis {}", info.version))
        .map_err(|e| e.to_string());
        ok &= report("redis", &redact_url(config.url.expose_secret()), answer, started);
    }

    let models = if settings.models_configured() {
        "configured (model probes arrive with the review engine)"
    } else {
        "none configured: the built-in rule reviewer runs alone"
    };
    println!("  {:<14} {:<40} {}", "models", "-", models);
    for (name, line) in shared_state(settings) {
        println!("  {name:<14} {:<40} {line}", "-");
    }
    let metrics = if settings.observability.metrics {
        "enabled: GET /metrics serves the Prometheus text format"
    } else {
        "disabled (ENABLE_METRICS=false): GET /metrics answers 404"
    };
    println!("  {:<14} {:<40} {}", "metrics", "/metrics", metrics);

    if ok { ExitCode::SUCCESS } else { ExitCode::from(1) }
}

/// Where sessions, model limits and API limits live, one line each.
fn shared_state(settings: &Settings) -> [(&'static str, String); 3] {
    let redis = settings.redis.url.is_some();
    let model_limits = if redis {
        "shared across processes (Redis): one request/token budget and cooldown per endpoint".to_string()
    } else {
        "per process (no REDIS_URL): each process keeps its own request/token budget and cooldowns".into()
    };
    let sessions = if redis {
        "shared across processes (Redis)".to_string()
    } else {
        "in the database, shared by every process using it (no REDIS_URL)".into()
    };
    let api = settings.api_limits.per_minute;
    let api_limits = match (api, redis) {
        (0, _) => "off (AIPRISM_API_RATE_PER_MINUTE=0)".to_string(),
        (n, true) => format!(
            "{n}/min per user, bursts of {}: shared across processes (Redis)",
            settings.api_limits.burst
        ),
        (n, false) => format!(
            "{n}/min per user, bursts of {}: per process (no REDIS_URL)",
            settings.api_limits.burst
        ),
    };
    [
        ("model limits", model_limits),
        ("sessions", sessions),
        ("api limits", api_limits),
    ]
}

fn report(name: &str, target: &str, result: Result<String, String>, started: Instant) -> bool {
    let ms = started.elapsed().as_millis();
    match result {
        Ok(detail) => {
            println!("  {name:<14} {target:<40} ok ({detail}, {ms} ms)");
            true
        }
        Err(e) => {
            println!("  {name:<14} {target:<40} FAILED: {e}");
            false
        }
    }
}
