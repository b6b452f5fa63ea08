//! The scale-out scenario's client side: a cookie-keeping browser stand-in, the event-stream watcher
//! and metrics scraping.

use super::*;

/// A client that keeps cookies the way a browser does and sends the CSRF header the UI's scripts send.
pub(super) struct Browser {
    pub(super) client: reqwest::Client,
    pub(super) cookies: BTreeMap<String, String>,
}

impl Browser {
    pub(super) fn new() -> Self {
        let client = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .unwrap();
        Self {
            client,
            cookies: BTreeMap::new(),
        }
    }

    pub(super) fn cookie_header(&self) -> String {
        self.cookies
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect::<Vec<_>>()
            .join("; ")
    }

    /// Applies a response's `Set-Cookie` headers (an empty value or `Max-Age=0` removes the cookie).
    pub(super) fn keep(&mut self, response: &reqwest::Response) {
        for value in response.headers().get_all(SET_COOKIE) {
            let value = value.to_str().unwrap();
            let (name, rest) = value.split_once('=').unwrap();
            let cookie_value = rest.split(';').next().unwrap_or("").trim();
            if cookie_value.is_empty() || value.contains("Max-Age=0") {
                self.cookies.remove(name.trim());
            } else {
                self.cookies
                    .insert(name.trim().to_string(), cookie_value.to_string());
            }
        }
    }

    pub(super) fn get(&self, url: &str) -> reqwest::RequestBuilder {
        self.client
            .get(url)
            .header(COOKIE, self.cookie_header())
            .timeout(Duration::from_secs(30))
    }

    /// A state-changing API request as the UI makes it: cookies plus `X-CSRF-Token` (the UI reads the
    /// token from the `aiprism_csrf` cookie, else from the page's `csrf-token` meta tag).
    pub(super) fn post(&self, url: &str) -> reqwest::RequestBuilder {
        self.client
            .post(url)
            .header(COOKIE, self.cookie_header())
            .header(
                "x-csrf-token",
                self.cookies.get(CSRF_COOKIE).cloned().unwrap_or_default(),
            )
            .timeout(Duration::from_secs(60))
    }

    pub(super) async fn json(&self, url: &str) -> Value {
        let response = self.get(url).send().await.unwrap();
        assert_eq!(response.status(), StatusCode::OK, "GET {url}");
        response.json().await.unwrap()
    }

    /// Opens a page and returns the CSRF token written into it (checked against the cookie).
    pub(super) async fn page_token(&mut self, url: &str) -> String {
        let response = self.get(url).send().await.unwrap();
        assert_eq!(response.status(), StatusCode::OK, "GET {url}");
        self.keep(&response);
        let html = response.text().await.unwrap();
        let token = html
            .split(r#"<meta name="csrf-token" content=""#)
            .nth(1)
            .and_then(|rest| rest.split('"').next())
            .expect("the page carries its CSRF token")
            .to_string();
        assert_eq!(
            self.cookies.get(CSRF_COOKIE),
            Some(&token),
            "the page's token is the cookie's"
        );
        token
    }

    /// Signs in through the login form, as a person would.
    pub(super) async fn sign_in(&mut self, base: &str) {
        let token = self.page_token(&format!("{base}/login")).await;
        let response = self
            .client
            .post(format!("{base}/login"))
            .header(COOKIE, self.cookie_header())
            .form(&[
                ("csrf", token.as_str()),
                ("next", "/"),
                ("name", USER),
                ("password", PASSWORD),
            ])
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::SEE_OTHER, "signing in");
        self.keep(&response);
        assert!(
            self.cookies.contains_key(SESSION_COOKIE),
            "signing in set the session cookie"
        );
    }

    /// Signs out through the sign-out form.
    pub(super) async fn sign_out(&mut self, base: &str) {
        let token = self.page_token(&format!("{base}/logout")).await;
        let response = self
            .client
            .post(format!("{base}/logout"))
            .header(COOKIE, self.cookie_header())
            .form(&[("csrf", token.as_str())])
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::SEE_OTHER, "signing out");
        self.keep(&response);
    }
}

/// One server-sent event as the client saw it.
#[derive(Debug)]
pub(super) struct SeenEvent {
    pub(super) kind: String,
    pub(super) data: Value,
    pub(super) at: Instant,
}

/// Reads a review's event stream to its end (the server closes it after `review_done`).
pub(super) async fn watch(client: reqwest::Client, url: String, cookie: String) -> (Instant, Vec<SeenEvent>) {
    let mut response = client
        .get(&url)
        .header(COOKIE, cookie)
        .header("accept", "text/event-stream")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK, "GET {url}");
    let opened = Instant::now();
    let mut buffer = String::new();
    let mut events = Vec::new();
    while let Some(chunk) = response.chunk().await.unwrap() {
        buffer.push_str(std::str::from_utf8(&chunk).unwrap());
        while let Some(end) = buffer.find("\n\n") {
            let block: String = buffer.drain(..end + 2).collect();
            let mut kind = None;
            let mut data = String::new();
            for line in block.lines() {
                if let Some(k) = line.strip_prefix("event:") {
                    kind = Some(k.trim().to_string());
                } else if let Some(d) = line.strip_prefix("data:") {
                    data.push_str(d.trim_start());
                }
            }
            if let Some(kind) = kind {
                events.push(SeenEvent {
                    kind,
                    data: serde_json::from_str(&data).unwrap_or(Value::Null),
                    at: Instant::now(),
                });
            }
        }
    }
    (opened, events)
}

pub(super) use aiprism_testkit::prometheus::series;

pub(super) fn completed_jobs(metrics: &str) -> f64 {
    series(
        metrics,
        "aiprism_jobs_total",
        &[("queue", "analysis"), ("outcome", "completed")],
    )
    .unwrap_or(0.0)
}

pub(super) async fn scrape(url: &str) -> String {
    let response = reqwest::Client::new()
        .get(format!("{url}/metrics"))
        .timeout(Duration::from_secs(30))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK, "GET {url}/metrics");
    response.text().await.unwrap()
}
