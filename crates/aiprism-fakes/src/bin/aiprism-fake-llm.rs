//! Runs a fake model server as its own process, for end-to-end tests of the real `aiprism serve`:
//!
//! ```text
//! aiprism-fake-llm --provider bedrock --port 0 [--script script.json]
//! ```
//!
//! It prints one line, `listening on http://127.0.0.1:PORT base_url=<URL for --provider>`, then serves until
//! killed. The server speaks all three wire formats; `--provider` only chooses which base URL is printed.
//! The script format is [`aiprism_fakes::fake_llm::Script`].

use std::io::Write;
use std::net::SocketAddr;
use std::path::PathBuf;

use aiprism_fakes::fake_llm::{FakeLlm, FakeProvider, Script};
use clap::Parser;

/// Command-line options.
#[derive(Debug, Parser)]
#[command(
    name = "aiprism-fake-llm",
    about = "A scriptable fake Bedrock / Anthropic / OpenAI server on loopback"
)]
struct Args {
    /// Which base URL to print: bedrock, anthropic or openai.
    #[arg(long, default_value = "bedrock")]
    provider: FakeProvider,
    /// Port on 127.0.0.1 (0 picks a free one).
    #[arg(long, default_value_t = 0)]
    port: u16,
    /// A JSON script of behaviours.
    #[arg(long)]
    script: Option<PathBuf>,
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args = Args::parse();
    let script = match &args.script {
        Some(path) => {
            let text =
                std::fs::read_to_string(path).map_err(|e| format!("cannot read {}: {e}", path.display()))?;
            serde_json::from_str::<Script>(&text)
                .map_err(|e| format!("invalid script {}: {e}", path.display()))?
        }
        None => Script::default(),
    };
    let fake = FakeLlm::start_on(SocketAddr::from(([127, 0, 0, 1], args.port)), script).await?;
    println!(
        "listening on {} base_url={}",
        fake.url(),
        fake.base_url(args.provider)
    );
    std::io::stdout().flush()?;
    tokio::signal::ctrl_c().await?;
    Ok(())
}
