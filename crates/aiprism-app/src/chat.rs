//! Chat about a document: the reviewer asks, the model answers through the same router, with the
//! framework, the document outline, the current section with its findings and decisions, and the
//! conversation so far (trimmed to a token budget). Replies cite the sections they rely on as `[S3]`,
//! which become section ids. Everything is stored, so a reload shows the same conversation.

use std::time::Duration;

use aiprism_core::{
    ActivityAction, ChatMessage, ChatRole, DocumentId, Finding, ModelCall, Scope, Section, SectionId, User,
};
use aiprism_llm::{ModelRequest, RoutedEvent, SystemBlock};
use aiprism_store::FindingFilter;
use aiprism_store::queue::runner::JobError;
use aiprism_store::queue::{JobPayload, QueueName};
use futures::StreamExt;
use serde::{Deserialize, Serialize};
use tokio::sync::mpsc;

use crate::{App, AppError};

/// Longest question accepted.
const MAX_MESSAGE: usize = 8_000;
/// Earlier conversation sent with a question, in estimated tokens (oldest turns dropped first).
const HISTORY_TOKENS: usize = 6_000;
/// Section text sent with a question, in estimated tokens.
const SECTION_TOKENS: usize = 8_000;
/// How long a chat answer may take, waits for capacity included.
const CHAT_DEADLINE: Duration = Duration::from_secs(120);

/// What a reviewer sees when no model is configured.
pub const NO_MODEL_REPLY: &str = "No AI model is configured, so I cannot answer questions about this document. \
The built-in rule checks still run: their findings are in the findings panel. Ask your administrator to \
configure a model (Bedrock, Anthropic or an OpenAI-compatible server) to chat about the document.";

const INSTRUCTIONS: &str = "You help a reviewer check an investigation or incident write-up against the review \
framework below. Answer questions about the document, its sections and the review findings: be specific, quote \
the document where it helps, and say plainly when the document does not contain something. When you rely on a \
section, cite it as [S<number>] using the numbers of the outline (for example [S3]). Answer in plain text with \
short paragraphs or '-' bullet lists; no HTML.";

/// What a chat produces, in order: pieces of the answer, then the stored reply or an error.
#[derive(Debug, Clone)]
pub enum ChatEvent {
    /// A piece of the answer as it streams.
    Token(String),
    /// The stored reply.
    Message(ChatMessage),
    /// The question could not be answered (the question itself is stored).
    Error(String),
}

/// An answer produced off the request, for clients that ask for JSON instead of a stream.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChatJob {
    /// The document.
    pub document_id: DocumentId,
    /// The reviewer's stored question.
    pub message_id: String,
    /// Who asked (answers are written in their scope).
    pub user_id: aiprism_core::UserId,
}

impl JobPayload for ChatJob {
    const NAME: &'static str = "chat_answer";
    const QUEUE: QueueName = QueueName::Chat;
}

fn estimate_tokens(text: &str) -> usize {
    text.len() / 4 + 1
}

impl App {
    /// A document's conversation.
    pub async fn chat_history(
        &self,
        user: &User,
        document: &DocumentId,
    ) -> Result<Vec<ChatMessage>, AppError> {
        self.document(user, document).await?;
        Ok(self.store.chat_messages(&Scope::of(user), document).await?)
    }

    /// Stores a question and returns it; the answer comes from [`App::answer_chat`].
    pub async fn ask(
        &self,
        user: &User,
        document: &DocumentId,
        text: &str,
        section: Option<SectionId>,
    ) -> Result<ChatMessage, AppError> {
        let text = text.trim();
        if text.is_empty() {
            return Err(AppError::invalid("empty_message", "Type a question first."));
        }
        if text.chars().count() > MAX_MESSAGE {
            return Err(AppError::invalid(
                "message_too_long",
                format!("Questions are limited to {MAX_MESSAGE} characters."),
            ));
        }
        let view = self.document(user, document).await?;
        if let Some(id) = &section
            && !view.sections.iter().any(|s| &s.id == id)
        {
            return Err(AppError::invalid(
                "unknown_section",
                format!("Section {id} is not part of this document."),
            ));
        }
        let message = ChatMessage {
            id: format!(
                "msg_{}",
                aiprism_core::FindingId::generate()
                    .as_str()
                    .trim_start_matches("fnd_")
            ),
            document_id: document.clone(),
            role: ChatRole::User,
            content: text.to_string(),
            section_id: section,
            model: None,
            citations: Vec::new(),
            created_at: aiprism_core::now(),
        };
        self.store.add_chat_message(&message).await?;
        Ok(message)
    }

    /// Answers a stored question, streaming pieces to `events` when given, and stores the reply.
    pub async fn answer_chat(
        &self,
        user: &User,
        question: &ChatMessage,
        events: Option<&mpsc::Sender<ChatEvent>>,
    ) -> Result<ChatMessage, AppError> {
        let send = |e: ChatEvent| async move {
            if let Some(tx) = events {
                // The browser may have gone; the answer is still stored.
                let _ = tx.send(e).await;
            }
        };
        let view = self.document(user, &question.document_id).await?;
        let Some(router) = self.router.as_deref() else {
            send(ChatEvent::Token(NO_MODEL_REPLY.to_string())).await;
            let reply = self
                .store_reply(question, NO_MODEL_REPLY.to_string(), None, &view.sections)
                .await?;
            send(ChatEvent::Message(reply.clone())).await;
            return Ok(reply);
        };
        let framework = self.require_framework(&view.meta.framework).await?;
        let history = self
            .store
            .chat_messages(&Scope::of(user), &question.document_id)
            .await?;
        let findings = match &question.section_id {
            Some(section) => {
                let filter = FindingFilter {
                    section: Some(section.clone()),
                    ..FindingFilter::default()
                };
                self.store
                    .findings(&Scope::of(user), &question.document_id, &filter)
                    .await?
            }
            None => Vec::new(),
        };
        let request = chat_request(
            &framework.outline(),
            view.meta.guidelines.as_ref().map(|g| g.text.as_str()),
            &view.sections,
            question,
            &findings,
            &history,
        );
        let started = std::time::Instant::now();
        let deadline = tokio::time::Instant::now() + CHAT_DEADLINE;
        let mut stream = match router.stream(&request, deadline).await {
            Ok(s) => s,
            Err(e) => {
                let message = format!("AI chat unavailable: {e}");
                send(ChatEvent::Error(message.clone())).await;
                return Err(AppError::Unavailable { message });
            }
        };
        let mut text = String::new();
        while let Some(event) = stream.next().await {
            match event {
                Ok(RoutedEvent::TextDelta(piece)) => {
                    text.push_str(&piece);
                    send(ChatEvent::Token(piece)).await;
                }
                Ok(RoutedEvent::Done(routed)) => {
                    let answer = routed.value.output_text();
                    if text.is_empty() {
                        text = answer;
                    }
                    let call = ModelCall {
                        id: format!(
                            "call_{}",
                            aiprism_core::FindingId::generate()
                                .as_str()
                                .trim_start_matches("fnd_")
                        ),
                        review_id: None,
                        document_id: question.document_id.clone(),
                        section_id: question.section_id.clone(),
                        purpose: "chat".into(),
                        endpoint: routed.endpoint.clone(),
                        model: routed.model.clone(),
                        usage: routed.usage,
                        latency_ms: u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX),
                        outcome: "ok".into(),
                        created_at: aiprism_core::now(),
                    };
                    if let Err(e) = self.store.record_model_calls(&[call]).await {
                        tracing::warn!(error = %e, "could not record a chat model call");
                    }
                    let reply = self
                        .store_reply(question, text, Some(routed.model.clone()), &view.sections)
                        .await?;
                    self.record(
                        user,
                        &view.meta.owner,
                        Some(&view.meta.id),
                        ActivityAction::ChatMessage,
                        serde_json::json!({
                            "question": preview(&question.content), "reply_id": reply.id, "model": reply.model,
                            "citations": reply.citations.iter().map(SectionId::as_str).collect::<Vec<_>>(),
                        }),
                    )
                    .await;
                    send(ChatEvent::Message(reply.clone())).await;
                    return Ok(reply);
                }
                Err(e) => {
                    let message = format!("The answer was interrupted: {e}");
                    send(ChatEvent::Error(message.clone())).await;
                    return Err(AppError::Unavailable { message });
                }
            }
        }
        let message = "The answer ended early; ask again.".to_string();
        send(ChatEvent::Error(message.clone())).await;
        Err(AppError::Unavailable { message })
    }

    async fn store_reply(
        &self,
        question: &ChatMessage,
        content: String,
        model: Option<String>,
        sections: &[Section],
    ) -> Result<ChatMessage, AppError> {
        let citations = citations(&content, sections);
        let reply = ChatMessage {
            id: format!(
                "msg_{}",
                aiprism_core::FindingId::generate()
                    .as_str()
                    .trim_start_matches("fnd_")
            ),
            document_id: question.document_id.clone(),
            role: ChatRole::Assistant,
            content,
            section_id: question.section_id.clone(),
            model,
            citations,
            created_at: aiprism_core::now(),
        };
        self.store.add_chat_message(&reply).await?;
        Ok(reply)
    }

    /// The chat job: answers a stored question for a client that did not wait on a stream.
    pub async fn run_chat_job(&self, job: &ChatJob) -> Result<(), JobError> {
        let owner = self
            .store
            .document(&Scope::All, &job.document_id)
            .await
            .map_err(|e| JobError::Retry(e.to_string()))?
            .ok_or_else(|| JobError::Permanent("the document no longer exists".into()))?
            .owner;
        let user = User {
            id: owner,
            name: "reviewer".into(),
            role: aiprism_core::Role::Reviewer,
        };
        let history = self
            .store
            .chat_messages(&Scope::All, &job.document_id)
            .await
            .map_err(|e| JobError::Retry(e.to_string()))?;
        let question = history
            .iter()
            .find(|m| m.id == job.message_id)
            .cloned()
            .ok_or_else(|| JobError::Permanent("the question no longer exists".into()))?;
        match self.answer_chat(&user, &question, None).await {
            Ok(_) => Ok(()),
            Err(AppError::Unavailable { message }) => Err(JobError::Retry(message)),
            Err(e) => Err(JobError::Permanent(e.to_string())),
        }
    }
}

fn preview(text: &str) -> String {
    text.chars().take(100).collect()
}

/// Section ids cited as `[S<n>]` in a reply, in order of first citation, valid numbers only.
pub fn citations(reply: &str, sections: &[Section]) -> Vec<SectionId> {
    let mut out: Vec<SectionId> = Vec::new();
    let mut rest = reply;
    while let Some(at) = rest.find("[S") {
        let after = &rest[at + 2..];
        let digits: String = after.chars().take_while(char::is_ascii_digit).collect();
        if !digits.is_empty()
            && after[digits.len()..].starts_with(']')
            && let Ok(n) = digits.parse::<usize>()
            && let Some(section) = n.checked_sub(1).and_then(|i| sections.get(i))
            && !out.contains(&section.id)
        {
            out.push(section.id.clone());
        }
        rest = &rest[at + 2..];
    }
    out
}

/// The request for one question: a cacheable prefix (instructions, framework, guidelines, outline), the
/// current section with its findings, the trimmed conversation and the question.
fn chat_request(
    framework_outline: &str,
    guidelines: Option<&str>,
    sections: &[Section],
    question: &ChatMessage,
    findings: &[Finding],
    history: &[ChatMessage],
) -> ModelRequest {
    let mut prefix = format!("{INSTRUCTIONS}\n\n{framework_outline}\n");
    if let Some(g) = guidelines.map(str::trim).filter(|g| !g.is_empty()) {
        let g: String = g.chars().take(40_000).collect();
        prefix.push_str(&format!(
            "\nThe organisation's guidelines:\n<guidelines>\n{g}\n</guidelines>\n"
        ));
    }
    prefix.push_str("\nThe document's outline:\n");
    for s in sections {
        prefix.push_str(&format!("[S{}] {}\n", s.index + 1, s.title));
    }
    let mut system = vec![SystemBlock::cached(prefix)];
    if let Some(section) = question
        .section_id
        .as_ref()
        .and_then(|id| sections.iter().find(|s| &s.id == id))
    {
        let budget = SECTION_TOKENS * 4;
        let text: String = section.text.chars().take(budget).collect();
        let mut context = format!(
            "The reviewer is looking at section [S{}] \"{}\":\n<section>\n{}\n</section>\n",
            section.index + 1,
            section.title,
            text
        );
        if section.text.chars().count() > budget {
            context.push_str(&format!(
                "[section shortened: the first {budget} characters of a longer section]\n"
            ));
        }
        if !findings.is_empty() {
            context.push_str("Review findings on this section and the reviewer's decisions:\n");
            for f in findings.iter().take(40) {
                context.push_str(&format!(
                    "- [{}] {} risk, {}: {}{}\n",
                    f.status.as_str(),
                    f.risk.as_str(),
                    f.category,
                    f.description,
                    if f.quote.is_empty() {
                        String::new()
                    } else {
                        format!(" (quote: \"{}\")", f.quote)
                    }
                ));
            }
        }
        system.push(SystemBlock::plain(context));
    }
    // The conversation before this question, newest kept first within the budget.
    let earlier: Vec<&ChatMessage> = history.iter().take_while(|m| m.id != question.id).collect();
    let mut kept: Vec<&ChatMessage> = Vec::new();
    let mut used = 0;
    for m in earlier.iter().rev() {
        used += estimate_tokens(&m.content);
        if used > HISTORY_TOKENS {
            break;
        }
        kept.push(m);
    }
    kept.reverse();
    // The conversation must start with the reviewer.
    while kept.first().is_some_and(|m| m.role != ChatRole::User) {
        kept.remove(0);
    }
    let mut messages: Vec<aiprism_llm::ChatMessage> = kept
        .into_iter()
        .map(|m| match m.role {
            ChatRole::User => aiprism_llm::ChatMessage::user(m.content.clone()),
            ChatRole::Assistant => aiprism_llm::ChatMessage::assistant(m.content.clone()),
        })
        .collect();
    messages.push(aiprism_llm::ChatMessage::user(question.content.clone()));
    ModelRequest {
        system,
        messages,
        tool: None,
        max_tokens: Some(2048),
        temperature: None,
        thinking_budget: None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use aiprism_core::{DocumentId, ParagraphSpan};

    fn section(i: u32) -> Section {
        Section {
            id: SectionId::new(format!("sec_{i}")),
            document_id: DocumentId::new("doc"),
            index: i,
            title: format!("Part {i}"),
            level: 1,
            text: "text".into(),
            paragraph_start: i,
            paragraph_end: i,
            heading_paragraph: Some(i),
            excluded_reason: None,
            paragraphs: vec![ParagraphSpan {
                paragraph: i,
                start: 0,
                end: 4,
            }],
        }
    }

    #[test]
    fn citations_map_section_numbers_to_ids_once_each() {
        let sections: Vec<Section> = (0..3).map(section).collect();
        let ids = citations(
            "See [S2] and [S3], and again [S2]; [S9] and [S] and [S1x] are not sections.",
            &sections,
        );
        assert_eq!(ids, [SectionId::new("sec_1"), SectionId::new("sec_2")]);
    }

    fn message(id: &str, role: ChatRole, content: &str) -> ChatMessage {
        ChatMessage {
            id: id.into(),
            document_id: DocumentId::new("doc"),
            role,
            content: content.into(),
            section_id: None,
            model: None,
            citations: vec![],
            created_at: aiprism_core::now(),
        }
    }

    #[test]
    fn history_is_sent_and_trimmed_from_the_oldest_turn() {
        let sections: Vec<Section> = (0..2).map(section).collect();
        let long = "x".repeat(HISTORY_TOKENS * 5);
        let history = vec![
            message("1", ChatRole::User, &long),
            message("2", ChatRole::Assistant, "old answer"),
            message("3", ChatRole::User, "second question"),
            message("4", ChatRole::Assistant, "second answer"),
            message("5", ChatRole::User, "third question"),
        ];
        let request = chat_request("Framework", None, &sections, &history[4], &[], &history);
        let contents: Vec<&str> = request.messages.iter().map(|m| m.content.as_str()).collect();
        assert_eq!(contents, ["second question", "second answer", "third question"]);
        assert!(request.system[0].cacheable);
        assert!(request.system[0].text.contains("[S2] Part 1"));
    }
}
