//! Streaming calls (chat): the same fallback rules as [`Router::call`] until the first piece of the answer
//! arrives, none after it (the user has already seen the text).

use std::pin::Pin;
use std::task::{Context, Poll};

use futures::{Stream, StreamExt};
use tokio::time::Instant;

use super::{CallState, Lease, Next, Routed, Router, RouterError};
use crate::error::ProviderError;
use crate::types::{ModelRequest, ModelResponse, ResponseStream, StreamEvent, TokenUsage};

/// One item of a routed stream.
#[derive(Debug, Clone, PartialEq)]
pub enum RoutedEvent {
    /// A piece of the answer.
    TextDelta(String),
    /// The whole answer with its routing and usage; always the last item of a successful stream.
    Done(Box<Routed<ModelResponse>>),
}

/// A started stream: text deltas, then `Done`, or an error ending it.
pub struct RoutedStream {
    /// The endpoint answering.
    pub endpoint: String,
    /// Its model.
    pub model: String,
    inner: Pin<Box<dyn Stream<Item = Result<RoutedEvent, RouterError>> + Send>>,
}

impl std::fmt::Debug for RoutedStream {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RoutedStream")
            .field("endpoint", &self.endpoint)
            .field("model", &self.model)
            .finish()
    }
}

impl Stream for RoutedStream {
    type Item = Result<RoutedEvent, RouterError>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        self.inner.as_mut().poll_next(cx)
    }
}

/// What the first poll of a provider stream gave.
enum First {
    Event(ResponseStream, StreamEvent),
    Failed(ProviderError),
}

/// The state carried by a started stream.
struct Live {
    router: Router,
    lease: Option<Lease>,
    stream: ResponseStream,
    pending: Option<StreamEvent>,
    attempt_started: Instant,
    started: Instant,
    call: CallState,
    done: bool,
}

impl Router {
    /// Starts a streaming call. Endpoints are tried under the usual rules until one produces its first
    /// event; from then on the stream belongs to that endpoint and a failure ends it with
    /// [`RouterError::StreamInterrupted`].
    pub async fn stream(
        &self,
        request: &ModelRequest,
        deadline: Instant,
    ) -> Result<RoutedStream, RouterError> {
        let started = Instant::now();
        let mut call = CallState::new(self.inner.slots.len());
        loop {
            let lease = self.lease(&mut call, request, deadline).await?;
            let index = lease.index;
            let slot = &self.inner.slots[index];
            call.attempts += 1;
            let attempt_started = Instant::now();
            let attempt_deadline = deadline.min(attempt_started + slot.config.timeout());
            let opened = tokio::time::timeout_at(attempt_deadline, async {
                match slot.provider.stream(request).await {
                    Ok(mut stream) => match stream.next().await {
                        Some(Ok(event)) => First::Event(stream, event),
                        Some(Err(error)) => First::Failed(error),
                        None => First::Failed(ProviderError::transport(
                            "the stream ended before its first event",
                        )),
                    },
                    Err(error) => First::Failed(error),
                }
            })
            .await
            .unwrap_or_else(|_| {
                First::Failed(ProviderError::Timeout {
                    message: "no first token before the endpoint timeout".into(),
                })
            });
            match opened {
                First::Event(stream, event) => {
                    let live = Live {
                        router: self.clone(),
                        lease: Some(lease),
                        stream,
                        pending: Some(event),
                        attempt_started,
                        started,
                        call,
                        done: false,
                    };
                    return Ok(RoutedStream {
                        endpoint: slot.config.name.clone(),
                        model: slot.config.model.clone(),
                        inner: Box::pin(futures::stream::unfold(live, next_item)),
                    });
                }
                First::Failed(error) => {
                    self.settle(&lease, &TokenUsage::default(), Err(&error)).await;
                    self.record(
                        index,
                        Err(&error),
                        &TokenUsage::default(),
                        attempt_started.elapsed(),
                        call.attempts,
                        true,
                    );
                    drop(lease);
                    if Instant::now() >= deadline {
                        let failure = self.failure(index, &error, &mut call);
                        call.failures.push(failure);
                        return Err(RouterError::DeadlineExceeded {
                            failures: call.failures,
                        });
                    }
                    if let Next::Stop(error) = self.after_failure(index, &error, &mut call, false).await {
                        return Err(error);
                    }
                }
            }
        }
    }
}

/// Produces the next item of a started stream, settling usage at the end.
async fn next_item(mut live: Live) -> Option<(Result<RoutedEvent, RouterError>, Live)> {
    if live.done {
        return None;
    }
    let item = match live.pending.take() {
        Some(event) => Some(Ok(event)),
        None => live.stream.next().await,
    };
    let lease = live.lease.as_ref()?;
    let index = lease.index;
    let router = live.router.clone();
    let endpoint = router.inner.slots[index].config.name.clone();
    match item {
        Some(Ok(StreamEvent::TextDelta(text))) => Some((Ok(RoutedEvent::TextDelta(text)), live)),
        Some(Ok(StreamEvent::Done(response))) => {
            router.settle(lease, &response.usage, Ok(())).await;
            let usage = router.record(
                index,
                Ok(()),
                &response.usage,
                live.attempt_started.elapsed(),
                live.call.attempts,
                true,
            );
            live.call.usage.add(&usage);
            live.done = true;
            live.lease = None;
            let routed = Routed {
                endpoint,
                provider: router.inner.slots[index].provider.kind(),
                model: response.model.clone(),
                usage: live.call.usage,
                attempts: live.call.attempts,
                latency: live.started.elapsed(),
                value: response,
            };
            Some((Ok(RoutedEvent::Done(Box::new(routed))), live))
        }
        Some(Err(error)) => Some((Err(interrupted(&mut live, index, endpoint, error).await), live)),
        None => {
            let error = ProviderError::transport("the stream ended without its final event");
            Some((Err(interrupted(&mut live, index, endpoint, error).await), live))
        }
    }
}

/// Records a failure after the first token and ends the stream. A throttle still cools the endpoint
/// for everyone else.
async fn interrupted(live: &mut Live, index: usize, endpoint: String, error: ProviderError) -> RouterError {
    let router = live.router.clone();
    if let Some(lease) = live.lease.as_ref() {
        // The provider admitted the stream (it produced text), whatever broke it later.
        router
            .settle(
                lease,
                &TokenUsage::default(),
                Err(&ProviderError::transport("interrupted")),
            )
            .await;
    }
    router.record(
        index,
        Err(&error),
        &TokenUsage::default(),
        live.attempt_started.elapsed(),
        live.call.attempts,
        true,
    );
    if let ProviderError::Throttled { retry_after, .. } = &error {
        router.inner.slots[index]
            .throttled
            .store(true, std::sync::atomic::Ordering::SeqCst);
        let duration = router
            .inner
            .state
            .cool_down(&endpoint, *retry_after, &router.inner.settings.cooldown)
            .await;
        router.emit(&super::RouterEvent::CooldownStarted {
            endpoint: endpoint.clone(),
            duration,
        });
    }
    live.done = true;
    live.lease = None;
    RouterError::StreamInterrupted { endpoint, error }
}
