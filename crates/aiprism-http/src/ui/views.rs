//! What the templates show: plain structs built from the application's values, one per page, so the
//! templates contain no logic beyond loops and conditions. askama escapes every value it prints.

use askama::Template;
use chrono::{DateTime, Utc};

use super::assets::assets;

/// The parts every page shares: title, CSRF token, stylesheet, scripts.
pub(crate) struct Shell {
    /// The page title (before " · aiprism").
    pub(crate) title: String,
    /// The CSRF token, also in a `<meta>` for scripts.
    pub(crate) csrf: String,
    /// Which top navigation entry is current: "documents", "dashboard" or "".
    pub(crate) active: &'static str,
    pub(crate) css: String,
    pub(crate) theme_init: String,
    pub(crate) icon: String,
    /// The page's entry module.
    pub(crate) entry: String,
    /// Every module the entry imports, for `<link rel="modulepreload">`.
    pub(crate) preload: Vec<String>,
    /// Who is signed in, shown with a sign-out link (accounts mode only).
    pub(crate) user: Option<String>,
}

impl Shell {
    /// A shell whose page runs `entry` (a logical name such as `js/review.js`).
    pub(crate) fn new(title: impl Into<String>, csrf: String, active: &'static str, entry: &str) -> Self {
        let a = assets();
        Self {
            title: title.into(),
            csrf,
            active,
            css: a.url("css/app.css"),
            theme_init: a.url("js/theme-init.js"),
            icon: a.url("img/icon.svg"),
            entry: a.url(entry),
            preload: a.module_graph(entry),
            user: None,
        }
    }

    /// Shows who is signed in (and the sign-out link) when sign-in is required.
    pub(crate) fn signed_in(mut self, app: &aiprism_app::App, user: &aiprism_core::User) -> Self {
        if app.auth == aiprism_app::settings::EffectiveAuth::Accounts {
            self.user = Some(user.name.clone());
        }
        self
    }
}

/// A time as people read it, in UTC (scripts may show it in the browser's zone).
pub(crate) fn label(t: DateTime<Utc>) -> String {
    t.format("%Y-%m-%d %H:%M UTC").to_string()
}

/// `GET /`: upload form and the user's documents.
#[derive(Template)]
#[template(path = "documents.html")]
pub(crate) struct DocumentsPage {
    pub(crate) shell: Shell,
    pub(crate) frameworks: Vec<FrameworkOption>,
    pub(crate) max_upload_bytes: u64,
    pub(crate) max_upload_label: String,
    pub(crate) documents: Vec<DocumentRow>,
}

/// A framework in the upload form's choice.
pub(crate) struct FrameworkOption {
    pub(crate) id: String,
    pub(crate) name: String,
    pub(crate) selected: bool,
}

/// One row of the documents list.
pub(crate) struct DocumentRow {
    pub(crate) id: String,
    pub(crate) filename: String,
    pub(crate) format: &'static str,
    pub(crate) framework: String,
    pub(crate) sections: u32,
    pub(crate) review_id: String,
    /// The latest review's status, or "none".
    pub(crate) status: &'static str,
    pub(crate) running: bool,
    pub(crate) done: u32,
    pub(crate) total: u32,
    pub(crate) pending: usize,
    pub(crate) accepted: usize,
    pub(crate) rejected: usize,
    pub(crate) comments: usize,
    pub(crate) last_activity: String,
    pub(crate) last_activity_label: String,
}

/// `GET /documents/{id}`: the review workspace.
#[derive(Template)]
#[template(path = "review.html")]
pub(crate) struct ReviewPage {
    pub(crate) shell: Shell,
    pub(crate) document_id: String,
    pub(crate) filename: String,
    pub(crate) framework: String,
    pub(crate) document_type: String,
    pub(crate) guidelines: String,
    /// The latest review as the API's JSON (`null` when none), for the page's scripts.
    pub(crate) review_json: String,
    pub(crate) min_confidence: String,
    pub(crate) s3_export: bool,
    pub(crate) sections: Vec<SectionView>,
    pub(crate) current: SectionLink,
    pub(crate) previous: Option<SectionLink>,
    pub(crate) next: Option<SectionLink>,
}

/// A section, rendered as lines of text (the section text split at its newlines, so the script can
/// rebuild the exact text and find quotes in it).
pub(crate) struct SectionView {
    pub(crate) id: String,
    pub(crate) index: u32,
    pub(crate) number: u32,
    pub(crate) title: String,
    pub(crate) level: u8,
    pub(crate) excluded: String,
    pub(crate) lines: Vec<String>,
    pub(crate) current: bool,
}

/// A link target for previous / next.
pub(crate) struct SectionLink {
    pub(crate) id: String,
    pub(crate) title: String,
}

/// `GET /documents/{id}/statistics`: one document's charts and activity log.
#[derive(Template)]
#[template(path = "statistics.html")]
pub(crate) struct StatisticsPage {
    pub(crate) shell: Shell,
    pub(crate) document_id: String,
    pub(crate) filename: String,
}

/// `GET /dashboard`: statistics across documents and the model chain's state.
#[derive(Template)]
#[template(path = "dashboard.html")]
pub(crate) struct DashboardPage {
    pub(crate) shell: Shell,
}

/// A page for "not found" and "something went wrong".
#[derive(Template)]
#[template(path = "error.html")]
pub(crate) struct ErrorPage {
    pub(crate) shell: Shell,
    pub(crate) heading: String,
    pub(crate) message: String,
}

/// `GET /login`: the sign-in form.
#[derive(Template)]
#[template(path = "login.html")]
pub(crate) struct LoginPage {
    pub(crate) shell: Shell,
    /// Where to go after signing in (a local path).
    pub(crate) next: String,
    /// The name typed before a failed attempt.
    pub(crate) name: String,
    /// Why the last attempt failed.
    pub(crate) error: Option<String>,
}

/// `GET /logout`: confirms signing out.
#[derive(Template)]
#[template(path = "logout.html")]
pub(crate) struct LogoutPage {
    pub(crate) shell: Shell,
    /// Who is signed in.
    pub(crate) name: String,
}

/// `GET /signin/{token}`: create the first admin through a one-time link.
#[derive(Template)]
#[template(path = "signin.html")]
pub(crate) struct SigninPage {
    pub(crate) shell: Shell,
    /// The link's token (it is in the URL already).
    pub(crate) token: String,
    /// The name typed before a failed attempt.
    pub(crate) name: String,
    /// Shortest accepted password.
    pub(crate) min_password: usize,
    /// Why the last attempt failed.
    pub(crate) error: Option<String>,
}
