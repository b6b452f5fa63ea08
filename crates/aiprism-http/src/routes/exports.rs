//! Exports: `POST /api/v1/documents/{id}/exports`, `GET /api/v1/documents/{id}/exports`,
//! `GET /api/v1/exports/{id}`, `GET /api/v1/exports/{id}/file` (downloads go by export id, never by name).

use crate::auth::CurrentUser;
use aiprism_app::App;
use aiprism_app::exports::ExportRequest;
use aiprism_core::{DocumentId, Export, ExportDestination, ExportId, ExportKind};
use axum::Json;
use axum::body::{Body, Bytes};
use axum::extract::{Path, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use serde_json::{Value, json};

use crate::dto::time;
use crate::error::ApiError;

/// `Export` as the API shows it.
fn export_json(e: &Export) -> Value {
    json!({
        "id": e.id.as_str(),
        "document_id": e.document_id.as_str(),
        "kind": e.kind.as_str(),
        "destination": e.destination.as_str(),
        "status": e.status,
        "filename": e.filename,
        "media_type": e.media_type,
        "size_bytes": e.size_bytes,
        "sha256": e.sha256,
        "location": e.location,
        "comments_written": e.comments_written,
        "include_pending": e.include_pending,
        "error": e.error,
        "created_at": time(e.created_at),
        "download_url": format!("/api/v1/exports/{}/file", e.id),
    })
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct CreateBody {
    kind: ExportKind,
    #[serde(default = "download")]
    destination: ExportDestination,
    #[serde(default)]
    include_pending: bool,
    #[serde(default)]
    tracked_changes: bool,
}

fn download() -> ExportDestination {
    ExportDestination::Download
}

pub(crate) async fn create(
    State(app): State<App>,
    CurrentUser(user): CurrentUser,
    Path(id): Path<String>,
    bytes: Bytes,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    let body: CreateBody = serde_json::from_slice(&bytes).map_err(|e| {
        if e.is_data() {
            ApiError::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                "invalid_value",
                format!("The request has an invalid value: {e}"),
            )
        } else {
            ApiError::bad_request("invalid_json", format!("The request body is not valid JSON: {e}"))
        }
    })?;
    let request = ExportRequest {
        kind: body.kind,
        destination: body.destination,
        include_pending: body.include_pending,
        tracked_changes: body.tracked_changes,
    };
    let export = app.export(&user, &DocumentId::new(id), request).await?;
    Ok((StatusCode::CREATED, Json(export_json(&export))))
}

pub(crate) async fn list(
    State(app): State<App>,
    CurrentUser(user): CurrentUser,
    Path(id): Path<String>,
) -> Result<Json<Value>, ApiError> {
    let exports = app.exports(&user, &DocumentId::new(id)).await?;
    Ok(Json(
        json!({ "exports": exports.iter().map(export_json).collect::<Vec<_>>() }),
    ))
}

pub(crate) async fn show(
    State(app): State<App>,
    CurrentUser(user): CurrentUser,
    Path(id): Path<String>,
) -> Result<Json<Value>, ApiError> {
    Ok(Json(export_json(
        &app.export_record(&user, &ExportId::new(id)).await?,
    )))
}

pub(crate) async fn file(
    State(app): State<App>,
    CurrentUser(user): CurrentUser,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let (export, bytes) = app.export_file(&user, &ExportId::new(id)).await?;
    let mut response = (StatusCode::OK, Body::from(bytes)).into_response();
    let headers = response.headers_mut();
    if let Ok(v) = HeaderValue::from_str(&export.media_type) {
        headers.insert(header::CONTENT_TYPE, v);
    }
    // RFC 6266: an ASCII fallback name plus the UTF-8 name, so any file name downloads safely.
    let ascii: String = export
        .filename
        .chars()
        .map(|c| {
            if c.is_ascii_graphic() && c != '"' && c != '\\' {
                c
            } else {
                '_'
            }
        })
        .collect();
    let encoded: String = export
        .filename
        .bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect();
    if let Ok(v) = HeaderValue::from_str(&format!(
        "attachment; filename=\"{ascii}\"; filename*=UTF-8''{encoded}"
    )) {
        headers.insert(header::CONTENT_DISPOSITION, v);
    }
    headers.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("private, no-store"),
    );
    Ok(response)
}
