//! Fake model providers for tests: local HTTP servers that speak Bedrock Converse / ConverseStream, the
//! Anthropic Messages API and OpenAI chat completions — including their errors — and can be scripted.
//! A separate crate (not part of `aiprism-testkit`) so provider tests do not build the application.
//! Used only as a dev-dependency and by the `aiprism-fake-llm` binary for end-to-end tests.

pub mod fake_llm;
