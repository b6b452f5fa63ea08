//! `GET /api/v1/models` (each endpoint's state) and `POST /api/v1/models/reset` (clear cooldowns).

use aiprism_app::App;
use axum::Json;
use axum::extract::State;
use serde_json::{Value, json};

pub(crate) async fn list(State(app): State<App>) -> Json<Value> {
    match &app.router {
        Some(router) => {
            let endpoints = router.snapshot().await;
            Json(json!({ "configured": true, "rule_reviewer": true, "endpoints": endpoints }))
        }
        None => Json(json!({
            "configured": false,
            "rule_reviewer": true,
            "endpoints": [],
            "notice": aiprism_app::review::service::RULES_ONLY_NOTICE,
        })),
    }
}

pub(crate) async fn reset(State(app): State<App>) -> Json<Value> {
    if let Some(router) = &app.router {
        router.reset().await;
    }
    list(State(app)).await
}
