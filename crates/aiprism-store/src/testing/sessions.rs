//! The [`SessionStore`] conformance scenarios, written against the trait only, so the database and any
//! shared cache (Redis, in `aiprism-redis`) keep sessions the same way. Each scenario expects an empty
//! store of its own and panics on a violation.

use aiprism_core::UserId;
use chrono::{Duration, Utc};

use crate::{SessionRecord, SessionStore};

fn session(hash: &str, user: &str, created_minutes_ago: i64, lifetime_minutes: i64) -> SessionRecord {
    let created = Utc::now() - Duration::minutes(created_minutes_ago);
    SessionRecord {
        id_hash: hash.into(),
        user_id: UserId::new(user),
        created_at: created,
        last_seen_at: created,
        expires_at: created + Duration::minutes(lifetime_minutes),
    }
}

/// A session reads back as stored (to the millisecond), records activity, and ends once.
pub async fn a_session_is_read_touched_and_deleted(store: &dyn SessionStore) {
    let s = session("aa", "usr_alice", 5, 60);
    store.insert_session(&s).await.expect("inserting");
    let read = store
        .session("aa")
        .await
        .expect("reading")
        .expect("the session exists");
    assert_eq!(read.user_id, s.user_id);
    assert!((read.created_at - s.created_at).num_milliseconds().abs() < 1);
    assert!((read.expires_at - s.expires_at).num_milliseconds().abs() < 1);
    let later = Utc::now();
    store.touch_session("aa", later).await.expect("touching");
    let touched = store
        .session("aa")
        .await
        .expect("reading")
        .expect("the session exists");
    assert!((touched.last_seen_at - later).num_milliseconds().abs() < 1);
    assert!(store.delete_session("aa").await.expect("deleting"));
    assert!(!store.delete_session("aa").await.expect("deleting again"));
    assert_eq!(store.session("aa").await.expect("reading"), None);
    store
        .touch_session("aa", Utc::now())
        .await
        .expect("touching an ended session is harmless");
    assert_eq!(
        store.session("aa").await.expect("reading"),
        None,
        "touching does not bring a session back"
    );
}

/// Pruning removes sessions past their absolute expiry and idle ones; a user can be signed out
/// everywhere without touching anyone else's sessions.
pub async fn expired_and_idle_sessions_are_pruned_and_a_user_can_be_signed_out_everywhere(
    store: &dyn SessionStore,
) {
    let insert = |s: SessionRecord| async move { store.insert_session(&s).await.expect("inserting") };
    insert(session("live", "usr_alice", 1, 60)).await;
    insert(session("past", "usr_alice", 120, 60)).await;
    insert(session("idle", "usr_bob", 30, 600)).await;
    let now = Utc::now();
    let pruned = store
        .delete_expired_sessions(now, now - Duration::minutes(10))
        .await
        .expect("pruning");
    assert_eq!(pruned, 2);
    assert!(store.session("live").await.expect("reading").is_some());
    assert!(store.session("idle").await.expect("reading").is_none());
    let again = store
        .delete_expired_sessions(now, now - Duration::minutes(10))
        .await
        .expect("pruning again");
    assert_eq!(again, 0, "nothing left to prune");
    insert(session("other", "usr_alice", 1, 60)).await;
    insert(session("bobs", "usr_bob", 1, 60)).await;
    assert_eq!(
        store
            .delete_user_sessions(&UserId::new("usr_alice"))
            .await
            .expect("signing out everywhere"),
        2
    );
    assert!(store.session("live").await.expect("reading").is_none());
    assert!(store.session("other").await.expect("reading").is_none());
    assert!(store.session("bobs").await.expect("reading").is_some());
    assert_eq!(
        store
            .delete_user_sessions(&UserId::new("usr_alice"))
            .await
            .expect("signing out again"),
        0
    );
}
