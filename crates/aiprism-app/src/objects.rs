//! Where original uploads and exports are kept: a local directory by default, S3 (or an S3-compatible
//! server) when a bucket is configured. A thin wrapper over the `object_store` crate so the rest of the
//! application speaks in keys and bytes.

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use object_store::aws::AmazonS3Builder;
use object_store::local::LocalFileSystem;
use object_store::path::Path;
use object_store::{BackoffConfig, ClientOptions, ObjectStore, ObjectStoreExt, PutPayload, RetryConfig};

use crate::AppError;
use crate::settings::Settings;

/// The object store in use plus a description for `check` and logs.
#[derive(Clone, Debug)]
pub struct Objects {
    inner: Arc<dyn ObjectStore>,
    description: String,
    prefix: String,
}

impl Objects {
    /// Builds the object store the settings describe, creating the local directory when needed.
    pub fn from_settings(settings: &Settings) -> Result<Self, AppError> {
        match &settings.storage.s3_bucket {
            Some(bucket) => {
                let mut builder = AmazonS3Builder::from_env()
                    .with_bucket_name(bucket)
                    .with_client_options(s3_client_options())
                    .with_retry(s3_retry());
                if let Some(region) = &settings.storage.region {
                    builder = builder.with_region(region);
                }
                if let (Some(key), Some(secret)) = (
                    &settings.storage.s3_access_key_id,
                    &settings.storage.s3_secret_access_key,
                ) {
                    builder = builder
                        .with_access_key_id(key)
                        .with_secret_access_key(secrecy::ExposeSecret::expose_secret(secret));
                }
                if let Some(endpoint) = &settings.storage.s3_endpoint {
                    builder = builder
                        .with_endpoint(endpoint)
                        .with_allow_http(endpoint.starts_with("http://"))
                        .with_virtual_hosted_style_request(false);
                }
                let store = builder
                    .build()
                    .map_err(|e| AppError::invalid("invalid_s3_settings", format!("S3 settings: {e}")))?;
                Ok(Self {
                    inner: Arc::new(store),
                    description: format!("s3://{bucket}/{}", settings.storage.s3_base_path),
                    prefix: settings.storage.s3_base_path.trim_matches('/').to_string(),
                })
            }
            None => Self::local(&settings.objects_dir()),
        }
    }

    /// The S3 store exports go to, when S3 export is enabled and a bucket is configured (`None` otherwise).
    pub fn s3_export(settings: &Settings) -> Result<Option<Self>, AppError> {
        if !settings.storage.enable_s3_export || settings.storage.s3_bucket.is_none() {
            return Ok(None);
        }
        Self::from_settings(settings).map(Some)
    }

    /// A store in a local directory (created if missing).
    pub fn local(dir: &std::path::Path) -> Result<Self, AppError> {
        std::fs::create_dir_all(dir).map_err(|e| AppError::Unavailable {
            message: format!("cannot create {}: {e}", dir.display()),
        })?;
        let store = LocalFileSystem::new_with_prefix(dir).map_err(|e| AppError::Unavailable {
            message: format!("{}: {e}", dir.display()),
        })?;
        Ok(Self {
            inner: Arc::new(store),
            description: format!("local:{}", dir.display()),
            prefix: String::new(),
        })
    }

    /// Where objects go, for people (`check`, logs).
    pub fn description(&self) -> &str {
        &self.description
    }

    fn path(&self, key: &str) -> Path {
        if self.prefix.is_empty() {
            Path::from(key)
        } else {
            Path::from(format!("{}/{key}", self.prefix))
        }
    }

    /// Stores bytes under a key, replacing what was there.
    pub async fn put(&self, key: &str, bytes: Bytes) -> Result<(), AppError> {
        self.inner
            .put(&self.path(key), PutPayload::from_bytes(bytes))
            .await
            .map(|_| ())
            .map_err(unavailable)
    }

    /// Reads the bytes stored under a key.
    pub async fn get(&self, key: &str) -> Result<Bytes, AppError> {
        let result = self.inner.get(&self.path(key)).await.map_err(|e| match e {
            object_store::Error::NotFound { .. } => AppError::NotFound { what: "stored file" },
            other => unavailable(other),
        })?;
        result.bytes().await.map_err(unavailable)
    }

    /// Removes a key; removing a missing key is not an error.
    pub async fn delete(&self, key: &str) -> Result<(), AppError> {
        match self.inner.delete(&self.path(key)).await {
            Ok(()) | Err(object_store::Error::NotFound { .. }) => Ok(()),
            Err(e) => Err(unavailable(e)),
        }
    }

    /// Writes, reads back and removes a small probe object: proves the store is usable.
    pub async fn probe(&self) -> Result<(), AppError> {
        let key = format!("_probe/{}", uuid_like());
        self.put(&key, Bytes::from_static(b"probe")).await?;
        let read = self.get(&key).await?;
        self.delete(&key).await?;
        if read.as_ref() == b"probe" {
            Ok(())
        } else {
            Err(AppError::Unavailable {
                message: "object store returned different bytes".into(),
            })
        }
    }
}

/// How long connecting to S3 may take. A reachable endpoint answers a TCP connect in milliseconds; one
/// that does not within this is treated as down.
pub const S3_CONNECT_TIMEOUT: Duration = Duration::from_secs(3);
/// How long S3 may go without sending a byte while we wait for an answer: catches an endpoint that
/// accepts connections but has stopped answering, without cutting off a large upload in progress.
pub const S3_READ_TIMEOUT: Duration = Duration::from_secs(15);
/// The longest one S3 call may take, whole (a 16 MB original over a slow link fits well inside).
pub const S3_REQUEST_TIMEOUT: Duration = Duration::from_secs(60);

/// Timeouts for the S3 client. The library's defaults have no read timeout, so a stalled endpoint would
/// hold an upload for the full request timeout.
fn s3_client_options() -> ClientOptions {
    ClientOptions::new()
        .with_connect_timeout(S3_CONNECT_TIMEOUT)
        .with_read_timeout(S3_READ_TIMEOUT)
        .with_timeout(S3_REQUEST_TIMEOUT)
}

/// Retries for the S3 client: a couple of quick retries for a throttled or briefly failing endpoint,
/// and none once 5 s have passed. The library's default (10 retries over up to 3 minutes) makes an
/// upload wait about a minute against a dead endpoint before the person is told anything; with this an
/// unreachable store fails the upload in about a second (connection refused) or after
/// [`S3_READ_TIMEOUT`] (no answer), with a 503 the person can retry.
fn s3_retry() -> RetryConfig {
    RetryConfig {
        backoff: BackoffConfig {
            init_backoff: Duration::from_millis(100),
            max_backoff: Duration::from_secs(1),
            base: 2.0,
        },
        max_retries: 2,
        retry_timeout: Duration::from_secs(5),
    }
}

fn uuid_like() -> String {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or_default();
    format!("{nanos:x}-{}", std::process::id())
}

fn unavailable(e: object_store::Error) -> AppError {
    tracing::warn!(error = %e, "object store call failed");
    AppError::Unavailable {
        message: "The file store is unavailable; try again shortly.".into(),
    }
}
