//! `RedisSessionStore`: the session conformance scenarios shared with the database, and Redis's own
//! expiry of sessions at their absolute end.

use std::time::Duration;

use aiprism_core::UserId;
use aiprism_redis::RedisSessionStore;
use aiprism_redis::testing::TestRedis;
use aiprism_store::testing::sessions;
use aiprism_store::{SessionRecord, SessionStore, StoreError};
use chrono::Utc;

async fn store() -> Option<(RedisSessionStore, TestRedis)> {
    let redis = TestRedis::new().await?;
    Some((RedisSessionStore::new(redis.redis.clone()), redis))
}

#[tokio::test]
async fn a_session_is_read_touched_and_deleted() {
    let Some((store, _redis)) = store().await else {
        return;
    };
    sessions::a_session_is_read_touched_and_deleted(&store).await;
}

#[tokio::test]
async fn expired_and_idle_sessions_are_pruned_and_a_user_can_be_signed_out_everywhere() {
    let Some((store, _redis)) = store().await else {
        return;
    };
    sessions::expired_and_idle_sessions_are_pruned_and_a_user_can_be_signed_out_everywhere(&store).await;
}

fn record(hash: &str, lifetime: chrono::Duration) -> SessionRecord {
    let now = Utc::now();
    SessionRecord {
        id_hash: hash.into(),
        user_id: UserId::new("usr_alice"),
        created_at: now,
        last_seen_at: now,
        expires_at: now + lifetime,
    }
}

#[tokio::test]
async fn redis_drops_a_session_at_its_absolute_expiry() {
    let Some((store, _redis)) = store().await else {
        return;
    };
    store
        .insert_session(&record("short", chrono::Duration::milliseconds(300)))
        .await
        .unwrap();
    assert!(store.session("short").await.unwrap().is_some());
    tokio::time::sleep(Duration::from_millis(400)).await;
    assert_eq!(store.session("short").await.unwrap(), None);
    let now = Utc::now();
    assert_eq!(
        store
            .delete_expired_sessions(now, now - chrono::Duration::hours(1))
            .await
            .unwrap(),
        1,
        "its index entries are pruned too"
    );
}

#[tokio::test]
async fn a_session_id_cannot_be_stored_twice() {
    let Some((store, _redis)) = store().await else {
        return;
    };
    let s = record("dup", chrono::Duration::hours(1));
    store.insert_session(&s).await.unwrap();
    assert!(matches!(
        store.insert_session(&s).await,
        Err(StoreError::Conflict(_))
    ));
}

#[tokio::test]
async fn two_processes_see_the_same_sessions() {
    let Some((one, redis)) = store().await else { return };
    let two = RedisSessionStore::new(redis.another_connection().await);
    one.insert_session(&record("shared", chrono::Duration::hours(1)))
        .await
        .unwrap();
    assert!(two.session("shared").await.unwrap().is_some());
    assert_eq!(
        two.delete_user_sessions(&UserId::new("usr_alice")).await.unwrap(),
        1
    );
    assert_eq!(one.session("shared").await.unwrap(), None);
}
