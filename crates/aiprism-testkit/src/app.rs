//! [`TestApp`]: the real application on `127.0.0.1:0`, with its own database (SQLite file or PostgreSQL
//! database) and its own object directory, reached over real HTTP.

use std::net::SocketAddr;

use aiprism_app::{App, Objects, Settings};
use aiprism_store::testing::TestDatabase;
use aiprism_store::{Backend, SqlStore};
use secrecy::SecretString;
use tokio::net::TcpListener;
use tokio::sync::oneshot;

/// A running server for one test. Dropping it stops the server and removes its database and files.
pub struct TestApp {
    /// Where it listens.
    pub address: SocketAddr,
    /// The application behind the server, for direct assertions.
    pub app: App,
    /// A client with no timeouts surprises: 30 s per request.
    pub client: reqwest::Client,
    shutdown: Option<oneshot::Sender<()>>,
    _database: TestDatabase,
    _dir: tempfile::TempDir,
}

impl TestApp {
    /// A server on the given backend with default settings.
    pub async fn spawn(backend: Backend) -> Self {
        Self::spawn_with(backend, |_| {}).await
    }

    /// A server on the given backend after `configure` adjusted the settings.
    pub async fn spawn_with(backend: Backend, configure: impl FnOnce(&mut Settings)) -> Self {
        let database = TestDatabase::new(backend).await;
        let dir = tempfile::tempdir().expect("creating a temporary data directory");
        let mut settings = Settings::default();
        settings.server.data_dir = dir.path().to_path_buf();
        settings.database.url = Some(SecretString::from(database.url.clone()));
        configure(&mut settings);
        let store = SqlStore::connect_and_migrate(&database.url)
            .await
            .expect("migrating the test database");
        let objects = Objects::from_settings(&settings).expect("opening the test object store");
        let app = App::new(settings, std::sync::Arc::new(store), objects)
            .await
            .expect("building the app");

        let listener = TcpListener::bind("127.0.0.1:0")
            .await
            .expect("binding a loopback port");
        let address = listener.local_addr().expect("reading the bound address");
        let (tx, rx) = oneshot::channel::<()>();
        let served = app.clone();
        tokio::spawn(async move {
            let shutdown = async move {
                let _ = rx.await;
            };
            if let Err(e) = aiprism_http::serve(listener, served, shutdown).await {
                eprintln!("test server stopped with an error: {e}");
            }
        });
        let client = reqwest::Client::builder()
            .timeout(std::time::Duration::from_secs(30))
            .build()
            .expect("building an HTTP client");
        Self {
            address,
            app,
            client,
            shutdown: Some(tx),
            _database: database,
            _dir: dir,
        }
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
            let _ = tx.send(());
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
