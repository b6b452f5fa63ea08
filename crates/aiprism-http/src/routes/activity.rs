//! `GET /api/v1/documents/{id}/activity?format=json|csv`: the document's audit trail; and
//! `GET /api/v1/activity?format=json|csv&limit=N`: the newest entries across the user's documents.

use crate::auth::CurrentUser;
use aiprism_app::App;
use aiprism_core::{Activity, DocumentId};
use axum::Json;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use serde_json::json;

use crate::dto::time;
use crate::error::ApiError;

#[derive(Deserialize)]
pub(crate) struct Format {
    format: Option<String>,
    limit: Option<u32>,
}

/// Entries shown when the request names no limit.
const DEFAULT_RECENT: u32 = 100;

pub(crate) async fn recent(
    State(app): State<App>,
    CurrentUser(user): CurrentUser,
    Query(q): Query<Format>,
) -> Result<Response, ApiError> {
    let entries = app
        .recent_activity(&user, q.limit.unwrap_or(DEFAULT_RECENT))
        .await?;
    render(&entries, q.format.as_deref(), "activity.csv", true)
}

pub(crate) async fn activity(
    State(app): State<App>,
    CurrentUser(user): CurrentUser,
    Path(id): Path<String>,
    Query(q): Query<Format>,
) -> Result<Response, ApiError> {
    let document = DocumentId::new(id);
    let entries = app.activity(&user, &document).await?;
    render(
        &entries,
        q.format.as_deref(),
        &format!("activity-{document}.csv"),
        false,
    )
}

/// The trail as JSON (`{"activity": [...]}`) or as a CSV attachment named `filename`.
/// `across` adds a `document_id` column (the cross-document log); a document's own CSV keeps its columns.
fn render(
    entries: &[Activity],
    format: Option<&str>,
    filename: &str,
    across: bool,
) -> Result<Response, ApiError> {
    match format.unwrap_or("json") {
        "json" => {
            let rows: Vec<_> = entries
                .iter()
                .map(|a| {
                    json!({
                        "id": a.id, "at": time(a.at), "actor": a.actor_name, "actor_id": a.actor_id.as_str(),
                        "action": a.action.as_str(), "details": a.details,
                        "document_id": a.document_id.as_ref().map(|d| d.as_str()),
                    })
                })
                .collect();
            Ok(Json(json!({ "activity": rows })).into_response())
        }
        "csv" => {
            let mut out = String::from(if across {
                "id,at,actor,action,details,document_id\r\n"
            } else {
                "id,at,actor,action,details\r\n"
            });
            for a in entries {
                let mut fields = vec![
                    a.id.to_string(),
                    time(a.at),
                    a.actor_name.clone(),
                    a.action.as_str().to_string(),
                    a.details.to_string(),
                ];
                if across {
                    fields.push(
                        a.document_id
                            .as_ref()
                            .map(|d| d.as_str().to_string())
                            .unwrap_or_default(),
                    );
                }
                let line: Vec<String> = fields.iter().map(|f| csv_field(f)).collect();
                out.push_str(&line.join(","));
                out.push_str("\r\n");
            }
            let disposition = format!("attachment; filename=\"{filename}\"");
            let mut response = (StatusCode::OK, out).into_response();
            let headers = response.headers_mut();
            headers.insert(
                header::CONTENT_TYPE,
                HeaderValue::from_static("text/csv; charset=utf-8"),
            );
            if let Ok(v) = HeaderValue::from_str(&disposition) {
                headers.insert(header::CONTENT_DISPOSITION, v);
            }
            Ok(response)
        }
        other => Err(ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_format",
            format!("format must be json or csv, not {other:?}"),
        )),
    }
}

/// One CSV field (RFC 4180), with spreadsheet formula characters neutralised so an exported trail cannot
/// run a formula when opened.
pub(crate) fn csv_field(value: &str) -> String {
    let value = if value.starts_with(['=', '+', '-', '@', '\t', '\r']) {
        format!("'{value}")
    } else {
        value.to_string()
    };
    if value.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", value.replace('"', "\"\""))
    } else {
        value
    }
}

#[cfg(test)]
mod tests {
    use super::csv_field;

    #[test]
    fn csv_fields_are_quoted_and_formulas_neutralised() {
        assert_eq!(csv_field("plain"), "plain");
        assert_eq!(csv_field("a,b"), "\"a,b\"");
        assert_eq!(csv_field("say \"hi\""), "\"say \"\"hi\"\"\"");
        assert_eq!(csv_field("=SUM(A1)"), "'=SUM(A1)");
    }
}
