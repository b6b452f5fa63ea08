//! Reading and writing the session cookie.

use axum::http::{HeaderMap, HeaderValue, header};

/// The cookie holding the session id.
pub(crate) const SESSION_COOKIE: &str = "aiprism_session";

/// The value of a named cookie in a request, if present.
pub(crate) fn cookie<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(n, _)| *n == name)
        .map(|(_, value)| value.trim())
}

/// Whether the request reached us over TLS (directly or through a proxy that says so).
pub(crate) fn came_over_tls(headers: &HeaderMap) -> bool {
    headers
        .get("x-forwarded-proto")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| {
            v.split(',')
                .next()
                .is_some_and(|p| p.trim().eq_ignore_ascii_case("https"))
        })
}

/// `Set-Cookie` for a new session: HttpOnly, SameSite=Lax, Secure over TLS or when configured.
pub(crate) fn session_cookie(id: &str, max_age_secs: u32, secure: bool) -> Option<HeaderValue> {
    let secure = if secure { "; Secure" } else { "" };
    HeaderValue::from_str(&format!(
        "{SESSION_COOKIE}={id}; Path=/; HttpOnly; SameSite=Lax; Max-Age={max_age_secs}{secure}"
    ))
    .ok()
}

/// `Set-Cookie` that removes the session cookie.
pub(crate) fn clear_session_cookie(secure: bool) -> HeaderValue {
    if secure {
        HeaderValue::from_static("aiprism_session=; Path=/; HttpOnly; SameSite=Lax; Max-Age=0; Secure")
    } else {
        HeaderValue::from_static("aiprism_session=; Path=/; HttpOnly; SameSite=Lax; Max-Age=0")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_session_cookie_is_http_only_lax_and_secure_when_asked() {
        let plain = session_cookie("abc", 60, false).map(|v| v.to_str().unwrap_or("").to_string());
        assert_eq!(
            plain.as_deref(),
            Some("aiprism_session=abc; Path=/; HttpOnly; SameSite=Lax; Max-Age=60")
        );
        let secure = session_cookie("abc", 60, true).map(|v| v.to_str().unwrap_or("").to_string());
        assert!(secure.is_some_and(|v| v.ends_with("; Secure")));
    }

    #[test]
    fn cookies_and_forwarded_proto_are_read() {
        let mut headers = HeaderMap::new();
        headers.insert(
            header::COOKIE,
            HeaderValue::from_static("a=1; aiprism_session=xyz"),
        );
        headers.insert("x-forwarded-proto", HeaderValue::from_static("HTTPS, http"));
        assert_eq!(cookie(&headers, SESSION_COOKIE), Some("xyz"));
        assert_eq!(cookie(&headers, "b"), None);
        assert!(came_over_tls(&headers));
        assert!(!came_over_tls(&HeaderMap::new()));
    }
}
