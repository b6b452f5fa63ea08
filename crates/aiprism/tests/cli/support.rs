//! Running the built binary in a temporary data directory.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// A command for the built `aiprism` binary with a clean, predictable environment.
pub fn aiprism(data_dir: &std::path::Path) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_aiprism"));
    command.env_clear();
    if let Ok(path) = std::env::var("PATH") {
        command.env("PATH", path);
    }
    command.env("AIPRISM_DATA_DIR", data_dir).env("LOG_LEVEL", "warn");
    command
}

/// A running `aiprism serve`, killed on drop if still running.
pub struct Server {
    pub child: Child,
    pub base_url: String,
}

impl Server {
    /// Starts `serve` on a free loopback port and waits for its "listening on" line.
    pub fn start(mut command: Command) -> Self {
        let mut child = command
            .args(["serve", "--bind", "127.0.0.1:0", "--no-workers"])
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("starting aiprism serve");
        let stdout = child.stdout.take().expect("stdout");
        let mut lines = BufReader::new(stdout).lines();
        let deadline = Instant::now() + Duration::from_secs(60);
        let mut base_url = None;
        while Instant::now() < deadline {
            match lines.next() {
                Some(Ok(line)) => {
                    if let Some(url) = line.strip_prefix("aiprism listening on ") {
                        base_url = Some(url.trim().to_string());
                        break;
                    }
                }
                _ => break,
            }
        }
        let base_url = base_url.expect("aiprism serve did not print its address");
        Self { child, base_url }
    }

    /// Sends SIGTERM and waits for the exit status.
    pub fn terminate(mut self) -> std::process::ExitStatus {
        let pid = self.child.id().to_string();
        let sent = Command::new("kill")
            .args(["-TERM", &pid])
            .status()
            .expect("running kill");
        assert!(sent.success());
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            if let Some(status) = self.child.try_wait().expect("waiting for serve") {
                return status;
            }
            assert!(
                Instant::now() < deadline,
                "serve did not stop within 30 s of SIGTERM"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
