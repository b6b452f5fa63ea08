//! Signing in and out: the login and logout pages and the one-time first-admin link. These are plain
//! HTML forms (no script), so they carry the CSRF token as a hidden `csrf` field, checked here against
//! the cookie instead of the `X-CSRF-Token` header.

use aiprism_app::settings::EffectiveAuth;
use aiprism_app::{App, AppError};
use axum::Form;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;

use super::csrf::{self, PageToken, page_token};
use super::pages::render;
use super::views::{LoginPage, LogoutPage, Shell, SigninPage};
use crate::auth::CurrentUser;
use crate::auth::cookies::{self, SESSION_COOKIE};

/// What `?next=` may point to: a local path, never another site.
fn safe_next(next: Option<&str>) -> String {
    match next {
        Some(n) if n.starts_with('/') && !n.starts_with("//") && !n.contains('\\') && !n.contains("://") => {
            n.to_string()
        }
        _ => "/".to_string(),
    }
}

fn shell(title: &str, token: &PageToken) -> Shell {
    Shell::new(title, token.value.clone(), "", "js/shell.js")
}

/// Query of `GET /login`.
#[derive(Debug, Deserialize)]
pub(crate) struct NextQuery {
    next: Option<String>,
}

/// `GET /login`: the sign-in form (single-user mode has nothing to sign in to).
pub(crate) async fn login_form(
    State(app): State<App>,
    Query(query): Query<NextQuery>,
    headers: HeaderMap,
) -> Response {
    if app.auth == EffectiveAuth::SingleUser {
        return Redirect::to("/").into_response();
    }
    let token = page_token(&headers);
    let page = LoginPage {
        shell: shell("Sign in", &token),
        next: safe_next(query.next.as_deref()),
        name: String::new(),
        error: None,
    };
    render(&page, &token, StatusCode::OK)
}

/// The fields of the sign-in form.
#[derive(Deserialize)]
pub(crate) struct LoginForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    next: String,
    #[serde(default)]
    name: String,
    #[serde(default)]
    password: String,
}

/// `POST /login`: checks the name and password; on success a new session (a new id every time) and a
/// redirect to `next`. A failure says only that the pair is wrong.
pub(crate) async fn login(
    State(app): State<App>,
    headers: HeaderMap,
    Form(form): Form<LoginForm>,
) -> Response {
    let token = page_token(&headers);
    if !csrf::form_token_matches(&headers, &form.csrf) {
        return csrf_refused();
    }
    let next = safe_next(Some(&form.next));
    let failed = |message: &str, status: StatusCode| {
        let page = LoginPage {
            shell: shell("Sign in", &token),
            next: next.clone(),
            name: form.name.clone(),
            error: Some(message.to_string()),
        };
        render(&page, &token, status)
    };
    match app.accounts.login(&form.name, &form.password).await {
        Ok(Some(session)) => {
            tracing::info!(user = %session.user.id, "signed in");
            signed_in(&app, &headers, &session, &next)
        }
        Ok(None) => failed("Wrong user name or password.", StatusCode::UNAUTHORIZED),
        Err(AppError::TooManyRequests { message }) => failed(&message, StatusCode::TOO_MANY_REQUESTS),
        Err(e) => failure(e, &token),
    }
}

/// Redirect with the new session cookie, ending the session the browser had before (if any).
fn signed_in(
    app: &App,
    headers: &HeaderMap,
    session: &aiprism_app::accounts::NewSession,
    next: &str,
) -> Response {
    let secure = secure(app, headers);
    let mut response = Redirect::to(next).into_response();
    if let Some(cookie) = cookies::session_cookie(&session.id, session.max_age_secs, secure) {
        response.headers_mut().insert(header::SET_COOKIE, cookie);
    }
    if let Some(old) = cookies::cookie(headers, SESSION_COOKIE) {
        let (accounts, old) = (app.accounts.clone(), old.to_string());
        tokio::spawn(async move {
            let _ = accounts.logout(&old).await;
        });
    }
    response
}

fn secure(app: &App, headers: &HeaderMap) -> bool {
    app.settings.auth.secure_cookies || cookies::came_over_tls(headers)
}

fn csrf_refused() -> Response {
    (
        StatusCode::FORBIDDEN,
        "This form is out of date (its security token does not match). Go back, reload the page and try again.",
    )
        .into_response()
}

fn failure(e: AppError, token: &PageToken) -> Response {
    super::pages::error_page(e, token)
}

/// `GET /logout`: confirms signing out.
pub(crate) async fn logout_form(CurrentUser(user): CurrentUser, headers: HeaderMap) -> Response {
    let token = page_token(&headers);
    let page = LogoutPage {
        shell: shell("Sign out", &token),
        name: user.name,
    };
    render(&page, &token, StatusCode::OK)
}

/// The fields of the sign-out form.
#[derive(Deserialize)]
pub(crate) struct CsrfForm {
    #[serde(default)]
    csrf: String,
}

/// `POST /logout`: ends the session and clears its cookie.
pub(crate) async fn logout(
    State(app): State<App>,
    headers: HeaderMap,
    Form(form): Form<CsrfForm>,
) -> Response {
    if !csrf::form_token_matches(&headers, &form.csrf) {
        return csrf_refused();
    }
    if let Some(id) = cookies::cookie(&headers, SESSION_COOKIE)
        && let Err(e) = app.accounts.logout(id).await
    {
        return failure(e, &page_token(&headers));
    }
    let mut response = Redirect::to("/login").into_response();
    response.headers_mut().insert(
        header::SET_COOKIE,
        cookies::clear_session_cookie(secure(&app, &headers)),
    );
    response
}

/// `GET /signin/{token}`: the first-admin form, while the link is usable.
pub(crate) async fn signin_form(
    State(app): State<App>,
    Path(link): Path<String>,
    headers: HeaderMap,
) -> Response {
    let token = page_token(&headers);
    match app.accounts.signin_link_usable(&link).await {
        Ok(true) => render(
            &signin_page(&token, link, String::new(), None),
            &token,
            StatusCode::OK,
        ),
        Ok(false) => link_gone(&token),
        Err(e) => failure(e, &token),
    }
}

fn signin_page(token: &PageToken, link: String, name: String, error: Option<String>) -> SigninPage {
    SigninPage {
        shell: shell("Create the first admin", token),
        token: link,
        name,
        min_password: aiprism_app::accounts::MIN_PASSWORD_CHARS,
        error,
    }
}

fn link_gone(token: &PageToken) -> Response {
    super::pages::error_page(
        AppError::NotFound {
            what: "sign-in link (it was used or it expired)",
        },
        token,
    )
}

/// The fields of the first-admin form.
#[derive(Deserialize)]
pub(crate) struct SigninForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    name: String,
    #[serde(default)]
    password: String,
    #[serde(default)]
    password2: String,
}

/// `POST /signin/{token}`: creates the first admin, uses up the link and signs the admin in.
pub(crate) async fn signin(
    State(app): State<App>,
    Path(link): Path<String>,
    headers: HeaderMap,
    Form(form): Form<SigninForm>,
) -> Response {
    let token = page_token(&headers);
    if !csrf::form_token_matches(&headers, &form.csrf) {
        return csrf_refused();
    }
    let again = |message: String| {
        let page = signin_page(&token, link.clone(), form.name.clone(), Some(message));
        render(&page, &token, StatusCode::UNPROCESSABLE_ENTITY)
    };
    if form.password != form.password2 {
        return again("The two passwords differ.".into());
    }
    match app
        .accounts
        .redeem_first_admin(&link, &form.name, &form.password)
        .await
    {
        Ok(Some(session)) => {
            tracing::info!(user = %session.user.id, "first admin created through the sign-in link");
            signed_in(&app, &headers, &session, "/")
        }
        Ok(None) => link_gone(&token),
        Err(e @ (AppError::Invalid { .. } | AppError::Conflict { .. })) => again(e.to_string()),
        Err(e) => failure(e, &token),
    }
}
