//! Connecting to SQLite or PostgreSQL, migrating, and dispatching one query text to either pool.

use std::str::FromStr;
use std::time::Duration;

use sqlx::postgres::{PgConnectOptions, PgPool, PgPoolOptions};
use sqlx::sqlite::{
    SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteSynchronous,
};

use crate::{StoreError, StoreResult};

/// Which database a store runs on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    /// An SQLite file (the embedded default).
    Sqlite,
    /// A PostgreSQL server.
    Postgres,
}

impl Backend {
    /// The backend a database URL selects: `postgres://` / `postgresql://` for PostgreSQL, `sqlite:` for
    /// SQLite.
    pub fn from_url(url: &str) -> StoreResult<Self> {
        if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            Ok(Backend::Postgres)
        } else if url.starts_with("sqlite:") {
            Ok(Backend::Sqlite)
        } else {
            Err(StoreError::Config(format!(
                "unsupported database URL {}: expected postgres://... or sqlite:...",
                redact_url(url)
            )))
        }
    }

    /// Lower-case name.
    pub fn as_str(self) -> &'static str {
        match self {
            Backend::Sqlite => "sqlite",
            Backend::Postgres => "postgres",
        }
    }
}

/// Replaces the password in a URL with `***`, so a database URL can be shown in logs and `check`.
pub fn redact_url(url: &str) -> String {
    let Some(scheme_end) = url.find("://") else {
        return url.to_string();
    };
    let rest = &url[scheme_end + 3..];
    let authority_end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    let authority = &rest[..authority_end];
    let Some(at) = authority.rfind('@') else {
        return url.to_string();
    };
    let userinfo = &authority[..at];
    let redacted_userinfo = match userinfo.find(':') {
        Some(colon) => format!("{}:***", &userinfo[..colon]),
        None => userinfo.to_string(),
    };
    format!("{}{}{}", &url[..scheme_end + 3], redacted_userinfo, &rest[at..])
}

/// How long a PostgreSQL query waits for a connection before it fails with
/// [`StoreError::Unavailable`]: while the server is down the pool keeps retrying refused connections
/// until then, so this bounds how long a request hangs in an outage (it answers 503 after it).
pub const PG_ACQUIRE_TIMEOUT: Duration = Duration::from_secs(5);

/// The connection pool of whichever backend is in use.
#[derive(Debug, Clone)]
pub(crate) enum Pool {
    Sqlite(SqlitePool),
    Postgres(PgPool),
}

/// Runs the same expression against whichever pool is in use. The body is type-checked once per backend,
/// which is what keeps one query text honest on both databases.
macro_rules! on_pool {
    ($pool:expr, |$p:ident| $body:expr) => {
        match $pool {
            $crate::pool::Pool::Sqlite($p) => $body,
            $crate::pool::Pool::Postgres($p) => $body,
        }
    };
}
pub(crate) use on_pool;

/// The SQL implementation of [`crate::Store`] for both backends.
#[derive(Debug, Clone)]
pub struct SqlStore {
    pub(crate) pool: Pool,
}

impl SqlStore {
    /// Connects to the database at `url` (creating an SQLite file if needed). Does not migrate.
    pub async fn connect(url: &str) -> StoreResult<Self> {
        let pool = match Backend::from_url(url)? {
            Backend::Sqlite => {
                let options = SqliteConnectOptions::from_str(url)
                    .map_err(|e| StoreError::Config(format!("{}: {e}", redact_url(url))))?
                    .create_if_missing(true)
                    .foreign_keys(true)
                    .journal_mode(SqliteJournalMode::Wal)
                    .synchronous(SqliteSynchronous::Normal)
                    .busy_timeout(Duration::from_secs(10));
                let pool = SqlitePoolOptions::new()
                    .max_connections(8)
                    .acquire_timeout(Duration::from_secs(10))
                    .connect_with(options)
                    .await
                    .map_err(|e| unavailable(url, e))?;
                Pool::Sqlite(pool)
            }
            Backend::Postgres => {
                let options = PgConnectOptions::from_str(url)
                    .map_err(|e| StoreError::Config(format!("{}: {e}", redact_url(url))))?;
                let pool = PgPoolOptions::new()
                    .max_connections(16)
                    .acquire_timeout(PG_ACQUIRE_TIMEOUT)
                    .connect_with(options)
                    .await
                    .map_err(|e| unavailable(url, e))?;
                Pool::Postgres(pool)
            }
        };
        Ok(Self { pool })
    }

    /// Connects and applies every pending migration of the backend.
    pub async fn connect_and_migrate(url: &str) -> StoreResult<Self> {
        let store = Self::connect(url).await?;
        store.migrate().await?;
        Ok(store)
    }

    /// Applies pending migrations; returns how many were applied.
    pub async fn migrate(&self) -> StoreResult<usize> {
        let before = self.applied_migrations().await;
        let result = match &self.pool {
            Pool::Sqlite(p) => sqlx::migrate!("./migrations/sqlite").run(p).await,
            Pool::Postgres(p) => sqlx::migrate!("./migrations/postgres").run(p).await,
        };
        result.map_err(|e| StoreError::Other(format!("migration failed: {e}")))?;
        Ok(self.applied_migrations().await.saturating_sub(before))
    }

    /// Counts applied migrations; zero when the bookkeeping table does not exist yet.
    async fn applied_migrations(&self) -> usize {
        let count: Result<i64, sqlx::Error> = on_pool!(&self.pool, |p| {
            sqlx::query_scalar("SELECT COUNT(*) FROM _sqlx_migrations")
                .fetch_one(p)
                .await
        });
        count.ok().and_then(|n| usize::try_from(n).ok()).unwrap_or(0)
    }

    /// Which backend this store runs on.
    pub fn backend_kind(&self) -> Backend {
        match self.pool {
            Pool::Sqlite(_) => Backend::Sqlite,
            Pool::Postgres(_) => Backend::Postgres,
        }
    }

    /// Closes every connection (used before dropping a test database).
    pub async fn close(&self) {
        on_pool!(&self.pool, |p| p.close().await)
    }

    /// The PostgreSQL pool, when on PostgreSQL (for LISTEN/NOTIFY users).
    pub fn pg_pool(&self) -> Option<&PgPool> {
        match &self.pool {
            Pool::Postgres(p) => Some(p),
            Pool::Sqlite(_) => None,
        }
    }
}

fn unavailable(url: &str, e: sqlx::Error) -> StoreError {
    StoreError::Unavailable(format!("cannot connect to {}: {e}", redact_url(url)))
}

/// Maps a driver error to what a caller can act on.
pub(crate) fn map_err(e: sqlx::Error) -> StoreError {
    match &e {
        sqlx::Error::PoolTimedOut
        | sqlx::Error::PoolClosed
        | sqlx::Error::Io(_)
        | sqlx::Error::Tls(_)
        | sqlx::Error::WorkerCrashed => StoreError::Unavailable(e.to_string()),
        sqlx::Error::Database(db) if db.code().as_deref().is_some_and(server_unavailable) => {
            StoreError::Unavailable(db.to_string())
        }
        sqlx::Error::Database(db) if db.is_unique_violation() => StoreError::Conflict(db.to_string()),
        sqlx::Error::ColumnDecode { .. } | sqlx::Error::Decode(_) => StoreError::Corrupt(e.to_string()),
        _ => StoreError::Other(e.to_string()),
    }
}

/// Whether a statement lost a race with another transaction and may simply be run again: a
/// deadlock (PostgreSQL 40P01, e.g. a cascading delete meeting a review worker's inserts) or a
/// serialization failure (40001).
pub(crate) fn lost_a_race(e: &sqlx::Error) -> bool {
    matches!(e, sqlx::Error::Database(db) if matches!(db.code().as_deref(), Some("40P01" | "40001")))
}

/// Whether a PostgreSQL SQLSTATE says the server, not the query, is the problem: the connection failed
/// (class 08), the server is shutting down, crashed or still starting (57P01-57P03, what every open
/// connection gets during a restart), or it ran out of connections, memory or disk (class 53), or it is
/// a read-only standby (25006, a failover in progress). Such a request may succeed when retried later, so
/// callers answer 503 rather than 500.
fn server_unavailable(code: &str) -> bool {
    code.starts_with("08") || code.starts_with("53") || matches!(code, "57P01" | "57P02" | "57P03" | "25006")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn redacts_the_password_but_keeps_the_rest() {
        assert_eq!(
            redact_url("postgres://app:s3cr%40t@db.example:5432/aiprism?sslmode=require"),
            "postgres://app:***@db.example:5432/aiprism?sslmode=require"
        );
        assert_eq!(redact_url("postgres://db.example/x"), "postgres://db.example/x");
        assert_eq!(redact_url("sqlite://data/aiprism.db"), "sqlite://data/aiprism.db");
        assert_eq!(redact_url("redis://:pw@cache:6379"), "redis://:***@cache:6379");
    }

    #[test]
    fn a_server_going_away_is_unavailable_and_a_bad_query_is_not() {
        for code in ["57P01", "57P02", "57P03", "08006", "08001", "53300", "25006"] {
            assert!(server_unavailable(code), "{code}");
        }
        for code in ["23505", "42P01", "22P02", "40001", "57014"] {
            assert!(!server_unavailable(code), "{code}");
        }
    }

    #[tokio::test]
    async fn an_unreachable_postgres_fails_as_unavailable_within_the_acquire_timeout() {
        // Port 1 on loopback: nothing listens, so every connection attempt is refused; the pool keeps
        // retrying until its acquire timeout and must then give up with `Unavailable`, not hang.
        let started = std::time::Instant::now();
        let result = SqlStore::connect("postgres://aiprism@127.0.0.1:1/aiprism").await;
        let took = started.elapsed();
        assert!(
            matches!(result, Err(StoreError::Unavailable(_))),
            "expected Unavailable, got {result:?}"
        );
        assert!(
            took < PG_ACQUIRE_TIMEOUT + Duration::from_secs(3),
            "took {took:?}"
        );
    }

    #[test]
    fn chooses_the_backend_from_the_url_scheme() {
        assert_eq!(Backend::from_url("postgres://x/y").unwrap(), Backend::Postgres);
        assert_eq!(Backend::from_url("postgresql://x/y").unwrap(), Backend::Postgres);
        assert_eq!(Backend::from_url("sqlite://a.db").unwrap(), Backend::Sqlite);
        assert!(Backend::from_url("mysql://x").is_err());
    }
}
