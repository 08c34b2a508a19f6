//! Every refusal as a 4xx JSON body `{"code": ..., "message": ...}` with a stable code; a
//! database failure is a 503, never a 500, and no error changes state.

use axum::Json;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use mimi_mls::MlsError;
use mimi_store::StoreError;
use serde::Serialize;

/// An API error.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiError {
    /// The HTTP status.
    pub status: StatusCode,
    /// Stable kebab-case code.
    pub code: String,
    /// For people.
    pub message: String,
    /// The room policy rule behind a denial.
    pub rule: Option<String>,
    /// The room's epoch, for `wrong-epoch`.
    pub epoch: Option<u64>,
}

#[derive(Serialize)]
struct Body<'a> {
    code: &'a str,
    message: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    rule: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    epoch: Option<u64>,
}

impl ApiError {
    /// An error with `status`, `code` and `message`.
    pub fn new(status: StatusCode, code: &str, message: impl Into<String>) -> Self {
        Self {
            status,
            code: code.to_owned(),
            message: message.into(),
            rule: None,
            epoch: None,
        }
    }

    /// 400.
    pub fn bad_request(code: &str, message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, code, message)
    }

    /// 401: no token, or an unknown one.
    pub fn unauthorized(message: impl Into<String>) -> Self {
        Self::new(StatusCode::UNAUTHORIZED, "unauthorized", message)
    }

    /// 403.
    pub fn forbidden(code: &str, message: impl Into<String>) -> Self {
        Self::new(StatusCode::FORBIDDEN, code, message)
    }

    /// 404.
    pub fn not_found(message: impl Into<String>) -> Self {
        Self::new(StatusCode::NOT_FOUND, "not-found", message)
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let body = Body {
            code: &self.code,
            message: &self.message,
            rule: self.rule.as_deref(),
            epoch: self.epoch,
        };
        (self.status, Json(body)).into_response()
    }
}

impl From<StoreError> for ApiError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::Conflict(what) => Self::new(
                StatusCode::CONFLICT,
                "conflict",
                format!("{what} exists already"),
            ),
            StoreError::Busy(message) => Self::new(StatusCode::CONFLICT, "busy", message),
            StoreError::NotFound(what) => Self::not_found(format!("{what} does not exist")),
            StoreError::Stale { epoch, .. } => {
                let mut err = Self::new(
                    StatusCode::CONFLICT,
                    "wrong-epoch",
                    format!("the room is at epoch {epoch}"),
                );
                err.epoch = Some(epoch);
                err
            }
            StoreError::Backend(message) => {
                tracing::error!(%message, "database failure");
                Self::new(
                    StatusCode::SERVICE_UNAVAILABLE,
                    "unavailable",
                    "the provider's database failed; try again",
                )
            }
        }
    }
}

impl From<MlsError> for ApiError {
    fn from(e: MlsError) -> Self {
        let message = e.to_string();
        match e {
            MlsError::Denied(decision) => {
                let mut err = Self::forbidden(decision.code(), message);
                err.rule = Some(decision.rule().id.to_owned());
                err
            }
            MlsError::WrongEpoch { current } => {
                let mut err = Self::new(StatusCode::CONFLICT, "wrong-epoch", message);
                err.epoch = Some(current);
                err
            }
            MlsError::Credential(_) => Self::forbidden("bad-credential", message),
            // Behind, like wrong-epoch: the client receives the proposal and commits again.
            MlsError::MissingProposals(_) => {
                Self::new(StatusCode::CONFLICT, "missing-proposals", message)
            }
            other => Self::bad_request(other.code(), message),
        }
    }
}
