//! Decisions, edits and reviewer comments:
//! `POST /api/v1/findings/{id}/decision`, `PATCH/DELETE /api/v1/findings/{id}`,
//! `POST /api/v1/documents/{id}/comments`, `POST /api/v1/documents/{id}/decisions/reset`.

use crate::auth::CurrentUser;
use aiprism_app::App;
use aiprism_app::decisions::NewComment;
use aiprism_core::{DocumentId, FindingId, FindingStatus, FindingType, Risk, SectionId};
use aiprism_store::FindingEdit;
use axum::Json;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use serde::Deserialize;
use serde::de::DeserializeOwned;
use serde_json::{Value, json};

use crate::dto::FindingDto;
use crate::error::ApiError;

/// Parses a JSON body with the API's error shape: 400 for malformed JSON or unknown fields, 422 for a
/// value out of its set.
fn body<T: DeserializeOwned>(bytes: &Bytes) -> Result<T, ApiError> {
    serde_json::from_slice(bytes).map_err(|e| {
        if e.is_data() {
            ApiError::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                "invalid_value",
                format!("The request has an invalid value: {e}"),
            )
        } else {
            ApiError::bad_request("invalid_json", format!("The request body is not valid JSON: {e}"))
        }
    })
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct DecisionBody {
    status: FindingStatus,
    note: Option<String>,
}

pub(crate) async fn decide(
    State(app): State<App>,
    CurrentUser(user): CurrentUser,
    Path(id): Path<String>,
    bytes: Bytes,
) -> Result<Json<FindingDto>, ApiError> {
    let b: DecisionBody = body(&bytes)?;
    let finding = app
        .decide(&user, &FindingId::new(id), b.status, b.note.as_deref())
        .await?;
    Ok(Json(finding.into()))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct EditBody {
    description: Option<String>,
    suggestion: Option<String>,
    example: Option<String>,
    category: Option<String>,
    #[serde(rename = "type")]
    finding_type: Option<FindingType>,
    risk: Option<Risk>,
    questions: Option<Vec<String>>,
    highlight_color: Option<String>,
}

pub(crate) async fn edit(
    State(app): State<App>,
    CurrentUser(user): CurrentUser,
    Path(id): Path<String>,
    bytes: Bytes,
) -> Result<Json<FindingDto>, ApiError> {
    let b: EditBody = body(&bytes)?;
    let edit = FindingEdit {
        description: b.description,
        suggestion: b.suggestion,
        example: b.example,
        category: b.category,
        finding_type: b.finding_type,
        risk: b.risk,
        questions: b.questions,
        highlight_color: b.highlight_color,
    };
    if edit.is_empty() {
        return Err(ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "nothing_to_change",
            "The request changes no field.",
        ));
    }
    Ok(Json(
        app.edit_finding(&user, &FindingId::new(id), edit).await?.into(),
    ))
}

pub(crate) async fn remove(
    State(app): State<App>,
    CurrentUser(user): CurrentUser,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    app.delete_comment(&user, &FindingId::new(id)).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct CommentBody {
    section_id: String,
    text: String,
    #[serde(rename = "type")]
    finding_type: Option<FindingType>,
    category: Option<String>,
    quote: Option<String>,
    highlight_color: Option<String>,
    parent_id: Option<String>,
    risk: Option<Risk>,
}

pub(crate) async fn comment(
    State(app): State<App>,
    CurrentUser(user): CurrentUser,
    Path(id): Path<String>,
    bytes: Bytes,
) -> Result<(StatusCode, Json<FindingDto>), ApiError> {
    let b: CommentBody = body(&bytes)?;
    let comment = NewComment {
        section_id: SectionId::new(b.section_id),
        text: b.text,
        finding_type: b.finding_type,
        category: b.category,
        quote: b.quote,
        highlight_color: b.highlight_color,
        parent_id: b.parent_id.map(FindingId::new),
        risk: b.risk,
    };
    let finding = app.add_comment(&user, &DocumentId::new(id), comment).await?;
    Ok((StatusCode::CREATED, Json(finding.into())))
}

pub(crate) async fn reset(
    State(app): State<App>,
    CurrentUser(user): CurrentUser,
    Path(id): Path<String>,
) -> Result<Json<Value>, ApiError> {
    let reset = app.reset_decisions(&user, &DocumentId::new(id)).await?;
    Ok(Json(json!({ "reset": reset })))
}
