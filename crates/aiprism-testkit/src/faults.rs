//! Faults on demand for tests: [`TcpProxy`] stands between the code under test and a dependency on
//! loopback (PostgreSQL, an S3 server) and can cut every connection and refuse new ones, then listen
//! again on the same port, so an outage and the recovery from it are tested in-process without
//! stopping a server other tests share.

use std::net::SocketAddr;

use tokio::net::{TcpListener, TcpSocket, TcpStream};
use tokio::sync::watch;
use tokio::task::JoinHandle;

/// A TCP forwarder on `127.0.0.1` that can simulate its target going away. Dropping it stops it.
#[derive(Debug)]
pub struct TcpProxy {
    address: SocketAddr,
    target: SocketAddr,
    /// Bumped by [`TcpProxy::cut`]: every connection opened before the bump ends.
    epoch: watch::Sender<u64>,
    accept: Option<JoinHandle<()>>,
}

impl TcpProxy {
    /// Starts forwarding a new loopback port to `target`. Call it inside a tokio runtime (it spawns the
    /// forwarding task); it does not wait, so it also serves from synchronous set-up code.
    pub fn start(target: SocketAddr) -> std::io::Result<Self> {
        let listener = listen(SocketAddr::from(([127, 0, 0, 1], 0)))?;
        let address = listener.local_addr()?;
        let epoch = watch::Sender::new(0);
        let accept = Some(tokio::spawn(accept_loop(listener, target, epoch.clone())));
        Ok(Self {
            address,
            target,
            epoch,
            accept,
        })
    }

    /// Where clients connect.
    pub fn address(&self) -> SocketAddr {
        self.address
    }

    /// The outage: closes every open connection and stops listening, so new connections are refused
    /// (as when the server process is gone). Returns once the port is closed.
    pub async fn cut(&mut self) {
        self.epoch.send_modify(|e| *e += 1);
        if let Some(accept) = self.accept.take() {
            accept.abort();
            let _ = accept.await;
        }
    }

    /// The recovery: listens on the same port again and forwards new connections.
    pub async fn restore(&mut self) -> std::io::Result<()> {
        if self.accept.is_some() {
            return Ok(());
        }
        let listener = listen(self.address)?;
        self.accept = Some(tokio::spawn(accept_loop(
            listener,
            self.target,
            self.epoch.clone(),
        )));
        Ok(())
    }
}

impl Drop for TcpProxy {
    fn drop(&mut self) {
        self.epoch.send_modify(|e| *e += 1);
        if let Some(accept) = self.accept.take() {
            accept.abort();
        }
    }
}

/// A listener that can bind a port just closed by an earlier one (`SO_REUSEADDR`).
fn listen(address: SocketAddr) -> std::io::Result<TcpListener> {
    let socket = TcpSocket::new_v4()?;
    socket.set_reuseaddr(true)?;
    socket.bind(address)?;
    socket.listen(1024)
}

async fn accept_loop(listener: TcpListener, target: SocketAddr, epoch: watch::Sender<u64>) {
    loop {
        let Ok((inbound, _)) = listener.accept().await else {
            // Out of descriptors or similar: try again shortly rather than spin.
            tokio::time::sleep(std::time::Duration::from_millis(10)).await;
            continue;
        };
        let mut cut = epoch.subscribe();
        tokio::spawn(async move {
            let Ok(mut outbound) = TcpStream::connect(target).await else {
                return;
            };
            let mut inbound = inbound;
            tokio::select! {
                _ = tokio::io::copy_bidirectional(&mut inbound, &mut outbound) => {}
                _ = cut.changed() => {}
            }
            // Dropping both streams closes them: the client sees its connection end mid-conversation.
        });
    }
}
