//! State shared by every process when aiprism is scaled out: where it lives is decided by the binary
//! (Redis when `REDIS_URL` is set); the application only sees these traits, and falls back to its own
//! database sessions and in-process limits when nothing is shared.

use std::sync::Arc;

use aiprism_store::SessionStore;
use async_trait::async_trait;

use crate::ratelimit::ApiRateLimiter;

/// The service holding shared state, as `/ready`, the monitoring probe and `aiprism check` see it.
#[async_trait]
pub trait SharedService: Send + Sync {
    /// The dependency's name in probes (`redis`).
    fn name(&self) -> &'static str;

    /// Where it is, with any password shown as `***`.
    fn target(&self) -> String;

    /// Asks it to answer now: a short description (e.g. its version) or why it did not.
    async fn ping(&self) -> Result<String, String>;
}

/// The shared parts of an [`App`](crate::App); every field is optional, and a missing one means "keep
/// it in this process or the database".
#[derive(Clone, Default)]
pub struct SharedParts {
    /// Where browser sessions live instead of the database.
    pub sessions: Option<Arc<dyn SessionStore>>,
    /// The API rate limiter instead of the in-process one (used only when limiting is on).
    pub api_limiter: Option<Arc<dyn ApiRateLimiter>>,
    /// The service behind them, probed by `/ready`.
    pub service: Option<Arc<dyn SharedService>>,
}
