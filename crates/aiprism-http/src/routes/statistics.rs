//! `GET /api/v1/documents/{id}/statistics`, `GET /api/v1/statistics` (across your documents) and
//! `GET /api/v1/learning`.

use aiprism_app::App;
use aiprism_core::DocumentId;
use axum::extract::{Path, State};
use axum::routing::get;
use axum::{Json, Router};
use serde_json::{Value, json};

use crate::error::ApiError;

pub(crate) fn routes() -> Router<App> {
    Router::new()
        .route("/documents/{id}/statistics", get(document))
        .route("/statistics", get(overall))
        .route("/learning", get(learning))
}

async fn document(State(app): State<App>, Path(id): Path<String>) -> Result<Json<Value>, ApiError> {
    let stats = app
        .document_statistics(&app.local_user(), &DocumentId::new(id))
        .await?;
    Ok(Json(serde_json::to_value(stats).unwrap_or_default()))
}

async fn overall(State(app): State<App>) -> Result<Json<Value>, ApiError> {
    let stats = app.overall_statistics(&app.local_user()).await?;
    Ok(Json(serde_json::to_value(stats).unwrap_or_default()))
}

async fn learning(State(app): State<App>) -> Result<Json<Value>, ApiError> {
    let learning = app.learning(&app.local_user()).await?;
    let report = serde_json::to_value(learning.report()).unwrap_or_default();
    Ok(Json(json!({
        "frameworks": report["frameworks"],
        "min_decisions": aiprism_app::learning::MIN_DECISIONS,
        "max_examples": aiprism_app::learning::MAX_EXAMPLES,
    })))
}
