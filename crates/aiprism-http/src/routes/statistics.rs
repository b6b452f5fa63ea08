//! `GET /api/v1/documents/{id}/statistics`, `GET /api/v1/statistics` (across your documents) and
//! `GET /api/v1/learning`.

use crate::auth::CurrentUser;
use aiprism_app::App;
use aiprism_core::DocumentId;
use axum::Json;
use axum::extract::{Path, State};
use serde_json::{Value, json};

use crate::error::ApiError;

pub(crate) async fn document(
    State(app): State<App>,
    CurrentUser(user): CurrentUser,
    Path(id): Path<String>,
) -> Result<Json<Value>, ApiError> {
    let stats = app.document_statistics(&user, &DocumentId::new(id)).await?;
    Ok(Json(serde_json::to_value(stats).unwrap_or_default()))
}

pub(crate) async fn overall(
    State(app): State<App>,
    CurrentUser(user): CurrentUser,
) -> Result<Json<Value>, ApiError> {
    let stats = app.overall_statistics(&user).await?;
    Ok(Json(serde_json::to_value(stats).unwrap_or_default()))
}

pub(crate) async fn learning(
    State(app): State<App>,
    CurrentUser(user): CurrentUser,
) -> Result<Json<Value>, ApiError> {
    let learning = app.learning(&user).await?;
    let report = serde_json::to_value(learning.report()).unwrap_or_default();
    Ok(Json(json!({
        "frameworks": report["frameworks"],
        "min_decisions": aiprism_app::learning::MIN_DECISIONS,
        "max_examples": aiprism_app::learning::MAX_EXAMPLES,
    })))
}
