//! Outages of the database and the object store: requests fail quickly and cleanly (503 in the error
//! shape, never a 500 or a hang), leave nothing half-stored, and work again once the dependency is back,
//! without restarting the server. `bench/faults/run.sh` does the same against real processes.

use std::net::{SocketAddr, ToSocketAddrs};
use std::time::{Duration, Instant};

use aiprism_core::Scope;
use aiprism_store::queue::QueueName;
use aiprism_store::{Backend, PG_ACQUIRE_TIMEOUT};
use aiprism_testkit::app::{TestApp, postgres_available};
use aiprism_testkit::faults::TcpProxy;
use aiprism_testkit::fixtures;
use reqwest::StatusCode;
use secrecy::{ExposeSecret, SecretString};
use serde_json::Value;

aiprism_testkit::on_each_backend!(an_unreachable_object_store_fails_uploads_with_503_and_stores_nothing);

/// A loopback port nothing listens on (bound, then closed again).
async fn closed_port() -> u16 {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    listener.local_addr().unwrap().port()
}

async fn an_unreachable_object_store_fails_uploads_with_503_and_stores_nothing(backend: Backend) {
    let endpoint = format!("http://127.0.0.1:{}", closed_port().await);
    let app = TestApp::spawn_with(backend, |s| {
        s.storage.s3_bucket = Some("aiprism-unreachable".into());
        s.storage.s3_endpoint = Some(endpoint.clone());
        s.storage.region = Some("us-east-1".into());
        s.storage.s3_access_key_id = Some("testing".into());
        s.storage.s3_secret_access_key = Some(SecretString::from("testing".to_string()));
    })
    .await;

    for (name, bytes) in [
        ("incident.docx", fixtures::incident_writeup()),
        ("notes.md", b"# Summary\n\nThe owner is TBD.\n".to_vec()),
    ] {
        let started = Instant::now();
        let response = app.upload(name, bytes, &[]).await;
        let took = started.elapsed();
        let status = response.status();
        let body: Value = response.json().await.unwrap();
        assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE, "{name}: {body}");
        assert_eq!(body["error"]["code"], "unavailable", "{body}");
        assert!(
            body["error"]["message"].as_str().unwrap().contains("file store"),
            "the message says what is down: {body}"
        );
        // Connection refused, retried twice with short backoff: well under a second on loopback.
        assert!(took < Duration::from_secs(5), "{name}: the upload took {took:?}");
    }

    let (_, list) = app.get_json("/api/v1/documents").await;
    assert_eq!(list["documents"], Value::Array(vec![]), "{list}");
    let stored = app.app.store.documents(&Scope::All).await.unwrap();
    assert!(stored.is_empty(), "no document row may remain: {stored:?}");
    let depth = app.app.queue.depth(QueueName::Analysis).await.unwrap();
    assert_eq!(
        depth.queued + depth.running + depth.scheduled,
        0,
        "no review job may remain: {depth:?}"
    );

    let started = Instant::now();
    let (status, ready) = app.get_json("/ready").await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE, "{ready}");
    assert_eq!(ready["checks"]["object_store"]["ok"], false, "{ready}");
    assert_eq!(ready["checks"]["database"]["ok"], true, "{ready}");
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "/ready took {:?}",
        started.elapsed()
    );
}

/// The PostgreSQL server seen through a proxy that can cut it off: every open connection ends and new
/// ones are refused, as when the server is stopped, then it is reachable again on the same address.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_going_away_answers_503_and_recovers_without_a_restart() {
    if !postgres_available() {
        return;
    }
    let mut proxy = None;
    let app = {
        let proxy = &mut proxy;
        TestApp::spawn_with(Backend::Postgres, move |s| {
            let url = reqwest::Url::parse(s.database.url.as_ref().unwrap().expose_secret()).unwrap();
            let target = (url.host_str().unwrap(), url.port().unwrap_or(5432))
                .to_socket_addrs()
                .unwrap()
                .find(SocketAddr::is_ipv4)
                .unwrap();
            let started = TcpProxy::start(target).unwrap();
            let mut through = url.clone();
            through.set_port(Some(started.address().port())).unwrap();
            s.database.url = Some(SecretString::from(through.to_string()));
            *proxy = Some(started);
        })
        .await
    };
    let mut proxy = proxy.unwrap();
    let bytes = fixtures::incident_writeup();
    let (status, _) = app.get_json("/api/v1/documents").await;
    assert_eq!(status, StatusCode::OK);

    proxy.cut().await;
    let bound = PG_ACQUIRE_TIMEOUT + Duration::from_secs(3);
    for path in ["/api/v1/documents", "/api/v1/documents/doc_missing/findings"] {
        let started = Instant::now();
        let (status, body) = app.get_json(path).await;
        assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE, "{path}: {body}");
        assert_eq!(body["error"]["code"], "unavailable", "{path}: {body}");
        assert!(started.elapsed() < bound, "{path} took {:?}", started.elapsed());
    }
    let started = Instant::now();
    let response = app.upload("incident.docx", bytes.clone(), &[]).await;
    assert_eq!(response.status(), StatusCode::SERVICE_UNAVAILABLE);
    assert!(
        started.elapsed() < bound,
        "the upload took {:?}",
        started.elapsed()
    );
    let (status, _) = app.get_json("/health").await;
    assert_eq!(status, StatusCode::OK, "/health checks nothing but the process");
    let started = Instant::now();
    let (status, ready) = app.get_json("/ready").await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE, "{ready}");
    assert_eq!(ready["checks"]["database"]["ok"], false, "{ready}");
    // The probes run side by side, so /ready waits out the pool's timeout once, not once per probe.
    assert!(started.elapsed() < bound, "/ready took {:?}", started.elapsed());

    proxy.restore().await.unwrap();
    let deadline = Instant::now() + Duration::from_secs(15);
    loop {
        let (status, _) = app.get_json("/api/v1/documents").await;
        if status == StatusCode::OK {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "still {status} 15 s after the database came back"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    // The in-process workers kept polling through the outage: a review queued now still finishes.
    let doc: Value = app
        .upload("incident.docx", bytes, &[])
        .await
        .json()
        .await
        .unwrap();
    let review = app.wait_for_review(doc["review"]["id"].as_str().unwrap()).await;
    assert_eq!(review["status"], "succeeded", "{review}");
    let (status, _) = app.get_json("/ready").await;
    assert_eq!(status, StatusCode::OK);
}
