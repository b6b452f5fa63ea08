//! One module per subcommand.

pub mod check;
pub mod migrate;
pub mod serve;

use std::sync::Arc;

use aiprism_app::{App, Objects, Settings};
use aiprism_store::SqlStore;
use anyhow::Context;

/// Connects to the database (migrating when allowed) and the object store, and builds the [`App`].
pub async fn build_app(settings: Settings, migrate: bool) -> anyhow::Result<App> {
    if settings.database.url.is_none() {
        std::fs::create_dir_all(&settings.server.data_dir).with_context(|| {
            format!(
                "creating the data directory {}",
                settings.server.data_dir.display()
            )
        })?;
    }
    let url = settings.database_url();
    let store = SqlStore::connect(&url)
        .await
        .context("connecting to the database")?;
    if migrate {
        let applied = store.migrate().await.context("applying database migrations")?;
        if applied > 0 {
            tracing::info!(applied, "database migrations applied");
        }
    }
    let objects = Objects::from_settings(&settings).context("opening the object store")?;
    let app = App::new(settings, Arc::new(store), objects)
        .await
        .context("preparing the application")?;
    Ok(app)
}
