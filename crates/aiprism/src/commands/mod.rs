//! One module per subcommand, and the wiring they share.

pub mod check;
pub mod migrate;
pub mod review;
pub mod sarif;
pub mod serve;
pub mod user;
pub mod worker;

use std::sync::Arc;
use std::time::Duration;

use aiprism_app::jobs::AppJobs;
use aiprism_app::settings::QueueBackend;
use aiprism_app::{App, AppParts, Objects, Settings, SharedParts};
use aiprism_store::SqlStore;
use aiprism_store::queue::runner::{Runner, RunnerConfig};
use aiprism_store::queue::{JobQueue, QueueName, WorkerId};
use anyhow::Context;

/// The application and the background duties that come with its queue backend.
pub struct Wired {
    /// The application.
    pub app: App,
    /// The SQS backend, whose sweeper re-sends messages that may have been lost.
    sqs: Option<Arc<aiprism_sqs::SqsQueue>>,
}

/// Connects to the database (migrating when allowed), the queue, the object store, Redis (when
/// `REDIS_URL` is set: sessions, model limits and API rate limits then live there) and the model chain,
/// and builds the [`App`].
pub async fn build_app(settings: Settings, migrate: bool) -> anyhow::Result<Wired> {
    if settings.database.url.is_none() {
        std::fs::create_dir_all(&settings.server.data_dir).with_context(|| {
            format!(
                "creating the data directory {}",
                settings.server.data_dir.display()
            )
        })?;
    }
    let url = settings.database_url();
    let store = Arc::new(
        SqlStore::connect(&url)
            .await
            .context("connecting to the database")?,
    );
    if migrate {
        let applied = store.migrate().await.context("applying database migrations")?;
        if applied > 0 {
            tracing::info!(applied, "database migrations applied");
        }
    }
    let mut sqs_queue = None;
    let queue: Arc<dyn JobQueue> = match settings.queue.backend {
        QueueBackend::Database => store.clone(),
        QueueBackend::Sqs => {
            let mut config = aiprism_sqs::SqsConfig::from_env().context("reading the SQS settings")?;
            config.prefix = settings.queue.sqs_queue_prefix.clone();
            config.visibility_timeout = Duration::from_secs(u64::from(settings.queue.sqs_visibility_timeout));
            config.wait_time = Duration::from_secs(u64::from(settings.queue.sqs_wait_time_seconds));
            if config.region.is_none() {
                config.region = settings.storage.region.clone();
            }
            let sqs = Arc::new(
                aiprism_sqs::SqsQueue::connect(store.clone(), config)
                    .await
                    .context("connecting to SQS")?,
            );
            sqs_queue = Some(sqs.clone());
            sqs
        }
    };
    let objects = Objects::from_settings(&settings).context("opening the object store")?;
    let (shared, limit_state) = match aiprism_redis::connect_shared(&settings)
        .await
        .context("connecting to Redis (REDIS_URL)")?
    {
        Some(redis) => {
            tracing::info!(
                redis = %redis.redis.target(),
                "sessions, model limits and API rate limits are shared through Redis"
            );
            (redis.parts, Some(redis.limit_state))
        }
        None => (SharedParts::default(), None),
    };
    let observer = aiprism_app::metrics::observer(&settings);
    let router = aiprism_app::models::router_with_state(&settings, observer, limit_state)
        .await
        .context("building the model chain")?;
    let app = App::new(AppParts {
        settings,
        store,
        queue,
        objects,
        router,
        shared,
    })
    .await
    .context("preparing the application")?;
    Ok(Wired { app, sqs: sqs_queue })
}

/// A worker for this application's jobs with the configured concurrency.
pub fn runner(app: &App) -> Runner {
    let q = &app.settings.queue;
    let usize_of = |n: u32| usize::try_from(n).unwrap_or(usize::MAX);
    let mut config = RunnerConfig::new(WorkerId::generate()).with_concurrency([
        (QueueName::Analysis, usize_of(q.analysis_concurrency)),
        (QueueName::Chat, usize_of(q.chat_concurrency)),
        (QueueName::Monitoring, 1),
    ]);
    // On SQS a claim holds its message invisible for the lease, so the two must agree.
    let lease_secs = match q.backend {
        QueueBackend::Sqs => q.sqs_visibility_timeout.max(2),
        QueueBackend::Database => q.lease_secs,
    };
    let lease = Duration::from_secs(u64::from(lease_secs));
    config.lease = lease;
    config.heartbeat_every = lease / 3;
    config.claim_wait = Duration::from_secs(5).min(lease);
    Runner::new(app.queue.clone(), Arc::new(AppJobs::new(app.clone())), config)
}

/// Runs the workers, the monitoring schedule and (on SQS) the sweeper until `shutdown` resolves.
pub async fn run_workers(wired: &Wired, shutdown: impl std::future::Future<Output = ()> + Send + 'static) {
    let app = wired.app.clone();
    let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
    let stopped = |mut rx: tokio::sync::watch::Receiver<bool>| async move {
        let _ = rx.wait_for(|stop| *stop).await;
    };
    let interval = Duration::from_secs(u64::from(app.settings.queue.monitor_interval_secs));
    let monitor_app = app.clone();
    let monitor = tokio::spawn({
        let stop = stopped(stop_rx.clone());
        async move { monitor_app.schedule_monitoring(interval, stop).await }
    });
    let sweeper = wired.sqs.clone().map(|sqs| {
        let stop = stopped(stop_rx.clone());
        tokio::spawn(async move { sqs.run_sweeper(Duration::from_secs(60), stop).await })
    });
    let runner = runner(&app);
    let runner_task = tokio::spawn(runner.run(stopped(stop_rx)));
    shutdown.await;
    let _ = stop_tx.send(true);
    let _ = runner_task.await;
    let _ = monitor.await;
    if let Some(sweeper) = sweeper {
        let _ = sweeper.await;
    }
}
