//! The `aiprism` binary: parses the command line, loads the configuration and wires the crates together.
//! Nothing else lives here.

mod commands;
mod config;
mod logging;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

/// Document review with AI findings you can trust, anchored on the text they are about.
#[derive(Debug, Parser)]
#[command(name = "aiprism", version, about)]
struct Cli {
    /// A TOML configuration file (also `AIPRISM_CONFIG`); the environment overrides it.
    #[arg(long, global = true, value_name = "FILE")]
    config: Option<PathBuf>,

    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Serve the HTTP API and web UI (with in-process workers unless --no-workers).
    Serve {
        /// Address to listen on, e.g. 127.0.0.1:8080 or 0.0.0.0 (the port then comes from PORT).
        #[arg(long, value_name = "ADDR")]
        bind: Option<String>,
        /// Do not run workers in this process.
        #[arg(long)]
        no_workers: bool,
    },
    /// Run workers only (any number of them, on any machine sharing the database).
    Worker,
    /// Review files from the command line and write reports.
    Review {
        /// The documents to review.
        #[arg(required = true)]
        files: Vec<PathBuf>,
        /// Directory for the outputs (default: next to each input).
        #[arg(long)]
        out: Option<PathBuf>,
        /// Framework id.
        #[arg(long)]
        framework: Option<String>,
        /// Report format.
        #[arg(long, value_enum, default_value = "json")]
        format: commands::review::ReportFormat,
        /// Exit 1 when a finding at or above this risk is found (among findings at or above
        /// FEEDBACK_MIN_CONFIDENCE).
        #[arg(long, value_parser = parse_risk)]
        fail_on: Option<aiprism_core::Risk>,
    },
    /// Apply database migrations.
    Migrate,
    /// Validate the configuration and reach every configured dependency.
    Check,
    /// Manage users (accounts): add, passwd, token.
    User {
        #[command(subcommand)]
        action: commands::user::UserCommand,
    },
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let env = |name: &str| std::env::var(name).ok();
    let settings = match config::load(cli.config.as_deref(), &env) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("aiprism: {e}");
            return ExitCode::from(2);
        }
    };
    let runtime = match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("aiprism: cannot start the async runtime: {e}");
            return ExitCode::from(2);
        }
    };
    runtime.block_on(run(cli.command, settings))
}

async fn run(command: Command, mut settings: aiprism_app::Settings) -> ExitCode {
    let result = match command {
        Command::Serve { bind, no_workers } => {
            if let Err(e) = apply_bind(&mut settings, bind.as_deref()) {
                eprintln!("aiprism: --bind: {e}");
                return ExitCode::from(2);
            }
            if no_workers {
                settings.server.workers = false;
            }
            logging::init(&settings);
            commands::serve::run(settings).await
        }
        Command::Migrate => {
            logging::init(&settings);
            commands::migrate::run(&settings).await
        }
        Command::Check => return commands::check::run(&settings).await,
        Command::Worker => {
            logging::init(&settings);
            commands::worker::run(settings).await
        }
        Command::Review {
            files,
            out,
            framework,
            format,
            fail_on,
        } => {
            // A command-line run prints its own summary; logs stay quiet unless asked for.
            if std::env::var_os("LOG_LEVEL").is_none() {
                settings.observability.log_level = "warn".into();
            }
            logging::init(&settings);
            let args = commands::review::ReviewArgs {
                files,
                out,
                framework,
                format,
                fail_on,
            };
            return commands::review::run(settings, args).await;
        }
        Command::User { action } => {
            if std::env::var_os("LOG_LEVEL").is_none() {
                settings.observability.log_level = "warn".into();
            }
            logging::init(&settings);
            commands::user::run(&settings, action).await
        }
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("aiprism: {e:#}");
            ExitCode::from(1)
        }
    }
}

/// `--bind` takes an address with or without a port; without one, the configured port is kept.
fn apply_bind(settings: &mut aiprism_app::Settings, bind: Option<&str>) -> Result<(), String> {
    let Some(bind) = bind else { return Ok(()) };
    if let Ok(addr) = bind.parse::<SocketAddr>() {
        settings.server.bind = addr.ip();
        settings.server.port = addr.port();
        return Ok(());
    }
    settings.server.bind = bind
        .parse()
        .map_err(|_| format!("{bind:?} is not an address such as 127.0.0.1:8080"))?;
    Ok(())
}

fn parse_risk(s: &str) -> Result<aiprism_core::Risk, String> {
    s.parse().map_err(|e: aiprism_core::ParseEnumError| e.to_string())
}
