//! Errors as RFC 7807 problem documents (`application/problem+json`), each with a stable
//! `code`: the library's codes (`match-*`, `encodings-*`, `clk-*`) for what the library
//! refused, and the server's own for the rest.
//!
//! A problem never quotes a token, a join code, file content or a score; `detail` names only
//! what the client sent in the request line or its own ids.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use utoipa::ToSchema;

/// An RFC 7807 problem document.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Problem {
    /// `about:blank#<code>`.
    #[serde(rename = "type")]
    pub kind: String,
    /// A short summary of the kind of problem.
    pub title: String,
    /// The HTTP status.
    pub status: u16,
    /// What went wrong in this request.
    pub detail: String,
    /// The stable error code.
    pub code: String,
}

/// An error a handler returns.
#[derive(Debug, Clone)]
pub struct ApiError {
    /// The HTTP status.
    pub status: StatusCode,
    /// The stable code.
    pub code: &'static str,
    /// What went wrong.
    pub detail: String,
}

impl ApiError {
    /// An error with this status, code and detail.
    pub fn new(status: StatusCode, code: &'static str, detail: impl Into<String>) -> ApiError {
        ApiError {
            status,
            code,
            detail: detail.into(),
        }
    }

    /// 400 with `code`.
    pub fn bad_request(code: &'static str, detail: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::BAD_REQUEST, code, detail)
    }

    /// 401: no credentials, or credentials the server does not accept.
    pub fn unauthorized(code: &'static str) -> ApiError {
        let detail = match code {
            "auth-missing" => "send a token as `Authorization: Bearer <token>`",
            _ => "the token is unknown, revoked or expired",
        };
        ApiError::new(StatusCode::UNAUTHORIZED, code, detail)
    }

    /// 403: the token is valid but not for this project or action.
    pub fn forbidden() -> ApiError {
        ApiError::new(
            StatusCode::FORBIDDEN,
            "auth-forbidden",
            "this token may not do this in this project",
        )
    }

    /// 404 for `what`.
    pub fn not_found(what: &str) -> ApiError {
        ApiError::new(
            StatusCode::NOT_FOUND,
            "not-found",
            format!("no such {what}"),
        )
    }

    /// 409 with `code`.
    pub fn conflict(code: &'static str, detail: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::CONFLICT, code, detail)
    }

    /// 500 from a database error (logged without parameters; the client sees only the code).
    pub fn internal(e: impl std::fmt::Display) -> ApiError {
        tracing::error!(error = %e, "internal error");
        ApiError::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "server-internal",
            "the server failed; its log has the cause",
        )
    }

    /// The problem document.
    pub fn problem(&self) -> Problem {
        Problem {
            kind: format!("about:blank#{}", self.code),
            title: self
                .status
                .canonical_reason()
                .unwrap_or("Error")
                .to_string(),
            status: self.status.as_u16(),
            detail: self.detail.clone(),
            code: self.code.to_string(),
        }
    }
}

impl From<sqlx::Error> for ApiError {
    fn from(e: sqlx::Error) -> ApiError {
        ApiError::internal(e)
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let body = serde_json::to_vec(&self.problem()).unwrap_or_default();
        (
            self.status,
            [(axum::http::header::CONTENT_TYPE, "application/problem+json")],
            body,
        )
            .into_response()
    }
}

/// A handler's result.
pub type ApiResult<T> = Result<T, ApiError>;
