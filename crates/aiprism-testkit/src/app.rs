//! [`TestApp`]: the real application on `127.0.0.1:0`, with its own database (SQLite file or PostgreSQL
//! database) and its own object directory, reached over real HTTP.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use aiprism_app::jobs::AppJobs;
use aiprism_app::{App, AppParts, Objects, Settings, SharedParts};
use aiprism_store::queue::runner::{Runner, RunnerConfig};
use aiprism_store::queue::{JobQueue, WorkerId};
use aiprism_store::testing::TestDatabase;
use aiprism_store::{Backend, SqlStore};
use secrecy::SecretString;
use tokio::net::TcpListener;
use tokio::sync::watch;

/// A running server for one test. Dropping it stops the server; the database and files go with the last
/// server using them.
pub struct TestApp {
    /// Where it listens.
    pub address: SocketAddr,
    /// The application behind the server, for direct assertions.
    pub app: App,
    /// A client with no timeouts surprises: 30 s per request.
    pub client: reqwest::Client,
    shutdown: Option<watch::Sender<bool>>,
    database: Arc<TestDatabase>,
    dir: Arc<tempfile::TempDir>,
}

impl TestApp {
    /// A server on the given backend with default settings.
    pub async fn spawn(backend: Backend) -> Self {
        Self::spawn_with(backend, |_| {}).await
    }

    /// A server on the given backend after `configure` adjusted the settings. The server uses the
    /// database URL the settings end with, so `configure` may route it through a
    /// [`crate::faults::TcpProxy`] to the test database. When the settings name Redis
    /// (`redis.url`), sessions, model limits and API limits are shared through it, as in
    /// `aiprism serve`.
    pub async fn spawn_with(backend: Backend, configure: impl FnOnce(&mut Settings)) -> Self {
        let database = Arc::new(TestDatabase::new(backend).await);
        let dir = Arc::new(tempfile::tempdir().expect("creating a temporary data directory"));
        Self::spawn_on(database, dir, configure).await
    }

    /// A second server on this one's database and data directory, as another process behind the same
    /// load balancer would be (give both the same Redis to share sessions and limits).
    pub async fn spawn_beside(&self, configure: impl FnOnce(&mut Settings)) -> Self {
        Self::spawn_on(self.database.clone(), self.dir.clone(), configure).await
    }

    async fn spawn_on(
        database: Arc<TestDatabase>,
        dir: Arc<tempfile::TempDir>,
        configure: impl FnOnce(&mut Settings),
    ) -> Self {
        let mut settings = Settings::default();
        settings.server.data_dir = dir.path().to_path_buf();
        settings.database.url = Some(SecretString::from(database.url.clone()));
        configure(&mut settings);
        let store = Arc::new(
            SqlStore::connect_and_migrate(&settings.database_url())
                .await
                .expect("migrating the test database"),
        );
        let objects = Objects::from_settings(&settings).expect("opening the test object store");
        let shared = aiprism_redis::connect_shared(&settings)
            .await
            .expect("connecting to the test Redis");
        let (shared, limit_state) = match shared {
            Some(redis) => (redis.parts, Some(redis.limit_state)),
            None => (SharedParts::default(), None),
        };
        let observer = aiprism_app::metrics::observer(&settings);
        let router = aiprism_app::models::router_with_state(&settings, observer, limit_state)
            .await
            .expect("building the model chain");
        let workers = settings.server.workers;
        let queue: Arc<dyn JobQueue> = store.clone();
        let app = App::new(AppParts {
            settings,
            store,
            queue,
            objects,
            router,
            shared,
        })
        .await
        .expect("building the app");

        let listener = TcpListener::bind("127.0.0.1:0")
            .await
            .expect("binding a loopback port");
        let address = listener.local_addr().expect("reading the bound address");
        let (tx, rx) = watch::channel(false);
        let served = app.clone();
        let stopped = |mut rx: watch::Receiver<bool>| async move {
            let _ = rx.wait_for(|stop| *stop).await;
        };
        let server_stop = stopped(rx.clone());
        tokio::spawn(async move {
            if let Err(e) = aiprism_http::serve(listener, served, server_stop).await {
                eprintln!("test server stopped with an error: {e}");
            }
        });
        if workers {
            let mut config = RunnerConfig::new(WorkerId::generate());
            config.lease = Duration::from_secs(10);
            config.heartbeat_every = Duration::from_secs(2);
            config.claim_wait = Duration::from_millis(500);
            config.grace = Duration::from_secs(2);
            let runner = Runner::new(app.queue.clone(), Arc::new(AppJobs::new(app.clone())), config);
            tokio::spawn(runner.run(stopped(rx)));
        }
        let client = reqwest::Client::builder()
            .timeout(std::time::Duration::from_secs(30))
            .build()
            .expect("building an HTTP client");
        Self {
            address,
            app,
            client,
            shutdown: Some(tx),
            database,
            dir,
        }
    }

    /// A server in accounts mode (`AIPRISM_AUTH=accounts`): every request must sign in, by session
    /// cookie or API token, although the server is on loopback.
    pub async fn spawn_accounts(backend: Backend) -> Self {
        Self::spawn_with(backend, |s| {
            s.auth.mode = aiprism_app::settings::AuthMode::Accounts
        })
        .await
    }

    /// Creates an account with this password and an API token for it; returns the user and the token.
    pub async fn add_user(
        &self,
        name: &str,
        role: aiprism_core::Role,
        password: &str,
    ) -> (aiprism_core::User, String) {
        let user = self
            .app
            .accounts
            .add_user(name, role, Some(password))
            .await
            .expect("creating a test user");
        let token = self
            .app
            .accounts
            .create_token(name, "test")
            .await
            .expect("creating a test token");
        (user, token)
    }

    /// The absolute URL of a path on this server.
    pub fn url(&self, path: &str) -> String {
        format!("http://{}{}", self.address, path)
    }

    /// Uploads a file as `POST /api/v1/documents` with extra form fields; returns the raw response.
    pub async fn upload(&self, filename: &str, bytes: Vec<u8>, fields: &[(&str, &str)]) -> reqwest::Response {
        let mut form = reqwest::multipart::Form::new().part(
            "file",
            reqwest::multipart::Part::bytes(bytes).file_name(filename.to_string()),
        );
        for (name, value) in fields {
            form = form.text(name.to_string(), value.to_string());
        }
        self.client
            .post(self.url("/api/v1/documents"))
            .multipart(form)
            .send()
            .await
            .expect("sending the upload")
    }

    /// Polls `GET /api/v1/reviews/{id}` until the review ends (or 60 s pass) and returns it.
    pub async fn wait_for_review(&self, review_id: &str) -> serde_json::Value {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
        loop {
            let (_, review) = self.get_json(&format!("/api/v1/reviews/{review_id}")).await;
            let status = review["status"].as_str().unwrap_or("");
            if !matches!(status, "queued" | "running") {
                return review;
            }
            assert!(
                tokio::time::Instant::now() < deadline,
                "review {review_id} did not finish: {review}"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// `GET` a path and parse the JSON body, returning the status too.
    pub async fn get_json(&self, path: &str) -> (reqwest::StatusCode, serde_json::Value) {
        let response = self.client.get(self.url(path)).send().await.expect("sending GET");
        let status = response.status();
        let body = response.json().await.unwrap_or(serde_json::Value::Null);
        (status, body)
    }
}

impl Drop for TestApp {
    fn drop(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(true);
        }
    }
}

/// Whether PostgreSQL tests should run here: yes when `AIPRISM_TEST_PG_URL` is set; in CI a missing
/// variable is a failure, never a silent skip.
pub fn postgres_available() -> bool {
    if std::env::var(aiprism_store::testing::PG_URL_VAR).is_ok() {
        return true;
    }
    assert!(
        !aiprism_store::testing::is_ci(),
        "CI=true but {} is not set: PostgreSQL tests must run in CI",
        aiprism_store::testing::PG_URL_VAR
    );
    eprintln!(
        "note: {} not set; the PostgreSQL variant of this test did not run",
        aiprism_store::testing::PG_URL_VAR
    );
    false
}

/// Generates `sqlite::name` and `postgres::name` tests from `async fn name(backend: Backend)` scenarios,
/// so every scenario visibly runs on both databases.
#[macro_export]
macro_rules! on_each_backend {
    ($($scenario:ident),+ $(,)?) => {
        mod sqlite {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $scenario() {
                    super::$scenario(aiprism_store::Backend::Sqlite).await;
                }
            )+
        }
        mod postgres {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $scenario() {
                    if $crate::app::postgres_available() {
                        super::$scenario(aiprism_store::Backend::Postgres).await;
                    }
                }
            )+
        }
    };
}
