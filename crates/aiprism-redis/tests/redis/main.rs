//! The Redis-backed shared state against a real Redis (`AIPRISM_TEST_REDIS_URL`, started by
//! `scripts/test`): the limit-state and session conformance scenarios, what only a shared backend
//! must do (several processes on one budget), and what happens when Redis stops answering. Every test
//! has a key prefix of its own. Without the variable the tests print a note and pass locally; with
//! `CI=true` they fail.

#![allow(clippy::unwrap_used)] // Tests fail loudly on purpose.

mod api;
mod limits;
mod outage;
mod proxy;
mod sessions;
