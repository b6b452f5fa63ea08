//! Every router rule, through real HTTP against the fakes.

use std::sync::Arc;
use std::time::Duration;

use aiprism_fakes::fake_llm::{Behavior, FakeLlm};
use aiprism_llm::{ErrorKind, GlobalLimits, ProviderKind, RoutedEvent, Router, RouterError, RouterEvent};
use futures::StreamExt;

use crate::{
    Events, TEST_API_KEY, chat_request, config, deadline, endpoint, fake, quotes, review_request, settings,
};

/// A router over Bedrock models `a`, `b`, `c` (in that order) on one fake.
async fn chain(fake: &FakeLlm, names: &[&str]) -> Router {
    let mut endpoints = Vec::new();
    for name in names {
        endpoints.push(endpoint(config(ProviderKind::Bedrock, name, fake)).await);
    }
    Router::builder(endpoints)
        .settings(settings())
        .build()
        .unwrap_or_else(|e| panic!("{e}"))
}

async fn review(router: &Router) -> Result<aiprism_llm::Routed<Vec<String>>, RouterError> {
    router.call(&review_request(), deadline(10), quotes).await
}

#[tokio::test]
async fn a_throttled_endpoint_cools_down_for_everyone_while_the_next_one_answers() {
    let fake = fake().await;
    let router = chain(&fake, &["a", "b", "c"]).await;
    fake.push(
        "a",
        [Behavior::Throttle {
            retry_after_secs: None,
        }],
    );

    let first = review(&router).await.unwrap_or_else(|e| panic!("{e}"));
    assert_eq!((first.endpoint.as_str(), first.attempts), ("b", 2));
    let throttled_at = fake.requests_for("a")[0].received_at;

    // Other calls during the cooldown skip `a` without touching it, and `c` is never needed.
    for _ in 0..5 {
        assert_eq!(
            review(&router).await.map(|r| r.endpoint).ok().as_deref(),
            Some("b")
        );
    }
    assert_eq!(
        fake.requests_for("a").len(),
        1,
        "no request reached the resting endpoint"
    );
    assert!(
        fake.requests_for("c").is_empty(),
        "endpoints after the fallback are unaffected"
    );
    let snapshot = router.snapshot().await;
    assert!(snapshot[0].cooldown_remaining_ms.is_some_and(|ms| ms <= 400));
    assert_eq!((snapshot[0].throttles, snapshot[0].calls), (1, 1));
    assert_eq!(snapshot[1].successes, 6);

    tokio::time::sleep(Duration::from_millis(450)).await;
    let back = review(&router).await.unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(
        back.endpoint, "a",
        "after its rest the first choice is used again"
    );
    assert!(fake.requests_for("a")[1].received_at.duration_since(throttled_at) >= Duration::from_millis(400));
}

#[tokio::test]
async fn retry_after_from_the_provider_sets_the_cooldown() {
    let fake = fake().await;
    let router = Router::builder(vec![
        endpoint(config(ProviderKind::Anthropic, "claude-a", &fake)).await,
        endpoint(config(ProviderKind::Anthropic, "claude-b", &fake)).await,
    ])
    .settings(settings())
    .build()
    .unwrap_or_else(|e| panic!("{e}"));
    fake.push(
        "claude-a",
        [Behavior::Throttle {
            retry_after_secs: Some(2),
        }],
    );
    assert_eq!(
        review(&router).await.map(|r| r.endpoint).ok().as_deref(),
        Some("claude-b")
    );
    let rest = router.snapshot().await[0].cooldown_remaining_ms.unwrap_or(0);
    assert!(
        (1500..=2000).contains(&rest),
        "Retry-After: 2 beats the 400 ms base: {rest} ms"
    );
    tokio::time::sleep(Duration::from_millis(600)).await;
    assert_eq!(
        review(&router).await.map(|r| r.endpoint).ok().as_deref(),
        Some("claude-b")
    );
    assert_eq!(fake.requests_for("claude-a").len(), 1);
}

#[tokio::test]
async fn anthropic_overload_and_bedrock_unavailability_count_as_throttling() {
    let fake = fake().await;
    let router = Router::builder(vec![
        endpoint(config(ProviderKind::Anthropic, "claude-a", &fake)).await,
        endpoint(config(ProviderKind::Bedrock, "bedrock-b", &fake)).await,
        endpoint(config(ProviderKind::Openai, "local-c", &fake)).await,
    ])
    .settings(settings())
    .build()
    .unwrap_or_else(|e| panic!("{e}"));
    fake.push("claude-a", [Behavior::Overloaded]);
    fake.push("bedrock-b", [Behavior::Overloaded]);
    let routed = review(&router).await.unwrap_or_else(|e| panic!("{e}"));
    assert_eq!((routed.endpoint.as_str(), routed.attempts), ("local-c", 3));
    let snapshot = router.snapshot().await;
    assert!(snapshot[0].cooldown_remaining_ms.is_some() && snapshot[1].cooldown_remaining_ms.is_some());
    assert_eq!(snapshot[0].throttles + snapshot[1].throttles, 2);
}

#[tokio::test]
async fn a_server_error_is_retried_once_on_the_same_endpoint() {
    let fake = fake().await;
    let router = chain(&fake, &["a", "b"]).await;
    fake.push("a", [Behavior::ServerError { status: 500 }]);
    let routed = review(&router).await.unwrap_or_else(|e| panic!("{e}"));
    assert_eq!((routed.endpoint.as_str(), routed.attempts), ("a", 2));
    assert!(fake.requests_for("b").is_empty());
}

#[tokio::test]
async fn a_second_server_error_moves_the_call_to_the_next_endpoint() {
    let fake = fake().await;
    let router = chain(&fake, &["a", "b"]).await;
    fake.push(
        "a",
        [
            Behavior::ServerError { status: 500 },
            Behavior::ServerError { status: 502 },
        ],
    );
    let routed = review(&router).await.unwrap_or_else(|e| panic!("{e}"));
    assert_eq!((routed.endpoint.as_str(), routed.attempts), ("b", 3));
    assert_eq!(fake.requests_for("a").len(), 2);
    let snapshot = router.snapshot().await;
    assert_eq!(snapshot[0].errors, 2);
    assert!(
        snapshot[0].cooldown_remaining_ms.is_none(),
        "a server error is no reason to rest"
    );
    assert!(snapshot[0].disabled_reason.is_none());
}

#[tokio::test]
async fn a_timeout_is_retried_once_then_the_next_endpoint_answers() {
    let fake = fake().await;
    let mut slow = config(ProviderKind::Bedrock, "a", &fake);
    slow.timeout_secs = 0.3;
    let router = Router::builder(vec![
        endpoint(slow).await,
        endpoint(config(ProviderKind::Bedrock, "b", &fake)).await,
    ])
    .settings(settings())
    .build()
    .unwrap_or_else(|e| panic!("{e}"));
    fake.push("a", [Behavior::Hang { secs: 1.0 }, Behavior::Hang { secs: 1.0 }]);
    let started = std::time::Instant::now();
    let routed = review(&router).await.unwrap_or_else(|e| panic!("{e}"));
    assert_eq!((routed.endpoint.as_str(), routed.attempts), ("b", 3));
    assert_eq!(fake.requests_for("a").len(), 2);
    assert!(
        started.elapsed() < Duration::from_millis(1500),
        "each attempt was cut at its timeout"
    );
    let last = router.snapshot().await[0].last_error.clone().unwrap_or_default();
    assert!(last.starts_with("timed out"), "{last}");
}

#[tokio::test]
async fn malformed_output_gets_one_repair_attempt_that_shows_the_model_its_mistake() {
    let fake = fake().await;
    let router = chain(&fake, &["a", "b"]).await;
    fake.push("a", [Behavior::MalformedJson]);
    let routed = review(&router).await.unwrap_or_else(|e| panic!("{e}"));
    assert_eq!((routed.endpoint.as_str(), routed.attempts), ("a", 2));
    assert_eq!(routed.value, vec!["The outage began at 09:14 UTC.".to_string()]);
    let repair = &fake.requests_for("a")[1].body["messages"];
    let turns = repair.as_array().cloned().unwrap_or_default();
    assert_eq!(turns.len(), 3);
    assert_eq!(turns[1]["role"], "assistant");
    assert!(
        turns[1]["content"][0]["text"]
            .as_str()
            .unwrap_or("")
            .starts_with("{\"findings\": [{")
    );
    assert!(
        turns[2]["content"][0]["text"]
            .as_str()
            .unwrap_or("")
            .contains("could not be used")
    );
}

#[tokio::test]
async fn output_still_malformed_after_the_repair_moves_to_the_next_endpoint() {
    let fake = fake().await;
    let router = chain(&fake, &["a", "b"]).await;
    fake.push("a", [Behavior::MalformedJson, Behavior::MalformedJson]);
    let routed = review(&router).await.unwrap_or_else(|e| panic!("{e}"));
    assert_eq!((routed.endpoint.as_str(), routed.attempts), ("b", 3));
    assert_eq!(
        fake.requests_for("b")[0].body["messages"]
            .as_array()
            .map(Vec::len),
        Some(1),
        "the next endpoint gets the original request"
    );
}

#[tokio::test]
async fn output_that_violates_the_schema_is_repaired_like_malformed_output() {
    let fake = fake().await;
    let router = chain(&fake, &["a", "b"]).await;
    fake.push("a", [Behavior::SchemaViolation, Behavior::SchemaViolation]);
    let routed = review(&router).await.unwrap_or_else(|e| panic!("{e}"));
    assert_eq!((routed.endpoint.as_str(), routed.attempts), ("b", 3));
    let repair = &fake.requests_for("a")[1].body["messages"][2]["content"][0]["text"];
    assert!(
        repair
            .as_str()
            .unwrap_or("")
            .contains("`findings` must be an array"),
        "{repair}"
    );
    let failure = router.snapshot().await[0].last_error.clone().unwrap_or_default();
    assert!(failure.starts_with("malformed output"), "{failure}");
}

#[tokio::test]
async fn context_too_long_is_surfaced_distinctly_without_trying_other_endpoints() {
    let fake = fake().await;
    let router = chain(&fake, &["a", "b"]).await;
    fake.push("a", [Behavior::ContextTooLong]);
    match review(&router).await {
        Err(RouterError::ContextTooLong { endpoint, message }) => {
            assert_eq!(endpoint, "a");
            assert!(message.contains("too long"), "{message}");
        }
        other => panic!("expected ContextTooLong, got {other:?}"),
    }
    assert!(fake.requests_for("b").is_empty());
    assert!(
        router.snapshot().await[0].disabled_reason.is_none(),
        "a long input is not a configuration error"
    );
}

#[tokio::test]
async fn an_auth_failure_disables_the_endpoint_until_reset() {
    let fake = fake().await;
    let router = Router::builder(vec![
        endpoint(config(ProviderKind::Anthropic, "claude-a", &fake)).await,
        endpoint(config(ProviderKind::Anthropic, "claude-b", &fake)).await,
    ])
    .settings(settings())
    .build()
    .unwrap_or_else(|e| panic!("{e}"));
    fake.set_model_default("claude-a", Behavior::AuthFailure);
    assert_eq!(
        review(&router).await.map(|r| r.endpoint).ok().as_deref(),
        Some("claude-b")
    );
    assert_eq!(
        review(&router).await.map(|r| r.endpoint).ok().as_deref(),
        Some("claude-b")
    );
    assert_eq!(
        fake.requests_for("claude-a").len(),
        1,
        "a disabled endpoint is not called again"
    );
    let snapshot = router.snapshot().await;
    let reason = snapshot[0].disabled_reason.clone().unwrap_or_default();
    assert!(
        reason.contains("authentication failed") && reason.contains("401"),
        "{reason}"
    );
    let json = serde_json::to_string(&snapshot).unwrap_or_default();
    assert!(!json.contains(TEST_API_KEY), "the snapshot never shows the key");

    fake.set_model_default("claude-a", Behavior::Findings);
    router.reset().await;
    assert!(router.snapshot().await[0].disabled_reason.is_none());
    assert_eq!(
        review(&router).await.map(|r| r.endpoint).ok().as_deref(),
        Some("claude-a")
    );
}

#[tokio::test]
async fn a_missing_model_disables_the_endpoint_and_the_error_lists_every_reason() {
    let fake = fake().await;
    let router = Router::builder(vec![
        endpoint(config(ProviderKind::Openai, "no-such-model", &fake)).await,
        endpoint(config(ProviderKind::Bedrock, "denied", &fake)).await,
    ])
    .settings(settings())
    .build()
    .unwrap_or_else(|e| panic!("{e}"));
    fake.set_model_default("no-such-model", Behavior::ModelNotFound);
    fake.set_model_default("denied", Behavior::AuthFailure);
    let error = review(&router)
        .await
        .err()
        .unwrap_or_else(|| panic!("every endpoint is broken"));
    let kinds: Vec<(String, ErrorKind)> = error
        .failures()
        .iter()
        .map(|f| (f.endpoint.clone(), f.kind))
        .collect();
    assert_eq!(
        kinds,
        vec![
            ("no-such-model".to_string(), ErrorKind::NotFound),
            ("denied".to_string(), ErrorKind::Auth)
        ]
    );
    assert!(matches!(error, RouterError::Exhausted { .. }));

    // The next call fails at once, naming the disabled endpoints.
    let again = review(&router)
        .await
        .err()
        .unwrap_or_else(|| panic!("still broken"));
    assert_eq!(again.failures().len(), 2);
    assert!(again.to_string().contains("disabled: model not found"), "{again}");
    assert_eq!(fake.requests().len(), 2);
}

#[tokio::test]
async fn the_concurrency_limits_of_endpoints_and_of_the_chain_are_respected() {
    let fake = fake().await;
    fake.set_default(Behavior::Delayed {
        millis: 150,
        then: Box::new(Behavior::Findings),
    });
    let mut a = config(ProviderKind::Bedrock, "a", &fake);
    a.max_concurrency = 2;
    let mut b = config(ProviderKind::Bedrock, "b", &fake);
    b.max_concurrency = 1;
    let router = Router::builder(vec![endpoint(a).await, endpoint(b).await])
        .settings(settings())
        .build()
        .unwrap_or_else(|e| panic!("{e}"));
    let calls = (0..6).map(|_| {
        let router = router.clone();
        tokio::spawn(async move { review(&router).await.map(|r| r.endpoint) })
    });
    let results = futures::future::join_all(calls).await;
    assert!(results.iter().all(|r| matches!(r, Ok(Ok(_)))), "{results:?}");
    assert_eq!((fake.max_in_flight("a"), fake.max_in_flight("b")), (2, 1));
    assert!(
        fake.requests_for("b").len() >= 2,
        "the overflow went to the second endpoint"
    );

    let fake = crate::fake().await;
    fake.set_default(Behavior::Delayed {
        millis: 100,
        then: Box::new(Behavior::Findings),
    });
    let router = Router::builder(vec![endpoint(config(ProviderKind::Bedrock, "a", &fake)).await])
        .settings(settings())
        .global_limits(GlobalLimits {
            max_concurrent_requests: Some(3),
            ..GlobalLimits::default()
        })
        .build()
        .unwrap_or_else(|e| panic!("{e}"));
    let calls = (0..7).map(|_| {
        let router = router.clone();
        tokio::spawn(async move { review(&router).await.is_ok() })
    });
    let results = futures::future::join_all(calls).await;
    assert!(results.iter().all(|r| matches!(r, Ok(true))));
    assert_eq!(fake.max_in_flight("a"), 3);
}

#[tokio::test]
async fn usage_and_cost_are_computed_from_the_endpoint_prices_and_reported_to_the_observer() {
    let fake = fake().await;
    let events = Arc::new(Events::default());
    let router = Router::builder(vec![endpoint(config(ProviderKind::Bedrock, "a", &fake)).await])
        .settings(settings())
        .observer(events.clone())
        .build()
        .unwrap_or_else(|e| panic!("{e}"));
    let first = review(&router).await.unwrap_or_else(|e| panic!("{e}"));
    let second = review(&router).await.unwrap_or_else(|e| panic!("{e}"));
    let attempts: Vec<_> = events
        .all()
        .into_iter()
        .filter_map(|e| match e {
            RouterEvent::Attempt(record) => Some(record),
            _ => None,
        })
        .collect();
    assert_eq!(attempts.len(), 2);
    let t1 = attempts[0].tokens;
    // Prices of the test endpoint: $3 in, $15 out, $0.30 cache read, $3.75 cache write per Mtok.
    let expected =
        (t1.input_tokens as f64 * 3.0 + t1.output_tokens as f64 * 15.0 + t1.cache_write_tokens as f64 * 3.75)
            / 1e6;
    assert!((first.usage.cost_usd - expected).abs() < 1e-12);
    assert_eq!(first.usage.input_tokens, t1.input_tokens + t1.cache_write_tokens);
    assert!(t1.cache_write_tokens > 0 && attempts[1].tokens.cache_read_tokens == t1.cache_write_tokens);
    assert_eq!(second.usage.cached_tokens, t1.cache_write_tokens);
    assert!(
        second.usage.cost_usd < first.usage.cost_usd,
        "reading the prefix from the cache is cheaper"
    );
    assert_eq!(attempts[1].usage, second.usage);
    let total = router.snapshot().await[0].usage;
    assert!((total.cost_usd - first.usage.cost_usd - second.usage.cost_usd).abs() < 1e-12);
    assert_eq!(
        total.output_tokens,
        first.usage.output_tokens + second.usage.output_tokens
    );
}

#[tokio::test]
async fn a_stream_falls_back_to_the_next_endpoint_before_its_first_token() {
    let fake = fake().await;
    let router = chain(&fake, &["a", "b"]).await;
    fake.push(
        "a",
        [Behavior::Throttle {
            retry_after_secs: None,
        }],
    );
    let mut stream = router
        .stream(&chat_request(), deadline(10))
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(stream.endpoint, "b");
    let mut text = String::new();
    let mut done = None;
    while let Some(item) = stream.next().await {
        match item.unwrap_or_else(|e| panic!("{e}")) {
            RoutedEvent::TextDelta(delta) => text.push_str(&delta),
            RoutedEvent::Done(routed) => done = Some(routed),
        }
    }
    let done = done.unwrap_or_else(|| panic!("no Done"));
    assert_eq!(text, done.value.text);
    assert_eq!((done.endpoint.as_str(), done.attempts), ("b", 2));
    assert!(done.usage.cost_usd > 0.0);
    assert!(router.snapshot().await[0].cooldown_remaining_ms.is_some());
}

#[tokio::test]
async fn a_stream_that_fails_after_its_first_token_ends_with_an_error_and_no_fallback() {
    let fake = fake().await;
    let router = Router::builder(vec![
        endpoint(config(ProviderKind::Anthropic, "claude-a", &fake)).await,
        endpoint(config(ProviderKind::Anthropic, "claude-b", &fake)).await,
    ])
    .settings(settings())
    .build()
    .unwrap_or_else(|e| panic!("{e}"));
    fake.push(
        "claude-a",
        [Behavior::StreamThenFail {
            tokens: vec!["The outage ".into(), "began".into()],
        }],
    );
    let mut stream = router
        .stream(&chat_request(), deadline(10))
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let mut deltas = Vec::new();
    let mut error = None;
    while let Some(item) = stream.next().await {
        match item {
            Ok(RoutedEvent::TextDelta(delta)) => deltas.push(delta),
            Ok(RoutedEvent::Done(_)) => panic!("the stream cannot complete"),
            Err(e) => error = Some(e),
        }
    }
    assert_eq!(deltas, ["The outage ", "began"]);
    match error {
        Some(RouterError::StreamInterrupted { endpoint, error }) => {
            assert_eq!(endpoint, "claude-a");
            assert_eq!(error.kind(), ErrorKind::Server);
        }
        other => panic!("expected StreamInterrupted, got {other:?}"),
    }
    assert!(
        fake.requests_for("claude-b").is_empty(),
        "no fallback once text was shown"
    );
    assert_eq!(router.snapshot().await[0].in_flight, 0, "the slot is released");
}

#[tokio::test]
async fn every_openai_and_bedrock_stream_path_reports_the_same_routed_answer() {
    let fake = fake().await;
    for kind in [ProviderKind::Bedrock, ProviderKind::Openai] {
        let router = Router::builder(vec![endpoint(config(kind, "m", &fake)).await])
            .settings(settings())
            .build()
            .unwrap_or_else(|e| panic!("{e}"));
        let stream = router
            .stream(&chat_request(), deadline(10))
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        let items: Vec<_> = stream.collect().await;
        match items.last() {
            Some(Ok(RoutedEvent::Done(routed))) => {
                assert_eq!(
                    routed.value.text, "This is a fake answer about: When did the outage start?",
                    "{kind}"
                )
            }
            other => panic!("{kind}: {other:?}"),
        }
    }
}
