//! A TCP proxy on loopback in front of the test Redis, which a test can switch to swallow everything:
//! connections stay open but nothing is answered any more, as when Redis hangs or the network to it
//! drops packets.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::tcp::{OwnedReadHalf, OwnedWriteHalf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::Mutex;
use tokio::task::JoinHandle;

/// The proxy; dropping it stops it.
pub struct Proxy {
    /// Where clients connect.
    pub address: SocketAddr,
    silent: Arc<AtomicBool>,
    connections: Arc<Mutex<Vec<JoinHandle<()>>>>,
    accept: JoinHandle<()>,
}

impl Proxy {
    /// A proxy forwarding to `upstream` (`host:port`).
    pub async fn start(upstream: String) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let address = listener.local_addr().unwrap();
        let silent = Arc::new(AtomicBool::new(false));
        let connections: Arc<Mutex<Vec<JoinHandle<()>>>> = Arc::default();
        let accept = tokio::spawn({
            let silent = silent.clone();
            let connections = connections.clone();
            async move {
                while let Ok((client, _)) = listener.accept().await {
                    let silent = silent.clone();
                    let upstream = upstream.clone();
                    let task = tokio::spawn(async move {
                        let Ok(server) = TcpStream::connect(&upstream).await else {
                            return;
                        };
                        let (client_read, client_write) = client.into_split();
                        let (server_read, server_write) = server.into_split();
                        tokio::join!(
                            pump(client_read, server_write, silent.clone()),
                            pump(server_read, client_write, silent),
                        );
                    });
                    connections.lock().await.push(task);
                }
            }
        });
        Self {
            address,
            silent,
            connections,
            accept,
        }
    }

    /// From now on nothing is answered; connections stay open.
    pub fn go_silent(&self) {
        self.silent.store(true, Ordering::SeqCst);
    }
}

/// Copies bytes one way until either side closes; while silent, reads and drops them.
async fn pump(mut from: OwnedReadHalf, mut to: OwnedWriteHalf, silent: Arc<AtomicBool>) {
    let mut buf = [0u8; 16 * 1024];
    loop {
        match from.read(&mut buf).await {
            Ok(0) | Err(_) => return,
            Ok(_) if silent.load(Ordering::SeqCst) => {}
            Ok(n) => {
                if to.write_all(&buf[..n]).await.is_err() {
                    return;
                }
            }
        }
    }
}

impl Drop for Proxy {
    fn drop(&mut self) {
        self.accept.abort();
        if let Ok(mut connections) = self.connections.try_lock() {
            for task in connections.drain(..) {
                task.abort();
            }
        }
    }
}

/// The `host:port` of a `redis://` URL, and the URL with that part replaced by `address`.
pub fn through(url: &str, address: SocketAddr) -> (String, String) {
    let scheme_end = url.find("://").unwrap() + 3;
    let rest = &url[scheme_end..];
    let authority_end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    let authority = &rest[..authority_end];
    let host_start = authority.rfind('@').map_or(0, |at| at + 1);
    let host_port = &authority[host_start..];
    let upstream = if host_port.contains(':') {
        host_port.to_string()
    } else {
        format!("{host_port}:6379")
    };
    let proxied = format!(
        "{}{}{}{}",
        &url[..scheme_end],
        &authority[..host_start],
        address,
        &rest[authority_end..]
    );
    (upstream, proxied)
}
