//! `GET /api/v1/documents/{id}/findings?section=&status=&min_confidence=&source=`

use crate::auth::CurrentUser;
use aiprism_app::App;
use aiprism_core::{DocumentId, FindingSource, FindingStatus, SectionId};
use aiprism_store::FindingFilter;
use axum::Json;
use axum::extract::{Path, Query, State};
use serde::Deserialize;
use serde_json::{Value, json};

use crate::dto::FindingDto;
use crate::error::ApiError;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct FindingsQuery {
    section: Option<String>,
    status: Option<String>,
    min_confidence: Option<String>,
    source: Option<String>,
}

pub(crate) async fn list(
    State(app): State<App>,
    CurrentUser(user): CurrentUser,
    Path(id): Path<String>,
    Query(q): Query<FindingsQuery>,
) -> Result<Json<Value>, ApiError> {
    let invalid = |code: &'static str, message: String| {
        ApiError::new(axum::http::StatusCode::UNPROCESSABLE_ENTITY, code, message)
    };
    let status = q
        .status
        .filter(|s| !s.is_empty())
        .map(|s| {
            s.parse::<FindingStatus>()
                .map_err(|e| invalid("invalid_status", e.to_string()))
        })
        .transpose()?;
    let source = q
        .source
        .filter(|s| !s.is_empty())
        .map(|s| {
            s.parse::<FindingSource>()
                .map_err(|e| invalid("invalid_source", e.to_string()))
        })
        .transpose()?;
    let min_confidence = q
        .min_confidence
        .filter(|s| !s.is_empty())
        .map(|s| match s.parse::<f32>() {
            Ok(c) if (0.0..=1.0).contains(&c) => Ok(c),
            _ => Err(invalid(
                "invalid_min_confidence",
                format!("min_confidence must be between 0 and 1, not {s:?}"),
            )),
        })
        .transpose()?;
    let document = DocumentId::new(id);
    let filter = FindingFilter {
        section: q.section.filter(|s| !s.is_empty()).map(SectionId::new),
        status,
        min_confidence,
        source,
    };
    let findings = app.shown_findings(&user, &document, filter).await?;
    let findings: Vec<FindingDto> = findings.into_iter().map(FindingDto::shown).collect();
    Ok(Json(json!({ "findings": findings })))
}
