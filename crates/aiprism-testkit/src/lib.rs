//! Test support for aiprism, used as a dev-dependency only: [`app::TestApp`] runs the real HTTP router on a
//! loopback port against a database of its own; `fake_llm` serves the model providers' wire formats
//! locally so the router and the review engine are tested over real HTTP.

pub mod app;
pub mod browser;
pub mod faults;
pub mod fixtures;
pub mod prometheus;
pub use aiprism_fakes::fake_llm;
