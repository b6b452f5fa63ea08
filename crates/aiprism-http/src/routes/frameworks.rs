//! `GET /api/v1/frameworks`, `GET /api/v1/frameworks/{id}`, `POST /api/v1/frameworks` (TOML body, or
//! multipart with a `file` field).

use crate::auth::CurrentUser;
use aiprism_app::App;
use aiprism_app::frameworks::FrameworkInfo;
use axum::Json;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode, header};
use serde_json::{Value, json};

use crate::error::ApiError;

/// The largest framework file accepted.
const MAX_FRAMEWORK_BYTES: usize = 512 * 1024;

fn summary(info: &FrameworkInfo) -> Value {
    let f = &info.framework;
    json!({
        "id": f.id,
        "name": f.name,
        "description": f.description,
        "version": f.version,
        "builtin": info.builtin,
        "checkpoints": f.checkpoints.len(),
        "rules": f.rules.iter().filter(|r| r.enabled).count(),
    })
}

fn detail(info: &FrameworkInfo) -> Value {
    let f = &info.framework;
    json!({
        "id": f.id,
        "name": f.name,
        "description": f.description,
        "version": f.version,
        "builtin": info.builtin,
        "checkpoints": f.checkpoints.iter().map(|c| json!({
            "id": c.id, "title": c.title, "guidance": c.guidance, "applies_to": c.applies_to,
        })).collect::<Vec<_>>(),
        "section_guidance": f.section_guidance.iter().map(|g| json!({
            "name": g.name, "applies_to": g.applies_to, "guidance": g.guidance,
        })).collect::<Vec<_>>(),
        "rules": f.rules.iter().map(|r| json!({
            "id": r.id, "kind": r.kind().as_str(), "message": r.message, "suggestion": r.suggestion,
            "type": r.finding_type.as_str(), "risk": r.risk.as_str(), "category": r.category,
            "applies_to": r.applies_to, "checkpoints": r.checkpoints, "enabled": r.enabled,
        })).collect::<Vec<_>>(),
        "source": info.source,
    })
}

pub(crate) async fn list(State(app): State<App>) -> Result<Json<Value>, ApiError> {
    let frameworks = app.frameworks().await?;
    Ok(Json(
        json!({ "frameworks": frameworks.iter().map(summary).collect::<Vec<_>>() }),
    ))
}

pub(crate) async fn show(State(app): State<App>, Path(id): Path<String>) -> Result<Json<Value>, ApiError> {
    let info = app.framework(&id).await?;
    Ok(Json(detail(&info)))
}

pub(crate) async fn upload(
    State(app): State<App>,
    CurrentUser(user): CurrentUser,
    headers: HeaderMap,
    body: Bytes,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    if body.len() > MAX_FRAMEWORK_BYTES {
        return Err(ApiError::too_large(MAX_FRAMEWORK_BYTES as u64));
    }
    let content_type = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    let bytes = if content_type.starts_with("multipart/form-data") {
        multipart_file(content_type, body).await?
    } else {
        body
    };
    let source = std::str::from_utf8(&bytes)
        .map_err(|_| ApiError::bad_request("invalid_encoding", "The framework must be UTF-8 TOML text."))?;
    if source.trim().is_empty() {
        return Err(ApiError::bad_request(
            "empty_body",
            "Send the framework's TOML as the request body.",
        ));
    }
    let info = app.upload_framework(&user, source).await?;
    Ok((StatusCode::CREATED, Json(detail(&info))))
}

/// The `file` field of a multipart body (the web form's way of sending a framework).
async fn multipart_file(content_type: &str, body: Bytes) -> Result<Bytes, ApiError> {
    let boundary = multer::parse_boundary(content_type)
        .map_err(|_| ApiError::bad_request("malformed_multipart", "The multipart body has no boundary."))?;
    let stream = futures::stream::once(async move { Ok::<Bytes, std::convert::Infallible>(body) });
    let mut multipart = multer::Multipart::new(stream, boundary);
    while let Some(field) = multipart.next_field().await.map_err(|e| {
        ApiError::bad_request(
            "malformed_multipart",
            format!("The multipart body could not be read: {e}"),
        )
    })? {
        if field.name() == Some("file") {
            return field.bytes().await.map_err(|e| {
                ApiError::bad_request(
                    "malformed_multipart",
                    format!("The file field could not be read: {e}"),
                )
            });
        }
    }
    Err(ApiError::bad_request(
        "missing_file",
        "The upload has no `file` field.",
    ))
}
