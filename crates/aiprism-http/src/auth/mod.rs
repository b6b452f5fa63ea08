//! Who is asking: the [`CurrentUser`] extractor and the middleware that requires one on every API
//! route.
//!
//! A request is attributed, in this order, to the owner of its `Authorization: Bearer` API token, to
//! the user of its session cookie, to the login in the trusted SSO header (only when one is configured),
//! or — in single-user mode — to the built-in local user. Otherwise API requests get a 401 JSON error
//! and pages a redirect to `/login`. A bearer token that is presented but unknown is always a 401, never
//! a fallback to another identity.

pub(crate) mod cookies;

use aiprism_app::settings::EffectiveAuth;
use aiprism_app::{App, AppError};
use aiprism_core::User;
use axum::extract::{FromRequestParts, OriginalUri, Request, State};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Redirect, Response};

use crate::error::ApiError;

/// The user a request acts as. Extract it in a handler; the API router has already resolved it.
#[derive(Debug, Clone)]
pub(crate) struct CurrentUser(pub(crate) User);

/// The resolved identity, kept in the request's extensions so it is looked up once per request.
#[derive(Debug, Clone)]
struct Resolved(User);

/// Why a request has no user.
#[derive(Debug)]
pub(crate) enum AuthRejection {
    /// Not signed in (or the token is unknown).
    Unauthenticated {
        /// Whether the request was for the API (JSON 401) or a page (redirect to sign in).
        api: bool,
        /// Where to come back to after signing in.
        next: String,
    },
    /// The lookup itself failed (database down).
    Failed(AppError),
}

impl IntoResponse for AuthRejection {
    fn into_response(self) -> Response {
        match self {
            AuthRejection::Unauthenticated { api: true, .. } => {
                let mut response = ApiError::new(
                    StatusCode::UNAUTHORIZED,
                    "unauthenticated",
                    "Sign in, or send an API token as `Authorization: Bearer <token>`.",
                )
                .into_response();
                response
                    .headers_mut()
                    .insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
                response
            }
            AuthRejection::Unauthenticated { api: false, next } => {
                Redirect::to(&format!("/login?next={}", encode_next(&next))).into_response()
            }
            AuthRejection::Failed(e) => ApiError::from(e).into_response(),
        }
    }
}

/// Percent-encodes a local path for the `next` query parameter.
fn encode_next(path: &str) -> String {
    let mut out = String::with_capacity(path.len());
    for b in path.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'/' | b'-' | b'_' | b'.' | b'~') {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

impl FromRequestParts<App> for CurrentUser {
    type Rejection = AuthRejection;

    async fn from_request_parts(parts: &mut Parts, app: &App) -> Result<Self, Self::Rejection> {
        if let Some(Resolved(user)) = parts.extensions.get::<Resolved>() {
            return Ok(CurrentUser(user.clone()));
        }
        let path = parts
            .extensions
            .get::<OriginalUri>()
            .map_or_else(|| parts.uri.path().to_string(), |u| u.0.path().to_string());
        match resolve(app, &parts.headers)
            .await
            .map_err(AuthRejection::Failed)?
        {
            Some(user) => {
                parts.extensions.insert(Resolved(user.clone()));
                Ok(CurrentUser(user))
            }
            None => Err(AuthRejection::Unauthenticated {
                api: path.starts_with("/api/"),
                next: path,
            }),
        }
    }
}

/// Middleware for the API router: resolves the user once (or answers 401) so no API route can be
/// reached anonymously, whatever its handler extracts, and counts the request against the user's rate
/// budget (an anonymous request against its address), answering 429 when it is spent.
pub(crate) async fn require_user(State(app): State<App>, request: Request, next: Next) -> Response {
    let (mut parts, body) = request.into_parts();
    let resolved = CurrentUser::from_request_parts(&mut parts, &app).await;
    let key = match &resolved {
        Ok(CurrentUser(user)) => Some(crate::ratelimit::user_key(user)),
        Err(AuthRejection::Unauthenticated { .. }) => Some(crate::ratelimit::address_key(&parts)),
        // The lookup failed (database down): answer that, counting nothing.
        Err(AuthRejection::Failed(_)) => None,
    };
    if let Some(key) = key
        && let Some(limited) = crate::ratelimit::check(&app, &key).await
    {
        return limited;
    }
    match resolved {
        Ok(_) => next.run(Request::from_parts(parts, body)).await,
        Err(rejection) => rejection.into_response(),
    }
}

/// The bearer token of a request: `Some(Ok(token))`, `Some(Err(()))` for a malformed header.
fn bearer(headers: &HeaderMap) -> Option<Result<&str, ()>> {
    let value = headers.get(header::AUTHORIZATION)?;
    let parsed = value
        .to_str()
        .ok()
        .and_then(|v| v.split_once(' '))
        .filter(|(scheme, _)| scheme.eq_ignore_ascii_case("bearer"))
        .map(|(_, token)| token.trim());
    Some(parsed.ok_or(()))
}

/// Whether the request authenticates with a bearer token (such requests skip the CSRF check).
pub(crate) fn has_bearer(headers: &HeaderMap) -> bool {
    matches!(bearer(headers), Some(Ok(_)))
}

async fn resolve(app: &App, headers: &HeaderMap) -> Result<Option<User>, AppError> {
    match bearer(headers) {
        Some(Ok(token)) => {
            return app.accounts.user_for_token(token).await;
        }
        Some(Err(())) => return Ok(None),
        None => {}
    }
    if let Some(id) = cookies::cookie(headers, cookies::SESSION_COOKIE)
        && let Some(user) = app.accounts.session_user(id).await?
    {
        return Ok(Some(user));
    }
    if let Some(name) = app.settings.auth.sso_header.as_deref()
        && let Some(login) = headers.get(name).and_then(|v| v.to_str().ok())
        && let Some(user) = app.accounts.sso_user(login).await?
    {
        return Ok(Some(user));
    }
    if app.auth == EffectiveAuth::SingleUser {
        return Ok(Some(app.local_user()));
    }
    Ok(None)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bearer_headers_are_parsed_strictly() {
        let mut headers = HeaderMap::new();
        assert!(bearer(&headers).is_none());
        headers.insert(header::AUTHORIZATION, HeaderValue::from_static("Bearer aip_x"));
        assert_eq!(bearer(&headers), Some(Ok("aip_x")));
        headers.insert(
            header::AUTHORIZATION,
            HeaderValue::from_static("Basic dXNlcjpwdw=="),
        );
        assert_eq!(bearer(&headers), Some(Err(())));
        assert!(!has_bearer(&headers));
    }

    #[test]
    fn the_next_path_is_percent_encoded() {
        assert_eq!(encode_next("/documents/doc_1?a=b"), "/documents/doc_1%3Fa%3Db");
    }
}
