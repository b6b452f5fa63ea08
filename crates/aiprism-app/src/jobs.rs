//! The job handler workers run: dispatches each queued job by kind to its use case.

use aiprism_store::queue::runner::{JobContext, JobError, JobHandler};
use aiprism_store::queue::{Job, JobPayload};
use async_trait::async_trait;

use crate::App;
use crate::chat::ChatJob;
use crate::monitor::MonitorJob;
use crate::review::service::ReviewSectionJob;

/// Runs aiprism's jobs against an [`App`].
pub struct AppJobs {
    app: App,
}

impl AppJobs {
    /// A handler for this application's jobs.
    pub fn new(app: App) -> Self {
        Self { app }
    }
}

#[async_trait]
impl JobHandler for AppJobs {
    async fn handle(&self, job: &Job, ctx: &JobContext) -> Result<(), JobError> {
        match job.kind.as_str() {
            ReviewSectionJob::NAME => {
                let payload: ReviewSectionJob = job
                    .decode()
                    .map_err(|e| JobError::Permanent(format!("bad payload: {e}")))?;
                self.app.run_review_section(&payload, ctx).await
            }
            MonitorJob::NAME => self.app.run_monitor().await,
            ChatJob::NAME => {
                let payload: ChatJob = job
                    .decode()
                    .map_err(|e| JobError::Permanent(format!("bad payload: {e}")))?;
                self.app.run_chat_job(&payload).await
            }
            other => Err(JobError::Permanent(format!("no handler for job kind {other:?}"))),
        }
    }
}
