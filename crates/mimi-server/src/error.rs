//! The provider's one error type, [`ApiError`]: what went wrong, as data (a policy decision,
//! an MLS or store error with its source, a missing room, a malformed request). Code
//! branches on its variants and on [`DenyCode`]s, never on code strings. Only
//! [`IntoResponse`] turns it into HTTP: a 4xx JSON body `{"code", "message", "rule"?,
//! "epoch"?}` with a stable code; a database failure is a 503, never a 500.

use axum::Json;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use mimi_mls::MlsError;
use mimi_policy::id::RoomId;
use mimi_policy::{Decision, DenyCode};
use mimi_store::StoreError;
use serde::Serialize;

/// Why a request failed.
#[derive(Debug)]
pub enum ApiError {
    /// The room policy, or a rule of the hosting provider in `mimi_policy::host`, refused.
    Denied {
        /// The decision.
        decision: Decision,
        /// For people; the rule's text when absent.
        message: Option<String>,
    },
    /// The hub refused an MLS message (or could not read a room's state).
    Mls(MlsError),
    /// The database refused or failed.
    Store(StoreError),
    /// No such room here, or a hidden room the caller may not know of: the same answer.
    NoRoom(RoomId),
    /// Something else that does not exist (a user, a device, a knock, an endpoint).
    NotFound {
        /// Stable code.
        code: &'static str,
        /// For people.
        message: String,
    },
    /// The request is malformed or names something wrongly.
    Invalid {
        /// Stable code.
        code: &'static str,
        /// For people.
        message: String,
    },
    /// Refused for a reason outside the room policy.
    Forbidden {
        /// Stable code.
        code: &'static str,
        /// For people.
        message: String,
    },
    /// The name or thing asked for is taken (409), beyond a plain store conflict.
    Conflict {
        /// Stable code.
        code: &'static str,
        /// For people.
        message: String,
    },
    /// Over a rate limit (429, with `Retry-After`).
    RateLimited {
        /// For people.
        message: String,
        /// When to come back.
        retry_after: std::time::Duration,
    },
    /// No token, or one the provider does not know.
    Unauthorized(String),
    /// The room kept changing under the request; trying again may succeed.
    Busy,
    /// The request (or one of its parts) is too large.
    TooLarge(String),
    /// The endpoint does not take the request's method.
    MethodNotAllowed,
    /// An extractor refused the request with a status of its own (an unsupported media
    /// type, for instance).
    Request {
        /// The status the extractor chose.
        status: StatusCode,
        /// Stable code.
        code: &'static str,
        /// For people.
        message: String,
    },
    /// The provider cannot serve it now (a room's stored state unreadable, a worker gone).
    Unavailable(String),
    /// A peer provider's refusal of a request this provider relayed for one of its users,
    /// passed on as it came (its status, code, message, rule and epoch).
    Relayed {
        /// The peer's status.
        status: StatusCode,
        /// The peer's answer.
        body: Box<RelayedBody>,
    },
    /// `error`, in the part of a request `context` names (`messages[3]`).
    Within {
        /// Which part of the request.
        context: String,
        /// What went wrong there.
        error: Box<ApiError>,
    },
}

/// A refusal as peers pass it on (`Mimi-Error`, decision 0015): the client API's error body
/// with its status.
#[derive(Debug, Clone, Serialize, serde::Deserialize)]
pub struct RelayedBody {
    /// The HTTP status.
    pub status: u16,
    /// The answer.
    #[serde(flatten)]
    pub body: mimi_api::ErrorBody,
}

impl ApiError {
    /// This error as a peer passes it on.
    pub fn relayed_body(&self) -> RelayedBody {
        let http = self.http();
        RelayedBody {
            status: http.status.as_u16(),
            body: mimi_api::ErrorBody {
                code: http.code.to_owned(),
                message: http.message,
                rule: http.rule.map(str::to_owned),
                epoch: http.epoch,
            },
        }
    }
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
    /// A malformed request (400).
    pub fn bad_request(code: &'static str, message: impl Into<String>) -> Self {
        Self::Invalid {
            code,
            message: message.into(),
        }
    }

    /// No token, or an unknown one (401).
    pub fn unauthorized(message: impl Into<String>) -> Self {
        Self::Unauthorized(message.into())
    }

    /// Refused outside the room policy (403).
    pub fn forbidden(code: &'static str, message: impl Into<String>) -> Self {
        Self::Forbidden {
            code,
            message: message.into(),
        }
    }

    /// Something that does not exist (404 `not-found`).
    pub fn not_found(message: impl Into<String>) -> Self {
        Self::NotFound {
            code: "not-found",
            message: message.into(),
        }
    }

    /// The policy's refusal, told with `message`.
    pub fn denied(decision: Decision, message: impl Into<String>) -> Self {
        Self::Denied {
            decision,
            message: Some(message.into()),
        }
    }

    /// The stable code of the answer.
    pub fn code(&self) -> &str {
        match self {
            Self::Denied { decision, .. } => denied_code(decision),
            Self::Mls(e) => e.code(),
            Self::Store(e) => match e {
                StoreError::Conflict(_) => "conflict",
                StoreError::Busy(_) => "busy",
                StoreError::NotFound(_) => "not-found",
                StoreError::Stale { .. } => "wrong-epoch",
                StoreError::Backend(_) => "unavailable",
            },
            Self::NoRoom(_) => "not-found",
            Self::NotFound { code, .. }
            | Self::Invalid { code, .. }
            | Self::Forbidden { code, .. }
            | Self::Conflict { code, .. }
            | Self::Request { code, .. } => code,
            Self::Unauthorized(_) => "unauthorized",
            Self::RateLimited { .. } => "rate-limited",
            Self::Within { error, .. } => error.code(),
            Self::Relayed { body, .. } => &body.body.code,
            Self::Busy => "busy",
            Self::TooLarge(_) => "too-large",
            Self::MethodNotAllowed => "method-not-allowed",
            Self::Unavailable(_) => "unavailable",
        }
    }

    /// The code counted in metrics: a peer's refusal counts as `relayed` (its code is the
    /// peer's word, and would make a label of anything).
    pub fn metric_code(&self) -> &str {
        match self {
            Self::Relayed { .. } => "relayed",
            _ => self.code(),
        }
    }

    /// Whether the request may succeed as it is if sent again later (a busy room, the
    /// database away): the caller's input is not at fault.
    pub fn is_passing(&self) -> bool {
        matches!(
            self,
            Self::Busy
                | Self::Unavailable(_)
                | Self::Store(StoreError::Backend(_) | StoreError::Busy(_))
        )
    }

    /// The same error, its message for people prefixed with `context` (which part of a
    /// request failed).
    pub fn within(self, context: &str) -> Self {
        Self::Within {
            context: context.to_owned(),
            error: Box::new(self),
        }
    }

    fn http(&self) -> Http<'_> {
        let http = |status, message: String| Http {
            status,
            code: self.code(),
            message,
            rule: None,
            epoch: None,
        };
        match self {
            Self::Denied { decision, message } => Http {
                rule: Some(decision.rule().id),
                ..http(
                    denied_status(decision),
                    message.clone().unwrap_or_else(|| {
                        // The rule in words; the code and the rule's ID travel beside.
                        format!("the room policy refuses it: {}", decision.rule().text)
                    }),
                )
            },
            Self::Mls(e) => {
                let message = e.to_string();
                match e {
                    MlsError::Denied(decision) => Http {
                        rule: Some(decision.rule().id),
                        ..http(denied_status(decision), message)
                    },
                    MlsError::WrongEpoch { current } => Http {
                        epoch: Some(*current),
                        ..http(StatusCode::CONFLICT, message)
                    },
                    MlsError::Credential(_) => http(StatusCode::FORBIDDEN, message),
                    // Behind, like wrong-epoch: the client receives the proposal and commits
                    // again.
                    MlsError::MissingProposals(_) => http(StatusCode::CONFLICT, message),
                    _ => Http {
                        rule: e.rule().map(|r| r.id),
                        ..http(StatusCode::BAD_REQUEST, message)
                    },
                }
            }
            Self::Store(e) => match e {
                StoreError::Conflict(what) => {
                    http(StatusCode::CONFLICT, format!("{what} exists already"))
                }
                StoreError::Busy(message) => http(StatusCode::CONFLICT, message.clone()),
                StoreError::NotFound(what) => {
                    http(StatusCode::NOT_FOUND, format!("{what} does not exist"))
                }
                StoreError::Stale { epoch, .. } => Http {
                    epoch: Some(*epoch),
                    ..http(
                        StatusCode::CONFLICT,
                        format!("the room is at epoch {epoch}"),
                    )
                },
                StoreError::Backend(_) => http(
                    StatusCode::SERVICE_UNAVAILABLE,
                    "the provider's database failed; try again".into(),
                ),
            },
            Self::NoRoom(id) => http(StatusCode::NOT_FOUND, format!("no room {id} here")),
            Self::NotFound { message, .. } => http(StatusCode::NOT_FOUND, message.clone()),
            Self::Invalid { message, .. } => http(StatusCode::BAD_REQUEST, message.clone()),
            Self::Forbidden { message, .. } => http(StatusCode::FORBIDDEN, message.clone()),
            Self::Conflict { message, .. } => http(StatusCode::CONFLICT, message.clone()),
            Self::RateLimited { message, .. } => {
                http(StatusCode::TOO_MANY_REQUESTS, message.clone())
            }
            Self::Unauthorized(message) => http(StatusCode::UNAUTHORIZED, message.clone()),
            Self::Busy => http(
                StatusCode::CONFLICT,
                "the room kept changing; try again".into(),
            ),
            Self::TooLarge(message) => http(StatusCode::PAYLOAD_TOO_LARGE, message.clone()),
            Self::MethodNotAllowed => http(
                StatusCode::METHOD_NOT_ALLOWED,
                "this endpoint does not take that method (see /openapi.json)".into(),
            ),
            Self::Request {
                status, message, ..
            } => http(*status, message.clone()),
            Self::Unavailable(message) => http(StatusCode::SERVICE_UNAVAILABLE, message.clone()),
            Self::Relayed { status, body } => Http {
                status: *status,
                code: &body.body.code,
                message: body.body.message.clone(),
                rule: body.body.rule.as_deref(),
                epoch: body.body.epoch,
            },
            Self::Within { context, error } => {
                let inner = error.http();
                Http {
                    message: format!("{context}: {}", inner.message),
                    ..inner
                }
            }
        }
    }
}

/// The answer's code for a denial: the policy's own, except `no-consent`, which the client
/// API has always called `consent-required`.
fn denied_code(decision: &Decision) -> &'static str {
    match decision.deny_code() {
        Some(DenyCode::NoConsent) => "consent-required",
        _ => decision.code(),
    }
}

/// A denial's status: 404 for a room the caller may not know exists (the visibility rules),
/// 400 for a room that cannot be hosted as given, else 403 (a target missing from the room
/// too: the room exists, the request names someone not in it).
fn denied_status(decision: &Decision) -> StatusCode {
    let visibility = [
        mimi_policy::rule::MIMI_VISIBLE,
        mimi_policy::rule::MIMI_DOCUMENT,
    ];
    match decision.deny_code() {
        Some(DenyCode::NotFound) if visibility.contains(&decision.rule()) => StatusCode::NOT_FOUND,
        Some(DenyCode::ForeignRoom) => StatusCode::BAD_REQUEST,
        Some(DenyCode::InvalidPolicy) if decision.rule() == mimi_policy::rule::MIMI_HOST => {
            StatusCode::BAD_REQUEST
        }
        _ => StatusCode::FORBIDDEN,
    }
}

/// An answer as HTTP.
struct Http<'a> {
    status: StatusCode,
    code: &'a str,
    message: String,
    rule: Option<&'a str>,
    epoch: Option<u64>,
}

/// For logs: the answer's message and code and, for a database failure, the failure itself
/// with its cause (which the answer does not tell the client).
impl std::fmt::Display for ApiError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let http = self.http();
        write!(f, "{} ({})", http.message, http.code)?;
        match self {
            Self::Store(e @ StoreError::Backend(_)) => write!(f, ": {e}"),
            Self::Within { error, .. }
                if matches!(**error, Self::Store(StoreError::Backend(_))) =>
            {
                write!(f, ": {error}")
            }
            _ => Ok(()),
        }
    }
}

impl std::error::Error for ApiError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Self::Mls(e) => Some(e),
            Self::Store(e) => Some(e),
            Self::Within { error, .. } => Some(error.as_ref()),
            _ => None,
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        if let Self::Store(StoreError::Backend(message)) = &self {
            tracing::error!(%message, "database failure");
        }
        let http = self.http();
        let body = Body {
            code: http.code,
            message: &http.message,
            rule: http.rule,
            epoch: http.epoch,
        };
        let mut response = (http.status, Json(body)).into_response();
        if let Self::RateLimited { retry_after, .. } = &self {
            response.headers_mut().insert(
                axum::http::header::RETRY_AFTER,
                axum::http::HeaderValue::from(retry_after.as_secs().max(1)),
            );
        }
        response
    }
}

impl From<StoreError> for ApiError {
    fn from(e: StoreError) -> Self {
        Self::Store(e)
    }
}

impl From<MlsError> for ApiError {
    fn from(e: MlsError) -> Self {
        Self::Mls(e)
    }
}

impl From<Decision> for ApiError {
    fn from(decision: Decision) -> Self {
        Self::Denied {
            decision,
            message: None,
        }
    }
}
