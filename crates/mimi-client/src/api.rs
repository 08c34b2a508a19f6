//! The provider's client API over HTTP (blocking).

use base64::Engine as _;
use serde_json::Value;

/// A refusal from the provider, or no answer at all.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message} ({code})")]
pub struct ApiFailure {
    /// The HTTP status (0: no answer).
    pub status: u16,
    /// The provider's stable code (`unreachable` when it did not answer).
    pub code: String,
    /// For people.
    pub message: String,
    /// The room policy rule behind a denial.
    pub rule: Option<String>,
}

/// A provider's client API.
#[derive(Debug, Clone)]
pub struct Api {
    base: String,
    http: reqwest::blocking::Client,
}

pub(crate) fn b64(bytes: &[u8]) -> String {
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

pub(crate) fn unb64(field: &str, v: &Value) -> Result<Vec<u8>, ApiFailure> {
    base64::engine::general_purpose::STANDARD
        .decode(v.as_str().unwrap_or_default())
        .map_err(|e| ApiFailure {
            status: 0,
            code: "bad-answer".into(),
            message: format!("the provider's `{field}` is not base64: {e}"),
            rule: None,
        })
}

impl Api {
    /// The API at `server` (`http://host:port`).
    pub fn new(server: &str) -> Self {
        Self {
            base: server.trim_end_matches('/').to_owned(),
            http: reqwest::blocking::Client::new(),
        }
    }

    fn send(&self, req: reqwest::blocking::RequestBuilder) -> Result<Value, ApiFailure> {
        let resp = req.send().map_err(|e| ApiFailure {
            status: 0,
            code: "unreachable".into(),
            message: format!("cannot reach {}: {e}", self.base),
            rule: None,
        })?;
        let status = resp.status().as_u16();
        let text = resp.text().unwrap_or_default();
        let value: Value = if text.trim().is_empty() {
            Value::Null
        } else {
            serde_json::from_str(&text).unwrap_or(Value::String(text))
        };
        if (200..300).contains(&status) {
            return Ok(value);
        }
        Err(ApiFailure {
            status,
            code: value["code"].as_str().unwrap_or("http-error").to_owned(),
            message: value["message"]
                .as_str()
                .map_or_else(|| format!("HTTP {status}"), str::to_owned),
            rule: value["rule"].as_str().map(str::to_owned),
        })
    }

    fn with_token(
        req: reqwest::blocking::RequestBuilder,
        token: Option<&str>,
    ) -> reqwest::blocking::RequestBuilder {
        match token {
            Some(t) => req.bearer_auth(t),
            None => req,
        }
    }

    /// `GET path`.
    pub fn get(&self, path: &str, token: Option<&str>) -> Result<Value, ApiFailure> {
        let req = self.http.get(format!("{}{path}", self.base));
        self.send(Self::with_token(req, token))
    }

    /// `POST path` with a JSON body.
    pub fn post(&self, path: &str, token: Option<&str>, body: &Value) -> Result<Value, ApiFailure> {
        let req = self.http.post(format!("{}{path}", self.base)).json(body);
        self.send(Self::with_token(req, token))
    }

    /// `DELETE path`.
    pub fn delete(&self, path: &str, token: Option<&str>) -> Result<Value, ApiFailure> {
        let req = self.http.delete(format!("{}{path}", self.base));
        self.send(Self::with_token(req, token))
    }
}
