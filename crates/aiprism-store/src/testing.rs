//! Throw-away databases for tests: every test gets its own SQLite file or its own PostgreSQL database,
//! so tests never see each other's rows and can run in parallel.
//!
//! PostgreSQL tests run when `AIPRISM_TEST_PG_URL` points at a server (any database on it; a new one is
//! created per test and dropped afterwards). When `CI=true` and that variable is missing or the server
//! cannot be reached, asking for a PostgreSQL database panics: CI must never skip them silently.

pub mod sessions;

use std::time::Duration;

use sqlx::Connection;
use sqlx::postgres::PgConnection;

use crate::pool::Backend;
use crate::{SqlStore, StoreResult};

/// Environment variable naming the PostgreSQL server tests may create databases on.
pub const PG_URL_VAR: &str = "AIPRISM_TEST_PG_URL";

/// Whether this run is CI, where missing services are failures, not skips.
pub fn is_ci() -> bool {
    std::env::var("CI").is_ok_and(|v| v == "true" || v == "1")
}

/// The backends tests should cover in this run: SQLite always, PostgreSQL when configured (and always
/// in CI, where a missing configuration then fails loudly).
pub fn backends() -> Vec<Backend> {
    let mut backends = vec![Backend::Sqlite];
    if std::env::var(PG_URL_VAR).is_ok() || is_ci() {
        backends.push(Backend::Postgres);
    }
    backends
}

/// A database that exists for one test and is removed when dropped.
#[derive(Debug)]
pub struct TestDatabase {
    /// The URL the code under test should use.
    pub url: String,
    /// Which backend it is.
    pub backend: Backend,
    pg_cleanup: Option<(String, String)>,
    _dir: Option<tempfile::TempDir>,
}

impl TestDatabase {
    /// A new empty database on the given backend.
    pub async fn new(backend: Backend) -> Self {
        match backend {
            Backend::Sqlite => Self::sqlite(),
            Backend::Postgres => Self::postgres().await,
        }
    }

    /// A new SQLite file in its own temporary directory.
    pub fn sqlite() -> Self {
        let dir = tempfile::tempdir().expect("creating a temporary directory for a test database");
        let url = format!("sqlite://{}", dir.path().join("test.db").display());
        Self {
            url,
            backend: Backend::Sqlite,
            pg_cleanup: None,
            _dir: Some(dir),
        }
    }

    /// A new PostgreSQL database on the server named by `AIPRISM_TEST_PG_URL`. Panics when the variable
    /// is missing or the server is unreachable: a test that asks for PostgreSQL must not pass without it.
    pub async fn postgres() -> Self {
        let admin_url = std::env::var(PG_URL_VAR).unwrap_or_else(|_| {
            panic!("{PG_URL_VAR} is not set; PostgreSQL tests cannot run (CI must set it)")
        });
        let name = format!("aiprism_t_{}", uuid::Uuid::now_v7().simple());
        let mut admin = connect_with_retry(&admin_url).await;
        sqlx::query(sqlx::AssertSqlSafe(format!("CREATE DATABASE \"{name}\"")))
            .execute(&mut admin)
            .await
            .unwrap_or_else(|e| panic!("creating test database {name}: {e}"));
        let _ = admin.close().await;
        let url = with_database(&admin_url, &name);
        Self {
            url,
            backend: Backend::Postgres,
            pg_cleanup: Some((admin_url, name)),
            _dir: None,
        }
    }

    /// Connects to this database and applies every migration.
    pub async fn store(&self) -> StoreResult<SqlStore> {
        SqlStore::connect_and_migrate(&self.url).await
    }
}

impl Drop for TestDatabase {
    fn drop(&mut self) {
        let Some((admin_url, name)) = self.pg_cleanup.take() else {
            return;
        };
        // Drop cannot await, and the test's runtime may be shutting down: use a private runtime on its
        // own thread so the database is removed even when the test panicked.
        let handle = std::thread::spawn(move || {
            let Ok(rt) = tokio::runtime::Builder::new_current_thread().enable_all().build() else {
                return;
            };
            rt.block_on(async move {
                if let Ok(mut admin) = PgConnection::connect(&admin_url).await {
                    let _ = sqlx::query(sqlx::AssertSqlSafe(format!(
                        "DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)"
                    )))
                    .execute(&mut admin)
                    .await;
                    let _ = admin.close().await;
                }
            });
        });
        let _ = handle.join();
    }
}

async fn connect_with_retry(url: &str) -> PgConnection {
    let mut last_error = None;
    for _ in 0..20 {
        match PgConnection::connect(url).await {
            Ok(c) => return c,
            Err(e) => last_error = Some(e),
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    panic!(
        "PostgreSQL at {} is unreachable: {:?}",
        crate::redact_url(url),
        last_error.map(|e| e.to_string())
    );
}

/// Replaces the database name in a PostgreSQL URL, keeping its query string.
pub fn with_database(url: &str, database: &str) -> String {
    let (base, query) = match url.find('?') {
        Some(q) => (&url[..q], &url[q..]),
        None => (url, ""),
    };
    let after_scheme = base.find("://").map_or(0, |i| i + 3);
    let base = match base[after_scheme..].find('/') {
        Some(slash) => &base[..after_scheme + slash],
        None => base,
    };
    format!("{base}/{database}{query}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn replaces_the_database_name_and_keeps_options() {
        assert_eq!(
            with_database("postgres://u@127.0.0.1:5432/test?sslmode=disable", "x"),
            "postgres://u@127.0.0.1:5432/x?sslmode=disable"
        );
        assert_eq!(
            with_database("postgres://127.0.0.1", "x"),
            "postgres://127.0.0.1/x"
        );
    }
}
