//! Prometheus metrics (`GET /metrics`, DESIGN.md section 3): the process-wide recorder, the series'
//! names and buckets, and the small recording helpers the use cases call.
//!
//! Recording goes through the `metrics` facade, so a call costs next to nothing when no recorder is
//! installed (metrics disabled, or a unit test). [`install`] installs one Prometheus recorder per process,
//! however many [`App`]s are built (tests build many); [`render`] refreshes the gauges read at scrape
//! time (queue depth, model endpoint state) and renders the text format.
//!
//! Labels are kept bounded: route templates, status codes, queue names, job outcomes, endpoint names
//! from the configuration, dependency names and enum spellings, never ids, paths, messages or secrets.

use std::sync::{Arc, OnceLock};
use std::time::Duration;

use aiprism_core::{DocumentFormat, Finding, FindingSource};
use aiprism_llm::{AttemptOutcome, ErrorKind, RouterEvent, RouterObserver};
use aiprism_store::HealthCheck;
use aiprism_store::queue::QueueName;
use metrics::{counter, gauge, histogram};
use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};

use crate::App;
use crate::settings::Settings;

/// HTTP request latency, by `method`, `route` (the matched route template) and `status`.
pub const HTTP_REQUEST_DURATION: &str = "aiprism_http_request_duration_seconds";
/// HTTP requests answered, by `method`, `route` and `status`.
pub const HTTP_REQUESTS: &str = "aiprism_http_requests_total";
/// Jobs by `queue` and `state` (`queued`, `scheduled`, `running`, `dead`), read at scrape time.
pub const QUEUE_JOBS: &str = "aiprism_queue_jobs";
/// Job runs ended, by `queue` and `outcome` (recorded by the runner in `aiprism-store`).
pub const JOBS: &str = aiprism_store::queue::runner::JOBS_METRIC;
/// Job run time, by `queue` and `outcome` (recorded by the runner in `aiprism-store`).
pub const JOB_DURATION: &str = aiprism_store::queue::runner::JOB_DURATION_METRIC;
/// Provider calls, by `endpoint` and `outcome` (`success` or the error class).
pub const MODEL_CALLS: &str = "aiprism_model_calls_total";
/// Provider calls that were throttled, by `endpoint`.
pub const MODEL_THROTTLES: &str = "aiprism_model_throttles_total";
/// Cooldowns started after throttling, by `endpoint`.
pub const MODEL_COOLDOWNS: &str = "aiprism_model_cooldowns_total";
/// Endpoints disabled as misconfigured, by `endpoint`.
pub const MODEL_DISABLED: &str = "aiprism_model_endpoint_disabled_total";
/// Tokens, by `endpoint` and `kind` (`input`, `output`, `cache_read`, `cache_write`).
pub const MODEL_TOKENS: &str = "aiprism_model_tokens_total";
/// Price of provider calls in millionths of a US dollar, by `endpoint` (an integer counter, so
/// `rate()` works; divide by 1e6 for dollars).
pub const MODEL_COST: &str = "aiprism_model_cost_microdollars_total";
/// Time spent in one provider call, by `endpoint`.
pub const MODEL_CALL_DURATION: &str = "aiprism_model_call_duration_seconds";
/// Time a routed call waited because no endpoint had capacity.
pub const MODEL_CAPACITY_WAIT: &str = "aiprism_model_capacity_wait_seconds";
/// Provider calls running now, by `endpoint`, read at scrape time.
pub const MODEL_IN_FLIGHT: &str = "aiprism_model_in_flight";
/// 1 while an endpoint rests after throttling, by `endpoint`, read at scrape time.
pub const MODEL_COOLING_DOWN: &str = "aiprism_model_cooling_down";
/// Documents uploaded, by `format`.
pub const DOCUMENTS_UPLOADED: &str = "aiprism_documents_uploaded_total";
/// Findings stored by reviews, by `source` (`rule`, `model`).
pub const FINDINGS_CREATED: &str = "aiprism_findings_created_total";
/// 1 when the monitoring job's latest probe of a `dependency` succeeded, 0 when it failed.
pub const DEPENDENCY_UP: &str = "aiprism_dependency_up";
/// How long the monitoring job's latest probe of a `dependency` took.
pub const DEPENDENCY_PROBE_DURATION: &str = "aiprism_dependency_probe_duration_seconds";

/// Request latencies: 5 ms to 30 s (uploads of large files and exports sit at the top).
const HTTP_BUCKETS: &[f64] = &[
    0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0,
];
/// Job runs: a probe takes milliseconds, a section review with model calls minutes.
const JOB_BUCKETS: &[f64] = &[
    0.01, 0.05, 0.1, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 120.0, 300.0, 600.0,
];
/// Provider calls: a fast local model answers in a fraction of a second, a long review call in minutes.
const MODEL_BUCKETS: &[f64] = &[
    0.1, 0.25, 0.5, 1.0, 2.0, 5.0, 10.0, 20.0, 30.0, 60.0, 120.0, 300.0,
];
/// Waits for capacity: from a short queue behind a semaphore to a minute-long rate limit window.
const WAIT_BUCKETS: &[f64] = &[0.01, 0.05, 0.1, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0];

/// How often the background thread folds recorded histogram samples into their buckets, so memory
/// stays bounded when nobody scrapes.
const UPKEEP_EVERY: Duration = Duration::from_secs(5);

static HANDLE: OnceLock<Option<PrometheusHandle>> = OnceLock::new();

/// Installs the process-wide Prometheus recorder, once; later calls return the same handle. `None` when
/// another recorder was installed first (then this process's series go there and `/metrics` is empty).
pub fn install() -> Option<&'static PrometheusHandle> {
    HANDLE.get_or_init(build_and_install).as_ref()
}

/// The installed recorder's handle, if [`install`] ran.
pub fn handle() -> Option<&'static PrometheusHandle> {
    HANDLE.get().and_then(Option::as_ref)
}

/// The builder with every histogram's buckets; shared by [`install`] and tests that use a local
/// recorder.
pub fn builder() -> PrometheusBuilder {
    let buckets: [(&str, &[f64]); 5] = [
        (HTTP_REQUEST_DURATION, HTTP_BUCKETS),
        (JOB_DURATION, JOB_BUCKETS),
        (MODEL_CALL_DURATION, MODEL_BUCKETS),
        (MODEL_CAPACITY_WAIT, WAIT_BUCKETS),
        (DEPENDENCY_PROBE_DURATION, HTTP_BUCKETS),
    ];
    let mut builder = PrometheusBuilder::new();
    for (name, values) in buckets {
        builder = builder
            .set_buckets_for_metric(Matcher::Full(name.to_string()), values)
            .expect("every bucket list is non-empty");
    }
    builder
}

fn build_and_install() -> Option<PrometheusHandle> {
    match builder().install_recorder() {
        Ok(handle) => {
            describe();
            let upkeep = handle.clone();
            let spawned = std::thread::Builder::new()
                .name("metrics-upkeep".into())
                .spawn(move || {
                    loop {
                        std::thread::sleep(UPKEEP_EVERY);
                        upkeep.run_upkeep();
                    }
                });
            if let Err(e) = spawned {
                tracing::warn!(error = %e, "cannot start the metrics upkeep thread; scrapes still fold samples");
            }
            Some(handle)
        }
        Err(e) => {
            tracing::warn!(error = %e, "a metrics recorder was already installed; /metrics will be empty");
            None
        }
    }
}

/// Help texts, so the exposition explains each series.
fn describe() {
    use metrics::{Unit, describe_counter, describe_gauge, describe_histogram};
    describe_histogram!(
        HTTP_REQUEST_DURATION,
        Unit::Seconds,
        "HTTP request latency by route template and status"
    );
    describe_counter!(
        HTTP_REQUESTS,
        "HTTP requests answered by route template and status"
    );
    describe_gauge!(QUEUE_JOBS, "Jobs per queue and state, read at scrape time");
    describe_counter!(JOBS, "Job runs ended, by queue and outcome");
    describe_histogram!(JOB_DURATION, Unit::Seconds, "Job run time by queue and outcome");
    describe_counter!(MODEL_CALLS, "Provider calls by endpoint and outcome");
    describe_counter!(MODEL_THROTTLES, "Throttled provider calls by endpoint");
    describe_counter!(MODEL_COOLDOWNS, "Cooldowns started after throttling, by endpoint");
    describe_counter!(MODEL_DISABLED, "Endpoints disabled as misconfigured");
    describe_counter!(MODEL_TOKENS, "Tokens by endpoint and kind");
    describe_counter!(MODEL_COST, "Price of provider calls in millionths of a US dollar");
    describe_histogram!(
        MODEL_CALL_DURATION,
        Unit::Seconds,
        "Time spent in one provider call"
    );
    describe_histogram!(
        MODEL_CAPACITY_WAIT,
        Unit::Seconds,
        "Time waited for model capacity"
    );
    describe_gauge!(MODEL_IN_FLIGHT, "Provider calls running now, by endpoint");
    describe_gauge!(MODEL_COOLING_DOWN, "1 while an endpoint rests after throttling");
    describe_counter!(DOCUMENTS_UPLOADED, "Documents uploaded, by format");
    describe_counter!(FINDINGS_CREATED, "Findings stored by reviews, by source");
    describe_gauge!(
        DEPENDENCY_UP,
        "1 when the latest monitoring probe of a dependency succeeded"
    );
    describe_gauge!(
        DEPENDENCY_PROBE_DURATION,
        Unit::Seconds,
        "Duration of the latest monitoring probe"
    );
}

/// The router observer for these settings: a [`MetricsObserver`] when metrics are enabled.
pub fn observer(settings: &Settings) -> Option<Arc<dyn RouterObserver>> {
    settings
        .observability
        .metrics
        .then(|| Arc::new(MetricsObserver) as Arc<dyn RouterObserver>)
}

/// Turns router events into series labelled by endpoint name.
#[derive(Debug, Clone, Copy, Default)]
pub struct MetricsObserver;

impl RouterObserver for MetricsObserver {
    fn on_event(&self, event: &RouterEvent) {
        match event {
            RouterEvent::Attempt(attempt) => {
                let endpoint = attempt.endpoint.clone();
                let outcome = match attempt.outcome {
                    AttemptOutcome::Success => "success",
                    AttemptOutcome::Failed(kind) => kind.as_str(),
                };
                counter!(MODEL_CALLS, "endpoint" => endpoint.clone(), "outcome" => outcome).increment(1);
                if attempt.outcome == AttemptOutcome::Failed(ErrorKind::Throttled) {
                    counter!(MODEL_THROTTLES, "endpoint" => endpoint.clone()).increment(1);
                }
                let tokens = &attempt.tokens;
                for (kind, n) in [
                    ("input", tokens.input_tokens),
                    ("output", tokens.output_tokens),
                    ("cache_read", tokens.cache_read_tokens),
                    ("cache_write", tokens.cache_write_tokens),
                ] {
                    if n > 0 {
                        counter!(MODEL_TOKENS, "endpoint" => endpoint.clone(), "kind" => kind).increment(n);
                    }
                }
                let micros = (attempt.usage.cost_usd * 1e6).round();
                if micros >= 1.0 {
                    // A saturating conversion; NaN and negative prices fail the test above.
                    counter!(MODEL_COST, "endpoint" => endpoint.clone()).increment(micros as u64);
                }
                histogram!(MODEL_CALL_DURATION, "endpoint" => endpoint).record(attempt.latency.as_secs_f64());
            }
            RouterEvent::CooldownStarted { endpoint, .. } => {
                counter!(MODEL_COOLDOWNS, "endpoint" => endpoint.clone()).increment(1);
            }
            RouterEvent::EndpointDisabled { endpoint, .. } => {
                counter!(MODEL_DISABLED, "endpoint" => endpoint.clone()).increment(1);
            }
            RouterEvent::WaitedForCapacity { waited } => {
                histogram!(MODEL_CAPACITY_WAIT).record(waited.as_secs_f64());
            }
        }
    }
}

/// Counts one stored upload.
pub(crate) fn document_uploaded(format: DocumentFormat) {
    counter!(DOCUMENTS_UPLOADED, "format" => format.as_str()).increment(1);
}

/// Findings per source, counted before a section's findings are handed to the store and recorded once
/// the store took them.
#[derive(Debug, Clone, Copy)]
pub(crate) struct FindingTally([u64; FindingSource::ALL.len()]);

impl FindingTally {
    /// Counts `findings` by source.
    pub(crate) fn of(findings: &[Finding]) -> Self {
        let mut counts = [0; FindingSource::ALL.len()];
        for finding in findings {
            if let Some(i) = FindingSource::ALL.iter().position(|s| *s == finding.source) {
                counts[i] += 1;
            }
        }
        Self(counts)
    }

    /// Adds the counts to the findings counter.
    pub(crate) fn record(self) {
        for (source, n) in FindingSource::ALL.iter().zip(self.0) {
            if n > 0 {
                counter!(FINDINGS_CREATED, "source" => source.as_str()).increment(n);
            }
        }
    }
}

/// Publishes the monitoring job's probe results as gauges.
pub(crate) fn probes(checks: &[HealthCheck]) {
    for check in checks {
        gauge!(DEPENDENCY_UP, "dependency" => check.name.clone()).set(if check.ok { 1.0 } else { 0.0 });
        let seconds = check.latency_ms as f64 / 1000.0;
        gauge!(DEPENDENCY_PROBE_DURATION, "dependency" => check.name.clone()).set(seconds);
    }
}

/// Refreshes the gauges read at scrape time (queue depth, model endpoint state) for `app` and renders
/// every series in the Prometheus text format. `None` when no recorder is installed here.
pub async fn render(app: &App) -> Option<String> {
    let handle = handle()?;
    for queue in QueueName::ALL {
        match app.queue.depth(*queue).await {
            Ok(depth) => {
                let name = queue.as_str();
                for (state, n) in [
                    ("queued", depth.queued),
                    ("scheduled", depth.scheduled),
                    ("running", depth.running),
                    ("dead", depth.dead),
                ] {
                    gauge!(QUEUE_JOBS, "queue" => name, "state" => state).set(n as f64);
                }
            }
            Err(e) => {
                tracing::warn!(queue = %queue, error = %e, "reading the queue depth for metrics failed")
            }
        }
    }
    if let Some(router) = &app.router {
        for endpoint in router.snapshot().await {
            let cooling = endpoint.cooldown_remaining_ms.is_some_and(|ms| ms > 0);
            gauge!(MODEL_IN_FLIGHT, "endpoint" => endpoint.name.clone()).set(f64::from(endpoint.in_flight));
            gauge!(MODEL_COOLING_DOWN, "endpoint" => endpoint.name).set(if cooling { 1.0 } else { 0.0 });
        }
    }
    handle.run_upkeep();
    Some(handle.render())
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use aiprism_core::Usage;
    use aiprism_llm::{AttemptRecord, ProviderKind, TokenUsage};

    use super::*;

    fn attempt(
        endpoint: &str,
        outcome: AttemptOutcome,
        input: u64,
        output: u64,
        cost_usd: f64,
    ) -> RouterEvent {
        RouterEvent::Attempt(AttemptRecord {
            endpoint: endpoint.to_string(),
            provider: ProviderKind::Anthropic,
            model: "claude-test".to_string(),
            outcome,
            tokens: TokenUsage {
                input_tokens: input,
                output_tokens: output,
                cache_read_tokens: 0,
                cache_write_tokens: 0,
            },
            usage: Usage {
                input_tokens: input,
                output_tokens: output,
                cached_tokens: 0,
                cost_usd,
            },
            latency: Duration::from_millis(300),
            attempt: 1,
            streaming: false,
        })
    }

    /// The value of the one line that starts with `series` (name and labels, as rendered).
    fn value(text: &str, series: &str) -> Option<f64> {
        text.lines()
            .find_map(|line| line.strip_prefix(series)?.trim().parse().ok())
    }

    #[test]
    fn the_observer_counts_calls_throttles_tokens_and_cost_per_endpoint() {
        let recorder = builder().build_recorder();
        let handle = recorder.handle();
        metrics::with_local_recorder(&recorder, || {
            let observer = MetricsObserver;
            observer.on_event(&attempt(
                "primary",
                AttemptOutcome::Failed(ErrorKind::Throttled),
                0,
                0,
                0.0,
            ));
            observer.on_event(&RouterEvent::CooldownStarted {
                endpoint: "primary".into(),
                duration: Duration::from_secs(30),
            });
            observer.on_event(&attempt("fallback", AttemptOutcome::Success, 1200, 300, 0.0081));
            observer.on_event(&attempt("fallback", AttemptOutcome::Success, 800, 200, 0.0054));
            observer.on_event(&RouterEvent::WaitedForCapacity {
                waited: Duration::from_millis(40),
            });
        });
        handle.run_upkeep();
        let text = handle.render();

        let throttles =
            |endpoint: &str| value(&text, &format!("{MODEL_THROTTLES}{{endpoint=\"{endpoint}\"}}"));
        assert_eq!(throttles("primary"), Some(1.0), "{text}");
        assert_eq!(
            throttles("fallback"),
            None,
            "no throttle was recorded for fallback:\n{text}"
        );
        assert_eq!(
            value(&text, &format!("{MODEL_COOLDOWNS}{{endpoint=\"primary\"}}")),
            Some(1.0)
        );
        assert_eq!(
            value(
                &text,
                &format!("{MODEL_CALLS}{{endpoint=\"primary\",outcome=\"throttled\"}}")
            ),
            Some(1.0)
        );
        assert_eq!(
            value(
                &text,
                &format!("{MODEL_CALLS}{{endpoint=\"fallback\",outcome=\"success\"}}")
            ),
            Some(2.0)
        );
        let tokens = |kind: &str| {
            value(
                &text,
                &format!("{MODEL_TOKENS}{{endpoint=\"fallback\",kind=\"{kind}\"}}"),
            )
        };
        assert_eq!(tokens("input"), Some(2000.0), "{text}");
        assert_eq!(tokens("output"), Some(500.0));
        assert_eq!(
            value(
                &text,
                &format!("{MODEL_TOKENS}{{endpoint=\"primary\",kind=\"input\"}}")
            ),
            None
        );
        assert_eq!(
            value(&text, &format!("{MODEL_COST}{{endpoint=\"fallback\"}}")),
            Some(13_500.0)
        );
        assert_eq!(
            value(
                &text,
                &format!("{MODEL_CALL_DURATION}_bucket{{endpoint=\"fallback\",le=\"0.5\"}}")
            ),
            Some(2.0),
            "call latencies land in the configured buckets:\n{text}"
        );
        assert_eq!(value(&text, &format!("{MODEL_CAPACITY_WAIT}_count")), Some(1.0));
    }

    #[test]
    fn probes_become_up_gauges() {
        let recorder = builder().build_recorder();
        let handle = recorder.handle();
        let probe = |name: &str, ok: bool| HealthCheck {
            name: name.into(),
            ok,
            detail: String::new(),
            latency_ms: 12,
            checked_at: aiprism_core::now(),
        };
        metrics::with_local_recorder(&recorder, || {
            probes(&[probe("database", true), probe("object_store", false)]);
        });
        let text = handle.render();
        assert_eq!(
            value(&text, &format!("{DEPENDENCY_UP}{{dependency=\"database\"}}")),
            Some(1.0)
        );
        assert_eq!(
            value(&text, &format!("{DEPENDENCY_UP}{{dependency=\"object_store\"}}")),
            Some(0.0)
        );
        assert_eq!(
            value(
                &text,
                &format!("{DEPENDENCY_PROBE_DURATION}{{dependency=\"database\"}}")
            ),
            Some(0.012)
        );
    }
}
