//! Chat: `POST /api/v1/documents/{id}/chat` streams `token` events and then a `message` event with the
//! stored reply (or, with `Accept: application/json`, answers 202 and the reply is produced by a job);
//! `GET /api/v1/documents/{id}/chat` returns the conversation; `.../chat/export?format=text|markdown`.

use crate::auth::CurrentUser;
use std::convert::Infallible;

use aiprism_app::App;
use aiprism_app::chat::{ChatEvent, ChatJob};
use aiprism_core::{ChatMessage, ChatRole, DocumentId, SectionId};
use aiprism_store::queue::NewJob;
use axum::Json;
use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use serde_json::{Value, json};
use tokio::sync::mpsc;

use crate::dto::time;
use crate::error::ApiError;

/// `ChatMessage` as the API shows it.
pub(crate) fn message_json(m: &ChatMessage) -> Value {
    json!({
        "id": m.id,
        "role": m.role.as_str(),
        "content": m.content,
        "section_id": m.section_id.as_ref().map(SectionId::as_str),
        "model": m.model,
        "created_at": time(m.created_at),
        "citations": m.citations.iter().map(SectionId::as_str).collect::<Vec<_>>(),
    })
}

pub(crate) async fn history(
    State(app): State<App>,
    CurrentUser(user): CurrentUser,
    Path(id): Path<String>,
) -> Result<Json<Value>, ApiError> {
    let messages = app.chat_history(&user, &DocumentId::new(id)).await?;
    Ok(Json(
        json!({ "messages": messages.iter().map(message_json).collect::<Vec<_>>() }),
    ))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct AskBody {
    message: String,
    section_id: Option<String>,
}

pub(crate) async fn ask(
    State(app): State<App>,
    CurrentUser(user): CurrentUser,
    Path(id): Path<String>,
    headers: HeaderMap,
    bytes: Bytes,
) -> Result<Response, ApiError> {
    let body: AskBody = serde_json::from_slice(&bytes)
        .map_err(|e| ApiError::bad_request("invalid_json", format!("The request body is not valid: {e}")))?;
    let document = DocumentId::new(id);
    let question = app
        .ask(
            &user,
            &document,
            &body.message,
            body.section_id.map(SectionId::new),
        )
        .await?;

    let wants_json = headers
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|a| a.contains("application/json") && !a.contains("text/event-stream"));
    if wants_json {
        let payload = ChatJob {
            document_id: document,
            message_id: question.id.clone(),
            user_id: user.id.clone(),
        };
        let job =
            NewJob::from_payload(&payload).map_err(|e| aiprism_app::AppError::Internal(e.to_string()))?;
        let queued = app.queue.enqueue(job).await.map_err(|e| {
            tracing::warn!(error = %e, "could not queue a chat answer");
            ApiError::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "unavailable",
                "The job queue is unavailable; try again shortly.",
            )
        })?;
        let body =
            json!({"job_id": queued.job.id.as_str(), "status": "queued", "message": message_json(&question)});
        return Ok((StatusCode::ACCEPTED, Json(body)).into_response());
    }

    // The answer is produced by its own task: if the browser goes away, the reply is still stored.
    let (tx, rx) = mpsc::channel::<ChatEvent>(64);
    tokio::spawn(async move {
        if let Err(e) = app.answer_chat(&user, &question, Some(&tx)).await {
            tracing::info!(error = %e, "chat answer failed");
        }
    });
    let stream = futures::stream::unfold(rx, |mut rx| async move {
        let event = rx.recv().await?;
        let sse = match event {
            ChatEvent::Token(text) => Event::default()
                .event("token")
                .data(json!({"text": text}).to_string()),
            ChatEvent::Message(m) => Event::default()
                .event("message")
                .data(message_json(&m).to_string()),
            ChatEvent::Error(message) => Event::default()
                .event("error")
                .data(json!({"message": message}).to_string()),
        };
        Some((Ok::<_, Infallible>(sse), rx))
    });
    Ok(Sse::new(stream).keep_alive(KeepAlive::default()).into_response())
}

#[derive(Deserialize)]
pub(crate) struct ExportQuery {
    format: Option<String>,
}

pub(crate) async fn export(
    State(app): State<App>,
    CurrentUser(user): CurrentUser,
    Path(id): Path<String>,
    Query(q): Query<ExportQuery>,
) -> Result<Response, ApiError> {
    let document = DocumentId::new(id);
    let view = app.document(&user, &document).await?;
    let messages = app.chat_history(&user, &document).await?;
    let format = q.format.unwrap_or_else(|| "markdown".into());
    let (content, media, ext) = match format.as_str() {
        "markdown" | "md" => (
            transcript(&view.meta.filename, &messages, true),
            "text/markdown; charset=utf-8",
            "md",
        ),
        "text" | "txt" => (
            transcript(&view.meta.filename, &messages, false),
            "text/plain; charset=utf-8",
            "txt",
        ),
        other => {
            return Err(ApiError::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                "invalid_format",
                format!("format must be text or markdown, not {other:?}"),
            ));
        }
    };
    let mut response = (StatusCode::OK, content).into_response();
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(media));
    if let Ok(v) = HeaderValue::from_str(&format!("attachment; filename=\"chat-{document}.{ext}\"")) {
        headers.insert(header::CONTENT_DISPOSITION, v);
    }
    Ok(response)
}

/// The conversation as a readable transcript.
pub(crate) fn transcript(filename: &str, messages: &[ChatMessage], markdown: bool) -> String {
    let mut out = if markdown {
        format!("# Chat about {filename}\n\n")
    } else {
        format!(
            "Chat about {filename}\n{}\n\n",
            "=".repeat(filename.chars().count() + 11)
        )
    };
    for m in messages {
        let who = match m.role {
            ChatRole::User => "Reviewer".to_string(),
            ChatRole::Assistant => match &m.model {
                Some(model) => format!("aiprism ({model})"),
                None => "aiprism".to_string(),
            },
        };
        if markdown {
            out.push_str(&format!(
                "**{who}** — {}\n\n{}\n\n",
                time(m.created_at),
                m.content.trim()
            ));
        } else {
            out.push_str(&format!(
                "{who} — {}\n{}\n\n",
                time(m.created_at),
                m.content.trim()
            ));
        }
    }
    out
}
