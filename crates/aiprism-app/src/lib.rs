//! aiprism's use cases: upload a document, read it back, list and delete documents — and, as the other
//! parts land, review, decide, comment, chat and export.
//!
//! Written against the storage trait, the object store and (later) the model router, never against a
//! concrete database or HTTP framework: the HTTP layer and the CLI call the same functions. Depends on
//! `aiprism-core`, `aiprism-docx` and `aiprism-store`.

mod documents;
mod error;
mod ingest;
pub mod models;
pub mod objects;
pub mod settings;

use std::sync::Arc;

use aiprism_core::User;
use aiprism_store::Store;

pub use documents::{DocumentView, Upload};
pub use error::AppError;
pub use objects::Objects;
pub use settings::Settings;

/// Everything a request or a job needs, built once at start-up and shared.
#[derive(Clone)]
pub struct App {
    /// Resolved configuration.
    pub settings: Arc<Settings>,
    /// The database.
    pub store: Arc<dyn Store>,
    /// Where originals and exports live.
    pub objects: Objects,
}

impl App {
    /// Wires the parts together and makes sure the local user exists.
    pub async fn new(settings: Settings, store: Arc<dyn Store>, objects: Objects) -> Result<Self, AppError> {
        store.upsert_user(&User::local()).await?;
        Ok(Self {
            settings: Arc::new(settings),
            store,
            objects,
        })
    }

    /// The user requests act as until accounts exist.
    pub fn local_user(&self) -> User {
        User::local()
    }
}
