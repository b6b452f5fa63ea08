//! The processes of the scale-out scenario: one shared configuration and workers with a listener.

use super::*;

/// One configuration for every process: the same database, bucket, Redis prefix, queue and secret key.
pub(super) struct Cluster {
    pub(super) dir: tempfile::TempDir,
    pub(super) config: std::path::PathBuf,
    pub(super) env: Vec<(&'static str, String)>,
}

impl Cluster {
    pub(super) fn command(&self) -> Command {
        let mut command = aiprism(self.dir.path());
        command.arg("--config").arg(&self.config);
        for (name, value) in &self.env {
            command.env(name, value);
        }
        command
    }
}

/// A running `aiprism worker` with its health and metrics listener, killed on drop.
pub(super) struct ListeningWorker {
    pub(super) child: Child,
    pub(super) base_url: String,
}

impl ListeningWorker {
    /// Starts `worker` with `AIPRISM_WORKER_LISTEN` on a free port and waits for its address line. The
    /// rest of its output is drained on a thread, so the worker never writes into a closed pipe.
    pub(super) fn start(mut command: Command) -> Self {
        let mut child = command
            .arg("worker")
            .env("AIPRISM_WORKER_LISTEN", "127.0.0.1:0")
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("starting aiprism worker");
        let stdout = child.stdout.take().expect("stdout");
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                let _ = tx.send(line);
            }
        });
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match rx.recv_timeout(left) {
                Ok(line) => {
                    if let Some(url) = line.strip_prefix("aiprism worker listening on ") {
                        return Self {
                            child,
                            base_url: url.trim().to_string(),
                        };
                    }
                }
                Err(_) => {
                    let _ = child.kill();
                    let _ = child.wait();
                    panic!("aiprism worker did not print its listening address within 60 s")
                }
            }
        }
    }

    pub(super) fn pid(&self) -> u32 {
        self.child.id()
    }

    /// SIGKILL (what `Child::kill` sends on Unix): no chance to release its jobs.
    pub(super) fn kill_9(&mut self) {
        self.child.kill().expect("kill -9 the worker");
        let _ = self.child.wait();
    }
}

impl Drop for ListeningWorker {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
