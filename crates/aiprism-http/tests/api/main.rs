//! The HTTP API over real HTTP against a real server, on SQLite and on PostgreSQL.

#![allow(clippy::unwrap_used)] // Tests fail loudly on purpose.

mod corpus;
mod documents;
mod fixtures;
