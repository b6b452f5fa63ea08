//! The HTTP API over real HTTP against a real server, on SQLite and on PostgreSQL.

#![allow(clippy::unwrap_used)] // Tests fail loudly on purpose.

mod accounts;
mod chat;
mod corpus;
mod decisions;
mod documents;
mod exports;
mod faults;
mod frameworks;
mod isolation;
mod metrics;
mod ratelimit;
mod reviews;
mod shared;
mod statistics;
