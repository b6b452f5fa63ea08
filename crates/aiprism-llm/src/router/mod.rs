//! The model router: an ordered chain of endpoints with per-endpoint and global limits, cooldowns after
//! throttling, classified fallback, repair of malformed output, and usage/cost accounting.
//!
//! The rules (DESIGN.md §5), in the order a call meets them:
//! - pick the highest-priority endpoint that is enabled, not resting, and has a concurrency slot and rate
//!   budget now; when none has, wait for the earliest one, up to the caller's deadline;
//! - throttled: the endpoint rests for everyone (Retry-After, else an escalating base) and the call moves
//!   on at once; it may come back to the endpoint after its rest;
//! - timeout, 5xx, transport: one retry on the same endpoint, then the next;
//! - malformed output (unparseable, or rejected by the caller's validator): one repair attempt on the same
//!   endpoint showing the model its output and the error, then the next;
//! - context too long: stop, so the caller splits its input;
//! - auth, validation, not found: the endpoint is disabled (a configuration error) and the call moves on.

mod record;
mod repair;
mod state;
mod stream;

use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use aiprism_core::Usage;
use tokio::sync::{Notify, OwnedSemaphorePermit, Semaphore};
use tokio::time::Instant;

pub use record::{
    AttemptFailure, AttemptOutcome, AttemptRecord, EndpointSnapshot, Routed, RouterError, RouterEvent,
    RouterObserver,
};
pub use state::{CooldownPolicy, GLOBAL_KEY, InProcessLimitState, LimitState, RateLimits, Settlement};
pub use stream::{RoutedEvent, RoutedStream};

use crate::config::{EndpointConfig, build_provider};
use crate::error::{ConfigError, ErrorKind, ProviderError};
use crate::provider::Provider;
use crate::types::{ModelRequest, ModelResponse, TokenUsage};
use record::Counters;
use repair::repair_request;

/// One link of the chain: its configuration and the provider that serves it.
#[derive(Clone)]
pub struct Endpoint {
    /// Limits, prices, defaults.
    pub config: EndpointConfig,
    /// The client.
    pub provider: Arc<dyn Provider>,
}

impl Endpoint {
    /// Pairs a configuration with an already built provider (tests and benchmarks bring fakes).
    pub fn new(config: EndpointConfig, provider: Arc<dyn Provider>) -> Self {
        Self { config, provider }
    }

    /// Builds the provider from the configuration.
    pub async fn from_config(config: EndpointConfig) -> Result<Self, ConfigError> {
        let provider = build_provider(&config).await?;
        Ok(Self { config, provider })
    }
}

/// Limits over all endpoints together (`MAX_REQUESTS_PER_MINUTE`, `MAX_CONCURRENT_REQUESTS`,
/// `MAX_TOKENS_PER_MINUTE`); `None` leaves that dimension to the per-endpoint limits.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct GlobalLimits {
    /// Requests per minute across the chain.
    pub max_requests_per_minute: Option<u32>,
    /// Calls in flight across the chain.
    pub max_concurrent_requests: Option<u32>,
    /// Tokens per minute across the chain.
    pub max_tokens_per_minute: Option<u64>,
}

/// Tunables of the routing policy; the defaults are the production values, tests shorten them.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RouterSettings {
    /// Cooldown after throttling.
    pub cooldown: CooldownPolicy,
    /// Upper bound on provider calls per routed call (a guard against ping-pong between resting endpoints).
    pub max_attempts: u32,
    /// Seconds' worth of a per-minute budget that may be spent at once (see [`RateLimits::burst`]).
    pub burst: Duration,
}

impl Default for RouterSettings {
    fn default() -> Self {
        Self {
            cooldown: CooldownPolicy::default(),
            max_attempts: 24,
            burst: Duration::from_secs(10),
        }
    }
}

/// Builds a [`Router`].
pub struct RouterBuilder {
    endpoints: Vec<Endpoint>,
    limits: GlobalLimits,
    settings: RouterSettings,
    state: Option<Arc<dyn LimitState>>,
    observer: Option<Arc<dyn RouterObserver>>,
}

impl RouterBuilder {
    /// Global limits.
    pub fn global_limits(mut self, limits: GlobalLimits) -> Self {
        self.limits = limits;
        self
    }

    /// Policy tunables.
    pub fn settings(mut self, settings: RouterSettings) -> Self {
        self.settings = settings;
        self
    }

    /// Shared limit state (defaults to [`InProcessLimitState`]).
    pub fn state(mut self, state: Arc<dyn LimitState>) -> Self {
        self.state = Some(state);
        self
    }

    /// Receiver of every router event.
    pub fn observer(mut self, observer: Arc<dyn RouterObserver>) -> Self {
        self.observer = Some(observer);
        self
    }

    /// Checks the chain and builds the router.
    pub fn build(self) -> Result<Router, ConfigError> {
        if self.endpoints.is_empty() {
            return Err(ConfigError::Empty);
        }
        let mut names: Vec<&str> = Vec::new();
        for endpoint in &self.endpoints {
            endpoint.config.validate()?;
            if names.contains(&endpoint.config.name.as_str()) {
                return Err(ConfigError::DuplicateName(endpoint.config.name.clone()));
            }
            names.push(&endpoint.config.name);
        }
        let state = self.state.unwrap_or_else(|| Arc::new(InProcessLimitState::new()));
        let slots = self
            .endpoints
            .into_iter()
            .map(|endpoint| {
                state.configure(
                    &endpoint.config.name,
                    RateLimits {
                        requests_per_minute: endpoint.config.requests_per_minute,
                        tokens_per_minute: endpoint.config.tokens_per_minute,
                        burst: self.settings.burst,
                    },
                );
                let max = endpoint.config.max_concurrency;
                Slot {
                    semaphore: (max > 0).then(|| Arc::new(Semaphore::new(max as usize))),
                    config: endpoint.config,
                    provider: endpoint.provider,
                    in_flight: Arc::new(AtomicU32::new(0)),
                    throttled: AtomicBool::new(false),
                    disabled: Mutex::new(None),
                    counters: Mutex::new(Counters::default()),
                }
            })
            .collect();
        let global_keyed =
            self.limits.max_requests_per_minute.is_some() || self.limits.max_tokens_per_minute.is_some();
        if global_keyed {
            state.configure(
                GLOBAL_KEY,
                RateLimits {
                    requests_per_minute: self.limits.max_requests_per_minute.unwrap_or(0),
                    tokens_per_minute: self.limits.max_tokens_per_minute.unwrap_or(0),
                    burst: self.settings.burst,
                },
            );
        }
        Ok(Router {
            inner: Arc::new(Inner {
                slots,
                global_semaphore: self
                    .limits
                    .max_concurrent_requests
                    .filter(|n| *n > 0)
                    .map(|n| Arc::new(Semaphore::new(n as usize))),
                global_keyed,
                state,
                settings: self.settings,
                notify: Arc::new(Notify::new()),
                observer: self.observer,
            }),
        })
    }
}

/// The router. Cheap to clone (shared state); one per process, shared by every review and chat.
#[derive(Clone)]
pub struct Router {
    inner: Arc<Inner>,
}

struct Inner {
    slots: Vec<Slot>,
    global_semaphore: Option<Arc<Semaphore>>,
    global_keyed: bool,
    state: Arc<dyn LimitState>,
    settings: RouterSettings,
    notify: Arc<Notify>,
    observer: Option<Arc<dyn RouterObserver>>,
}

struct Slot {
    config: EndpointConfig,
    provider: Arc<dyn Provider>,
    semaphore: Option<Arc<Semaphore>>,
    in_flight: Arc<AtomicU32>,
    /// Set by a throttle, cleared by the next success (which then resets the cooldown escalation).
    throttled: AtomicBool,
    disabled: Mutex<Option<String>>,
    counters: Mutex<Counters>,
}

/// Locks a mutex, tolerating poisoning (the data are counters and flags, still meaningful).
fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

impl Slot {
    fn disabled_reason(&self) -> Option<String> {
        lock(&self.disabled).clone()
    }

    /// Tokens reserved before a call: prompt characters / 4, plus a quarter of the output allowance.
    fn estimate(&self, request: &ModelRequest) -> u64 {
        let max_tokens = request.max_tokens.unwrap_or(self.config.max_tokens);
        (request.prompt_chars() as u64).div_ceil(4) + u64::from(max_tokens) / 4
    }
}

/// A reserved slot on one endpoint: concurrency permits and the token reservation. Dropping it frees the
/// permits and wakes waiting calls.
struct Lease {
    index: usize,
    reserved: u64,
    permits: Option<(Option<OwnedSemaphorePermit>, Option<OwnedSemaphorePermit>)>,
    in_flight: Arc<AtomicU32>,
    notify: Arc<Notify>,
}

impl Drop for Lease {
    fn drop(&mut self) {
        self.in_flight.fetch_sub(1, Ordering::SeqCst);
        drop(self.permits.take());
        self.notify.notify_waiters();
    }
}

/// Why no endpoint could be leased.
enum Blocked {
    Deadline,
    NoEndpoint,
}

/// The bookkeeping of one routed call.
struct CallState {
    allowed: Vec<bool>,
    retried: Vec<bool>,
    repaired: Vec<bool>,
    preferred: Option<usize>,
    failures: Vec<AttemptFailure>,
    attempts: u32,
    usage: Usage,
    /// What the attempt being failed cost, moved into its [`AttemptFailure`].
    spent: Usage,
}

impl CallState {
    fn new(endpoints: usize) -> Self {
        Self {
            allowed: vec![true; endpoints],
            retried: vec![false; endpoints],
            repaired: vec![false; endpoints],
            preferred: None,
            failures: Vec::new(),
            attempts: 0,
            usage: Usage::default(),
            spent: Usage::default(),
        }
    }
}

/// What to do after a failed attempt.
enum Next {
    Continue,
    Stop(RouterError),
}

impl Router {
    /// Starts a router over `endpoints`, in priority order.
    pub fn builder(endpoints: Vec<Endpoint>) -> RouterBuilder {
        RouterBuilder {
            endpoints,
            limits: GlobalLimits::default(),
            settings: RouterSettings::default(),
            state: None,
            observer: None,
        }
    }

    /// Runs one model call through the chain. `validate` turns a response into the caller's value or
    /// says what is wrong with it; a rejection is handled as malformed output (one repair, then the next
    /// endpoint). Waits for capacity up to `deadline`.
    pub async fn call<T, F>(
        &self,
        request: &ModelRequest,
        deadline: Instant,
        validate: F,
    ) -> Result<Routed<T>, RouterError>
    where
        F: Fn(&ModelResponse) -> Result<T, String>,
    {
        let started = Instant::now();
        let mut call = CallState::new(self.inner.slots.len());
        let mut repair: Option<(usize, ModelRequest)> = None;
        loop {
            let lease = self.lease(&mut call, request, deadline).await?;
            let index = lease.index;
            let slot = &self.inner.slots[index];
            let current = match &repair {
                Some((at, repaired)) if *at == index => repaired,
                _ => request,
            };
            call.attempts += 1;
            let attempt_started = Instant::now();
            let attempt_deadline = deadline.min(attempt_started + slot.config.timeout());
            let result =
                match tokio::time::timeout_at(attempt_deadline, slot.provider.complete(current)).await {
                    Ok(result) => result,
                    Err(_) => Err(ProviderError::Timeout {
                        message: "no answer before the endpoint timeout".into(),
                    }),
                };
            let latency = attempt_started.elapsed();
            let (error, output) = match result {
                Ok(response) => {
                    self.settle(&lease, &response.usage, Ok(())).await;
                    match validate(&response) {
                        Ok(value) => {
                            let usage =
                                self.record(index, Ok(()), &response.usage, latency, call.attempts, false);
                            call.usage.add(&usage);
                            return Ok(Routed {
                                value,
                                endpoint: slot.config.name.clone(),
                                provider: slot.provider.kind(),
                                model: response.model,
                                usage: call.usage,
                                attempts: call.attempts,
                                latency: started.elapsed(),
                            });
                        }
                        Err(reason) => {
                            let error = ProviderError::malformed(
                                crate::error::summarize(&reason),
                                Some(response.output_text()),
                            );
                            let usage = self.record(
                                index,
                                Err(&error),
                                &response.usage,
                                latency,
                                call.attempts,
                                false,
                            );
                            call.usage.add(&usage);
                            call.spent = usage;
                            (error, Some((response.output_text(), reason)))
                        }
                    }
                }
                Err(error) => {
                    self.settle(&lease, &TokenUsage::default(), Err(&error)).await;
                    self.record(
                        index,
                        Err(&error),
                        &TokenUsage::default(),
                        latency,
                        call.attempts,
                        false,
                    );
                    let output = match &error {
                        ProviderError::Malformed { message, output } => {
                            Some((output.clone().unwrap_or_default(), message.clone()))
                        }
                        _ => None,
                    };
                    (error, output)
                }
            };
            drop(lease);
            if Instant::now() >= deadline {
                let failure = self.failure(index, &error, &mut call);
                call.failures.push(failure);
                return Err(RouterError::DeadlineExceeded {
                    failures: call.failures,
                });
            }
            let will_repair = error.kind() == ErrorKind::Malformed && !call.repaired[index];
            match self.after_failure(index, &error, &mut call, true).await {
                Next::Stop(error) => return Err(error),
                Next::Continue => {}
            }
            if will_repair && let Some((output, reason)) = output {
                repair = Some((index, repair_request(request, &output, &reason)));
            }
        }
    }

    /// Leases an endpoint for the next attempt, turning "nothing left" into the call's error.
    async fn lease(
        &self,
        call: &mut CallState,
        request: &ModelRequest,
        deadline: Instant,
    ) -> Result<Lease, RouterError> {
        if call.attempts >= self.inner.settings.max_attempts {
            return Err(RouterError::Exhausted {
                failures: std::mem::take(&mut call.failures),
            });
        }
        match self
            .acquire(&call.allowed, call.preferred, request, deadline)
            .await
        {
            Ok(lease) => Ok(lease),
            Err(Blocked::Deadline) => Err(RouterError::DeadlineExceeded {
                failures: std::mem::take(&mut call.failures),
            }),
            Err(Blocked::NoEndpoint) => {
                let mut failures = std::mem::take(&mut call.failures);
                for slot in &self.inner.slots {
                    if let Some(reason) = slot.disabled_reason()
                        && !failures.iter().any(|f| f.endpoint == slot.config.name)
                    {
                        failures.push(AttemptFailure {
                            endpoint: slot.config.name.clone(),
                            kind: ErrorKind::Validation,
                            message: format!("disabled: {reason}"),
                            usage: Usage::default(),
                        });
                    }
                }
                Err(RouterError::Exhausted { failures })
            }
        }
    }

    /// Finds an endpoint with capacity, waiting for the earliest one when none has any.
    async fn acquire(
        &self,
        allowed: &[bool],
        preferred: Option<usize>,
        request: &ModelRequest,
        deadline: Instant,
    ) -> Result<Lease, Blocked> {
        let inner = &self.inner;
        let order: Vec<usize> = preferred
            .into_iter()
            .chain((0..inner.slots.len()).filter(|i| Some(*i) != preferred))
            .collect();
        let wait_started = Instant::now();
        loop {
            // Registered before looking, so a permit freed while we look still wakes us.
            let notified = inner.notify.notified();
            tokio::pin!(notified);
            notified.as_mut().enable();
            let mut earliest: Option<Duration> = None;
            let mut candidate = false;
            for &index in &order {
                let slot = &inner.slots[index];
                if !allowed[index] || slot.disabled_reason().is_some() {
                    continue;
                }
                candidate = true;
                if let Some(rest) = inner.state.cooldown_remaining(&slot.config.name).await {
                    earliest = Some(earliest.map_or(rest, |e| e.min(rest)));
                    continue;
                }
                // Concurrency first as a cheap look (a call finishing wakes us through `notify`), then
                // the rate budget, then the permits for real. Permits are never held and dropped again
                // by a look, so a waiter cannot miss the wake-up of a freed slot.
                let full = |semaphore: &Option<Arc<Semaphore>>| {
                    semaphore.as_ref().is_some_and(|s| s.available_permits() == 0)
                };
                if full(&slot.semaphore) || full(&inner.global_semaphore) {
                    continue;
                }
                let tokens = slot.estimate(request);
                let keys = self.keys(index);
                if let Err(wait) = inner.state.try_acquire(&keys, tokens).await {
                    earliest = Some(earliest.map_or(wait, |e| e.min(wait)));
                    continue;
                }
                let permit = |semaphore: &Option<Arc<Semaphore>>| match semaphore {
                    Some(semaphore) => semaphore.clone().try_acquire_owned().map(Some),
                    None => Ok(None),
                };
                match (permit(&slot.semaphore), permit(&inner.global_semaphore)) {
                    (Ok(endpoint_permit), Ok(global_permit)) => {
                        let waited = wait_started.elapsed();
                        if waited >= Duration::from_millis(1) {
                            self.emit(&RouterEvent::WaitedForCapacity { waited });
                        }
                        slot.in_flight.fetch_add(1, Ordering::SeqCst);
                        return Ok(Lease {
                            index,
                            reserved: tokens,
                            permits: Some((endpoint_permit, global_permit)),
                            in_flight: slot.in_flight.clone(),
                            notify: inner.notify.clone(),
                        });
                    }
                    _ => {
                        // Another call took the last slot between the look and the grab: give the budget back.
                        let refund = Settlement {
                            reserved_tokens: tokens,
                            used_tokens: 0,
                            admitted: false,
                        };
                        inner.state.settle(&keys, refund).await;
                    }
                }
            }
            if !candidate {
                return Err(Blocked::NoEndpoint);
            }
            let now = Instant::now();
            if now >= deadline {
                return Err(Blocked::Deadline);
            }
            let wake = earliest.map_or(deadline, |d| (now + d).min(deadline));
            tokio::select! {
                _ = tokio::time::sleep_until(wake) => {}
                _ = &mut notified => {}
            }
        }
    }

    /// The limit-state keys an attempt on endpoint `index` is charged to.
    fn keys(&self, index: usize) -> Vec<&str> {
        let mut keys = vec![self.inner.slots[index].config.name.as_str()];
        if self.inner.global_keyed {
            keys.push(GLOBAL_KEY);
        }
        keys
    }

    /// Settles a lease: the token reservation against what the provider reported, and the request itself
    /// given back when the provider refused it. A success after throttles ends the throttle history.
    async fn settle(&self, lease: &Lease, usage: &TokenUsage, outcome: Result<(), &ProviderError>) {
        let admitted = !matches!(outcome, Err(ProviderError::Throttled { .. }));
        let settlement = Settlement {
            reserved_tokens: lease.reserved,
            used_tokens: usage.quota_tokens(),
            admitted,
        };
        self.inner.state.settle(&self.keys(lease.index), settlement).await;
        let slot = &self.inner.slots[lease.index];
        if outcome.is_ok() && slot.throttled.swap(false, Ordering::SeqCst) {
            self.inner.state.forget_throttles(&slot.config.name).await;
        }
    }

    /// Counts an attempt, emits its event, and returns its usage priced at the endpoint's rates.
    fn record(
        &self,
        index: usize,
        outcome: Result<(), &ProviderError>,
        tokens: &TokenUsage,
        latency: Duration,
        attempt: u32,
        streaming: bool,
    ) -> Usage {
        let slot = &self.inner.slots[index];
        let usage = Usage {
            input_tokens: tokens.input_tokens + tokens.cache_write_tokens,
            output_tokens: tokens.output_tokens,
            cached_tokens: tokens.cache_read_tokens,
            cost_usd: slot.config.cost_usd(tokens),
        };
        {
            let mut counters = lock(&slot.counters);
            counters.calls += 1;
            counters.usage.add(&usage);
            match outcome {
                Ok(()) => counters.successes += 1,
                Err(error) if error.kind() == ErrorKind::Throttled => {
                    counters.throttles += 1;
                    counters.last_error = Some(error.to_string());
                }
                Err(error) => {
                    counters.errors += 1;
                    counters.last_error = Some(error.to_string());
                }
            }
        }
        self.emit(&RouterEvent::Attempt(AttemptRecord {
            endpoint: slot.config.name.clone(),
            provider: slot.provider.kind(),
            model: slot.config.model.clone(),
            outcome: match outcome {
                Ok(()) => AttemptOutcome::Success,
                Err(error) => AttemptOutcome::Failed(error.kind()),
            },
            tokens: *tokens,
            usage,
            latency,
            attempt,
            streaming,
        }));
        usage
    }

    fn failure(&self, index: usize, error: &ProviderError, call: &mut CallState) -> AttemptFailure {
        AttemptFailure {
            endpoint: self.inner.slots[index].config.name.clone(),
            kind: error.kind(),
            message: error.to_string(),
            usage: std::mem::take(&mut call.spent),
        }
    }

    /// Applies the rule for `error` on endpoint `index`. `repairable` is false for streams, whose text
    /// output has no schema to repair against (a malformed stream is retried like a transient error).
    async fn after_failure(
        &self,
        index: usize,
        error: &ProviderError,
        call: &mut CallState,
        repairable: bool,
    ) -> Next {
        let slot = &self.inner.slots[index];
        let failure = self.failure(index, error, call);
        call.failures.push(failure);
        call.preferred = None;
        match error {
            ProviderError::Throttled { retry_after, .. } => {
                slot.throttled.store(true, Ordering::SeqCst);
                let duration = self
                    .inner
                    .state
                    .cool_down(&slot.config.name, *retry_after, &self.inner.settings.cooldown)
                    .await;
                tracing::info!(endpoint = %slot.config.name, ?duration, "model endpoint throttled; cooling down");
                self.emit(&RouterEvent::CooldownStarted {
                    endpoint: slot.config.name.clone(),
                    duration,
                });
            }
            ProviderError::Malformed { .. } if repairable => {
                if call.repaired[index] {
                    call.allowed[index] = false;
                } else {
                    call.repaired[index] = true;
                    call.preferred = Some(index);
                }
            }
            ProviderError::Timeout { .. }
            | ProviderError::Server { .. }
            | ProviderError::Transport { .. }
            | ProviderError::Malformed { .. } => {
                if call.retried[index] {
                    call.allowed[index] = false;
                } else {
                    call.retried[index] = true;
                    call.preferred = Some(index);
                }
            }
            ProviderError::ContextTooLong { message } => {
                return Next::Stop(RouterError::ContextTooLong {
                    endpoint: slot.config.name.clone(),
                    message: message.clone(),
                });
            }
            ProviderError::Auth { .. }
            | ProviderError::Validation { .. }
            | ProviderError::NotFound { .. } => {
                let reason = error.to_string();
                tracing::warn!(endpoint = %slot.config.name, %reason, "model endpoint disabled");
                *lock(&slot.disabled) = Some(reason.clone());
                call.allowed[index] = false;
                self.emit(&RouterEvent::EndpointDisabled {
                    endpoint: slot.config.name.clone(),
                    reason,
                });
            }
        }
        Next::Continue
    }

    fn emit(&self, event: &RouterEvent) {
        if let Some(observer) = &self.inner.observer {
            observer.on_event(event);
        }
    }

    /// Every endpoint's state, in priority order.
    pub async fn snapshot(&self) -> Vec<EndpointSnapshot> {
        let mut snapshots = Vec::with_capacity(self.inner.slots.len());
        for (priority, slot) in self.inner.slots.iter().enumerate() {
            let cooldown = self.inner.state.cooldown_remaining(&slot.config.name).await;
            let counters = lock(&slot.counters).clone();
            snapshots.push(EndpointSnapshot {
                name: slot.config.name.clone(),
                priority,
                provider: slot.provider.kind(),
                model: slot.config.model.clone(),
                requests_per_minute: slot.config.requests_per_minute,
                tokens_per_minute: slot.config.tokens_per_minute,
                max_concurrency: slot.config.max_concurrency,
                in_flight: slot.in_flight.load(Ordering::SeqCst),
                cooldown_remaining_ms: cooldown.map(|d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX)),
                disabled_reason: slot.disabled_reason(),
                calls: counters.calls,
                successes: counters.successes,
                throttles: counters.throttles,
                errors: counters.errors,
                usage: counters.usage,
                last_error: counters.last_error,
            });
        }
        snapshots
    }

    /// Ends every cooldown and re-enables disabled endpoints (after an operator fixed the configuration).
    pub async fn reset(&self) {
        self.inner.state.clear_cooldowns().await;
        for slot in &self.inner.slots {
            *lock(&slot.disabled) = None;
        }
        self.inner.notify.notify_waiters();
    }

    /// The configured endpoints, in priority order.
    pub fn endpoints(&self) -> Vec<&EndpointConfig> {
        self.inner.slots.iter().map(|s| &s.config).collect()
    }
}
