//! `aiprism serve`: the HTTP API and UI.

use std::net::SocketAddr;

use aiprism_app::Settings;
use aiprism_app::settings::EffectiveAuth;
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
    announce_auth(&app, local).await?;
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

/// Says at start-up whether sign-in is required, and in accounts mode without any account prints a
/// one-time link that creates the first admin (to stderr only: the link is a secret).
async fn announce_auth(app: &aiprism_app::App, local: SocketAddr) -> anyhow::Result<()> {
    match app.auth {
        EffectiveAuth::SingleUser => tracing::info!(
            "single-user mode: no sign-in because the server is bound to loopback; \
             set AIPRISM_AUTH=accounts to require it"
        ),
        EffectiveAuth::Accounts => {
            tracing::info!("accounts mode: every request must sign in");
            if app.accounts.needs_first_admin().await? {
                let token = app.accounts.first_admin_link().await?;
                let host = if local.ip().is_unspecified() {
                    "localhost".to_string()
                } else {
                    local.ip().to_string()
                };
                let host = if local.is_ipv6() && !local.ip().is_unspecified() {
                    format!("[{host}]")
                } else {
                    host
                };
                let minutes = app.settings.auth.signin_link_secs / 60;
                tracing::warn!(
                    "no account exists yet: open the sign-in link printed on stderr to create the first admin"
                );
                eprintln!(
                    "No account exists yet. Create the first admin within {minutes} minutes at this one-time link:\n  \
                     http://{host}:{}/signin/{token}",
                    local.port()
                );
            }
        }
    }
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
