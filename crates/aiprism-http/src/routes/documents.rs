//! `POST/GET/DELETE /api/v1/documents...`

use crate::auth::CurrentUser;
use aiprism_app::{App, ReviewRequest, Upload};
use aiprism_core::DocumentId;
use axum::Json;
use axum::extract::multipart::{Field, MultipartRejection};
use axum::extract::{Multipart, Path, State};
use axum::http::{HeaderMap, StatusCode, header};
use bytes::Bytes;
use serde_json::json;

use crate::dto::{DocumentDto, DocumentSummaryDto};
use crate::error::{ApiError, human_bytes};

/// The largest multipart body accepted: the document and an optional guidelines file, each up to the
/// limit, plus a little framing (each file is checked against the limit on its own).
pub(crate) fn body_limit(app: &App) -> usize {
    let max = app.settings.server.max_upload_bytes;
    usize::try_from(max.saturating_mul(2).saturating_add(64 * 1024)).unwrap_or(usize::MAX)
}

pub(crate) async fn list(
    State(app): State<App>,
    CurrentUser(user): CurrentUser,
) -> Result<Json<serde_json::Value>, ApiError> {
    let documents = app.documents(&user).await?;
    let documents: Vec<_> = documents
        .into_iter()
        .map(|d| DocumentSummaryDto::new(d.meta, d.section_count))
        .collect();
    Ok(Json(json!({ "documents": documents })))
}

pub(crate) async fn show(
    State(app): State<App>,
    CurrentUser(user): CurrentUser,
    Path(id): Path<String>,
) -> Result<Json<DocumentDto>, ApiError> {
    let id = DocumentId::new(id);
    let view = app.document(&user, &id).await?;
    let review = app.latest_review(&user, &id).await?;
    Ok(Json(DocumentDto::new(view, review)))
}

pub(crate) async fn remove(
    State(app): State<App>,
    CurrentUser(user): CurrentUser,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    app.delete_document(&user, &DocumentId::new(id)).await?;
    Ok(StatusCode::NO_CONTENT)
}

pub(crate) async fn upload(
    State(app): State<App>,
    CurrentUser(user): CurrentUser,
    headers: HeaderMap,
    multipart: Result<Multipart, MultipartRejection>,
) -> Result<(StatusCode, Json<DocumentDto>), ApiError> {
    let max = app.settings.server.max_upload_bytes;
    if let Some(length) = headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok()?.parse::<u64>().ok())
        && length > max.saturating_mul(2).saturating_add(64 * 1024)
    {
        return Err(ApiError::too_large(max));
    }
    let mut multipart = multipart.map_err(|e| {
        ApiError::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "expected_multipart",
            format!("Send the document as multipart/form-data with a `file` field ({e})."),
        )
    })?;

    let mut upload = Upload {
        start_review: true,
        ..Upload::default()
    };
    let mut have_file = false;
    while let Some(field) = multipart
        .next_field()
        .await
        .map_err(|e| multipart_error(&e, max))?
    {
        let name = field.name().unwrap_or_default().to_string();
        match name.as_str() {
            "file" => {
                let filename = field.file_name().unwrap_or("document").to_string();
                upload.bytes = read_file(field, max).await?;
                upload.filename = filename;
                have_file = true;
            }
            "guidelines" => {
                let filename = field.file_name().unwrap_or("guidelines").to_string();
                let bytes = read_file(field, max).await?;
                if !bytes.is_empty() {
                    upload.guidelines = Some((filename, bytes));
                }
            }
            "framework" => upload.framework = non_empty(read_text(field, max).await?),
            "document_type" => upload.document_type = non_empty(read_text(field, max).await?),
            "review" => {
                let value = read_text(field, max).await?;
                upload.start_review = match value.trim().to_ascii_lowercase().as_str() {
                    "" | "true" | "1" | "yes" | "on" => true,
                    "false" | "0" | "no" | "off" => false,
                    other => {
                        return Err(ApiError::new(
                            StatusCode::UNPROCESSABLE_ENTITY,
                            "invalid_review_flag",
                            format!("`review` must be true or false, not {other:?}."),
                        ));
                    }
                }
            }
            // Unknown fields are ignored so older and newer clients keep working.
            _ => {}
        }
    }
    if !have_file {
        return Err(ApiError::bad_request(
            "missing_file",
            "The upload has no `file` field.",
        ));
    }
    if upload.bytes.is_empty() {
        return Err(ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "empty_file",
            "The uploaded file is empty.",
        ));
    }
    let start_review = upload.start_review;
    let view = app.upload(&user, upload).await?;
    let review = if start_review {
        Some(
            app.start_review(&user, &view.meta.id, ReviewRequest::default())
                .await?,
        )
    } else {
        None
    };
    Ok((StatusCode::CREATED, Json(DocumentDto::new(view, review))))
}

/// Reads a file field, refusing it as soon as it passes the limit.
async fn read_file(mut field: Field<'_>, max: u64) -> Result<Bytes, ApiError> {
    let mut buffer = Vec::new();
    while let Some(chunk) = field.chunk().await.map_err(|e| multipart_error(&e, max))? {
        buffer.extend_from_slice(&chunk);
        if u64::try_from(buffer.len()).unwrap_or(u64::MAX) > max {
            return Err(ApiError::new(
                StatusCode::PAYLOAD_TOO_LARGE,
                "too_large",
                format!(
                    "The file is larger than the upload limit of {}.",
                    human_bytes(max)
                ),
            ));
        }
    }
    Ok(Bytes::from(buffer))
}

async fn read_text(field: Field<'_>, max: u64) -> Result<String, ApiError> {
    let bytes = read_file(field, max.min(64 * 1024)).await?;
    String::from_utf8(bytes.to_vec())
        .map_err(|_| ApiError::bad_request("invalid_field", "A form field is not valid UTF-8 text."))
}

fn non_empty(s: String) -> Option<String> {
    let t = s.trim();
    (!t.is_empty()).then(|| t.to_string())
}

fn multipart_error(e: &axum::extract::multipart::MultipartError, max: u64) -> ApiError {
    if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
        ApiError::too_large(max)
    } else {
        ApiError::bad_request(
            "malformed_multipart",
            format!("The multipart body could not be read: {}", e.body_text()),
        )
    }
}
