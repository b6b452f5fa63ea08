//! Accounts, API tokens, sign-in links and sessions (the session scenarios are shared with other
//! session stores through `aiprism_store::testing::sessions`).

use aiprism_core::{Role, User, UserId};
use aiprism_store::testing::sessions;
use aiprism_store::{Account, AccountStore, ApiTokenRecord, SigninLink, SqlStore, StoreError};
use chrono::{Duration, SubsecRound, Utc};

fn account(id: &str, login: &str, role: Role) -> Account {
    Account {
        user: User {
            id: UserId::new(id),
            name: login.to_uppercase(),
            role,
        },
        login: login.into(),
        password_hash: Some(format!("$argon2id$v=19$fake-{login}")),
    }
}

pub async fn an_account_is_found_by_login_and_logins_are_unique(store: SqlStore) {
    let carol = account("usr_carol", "carol", Role::Admin);
    store.create_account(&carol).await.unwrap();
    assert_eq!(
        store.account_by_login("carol").await.unwrap(),
        Some(carol.clone())
    );
    assert_eq!(store.account_by_login("nobody").await.unwrap(), None);
    let again = account("usr_carol2", "carol", Role::Reviewer);
    assert!(matches!(
        store.create_account(&again).await,
        Err(StoreError::Conflict(_))
    ));
    assert_eq!(
        store.user(&carol.user.id).await.unwrap(),
        Some(carol.user.clone())
    );
    assert_eq!(store.user(&UserId::new("usr_carol2")).await.unwrap(), None);
}

pub async fn users_without_a_login_are_not_accounts(store: SqlStore) {
    // `open` created alice and bob as plain users (no login), like the built-in local user.
    assert_eq!(store.account_count().await.unwrap(), 0);
    store
        .create_account(&account("usr_dave", "dave", Role::Reviewer))
        .await
        .unwrap();
    assert_eq!(store.account_count().await.unwrap(), 1);
    let logins: Vec<_> = store
        .accounts()
        .await
        .unwrap()
        .into_iter()
        .map(|a| a.login)
        .collect();
    assert_eq!(logins, ["dave"]);
    assert!(
        !store
            .set_password_hash(&UserId::new("usr_alice"), "$argon2id$x")
            .await
            .unwrap(),
        "a user without a login gets no password"
    );
}

pub async fn a_password_hash_can_be_replaced(store: SqlStore) {
    let erin = account("usr_erin", "erin", Role::Reviewer);
    store.create_account(&erin).await.unwrap();
    assert!(
        store
            .set_password_hash(&erin.user.id, "$argon2id$new")
            .await
            .unwrap()
    );
    let read = store.account_by_login("erin").await.unwrap().unwrap();
    assert_eq!(read.password_hash.as_deref(), Some("$argon2id$new"));
    assert!(
        !store
            .set_password_hash(&UserId::new("usr_none"), "x")
            .await
            .unwrap()
    );
}

pub async fn an_api_token_resolves_to_its_owner_by_hash(store: SqlStore) {
    let frank = account("usr_frank", "frank", Role::Reviewer);
    store.create_account(&frank).await.unwrap();
    let token = ApiTokenRecord {
        id: "tok_1".into(),
        user_id: frank.user.id.clone(),
        label: "ci".into(),
        token_hash: "ab".repeat(32),
        created_at: Utc::now(),
    };
    store.insert_api_token(&token).await.unwrap();
    assert_eq!(
        store.user_by_token_hash(&"ab".repeat(32)).await.unwrap(),
        Some(frank.user.clone())
    );
    assert_eq!(store.user_by_token_hash(&"cd".repeat(32)).await.unwrap(), None);
    let duplicate = ApiTokenRecord {
        id: "tok_2".into(),
        ..token
    };
    assert!(matches!(
        store.insert_api_token(&duplicate).await,
        Err(StoreError::Conflict(_))
    ));
}

pub async fn a_signin_link_works_once_and_creates_the_account(store: SqlStore) {
    // PostgreSQL keeps microseconds.
    let now = Utc::now().trunc_subsecs(6);
    let link = SigninLink {
        token_hash: "11".repeat(32),
        purpose: "first_admin".into(),
        created_at: now,
        expires_at: now + Duration::hours(1),
        used_at: None,
    };
    store.insert_signin_link(&link).await.unwrap();
    assert_eq!(
        store.signin_link(&link.token_hash).await.unwrap(),
        Some(link.clone())
    );
    let admin = account("usr_gina", "gina", Role::Admin);
    assert!(
        store
            .redeem_signin_link(&link.token_hash, now, &admin)
            .await
            .unwrap()
    );
    assert_eq!(
        store.account_by_login("gina").await.unwrap().map(|a| a.user.role),
        Some(Role::Admin)
    );
    let second = account("usr_hank", "hank", Role::Admin);
    assert!(
        !store
            .redeem_signin_link(&link.token_hash, now, &second)
            .await
            .unwrap(),
        "a used link works no more"
    );
    assert_eq!(store.account_by_login("hank").await.unwrap(), None);
    assert!(
        store
            .signin_link(&link.token_hash)
            .await
            .unwrap()
            .unwrap()
            .used_at
            .is_some()
    );
}

pub async fn an_expired_or_unknown_signin_link_creates_nothing(store: SqlStore) {
    let now = Utc::now();
    let link = SigninLink {
        token_hash: "22".repeat(32),
        purpose: "first_admin".into(),
        created_at: now - Duration::hours(2),
        expires_at: now - Duration::hours(1),
        used_at: None,
    };
    store.insert_signin_link(&link).await.unwrap();
    let admin = account("usr_ivy", "ivy", Role::Admin);
    assert!(
        !store
            .redeem_signin_link(&link.token_hash, now, &admin)
            .await
            .unwrap()
    );
    assert!(
        !store
            .redeem_signin_link(&"33".repeat(32), now, &admin)
            .await
            .unwrap()
    );
    assert_eq!(store.account_count().await.unwrap(), 0);
}

pub async fn a_session_is_read_touched_and_deleted(store: SqlStore) {
    sessions::a_session_is_read_touched_and_deleted(&store).await;
}

pub async fn expired_and_idle_sessions_are_pruned_and_a_user_can_be_signed_out_everywhere(store: SqlStore) {
    sessions::expired_and_idle_sessions_are_pruned_and_a_user_can_be_signed_out_everywhere(&store).await;
}
