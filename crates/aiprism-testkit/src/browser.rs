//! What the API tests need to act as a browser: a client that shows redirects instead of
//! following them (sign-in answers with one), and the cookies a response sets.

use std::time::Duration;

/// A client that does not follow redirects, so a test sees the redirect itself.
pub fn no_redirect_client() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .timeout(Duration::from_secs(30))
        .build()
        .expect("a reqwest client")
}

/// The whole `Set-Cookie` header a response sets for cookie `name`, attributes included (for
/// tests that check `HttpOnly`, `SameSite`, `Secure`).
pub fn set_cookie(response: &reqwest::Response, name: &str) -> Option<String> {
    let prefix = format!("{name}=");
    response
        .headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find(|v| v.starts_with(&prefix))
        .map(str::to_string)
}

/// The value a response sets for cookie `name`.
pub fn cookie(response: &reqwest::Response, name: &str) -> Option<String> {
    let header = set_cookie(response, name)?;
    let pair = header.split(';').next()?;
    pair.split_once('=').map(|(_, v)| v.to_string())
}
