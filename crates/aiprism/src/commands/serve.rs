//! `aiprism serve`: the HTTP API and UI.

use std::net::SocketAddr;

use aiprism_app::Settings;
use anyhow::Context;
use tokio::net::TcpListener;

/// Runs the server until SIGTERM or Ctrl-C, then finishes the requests in flight.
pub async fn run(settings: Settings) -> anyhow::Result<()> {
    let addr = SocketAddr::new(settings.server.bind, settings.server.port);
    let migrate = settings.database.migrate_on_start.unwrap_or(true);
    let models = settings.models_configured();
    let wired = super::build_app(settings, migrate).await?;
    let app = wired.app.clone();
    let listener = TcpListener::bind(addr)
        .await
        .with_context(|| format!("binding {addr}"))?;
    let local = listener.local_addr().context("reading the bound address")?;
    tracing::info!(
        address = %local,
        database = app.store.backend().as_str(),
        objects = app.objects.description(),
        "aiprism is serving"
    );
    if !models {
        tracing::info!("no model configured: the built-in rule reviewer runs alone");
    }
    // One signal stops both the HTTP server and the in-process workers.
    let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
    tokio::spawn(async move {
        shutdown_signal().await;
        let _ = stop_tx.send(true);
    });
    let stopped = |mut rx: tokio::sync::watch::Receiver<bool>| async move {
        let _ = rx.wait_for(|stop| *stop).await;
    };
    let workers = if app.settings.server.workers {
        let stop = stopped(stop_rx.clone());
        Some(tokio::spawn(
            async move { super::run_workers(&wired, stop).await },
        ))
    } else {
        tracing::info!("in-process workers are off (--no-workers): run `aiprism worker` to process reviews");
        None
    };
    // Scripts and tests read this line to learn the port when binding port 0.
    println!("aiprism listening on http://{local}");
    aiprism_http::serve(listener, app, stopped(stop_rx))
        .await
        .context("serving HTTP")?;
    if let Some(workers) = workers {
        let _ = workers.await;
    }
    tracing::info!("aiprism stopped");
    Ok(())
}

/// Resolves on SIGTERM (containers, systemd) or Ctrl-C.
pub async fn shutdown_signal() {
    let ctrl_c = async {
        if tokio::signal::ctrl_c().await.is_err() {
            std::future::pending::<()>().await;
        }
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = terminate => {},
    }
}
