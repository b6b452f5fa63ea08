//! Reviews: start (202), read, cancel, and the progress event stream (SSE with `Last-Event-ID` resume).

use crate::auth::CurrentUser;
use std::collections::VecDeque;
use std::convert::Infallible;
use std::time::Duration;

use aiprism_app::{App, ReviewRequest};
use aiprism_core::{DocumentId, ReviewEvent, ReviewEventKind, ReviewId, SectionId};
use axum::Json;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::sse::{Event, KeepAlive, Sse};
use futures::Stream;
use serde::Deserialize;

use crate::dto::ReviewDto;
use crate::error::ApiError;

/// How often a stream looks for progress made by workers in other processes.
const POLL: Duration = Duration::from_millis(500);

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct StartBody {
    sections: Option<Vec<String>>,
    framework: Option<String>,
}

pub(crate) async fn start(
    State(app): State<App>,
    CurrentUser(user): CurrentUser,
    Path(id): Path<String>,
    body: axum::body::Bytes,
) -> Result<(StatusCode, Json<ReviewDto>), ApiError> {
    let body: StartBody = if body.iter().all(u8::is_ascii_whitespace) {
        StartBody::default()
    } else {
        serde_json::from_slice(&body).map_err(|e| {
            ApiError::bad_request("invalid_json", format!("The request body is not valid: {e}"))
        })?
    };
    let request = ReviewRequest {
        sections: body
            .sections
            .map(|ids| ids.into_iter().map(SectionId::new).collect()),
        framework: body.framework,
    };
    let review = app.start_review(&user, &DocumentId::new(id), request).await?;
    Ok((StatusCode::ACCEPTED, Json(review.into())))
}

pub(crate) async fn show(
    State(app): State<App>,
    CurrentUser(user): CurrentUser,
    Path(id): Path<String>,
) -> Result<Json<ReviewDto>, ApiError> {
    Ok(Json(app.review(&user, &ReviewId::new(id)).await?.into()))
}

pub(crate) async fn cancel(
    State(app): State<App>,
    CurrentUser(user): CurrentUser,
    Path(id): Path<String>,
) -> Result<(StatusCode, Json<ReviewDto>), ApiError> {
    let review = app.cancel_review(&user, &ReviewId::new(id)).await?;
    Ok((StatusCode::ACCEPTED, Json(review.into())))
}

#[derive(Deserialize)]
pub(crate) struct EventsQuery {
    /// Resume after this event id (for clients that cannot set `Last-Event-ID`).
    after: Option<i64>,
}

struct StreamState {
    app: App,
    review: ReviewId,
    last: i64,
    buffer: VecDeque<ReviewEvent>,
    finished: bool,
    changes: tokio::sync::watch::Receiver<u64>,
}

pub(crate) async fn events(
    State(app): State<App>,
    CurrentUser(user): CurrentUser,
    Path(id): Path<String>,
    Query(query): Query<EventsQuery>,
    headers: HeaderMap,
) -> Result<Sse<impl Stream<Item = Result<Event, Infallible>>>, ApiError> {
    let review = ReviewId::new(id);
    app.review(&user, &review).await?;
    let last = headers
        .get("last-event-id")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<i64>().ok())
        .or(query.after)
        .unwrap_or(0);
    let changes = app.progress_changes();
    let state = StreamState {
        app,
        review,
        last,
        buffer: VecDeque::new(),
        finished: false,
        changes,
    };
    let stream = futures::stream::unfold(state, next_event);
    Ok(Sse::new(stream).keep_alive(KeepAlive::new().interval(Duration::from_secs(15))))
}

/// The next event of the stream: from the buffer, else from the database, else after waiting for
/// progress; ends after the review's `review_done` event (or at once when it ended before).
async fn next_event(mut s: StreamState) -> Option<(Result<Event, Infallible>, StreamState)> {
    loop {
        if let Some(event) = s.buffer.pop_front() {
            s.last = event.id;
            if event.kind == ReviewEventKind::ReviewDone {
                s.finished = true;
            }
            let sse = Event::default()
                .id(event.id.to_string())
                .event(event.kind.as_str())
                .data(event.data.to_string());
            return Some((Ok(sse), s));
        }
        if s.finished {
            return None;
        }
        match s.app.store.events_after(&s.review, s.last, 200).await {
            Ok(events) if !events.is_empty() => {
                s.buffer.extend(events);
                continue;
            }
            Ok(_) => {
                // Nothing new. A review that ended before this stream reached its end has nothing more.
                match s.app.store.review(&aiprism_core::Scope::All, &s.review).await {
                    Ok(Some(r)) if r.status.is_terminal() => {
                        if s.app
                            .store
                            .events_after(&s.review, s.last, 1)
                            .await
                            .map(|e| e.is_empty())
                            .unwrap_or(true)
                        {
                            return None;
                        }
                        continue;
                    }
                    Ok(None) => return None,
                    _ => {}
                }
            }
            Err(e) => {
                tracing::warn!(review = %s.review, error = %e, "event stream could not read events");
                let event = Event::default().event(ReviewEventKind::Error.as_str()).data(
                    serde_json::json!({"message": "Progress is temporarily unavailable; retrying."})
                        .to_string(),
                );
                tokio::time::sleep(POLL * 2).await;
                return Some((Ok(event), s));
            }
        }
        tokio::select! {
            _ = s.changes.changed() => {}
            () = tokio::time::sleep(POLL) => {}
        }
    }
}
