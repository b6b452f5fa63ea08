//! `aiprism worker`: runs queued jobs only (any number of these, on any machine sharing the database).
//!
//! A worker needs no port to do its work. With `AIPRISM_WORKER_LISTEN` set it also answers `/health`,
//! `/ready` and `/metrics` there: its job, model and queue series are recorded in this process, so
//! without the listener nobody could scrape them.

use aiprism_app::Settings;
use anyhow::Context;
use tokio::net::TcpListener;

/// Runs until SIGTERM or Ctrl-C, then finishes or releases the jobs it holds.
pub async fn run(settings: Settings) -> anyhow::Result<()> {
    let migrate = settings.database.migrate_on_start.unwrap_or(true);
    let listen = settings.server.worker_listen;
    let wired = super::build_app(settings, migrate).await?;
    let app = wired.app.clone();
    // Bind before announcing the start, so a port taken by something else stops the worker at once.
    let listener = match listen {
        Some(addr) => Some(
            TcpListener::bind(addr)
                .await
                .with_context(|| format!("binding AIPRISM_WORKER_LISTEN {addr}"))?,
        ),
        None => None,
    };
    tracing::info!(database = app.store.backend().as_str(), "aiprism worker started");
    println!("aiprism worker started");
    // One signal stops the workers and the listener.
    let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
    tokio::spawn(async move {
        super::serve::shutdown_signal().await;
        let _ = stop_tx.send(true);
    });
    let stopped = |mut rx: tokio::sync::watch::Receiver<bool>| async move {
        let _ = rx.wait_for(|stop| *stop).await;
    };
    let ops = match listener {
        Some(listener) => {
            let local = listener.local_addr().context("reading the bound address")?;
            tracing::info!(address = %local, "worker health and metrics listener");
            // Scripts and tests read this line to learn the port when binding port 0.
            println!("aiprism worker listening on http://{local}");
            let stop = stopped(stop_rx.clone());
            Some(tokio::spawn(async move {
                if let Err(e) = aiprism_http::serve_ops(listener, app, stop).await {
                    tracing::warn!(error = %e, "the worker listener stopped; jobs still run");
                }
            }))
        }
        None => None,
    };
    super::run_workers(&wired, stopped(stop_rx)).await;
    if let Some(ops) = ops {
        let _ = ops.await;
    }
    tracing::info!("aiprism worker stopped");
    Ok(())
}
