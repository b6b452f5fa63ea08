//! One module per resource.

pub(crate) mod activity;
pub(crate) mod chat;
pub(crate) mod decisions;
pub(crate) mod documents;
pub(crate) mod exports;
pub(crate) mod findings;
pub(crate) mod frameworks;
pub(crate) mod health;
pub(crate) mod models;
pub(crate) mod reviews;
pub(crate) mod statistics;
