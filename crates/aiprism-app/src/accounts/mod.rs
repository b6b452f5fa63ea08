//! Accounts: local users with argon2id passwords, browser sessions, API tokens, trusted SSO logins and
//! the one-time link that creates the first admin.
//!
//! Session ids, tokens and links are random 256-bit secrets handed out once; only their sha256 is
//! stored. Nothing here logs a password, token or session id, and no error message contains one.

mod passwords;
mod secrets;
mod throttle;

use std::sync::Arc;

use aiprism_core::{Role, User, UserId};
use aiprism_store::{Account, ApiTokenRecord, SessionRecord, SessionStore, SigninLink, Store, StoreError};
use chrono::{DateTime, Duration, Utc};

pub use passwords::{MAX_PASSWORD_BYTES, MIN_PASSWORD_CHARS, check_password};

use crate::AppError;
use crate::settings::AuthSettings;

/// Prefix of API tokens (makes a leaked token easy to recognise and scan for).
pub const TOKEN_PREFIX: &str = "aip_";
/// Purpose of the link that creates the first admin.
const FIRST_ADMIN: &str = "first_admin";
/// A session's activity is written at most this often.
const TOUCH_EVERY_SECS: i64 = 60;

/// A session just started: the id goes into the cookie and is not kept anywhere else.
#[derive(Clone)]
pub struct NewSession {
    /// The session id (the cookie value). Secret.
    pub id: String,
    /// Who signed in.
    pub user: User,
    /// How long the cookie may live (the absolute lifetime).
    pub max_age_secs: u32,
}

impl std::fmt::Debug for NewSession {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NewSession")
            .field("id", &"[REDACTED]")
            .field("user", &self.user)
            .finish_non_exhaustive()
    }
}

/// The account use cases, shared by the HTTP layer and the `aiprism user` commands.
#[derive(Clone)]
pub struct Accounts {
    store: Arc<dyn Store>,
    sessions: Arc<dyn SessionStore>,
    settings: AuthSettings,
    throttle: throttle::Throttle,
}

impl Accounts {
    /// Accounts on this store with these session rules; sessions are kept in the same store until
    /// [`Accounts::with_sessions`] moves them.
    pub fn new(store: Arc<dyn Store>, settings: AuthSettings) -> Self {
        Self {
            sessions: store.clone(),
            store,
            settings,
            throttle: throttle::Throttle::default(),
        }
    }

    /// Keeps sessions somewhere else (Redis, so that every process behind a load balancer knows them).
    pub fn with_sessions(mut self, sessions: Arc<dyn SessionStore>) -> Self {
        self.sessions = sessions;
        self
    }

    /// The settings in effect (session lifetimes, SSO header).
    pub fn settings(&self) -> &AuthSettings {
        &self.settings
    }

    /// The login a name signs in with: trimmed, lower-case; 1 to 64 letters, digits, `.`, `_`, `-`, `@`.
    pub fn normalize_login(name: &str) -> Result<String, AppError> {
        let login = name.trim().to_lowercase();
        let allowed = |c: char| c.is_alphanumeric() || matches!(c, '.' | '_' | '-' | '@');
        if login.is_empty() || login.chars().count() > 64 || !login.chars().all(allowed) {
            return Err(AppError::invalid(
                "invalid_login",
                "A user name has 1 to 64 letters, digits, dots, dashes, underscores or @.",
            ));
        }
        Ok(login)
    }

    /// Creates a user. Without a password the account signs in only by API token or SSO until
    /// `set_password`. Answers 409 when the name is taken.
    pub async fn add_user(&self, name: &str, role: Role, password: Option<&str>) -> Result<User, AppError> {
        let login = Self::normalize_login(name)?;
        let password_hash = match password {
            Some(p) => {
                check_password(p)?;
                Some(passwords::hash_password(p.to_string()).await?)
            }
            None => None,
        };
        let account = Account {
            user: User {
                id: UserId::generate(),
                name: name.trim().to_string(),
                role,
            },
            login,
            password_hash,
        };
        self.store
            .create_account(&account)
            .await
            .map_err(|e| taken(e, name))?;
        Ok(account.user)
    }

    /// Replaces a user's password and ends all their sessions.
    pub async fn set_password(&self, name: &str, password: &str) -> Result<User, AppError> {
        check_password(password)?;
        let account = self.account(name).await?;
        let hash = passwords::hash_password(password.to_string()).await?;
        self.store.set_password_hash(&account.user.id, &hash).await?;
        self.sessions.delete_user_sessions(&account.user.id).await?;
        Ok(account.user)
    }

    /// Makes a new API token for a user and returns it; it cannot be shown again.
    pub async fn create_token(&self, name: &str, label: &str) -> Result<String, AppError> {
        let account = self.account(name).await?;
        let token = secrets::random_secret(TOKEN_PREFIX)?;
        let record = ApiTokenRecord {
            id: format!("tok_{}", &secrets::hash_secret(&token)[..16]),
            user_id: account.user.id,
            label: label.trim().to_string(),
            token_hash: secrets::hash_secret(&token),
            created_at: Utc::now(),
        };
        self.store.insert_api_token(&record).await?;
        Ok(token)
    }

    /// The user an API token belongs to (`None` for an unknown or malformed token).
    pub async fn user_for_token(&self, token: &str) -> Result<Option<User>, AppError> {
        if !secrets::well_formed(token, TOKEN_PREFIX) {
            return Ok(None);
        }
        Ok(self
            .store
            .user_by_token_hash(&secrets::hash_secret(token))
            .await?)
    }

    /// Checks a name and password and starts a new session. `None` when either is wrong, without
    /// saying which (the password is checked against a dummy hash for unknown names). After too many
    /// failures for one name, attempts are refused for a while (429), for existing and unknown names
    /// alike.
    pub async fn login(&self, name: &str, password: &str) -> Result<Option<NewSession>, AppError> {
        let login = Self::normalize_login(name).ok();
        let key = login.clone().unwrap_or_default();
        if !self.throttle.allows(&key) {
            return Err(AppError::TooManyRequests {
                message: "Too many failed sign-ins for this name. Wait a few minutes and try again.".into(),
            });
        }
        let account = match &login {
            Some(login) => self.store.account_by_login(login).await?,
            None => None,
        };
        let hash = account.as_ref().and_then(|a| a.password_hash.clone());
        let password = if password.len() > MAX_PASSWORD_BYTES {
            String::new()
        } else {
            password.to_string()
        };
        let verified = passwords::verify_password(password, hash).await;
        let Some(account) = account.filter(|_| verified) else {
            self.throttle.failed(&key);
            return Ok(None);
        };
        self.throttle.succeeded(&key);
        self.start_session(account.user).await.map(Some)
    }

    /// Starts a fresh session for a user (a new id on every sign-in).
    async fn start_session(&self, user: User) -> Result<NewSession, AppError> {
        let now = Utc::now();
        // Opportunistic clean-up; a failure here must not stop a sign-in.
        if let Err(e) = self
            .sessions
            .delete_expired_sessions(now, now - self.idle())
            .await
        {
            tracing::warn!(error = %e, "pruning expired sessions failed");
        }
        let id = secrets::random_secret("")?;
        let record = SessionRecord {
            id_hash: secrets::hash_secret(&id),
            user_id: user.id.clone(),
            created_at: now,
            last_seen_at: now,
            expires_at: now + Duration::seconds(i64::from(self.settings.session_lifetime_secs)),
        };
        self.sessions.insert_session(&record).await?;
        Ok(NewSession {
            id,
            user,
            max_age_secs: self.settings.session_lifetime_secs,
        })
    }

    /// The user of a live session; an idle or expired session is deleted and answers `None`.
    pub async fn session_user(&self, session_id: &str) -> Result<Option<User>, AppError> {
        if !secrets::well_formed(session_id, "") {
            return Ok(None);
        }
        let hash = secrets::hash_secret(session_id);
        let Some(session) = self.sessions.session(&hash).await? else {
            return Ok(None);
        };
        let now = Utc::now();
        if !self.is_live(&session, now) {
            self.sessions.delete_session(&hash).await?;
            return Ok(None);
        }
        if (now - session.last_seen_at).num_seconds() >= TOUCH_EVERY_SECS {
            self.sessions.touch_session(&hash, now).await?;
        }
        Ok(self.store.user(&session.user_id).await?)
    }

    fn idle(&self) -> Duration {
        Duration::seconds(i64::from(self.settings.session_idle_secs))
    }

    fn is_live(&self, session: &SessionRecord, now: DateTime<Utc>) -> bool {
        now < session.expires_at && now - session.last_seen_at < self.idle()
    }

    /// Ends a session (signing out); unknown ids are ignored.
    pub async fn logout(&self, session_id: &str) -> Result<(), AppError> {
        if secrets::well_formed(session_id, "") {
            self.sessions
                .delete_session(&secrets::hash_secret(session_id))
                .await?;
        }
        Ok(())
    }

    /// The user a trusted proxy says is signed in; an unknown login becomes a new reviewer account
    /// without a password. `None` when the value is not a valid login.
    pub async fn sso_user(&self, login: &str) -> Result<Option<User>, AppError> {
        let Ok(normalized) = Self::normalize_login(login) else {
            return Ok(None);
        };
        if let Some(account) = self.store.account_by_login(&normalized).await? {
            return Ok(Some(account.user));
        }
        match self.add_user(login, Role::Reviewer, None).await {
            Ok(user) => Ok(Some(user)),
            // Two first requests raced; the other one created it.
            Err(AppError::Conflict { .. }) => {
                Ok(self.store.account_by_login(&normalized).await?.map(|a| a.user))
            }
            Err(e) => Err(e),
        }
    }

    /// Whether no account exists yet (so the first admin must be created through a sign-in link).
    pub async fn needs_first_admin(&self) -> Result<bool, AppError> {
        Ok(self.store.account_count().await? == 0)
    }

    /// Makes a one-time link token that lets its visitor create the first admin; it expires after the
    /// configured time.
    pub async fn first_admin_link(&self) -> Result<String, AppError> {
        let token = secrets::random_secret("")?;
        let now = Utc::now();
        let link = SigninLink {
            token_hash: secrets::hash_secret(&token),
            purpose: FIRST_ADMIN.into(),
            created_at: now,
            expires_at: now + Duration::seconds(i64::from(self.settings.signin_link_secs)),
            used_at: None,
        };
        self.store.insert_signin_link(&link).await?;
        Ok(token)
    }

    /// Whether a sign-in link token can still be used.
    pub async fn signin_link_usable(&self, token: &str) -> Result<bool, AppError> {
        if !secrets::well_formed(token, "") {
            return Ok(false);
        }
        let link = self.store.signin_link(&secrets::hash_secret(token)).await?;
        Ok(
            link.is_some_and(|l| {
                l.purpose == FIRST_ADMIN && l.used_at.is_none() && l.expires_at > Utc::now()
            }),
        )
    }

    /// Uses a sign-in link to create the first admin and signs them in; `None` when the link is unknown,
    /// used or expired.
    pub async fn redeem_first_admin(
        &self,
        token: &str,
        name: &str,
        password: &str,
    ) -> Result<Option<NewSession>, AppError> {
        let login = Self::normalize_login(name)?;
        check_password(password)?;
        if !self.signin_link_usable(token).await? {
            return Ok(None);
        }
        let account = Account {
            user: User {
                id: UserId::generate(),
                name: name.trim().to_string(),
                role: Role::Admin,
            },
            login,
            password_hash: Some(passwords::hash_password(password.to_string()).await?),
        };
        let redeemed = self
            .store
            .redeem_signin_link(&secrets::hash_secret(token), Utc::now(), &account)
            .await
            .map_err(|e| taken(e, name))?;
        if !redeemed {
            return Ok(None);
        }
        self.start_session(account.user).await.map(Some)
    }

    async fn account(&self, name: &str) -> Result<Account, AppError> {
        let login = Self::normalize_login(name)?;
        self.store
            .account_by_login(&login)
            .await?
            .ok_or(AppError::NotFound { what: "user" })
    }
}

fn taken(e: StoreError, name: &str) -> AppError {
    match e {
        StoreError::Conflict(_) => AppError::Conflict {
            message: format!("A user named {:?} already exists.", name.trim()),
        },
        other => other.into(),
    }
}
