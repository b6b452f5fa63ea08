//! `aiprism check`: prints the resolved configuration (secrets redacted) and whether every configured
//! dependency answers. Exits 0 when all do, 1 otherwise.

use std::process::ExitCode;
use std::time::Instant;

use aiprism_app::{Objects, Settings};
use aiprism_store::{DocumentStore, SqlStore, redact_url};

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

    let models = if settings.models_configured() {
        "configured (model probes arrive with the review engine)"
    } else {
        "none configured: the built-in rule reviewer runs alone"
    };
    println!("  {:<14} {:<40} {}", "models", "-", models);
    let limits = if settings.redis.url.is_some() {
        "per process: each process keeps its own model request/token budget (REDIS_URL is set, but \
         shared limits are not implemented yet)"
    } else {
        "per process: each process keeps its own model request/token budget (no REDIS_URL)"
    };
    println!("  {:<14} {:<40} {}", "limits", "-", limits);
    let metrics = if settings.observability.metrics {
        "enabled: GET /metrics serves the Prometheus text format"
    } else {
        "disabled (ENABLE_METRICS=false): GET /metrics answers 404"
    };
    println!("  {:<14} {:<40} {}", "metrics", "/metrics", metrics);

    if ok { ExitCode::SUCCESS } else { ExitCode::from(1) }
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
