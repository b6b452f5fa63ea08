//! aiprism's use cases: upload a document, read it back, list and delete documents, start and follow
//! reviews, run a section's review as a queued job — and, as the other parts land, decide, comment, chat
//! and export.
//!
//! Written against the storage traits, the job queue, the object store and the model router, never
//! against a concrete database or HTTP framework: the HTTP layer, the workers and the CLI call the same
//! functions. Depends on `aiprism-core`, `aiprism-docx`, `aiprism-llm` and `aiprism-store`.

pub mod accounts;
pub mod chat;
pub mod decisions;
mod documents;
mod error;
pub mod exports;
pub mod frameworks;
mod ingest;
pub mod jobs;
pub mod learning;
pub mod metrics;
pub mod models;
pub mod monitor;
pub mod objects;
pub mod ratelimit;
pub mod review;
pub mod settings;
pub mod shared;
pub mod statistics;

use std::sync::Arc;

use aiprism_core::User;
use aiprism_llm::Router;
use aiprism_store::Store;
use aiprism_store::queue::JobQueue;
use tokio::sync::watch;

pub use documents::{DocumentView, Upload};
pub use error::AppError;
pub use objects::Objects;
pub use review::service::{ReviewRequest, ReviewSectionJob};
pub use settings::Settings;
pub use shared::{SharedParts, SharedService};

/// Everything a request or a job needs, built once at start-up and shared.
#[derive(Clone)]
pub struct App {
    /// Resolved configuration.
    pub settings: Arc<Settings>,
    /// The database.
    pub store: Arc<dyn Store>,
    /// Where queued work travels (the database, or SQS with state in the database).
    pub queue: Arc<dyn JobQueue>,
    /// Where originals and exports live.
    pub objects: Objects,
    /// The model chain; `None` when no model is configured (the rule reviewer runs alone).
    pub router: Option<Arc<Router>>,
    /// Built-in and uploaded review frameworks.
    pub frameworks: Arc<frameworks::FrameworkRegistry>,
    /// Accounts, sessions and API tokens.
    pub accounts: accounts::Accounts,
    /// Whether requests must sign in, decided at start-up from `AIPRISM_AUTH` and the bind address.
    pub auth: settings::EffectiveAuth,
    /// The per-user API rate limiter; `None` when limiting is off (`AIPRISM_API_RATE_PER_MINUTE=0`).
    pub api_limiter: Option<Arc<dyn ratelimit::ApiRateLimiter>>,
    /// The service holding state shared by every process (Redis), when there is one.
    pub shared: Option<Arc<dyn SharedService>>,
    progress: Arc<watch::Sender<u64>>,
}

/// The parts an [`App`] is built from.
pub struct AppParts {
    /// Resolved configuration.
    pub settings: Settings,
    /// The database.
    pub store: Arc<dyn Store>,
    /// The job queue.
    pub queue: Arc<dyn JobQueue>,
    /// The object store.
    pub objects: Objects,
    /// The model chain, if any.
    pub router: Option<Arc<Router>>,
    /// Sessions and limits shared by every process; the default shares nothing.
    pub shared: SharedParts,
}

impl App {
    /// Wires the parts together and makes sure the local user exists. Installs the process's metrics
    /// recorder when metrics are enabled. Fails when the authentication mode cannot be used with the
    /// bind address (single-user off loopback).
    pub async fn new(parts: AppParts) -> Result<Self, AppError> {
        let auth = parts
            .settings
            .auth
            .effective(parts.settings.server.bind)
            .map_err(|e| AppError::invalid("auth_config", e.to_string()))?;
        if parts.settings.observability.metrics {
            metrics::install();
        }
        parts.store.upsert_user(&User::local()).await?;
        let (progress, _) = watch::channel(0);
        let mut accounts = accounts::Accounts::new(parts.store.clone(), parts.settings.auth.clone());
        if let Some(sessions) = parts.shared.sessions {
            accounts = accounts.with_sessions(sessions);
        }
        let api_limiter = ratelimit::ApiRate::from_settings(&parts.settings.api_limits).map(|rate| {
            parts.shared.api_limiter.unwrap_or_else(|| {
                let limiter: Arc<dyn ratelimit::ApiRateLimiter> =
                    Arc::new(ratelimit::InProcessApiLimiter::new(rate));
                limiter
            })
        });
        Ok(Self {
            accounts,
            auth,
            api_limiter,
            shared: parts.shared.service,
            settings: Arc::new(parts.settings),
            store: parts.store,
            queue: parts.queue,
            objects: parts.objects,
            router: parts.router,
            frameworks: Arc::default(),
            progress: Arc::new(progress),
        })
    }

    /// The user every request acts as in single-user mode (and the CLI's `review`).
    pub fn local_user(&self) -> User {
        User::local()
    }

    /// Wakes event streams in this process after progress was stored (streams also poll, for progress
    /// made by workers in other processes).
    pub fn notify_progress(&self) {
        self.progress.send_modify(|n| *n = n.wrapping_add(1));
    }

    /// A receiver that changes whenever this process stores progress.
    pub fn progress_changes(&self) -> watch::Receiver<u64> {
        self.progress.subscribe()
    }
}
