//! Page handlers: read what the store holds through [`App`], build a view, render it. Pages answer
//! `Cache-Control: no-cache` (always revalidated, so a reload shows the current state) and set the CSRF
//! cookie when the browser has none.

use crate::auth::CurrentUser;
use std::collections::HashMap;

use aiprism_app::{App, AppError};
use aiprism_core::{DocumentId, FindingSource, FindingStatus, Scope, User};
use aiprism_store::FindingFilter;
use askama::Template;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};

use super::csrf::{PageToken, page_token};
use super::views::{
    DashboardPage, DocumentRow, DocumentsPage, ErrorPage, FrameworkOption, ReviewPage, SectionLink,
    SectionView, Shell, StatisticsPage, label,
};
use crate::dto::ReviewDto;
use crate::error::human_bytes;

/// Renders a template into an HTML response with the page headers.
pub(super) fn render(template: &impl Template, token: &PageToken, status: StatusCode) -> Response {
    match template.render() {
        Ok(html) => {
            let mut response = (status, html).into_response();
            let headers = response.headers_mut();
            headers.insert(
                header::CONTENT_TYPE,
                HeaderValue::from_static("text/html; charset=utf-8"),
            );
            headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
            if let Some(cookie) = &token.set_cookie {
                headers.insert(header::SET_COOKIE, cookie.clone());
            }
            response
        }
        Err(e) => {
            tracing::error!(error = %e, "a page template failed to render");
            (
                StatusCode::INTERNAL_SERVER_ERROR,
                "Something went wrong on our side; it has been logged.",
            )
                .into_response()
        }
    }
}

/// An HTML error page for a failed page request (the API's JSON errors are for scripts).
pub(super) fn error_page(error: AppError, token: &PageToken) -> Response {
    let (status, heading, message) = match error {
        AppError::NotFound { what } => (
            StatusCode::NOT_FOUND,
            "Not found".to_string(),
            format!("This {what} does not exist, or it is not yours."),
        ),
        AppError::Internal(detail) => {
            tracing::error!(%detail, "internal error while rendering a page");
            (
                StatusCode::INTERNAL_SERVER_ERROR,
                "Something went wrong".to_string(),
                "Something went wrong on our side; it has been logged. Try again in a moment.".to_string(),
            )
        }
        other => {
            let message = other.to_string();
            let status = crate::ApiError::from(other).status();
            (status, "This page cannot be shown".to_string(), message)
        }
    };
    let page = ErrorPage {
        shell: Shell::new(heading.clone(), token.value.clone(), "", "js/shell.js"),
        heading,
        message,
    };
    render(&page, token, status)
}

/// `GET /`: the upload form and the user's documents, newest first.
pub(crate) async fn documents(
    State(app): State<App>,
    CurrentUser(user): CurrentUser,
    headers: HeaderMap,
) -> Response {
    let token = page_token(&headers);
    match documents_page(&app, &user, &token).await {
        Ok(page) => render(&page, &token, StatusCode::OK),
        Err(e) => error_page(e, &token),
    }
}

async fn documents_page(app: &App, user: &User, token: &PageToken) -> Result<DocumentsPage, AppError> {
    let scope = Scope::of(user);
    let default_framework = &app.settings.review.default_framework;
    let frameworks = app
        .frameworks()
        .await?
        .into_iter()
        .map(|f| FrameworkOption {
            selected: &f.framework.id == default_framework,
            id: f.framework.id.clone(),
            name: f.framework.name.clone(),
        })
        .collect();
    let mut rows = Vec::new();
    for summary in app.documents(user).await? {
        let meta = summary.meta;
        let review = app.latest_review(user, &meta.id).await?;
        let findings = app
            .store
            .findings(&scope, &meta.id, &FindingFilter::default())
            .await
            .map_err(AppError::from)?;
        let mut last = meta.created_at;
        let count = |status: FindingStatus| findings.iter().filter(|f| f.status == status).count();
        for f in &findings {
            last = last.max(f.created_at).max(f.decided_at.unwrap_or(f.created_at));
        }
        if let Some(r) = &review {
            last = last.max(r.created_at).max(r.finished_at.unwrap_or(r.created_at));
        }
        rows.push(DocumentRow {
            id: meta.id.as_str().to_string(),
            filename: meta.filename,
            format: meta.format.as_str(),
            framework: meta.framework,
            sections: summary.section_count,
            review_id: review
                .as_ref()
                .map(|r| r.id.as_str().to_string())
                .unwrap_or_default(),
            status: review.as_ref().map_or("none", |r| r.status.as_str()),
            running: review.as_ref().is_some_and(|r| !r.status.is_terminal()),
            done: review.as_ref().map_or(0, |r| r.progress.sections_done),
            total: review.as_ref().map_or(0, |r| r.progress.sections_total),
            pending: count(FindingStatus::Pending),
            accepted: count(FindingStatus::Accepted),
            rejected: count(FindingStatus::Rejected),
            comments: findings
                .iter()
                .filter(|f| f.source == FindingSource::Reviewer)
                .count(),
            last_activity: crate::dto::time(last),
            last_activity_label: label(last),
        });
    }
    let max = app.settings.server.max_upload_bytes;
    Ok(DocumentsPage {
        shell: Shell::new("Documents", token.value.clone(), "documents", "js/documents.js")
            .signed_in(app, user),
        frameworks,
        max_upload_bytes: max,
        max_upload_label: human_bytes(max),
        documents: rows,
    })
}

/// `GET /documents/{id}?section=`: the review workspace, opened on the requested section.
pub(crate) async fn review(
    State(app): State<App>,
    CurrentUser(user): CurrentUser,
    Path(id): Path<String>,
    Query(query): Query<HashMap<String, String>>,
    headers: HeaderMap,
) -> Response {
    let token = page_token(&headers);
    match review_page(&app, &user, &token, id, query.get("section")).await {
        Ok(page) => render(&page, &token, StatusCode::OK),
        Err(e) => error_page(e, &token),
    }
}

async fn review_page(
    app: &App,
    user: &User,
    token: &PageToken,
    id: String,
    wanted: Option<&String>,
) -> Result<ReviewPage, AppError> {
    let id = DocumentId::new(id);
    let view = app.document(user, &id).await?;
    let review = app.latest_review(user, &id).await?;
    let review_json = serde_json::to_string(&review.map(ReviewDto::from))
        .map_err(|e| AppError::Internal(format!("serialising a review: {e}")))?;
    let current = wanted
        .and_then(|w| view.sections.iter().position(|s| s.id.as_str() == w.as_str()))
        .unwrap_or(0);
    let link = |i: usize| {
        view.sections.get(i).map(|s| SectionLink {
            id: s.id.as_str().to_string(),
            title: s.title.clone(),
        })
    };
    let current_link = link(current).unwrap_or(SectionLink {
        id: String::new(),
        title: String::new(),
    });
    let previous = current.checked_sub(1).and_then(link);
    let next = link(current + 1);
    let sections = view
        .sections
        .iter()
        .enumerate()
        .map(|(i, s)| SectionView {
            id: s.id.as_str().to_string(),
            index: s.index,
            number: s.index + 1,
            title: s.title.clone(),
            level: s.level,
            excluded: s.excluded_reason.clone().unwrap_or_default(),
            lines: s.text.split('\n').map(str::to_string).collect(),
            current: i == current,
        })
        .collect();
    let meta = view.meta;
    Ok(ReviewPage {
        shell: Shell::new(meta.filename.clone(), token.value.clone(), "", "js/review.js")
            .signed_in(app, user),
        document_id: meta.id.as_str().to_string(),
        filename: meta.filename,
        framework: meta.framework,
        document_type: meta.document_type.unwrap_or_default(),
        guidelines: meta.guidelines.map(|g| g.filename).unwrap_or_default(),
        review_json,
        min_confidence: format!("{:.2}", app.settings.review.min_confidence),
        s3_export: app.settings.storage.enable_s3_export,
        sections,
        current: current_link,
        previous,
        next,
    })
}

/// `GET /documents/{id}/statistics`: charts and the activity log of one document.
pub(crate) async fn statistics(
    State(app): State<App>,
    CurrentUser(user): CurrentUser,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> Response {
    let token = page_token(&headers);
    match app.document(&user, &DocumentId::new(id)).await {
        Ok(view) => {
            let page = StatisticsPage {
                shell: Shell::new(
                    format!("Statistics: {}", view.meta.filename),
                    token.value.clone(),
                    "",
                    "js/statistics.js",
                )
                .signed_in(&app, &user),
                document_id: view.meta.id.as_str().to_string(),
                filename: view.meta.filename,
            };
            render(&page, &token, StatusCode::OK)
        }
        Err(e) => error_page(e, &token),
    }
}

/// `GET /dashboard`: statistics across the user's documents and the model chain's state.
pub(crate) async fn dashboard(
    State(app): State<App>,
    CurrentUser(user): CurrentUser,
    headers: HeaderMap,
) -> Response {
    let token = page_token(&headers);
    let page = DashboardPage {
        shell: Shell::new("Dashboard", token.value.clone(), "dashboard", "js/dashboard.js")
            .signed_in(&app, &user),
    };
    render(&page, &token, StatusCode::OK)
}
