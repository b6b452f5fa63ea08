//! The API's one error shape: a status and `{"error": {"code", "message"}}`, with stable snake_case codes.
//! A 5xx is answered generically and its detail logged once, never shown.

use aiprism_app::AppError;
use axum::Json;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::Serialize;

/// An error on its way to the client.
#[derive(Debug)]
pub struct ApiError {
    status: StatusCode,
    code: &'static str,
    message: String,
}

#[derive(Serialize)]
struct Body<'a> {
    error: Inner<'a>,
}

#[derive(Serialize)]
struct Inner<'a> {
    code: &'a str,
    message: &'a str,
}

impl ApiError {
    /// An error with an explicit status, code and message.
    pub fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> Self {
        Self {
            status,
            code,
            message: message.into(),
        }
    }

    /// 400: the request itself is malformed.
    pub fn bad_request(code: &'static str, message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, code, message)
    }

    /// 413: the body is over the upload limit.
    pub fn too_large(limit: u64) -> Self {
        Self::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "too_large",
            format!("The upload is larger than the limit of {}.", human_bytes(limit)),
        )
    }

    /// The HTTP status.
    pub fn status(&self) -> StatusCode {
        self.status
    }
}

impl From<AppError> for ApiError {
    fn from(e: AppError) -> Self {
        match e {
            AppError::NotFound { what } => {
                let mut message = format!("{what} not found");
                if let Some(first) = message.get_mut(0..1) {
                    first.make_ascii_uppercase();
                }
                Self::new(StatusCode::NOT_FOUND, "not_found", message)
            }
            AppError::BadRequest { code, message } => Self::new(StatusCode::BAD_REQUEST, code, message),
            AppError::Invalid { code, message } => Self::new(StatusCode::UNPROCESSABLE_ENTITY, code, message),
            AppError::TooLarge { message } => Self::new(StatusCode::PAYLOAD_TOO_LARGE, "too_large", message),
            AppError::Unsupported { message } => {
                Self::new(StatusCode::UNSUPPORTED_MEDIA_TYPE, "unsupported_format", message)
            }
            AppError::Conflict { message } => Self::new(StatusCode::CONFLICT, "conflict", message),
            AppError::TooManyRequests { message } => {
                Self::new(StatusCode::TOO_MANY_REQUESTS, "too_many_attempts", message)
            }
            AppError::Unavailable { message } => {
                Self::new(StatusCode::SERVICE_UNAVAILABLE, "unavailable", message)
            }
            AppError::Internal(detail) => {
                tracing::error!(%detail, "internal error");
                Self::new(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "internal",
                    "Something went wrong on our side; it has been logged.",
                )
            }
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let body = Body {
            error: Inner {
                code: self.code,
                message: &self.message,
            },
        };
        (self.status, Json(body)).into_response()
    }
}

/// Unknown routes answer in the API's error shape too.
pub(crate) async fn not_found() -> ApiError {
    ApiError::new(StatusCode::NOT_FOUND, "not_found", "No such route.")
}

/// Sizes for people: "16 MB", "512 KB".
pub(crate) fn human_bytes(n: u64) -> String {
    const MIB: u64 = 1024 * 1024;
    if n >= MIB && n.is_multiple_of(MIB) {
        format!("{} MB", n / MIB)
    } else if n >= MIB {
        format!("{:.1} MB", n as f64 / MIB as f64)
    } else {
        format!("{} KB", n.div_ceil(1024))
    }
}
