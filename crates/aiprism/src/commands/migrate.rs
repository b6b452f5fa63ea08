//! `aiprism migrate`: applies pending database migrations and says how many.

use aiprism_app::Settings;
use aiprism_store::{SqlStore, redact_url};
use anyhow::Context;

/// Runs the command.
pub async fn run(settings: &Settings) -> anyhow::Result<()> {
    if settings.database.url.is_none() {
        std::fs::create_dir_all(&settings.server.data_dir)
            .with_context(|| format!("creating {}", settings.server.data_dir.display()))?;
    }
    let url = settings.database_url();
    let store = SqlStore::connect(&url)
        .await
        .context("connecting to the database")?;
    let applied = store.migrate().await.context("applying migrations")?;
    println!(
        "{}: {applied} migration(s) applied; schema up to date",
        redact_url(&url)
    );
    Ok(())
}
