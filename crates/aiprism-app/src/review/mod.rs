//! Reviews: starting one (a job per section on the queue), reviewing a section (rules, then the model
//! router), and reading progress back.

pub mod engine;
pub mod output;
pub mod prompt;
pub mod service;
