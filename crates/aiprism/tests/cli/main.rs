//! The `aiprism` binary as a user runs it: real processes, real ports, real signals.

#![allow(clippy::unwrap_used)] // Tests fail loudly on purpose.

mod commands;
mod review;
mod scale_out;
mod support;
mod workers;
