//! Accounts (login name, password hash), API tokens and one-time sign-in links.

use aiprism_core::{Role, User, UserId};
use async_trait::async_trait;
use chrono::{DateTime, Utc};

use crate::pool::{SqlStore, map_err, on_pool};
use crate::{Account, AccountStore, ApiTokenRecord, SigninLink, StoreError, StoreResult};

#[derive(sqlx::FromRow)]
struct AccountRow {
    id: String,
    name: String,
    role: String,
    login: String,
    password_hash: Option<String>,
}

impl AccountRow {
    fn into_account(self) -> StoreResult<Account> {
        Ok(Account {
            user: user(self.id, self.name, &self.role)?,
            login: self.login,
            password_hash: self.password_hash,
        })
    }
}

#[derive(sqlx::FromRow)]
struct UserRow {
    id: String,
    name: String,
    role: String,
}

#[derive(sqlx::FromRow)]
struct LinkRow {
    token_hash: String,
    purpose: String,
    created_at: DateTime<Utc>,
    expires_at: DateTime<Utc>,
    used_at: Option<DateTime<Utc>>,
}

impl From<LinkRow> for SigninLink {
    fn from(r: LinkRow) -> Self {
        SigninLink {
            token_hash: r.token_hash,
            purpose: r.purpose,
            created_at: r.created_at,
            expires_at: r.expires_at,
            used_at: r.used_at,
        }
    }
}

fn user(id: String, name: String, role: &str) -> StoreResult<User> {
    let role: Role = role
        .parse()
        .map_err(|e| StoreError::Corrupt(format!("user {id}: {e}")))?;
    Ok(User {
        id: UserId::new(id),
        name,
        role,
    })
}

const INSERT_ACCOUNT: &str = "INSERT INTO users (id, name, role, created_at, login, password_hash) \
                              VALUES ($1, $2, $3, $4, $5, $6)";

#[async_trait]
impl AccountStore for SqlStore {
    async fn create_account(&self, account: &Account) -> StoreResult<()> {
        let r = on_pool!(&self.pool, |p| sqlx::query(INSERT_ACCOUNT)
            .bind(account.user.id.as_str())
            .bind(&account.user.name)
            .bind(account.user.role.as_str())
            .bind(Utc::now())
            .bind(&account.login)
            .bind(account.password_hash.as_deref())
            .execute(p)
            .await
            .map(|_| ()));
        r.map_err(map_err)
    }

    async fn account_by_login(&self, login: &str) -> StoreResult<Option<Account>> {
        let sql = "SELECT id, name, role, login, password_hash FROM users WHERE login = $1";
        let row: Result<Option<AccountRow>, sqlx::Error> = on_pool!(&self.pool, |p| sqlx::query_as(sql)
            .bind(login)
            .fetch_optional(p)
            .await);
        row.map_err(map_err)?.map(AccountRow::into_account).transpose()
    }

    async fn accounts(&self) -> StoreResult<Vec<Account>> {
        let sql = "SELECT id, name, role, login, password_hash FROM users WHERE login IS NOT NULL \
                   ORDER BY login";
        let rows: Result<Vec<AccountRow>, sqlx::Error> =
            on_pool!(&self.pool, |p| sqlx::query_as(sql).fetch_all(p).await);
        rows.map_err(map_err)?
            .into_iter()
            .map(AccountRow::into_account)
            .collect()
    }

    async fn account_count(&self) -> StoreResult<u64> {
        let sql = "SELECT COUNT(*) FROM users WHERE login IS NOT NULL";
        let n: Result<i64, sqlx::Error> =
            on_pool!(&self.pool, |p| sqlx::query_scalar(sql).fetch_one(p).await);
        Ok(u64::try_from(n.map_err(map_err)?).unwrap_or(0))
    }

    async fn set_password_hash(&self, id: &UserId, hash: &str) -> StoreResult<bool> {
        let sql = "UPDATE users SET password_hash = $2 WHERE id = $1 AND login IS NOT NULL";
        let r = on_pool!(&self.pool, |p| sqlx::query(sql)
            .bind(id.as_str())
            .bind(hash)
            .execute(p)
            .await
            .map(|r| r.rows_affected()));
        Ok(r.map_err(map_err)? == 1)
    }

    async fn user(&self, id: &UserId) -> StoreResult<Option<User>> {
        let sql = "SELECT id, name, role FROM users WHERE id = $1";
        let row: Result<Option<UserRow>, sqlx::Error> = on_pool!(&self.pool, |p| sqlx::query_as(sql)
            .bind(id.as_str())
            .fetch_optional(p)
            .await);
        row.map_err(map_err)?
            .map(|r| user(r.id, r.name, &r.role))
            .transpose()
    }

    async fn insert_api_token(&self, token: &ApiTokenRecord) -> StoreResult<()> {
        let sql = "INSERT INTO api_tokens (id, user_id, label, token_hash, created_at) \
                   VALUES ($1, $2, $3, $4, $5)";
        let r = on_pool!(&self.pool, |p| sqlx::query(sql)
            .bind(&token.id)
            .bind(token.user_id.as_str())
            .bind(&token.label)
            .bind(&token.token_hash)
            .bind(token.created_at)
            .execute(p)
            .await
            .map(|_| ()));
        r.map_err(map_err)
    }

    async fn user_by_token_hash(&self, token_hash: &str) -> StoreResult<Option<User>> {
        let sql = "SELECT u.id, u.name, u.role FROM api_tokens t JOIN users u ON u.id = t.user_id \
                   WHERE t.token_hash = $1";
        let row: Result<Option<UserRow>, sqlx::Error> = on_pool!(&self.pool, |p| sqlx::query_as(sql)
            .bind(token_hash)
            .fetch_optional(p)
            .await);
        row.map_err(map_err)?
            .map(|r| user(r.id, r.name, &r.role))
            .transpose()
    }

    async fn insert_signin_link(&self, link: &SigninLink) -> StoreResult<()> {
        let sql = "INSERT INTO signin_links (token_hash, purpose, created_at, expires_at, used_at) \
                   VALUES ($1, $2, $3, $4, $5)";
        let r = on_pool!(&self.pool, |p| sqlx::query(sql)
            .bind(&link.token_hash)
            .bind(&link.purpose)
            .bind(link.created_at)
            .bind(link.expires_at)
            .bind(link.used_at)
            .execute(p)
            .await
            .map(|_| ()));
        r.map_err(map_err)
    }

    async fn signin_link(&self, token_hash: &str) -> StoreResult<Option<SigninLink>> {
        let sql = "SELECT token_hash, purpose, created_at, expires_at, used_at FROM signin_links \
                   WHERE token_hash = $1";
        let row: Result<Option<LinkRow>, sqlx::Error> = on_pool!(&self.pool, |p| sqlx::query_as(sql)
            .bind(token_hash)
            .fetch_optional(p)
            .await);
        Ok(row.map_err(map_err)?.map(SigninLink::from))
    }

    async fn redeem_signin_link(
        &self,
        token_hash: &str,
        now: DateTime<Utc>,
        account: &Account,
    ) -> StoreResult<bool> {
        let select = "SELECT token_hash, purpose, created_at, expires_at, used_at FROM signin_links \
                      WHERE token_hash = $1";
        let mark = "UPDATE signin_links SET used_at = $2 WHERE token_hash = $1 AND used_at IS NULL";
        let r: Result<bool, sqlx::Error> = on_pool!(&self.pool, |p| async {
            let mut tx = p.begin().await?;
            let link: Option<LinkRow> = sqlx::query_as(select)
                .bind(token_hash)
                .fetch_optional(&mut *tx)
                .await?;
            // Expiry is compared here rather than in SQL, so both backends decide it the same way.
            let usable = link.is_some_and(|l| l.used_at.is_none() && l.expires_at > now);
            if !usable {
                return Ok(false);
            }
            let marked = sqlx::query(mark)
                .bind(token_hash)
                .bind(now)
                .execute(&mut *tx)
                .await?
                .rows_affected();
            if marked != 1 {
                return Ok(false);
            }
            sqlx::query(INSERT_ACCOUNT)
                .bind(account.user.id.as_str())
                .bind(&account.user.name)
                .bind(account.user.role.as_str())
                .bind(now)
                .bind(&account.login)
                .bind(account.password_hash.as_deref())
                .execute(&mut *tx)
                .await?;
            tx.commit().await?;
            Ok(true)
        }
        .await);
        r.map_err(map_err)
    }
}
