//! The `LimitState` conformance scenarios on the in-process state (the Redis one runs the same
//! scenarios in `aiprism-redis`).

use aiprism_llm::InProcessLimitState;

async fn fresh() -> Option<Box<InProcessLimitState>> {
    Some(Box::new(InProcessLimitState::new()))
}

aiprism_llm::limit_state_conformance!(fresh);
