//! `aiprism user add|passwd|token`: manage accounts directly in the database (no server needed).

use std::io::{BufRead, Write};
use std::sync::Arc;

use aiprism_app::Settings;
use aiprism_app::accounts::Accounts;
use aiprism_core::Role;
use aiprism_store::SqlStore;
use anyhow::Context;
use clap::Subcommand;

/// What to do with users.
#[derive(Debug, Subcommand)]
pub enum UserCommand {
    /// Create a user who signs in with a password.
    Add {
        /// The user name (also the login; case-insensitive).
        name: String,
        /// What the user may do.
        #[arg(long, value_parser = parse_role, default_value = "reviewer")]
        role: Role,
        /// Read the password from the first line of standard input (otherwise one is generated and
        /// printed once).
        #[arg(long)]
        password_stdin: bool,
    },
    /// Set a user's password (ends their sessions).
    Passwd {
        /// The user name.
        name: String,
        /// Read the password from the first line of standard input (otherwise one is generated and
        /// printed once).
        #[arg(long)]
        password_stdin: bool,
    },
    /// Make an API token for a user; it is printed once and only its hash is kept.
    Token {
        /// The user name.
        name: String,
        /// What the token is for.
        #[arg(long, default_value = "cli")]
        label: String,
    },
}

fn parse_role(s: &str) -> Result<Role, String> {
    s.parse().map_err(|e: aiprism_core::ParseEnumError| e.to_string())
}

/// Runs the command.
pub async fn run(settings: &Settings, command: UserCommand) -> anyhow::Result<()> {
    if settings.database.url.is_none() {
        std::fs::create_dir_all(&settings.server.data_dir)
            .with_context(|| format!("creating {}", settings.server.data_dir.display()))?;
    }
    let store = SqlStore::connect_and_migrate(&settings.database_url())
        .await
        .context("opening the database")?;
    let mut accounts = Accounts::new(Arc::new(store), settings.auth.clone());
    // With Redis, sessions live there: a new password must end them there.
    if let Some(redis) = aiprism_redis::connect_shared(settings)
        .await
        .context("connecting to Redis (REDIS_URL)")?
        && let Some(sessions) = redis.parts.sessions
    {
        accounts = accounts.with_sessions(sessions);
    }
    let mut out = std::io::stdout().lock();
    match command {
        UserCommand::Add {
            name,
            role,
            password_stdin,
        } => {
            let (password, generated) = password(password_stdin)?;
            let user = accounts.add_user(&name, role, Some(&password)).await?;
            writeln!(
                out,
                "created {} ({}, id {})",
                user.name,
                user.role.as_str(),
                user.id
            )?;
            if generated {
                writeln!(out, "password (shown once): {password}")?;
            }
        }
        UserCommand::Passwd { name, password_stdin } => {
            let (password, generated) = password(password_stdin)?;
            let user = accounts.set_password(&name, &password).await?;
            writeln!(
                out,
                "password of {} changed; their sessions were ended",
                user.name
            )?;
            if generated {
                writeln!(out, "password (shown once): {password}")?;
            }
        }
        UserCommand::Token { name, label } => {
            let token = accounts.create_token(&name, &label).await?;
            writeln!(out, "{token}")?;
            eprintln!("This token is shown once; send it as `Authorization: Bearer <token>`.");
        }
    }
    Ok(())
}

/// The password to set: the first line of stdin, or a generated one (and whether it was generated).
fn password(from_stdin: bool) -> anyhow::Result<(String, bool)> {
    if from_stdin {
        let mut line = String::new();
        std::io::stdin()
            .lock()
            .read_line(&mut line)
            .context("reading the password from standard input")?;
        let password = line.trim_end_matches(['\r', '\n']).to_string();
        return Ok((password, false));
    }
    let mut bytes = [0u8; 18];
    getrandom::getrandom(&mut bytes).context("the system random source failed")?;
    Ok((hex::encode(bytes), true))
}
