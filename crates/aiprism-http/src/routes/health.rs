//! Liveness and readiness.

use aiprism_app::App;
use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::get;
use axum::{Json, Router};
use serde_json::{Value, json};

pub(crate) fn routes() -> Router<App> {
    Router::new()
        .route("/health", get(health))
        .route("/ready", get(ready))
}

/// Liveness: answers while the process serves; checks nothing else.
async fn health() -> Json<Value> {
    Json(json!({"status": "ok", "version": env!("CARGO_PKG_VERSION")}))
}

/// Readiness: the database, the object store, the queue and (when configured) Redis must answer now,
/// and a reviewer must be usable (the rule reviewer always is; model endpoints are listed with their
/// state). The monitoring job's latest probes are included for context.
async fn ready(State(app): State<App>) -> (StatusCode, Json<Value>) {
    let live = app.probe().await;
    // The shared-state service (Redis) holds the sessions when it is configured, so it is essential too.
    let shared = app.shared.as_ref().map(|s| s.name());
    let essential = |name: &str| {
        name == "database" || name == "object_store" || name.starts_with("queue:") || Some(name) == shared
    };
    let all_ok = live.iter().filter(|c| essential(&c.name)).all(|c| c.ok);
    let checks: serde_json::Map<String, Value> = live
        .iter()
        .map(|c| {
            (
                c.name.clone(),
                json!({"ok": c.ok, "detail": c.detail, "latency_ms": c.latency_ms}),
            )
        })
        .collect();
    let models_usable = live
        .iter()
        .filter(|c| c.name.starts_with("model:"))
        .filter(|c| c.ok)
        .count();
    let reviewer = json!({
        "ok": true,
        "rules": true,
        "models_configured": app.router.is_some(),
        "models_usable": models_usable,
    });
    let database_ok = live.iter().any(|c| c.name == "database" && c.ok);
    // With the database down this read would only wait out the pool's timeout a second time.
    let recorded = if database_ok {
        app.store.health_checks().await.ok()
    } else {
        None
    };
    let monitored = match recorded {
        Some(recorded) => recorded
            .into_iter()
            .map(|c| json!({"name": c.name, "ok": c.ok, "detail": c.detail, "checked_at": crate::dto::time(c.checked_at)}))
            .collect::<Vec<_>>(),
        None => Vec::new(),
    };
    let status = if all_ok {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    let body = json!({
        "status": if all_ok { "ready" } else { "unavailable" },
        "checks": checks,
        "reviewer": reviewer,
        "last_monitoring": monitored,
    });
    (status, Json(body))
}
