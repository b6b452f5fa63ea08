//! `aiprism worker`: runs queued jobs only (any number of these, on any machine sharing the database).

use aiprism_app::Settings;

/// Runs until SIGTERM or Ctrl-C, then finishes or releases the jobs it holds.
pub async fn run(settings: Settings) -> anyhow::Result<()> {
    let migrate = settings.database.migrate_on_start.unwrap_or(true);
    let wired = super::build_app(settings, migrate).await?;
    tracing::info!(
        database = wired.app.store.backend().as_str(),
        "aiprism worker started"
    );
    println!("aiprism worker started");
    super::run_workers(&wired, super::serve::shutdown_signal()).await;
    tracing::info!("aiprism worker stopped");
    Ok(())
}
