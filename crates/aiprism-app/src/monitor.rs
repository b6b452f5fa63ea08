//! Health probes: the database, the object store, the shared-state service (Redis) when there is one,
//! each queue's depth and each model endpoint's state.
//! A periodic `monitor` job on the `monitoring` queue records them for `/ready`, `check` and metrics; the
//! dedup key keeps a single probe queued however many workers schedule it.

use std::time::{Duration, Instant};

use aiprism_store::HealthCheck;
use aiprism_store::queue::runner::JobError;
use aiprism_store::queue::{JobPayload, NewJob, QueueName};
use serde::{Deserialize, Serialize};

use crate::App;

/// The periodic probe job.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct MonitorJob {}

impl JobPayload for MonitorJob {
    const NAME: &'static str = "monitor";
    const QUEUE: QueueName = QueueName::Monitoring;
}

fn check(name: impl Into<String>, started: Instant, result: Result<String, String>) -> HealthCheck {
    let latency_ms = u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX);
    let (ok, detail) = match result {
        Ok(d) => (true, d),
        Err(e) => (false, e),
    };
    HealthCheck {
        name: name.into(),
        ok,
        detail,
        latency_ms,
        checked_at: aiprism_core::now(),
    }
}

impl App {
    /// Probes every dependency now. Model endpoints are judged from the router's state (cooling down,
    /// disabled, last error) rather than by spending tokens on a test call.
    pub async fn probe(&self) -> Vec<HealthCheck> {
        // All at once: in an outage each call waits for its own timeout, and waiting for them one after
        // another would keep `/ready` from answering for the sum of them.
        let database = async {
            let started = Instant::now();
            let db = self
                .store
                .ping()
                .await
                .map(|()| format!("{} answers", self.store.backend().as_str()));
            check("database", started, db.map_err(|e| e.to_string()))
        };
        let objects = async {
            let started = Instant::now();
            let objects = self
                .objects
                .probe()
                .await
                .map(|()| format!("{} is writable", self.objects.description()));
            check("object_store", started, objects.map_err(|e| e.to_string()))
        };
        let queues = futures::future::join_all(QueueName::ALL.iter().map(|queue| async move {
            let started = Instant::now();
            let depth = self.queue.depth(*queue).await.map(|d| {
                format!(
                    "{} queued, {} scheduled, {} running, {} dead",
                    d.queued, d.scheduled, d.running, d.dead
                )
            });
            check(
                format!("queue:{}", queue.as_str()),
                started,
                depth.map_err(|e| e.to_string()),
            )
        }));
        let shared = async {
            match &self.shared {
                Some(service) => {
                    let started = Instant::now();
                    let answer = service.ping().await;
                    Some(check(service.name(), started, answer))
                }
                None => None,
            }
        };
        let (database, objects, shared, queues) = futures::join!(database, objects, shared, queues);
        let mut checks = vec![database, objects];
        checks.extend(shared);
        checks.extend(queues);

        match &self.router {
            Some(router) => {
                for endpoint in router.snapshot().await {
                    let started = Instant::now();
                    let result = match &endpoint.disabled_reason {
                        Some(reason) => Err(format!("disabled: {reason}")),
                        None => Ok(match endpoint.cooldown_remaining_ms {
                            Some(ms) if ms > 0 => format!("cooling down for {} s", ms.div_ceil(1000)),
                            _ => format!("available ({} in flight)", endpoint.in_flight),
                        }),
                    };
                    checks.push(check(format!("model:{}", endpoint.name), started, result));
                }
            }
            None => checks.push(check(
                "reviewer",
                Instant::now(),
                Ok("no model configured: the built-in rule reviewer runs alone".into()),
            )),
        }
        checks
    }

    /// The monitoring job: probe and record.
    pub async fn run_monitor(&self) -> Result<(), JobError> {
        let checks = self.probe().await;
        crate::metrics::probes(&checks);
        self.store
            .record_health(&checks)
            .await
            .map_err(|e| JobError::Retry(e.to_string()))
    }

    /// Queues a probe every `interval` until `shutdown` resolves. Every worker process runs this; the
    /// dedup key makes the extra enqueues no-ops.
    pub async fn schedule_monitoring(
        &self,
        interval: Duration,
        shutdown: impl std::future::Future<Output = ()>,
    ) {
        tokio::pin!(shutdown);
        let mut ticker = tokio::time::interval(interval);
        ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                () = &mut shutdown => return,
                _ = ticker.tick() => {}
            }
            let job = match NewJob::from_payload(&MonitorJob::default()) {
                Ok(job) => job.with_dedup_key("monitor").with_max_attempts(1),
                Err(e) => {
                    tracing::error!(error = %e, "cannot build the monitoring job");
                    return;
                }
            };
            if let Err(e) = self.queue.enqueue(job).await {
                tracing::warn!(error = %e, "could not queue the monitoring probe");
            }
        }
    }
}
