//! The provider's client API over HTTP (blocking).

use base64::Engine as _;
use serde::Serialize;
use serde::de::DeserializeOwned;
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
    /// `Err`: why the HTTP client could not be set up as asked (reported by every request).
    http: Result<reqwest::blocking::Client, String>,
}

/// Extra roots of trust for `https://` providers: a PEM file of CA certificates (for a
/// provider with a private CA or a self-signed certificate), besides the system's.
pub const CA_CERT_ENV: &str = "MIMI_CA_CERT";

pub(crate) fn b64(bytes: &[u8]) -> String {
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

pub(crate) fn unb64(field: &str, v: &str) -> Result<Vec<u8>, ApiFailure> {
    base64::engine::general_purpose::STANDARD
        .decode(v)
        .map_err(|e| ApiFailure {
            status: 0,
            code: "bad-answer".into(),
            message: format!("the provider's `{field}` is not base64: {e}"),
            rule: None,
        })
}

/// Makes rustls with ring the process's TLS provider, once; every HTTP client of the
/// process (this crate's and any other reqwest client) needs it before it is built.
pub fn install_crypto_provider() {
    // A second install finds one in place and changes nothing.
    let _ = rustls::crypto::ring::default_provider().install_default();
}

/// What [`sse`] yields for a keep-alive comment of an idle stream.
pub(crate) const KEEP_ALIVE: &str = "keep-alive";

/// The events of a server-sent events stream, as `(event, data)`, until it ends or fails; a
/// keep-alive comment between events is `(KEEP_ALIVE, "")`.
pub(crate) fn sse(stream: impl std::io::Read) -> impl Iterator<Item = (String, String)> {
    use std::io::BufRead as _;
    let mut lines = std::io::BufReader::new(stream).lines();
    std::iter::from_fn(move || {
        let (mut event, mut data) = (String::from("message"), Vec::<String>::new());
        loop {
            let line = lines.next()?.ok()?;
            if line.is_empty() {
                if data.is_empty() {
                    continue;
                }
                return Some((event, data.join("\n")));
            }
            // A keep-alive (a comment between events): the stream is idle.
            if line.starts_with(':') && data.is_empty() {
                return Some((KEEP_ALIVE.to_owned(), String::new()));
            }
            if let Some(v) = line.strip_prefix("event:") {
                v.trim_start().clone_into(&mut event);
            } else if let Some(v) = line.strip_prefix("data:") {
                data.push(v.strip_prefix(' ').unwrap_or(v).to_owned());
            }
            // Other fields are skipped.
        }
    })
}

/// A provider's refusal: its status and `{code, message, rule}` body.
fn refusal(status: u16, value: &Value) -> ApiFailure {
    ApiFailure {
        status,
        code: value["code"].as_str().unwrap_or("http-error").to_owned(),
        message: value["message"]
            .as_str()
            .map_or_else(|| format!("HTTP {status}"), str::to_owned),
        rule: value["rule"].as_str().map(str::to_owned),
    }
}

/// An error with its causes (reqwest's own message hides the TLS reason).
fn error_chain(e: &dyn std::error::Error) -> String {
    let mut text = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        text.push_str(": ");
        text.push_str(&s.to_string());
        source = s.source();
    }
    text
}

impl Api {
    /// The API at `server` (`http://host:port` or `https://host:port`). HTTPS trusts the
    /// system's roots and those in the file [`CA_CERT_ENV`] names.
    pub fn new(server: &str) -> Self {
        install_crypto_provider();
        let mut setup: Option<String> = None;
        let mut builder = reqwest::blocking::Client::builder();
        if let Some(path) = std::env::var_os(CA_CERT_ENV) {
            match std::fs::read(&path)
                .map_err(|e| e.to_string())
                .and_then(|pem| {
                    reqwest::Certificate::from_pem_bundle(&pem).map_err(|e| e.to_string())
                }) {
                Ok(certs) => builder = builder.tls_certs_merge(certs),
                Err(e) => {
                    setup = Some(format!(
                        "{CA_CERT_ENV}={}: {e}",
                        std::path::Path::new(&path).display()
                    ));
                }
            }
        }
        let http = match setup {
            Some(problem) => Err(problem),
            None => builder
                .build()
                .map_err(|e| format!("setting up HTTP: {}", error_chain(&e))),
        };
        Self {
            base: server.trim_end_matches('/').to_owned(),
            http,
        }
    }

    fn unreachable(&self, e: &reqwest::Error) -> ApiFailure {
        ApiFailure {
            status: 0,
            code: "unreachable".into(),
            message: format!("cannot reach {}: {}", self.base, error_chain(e)),
            rule: None,
        }
    }

    /// Sends `req` and reads a success's answer as `T`: an answer that is not `T` (a
    /// missing field, one of the wrong type, not JSON) is refused whole, never read as
    /// empty or zero. An answer with no body reads as JSON `null` (`T = ()`).
    fn send<T: DeserializeOwned>(
        &self,
        path: &str,
        req: reqwest::blocking::RequestBuilder,
    ) -> Result<T, ApiFailure> {
        let resp = req.send().map_err(|e| self.unreachable(&e))?;
        let status = resp.status().as_u16();
        let text = resp.text().unwrap_or_default();
        if (200..300).contains(&status) {
            let json = if text.trim().is_empty() {
                "null"
            } else {
                &text
            };
            return serde_json::from_str(json).map_err(|e| ApiFailure {
                status,
                code: "bad-answer".into(),
                message: format!("the provider's answer to {path} is malformed: {e}"),
                rule: None,
            });
        }
        let value: Value = if text.trim().is_empty() {
            Value::Null
        } else {
            serde_json::from_str(&text).unwrap_or(Value::String(text))
        };
        Err(refusal(status, &value))
    }

    fn client(&self) -> Result<&reqwest::blocking::Client, ApiFailure> {
        self.http.as_ref().map_err(|problem| ApiFailure {
            status: 0,
            code: "bad-tls-setup".into(),
            message: problem.clone(),
            rule: None,
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

    /// `GET path`, the answer read as `T`.
    pub fn get<T: DeserializeOwned>(
        &self,
        path: &str,
        token: Option<&str>,
    ) -> Result<T, ApiFailure> {
        let req = self.client()?.get(format!("{}{path}", self.base));
        self.send(path, Self::with_token(req, token))
    }

    /// `POST path` with `body` as JSON, the answer read as `T`.
    pub fn post<T: DeserializeOwned>(
        &self,
        path: &str,
        token: Option<&str>,
        body: &impl Serialize,
    ) -> Result<T, ApiFailure> {
        let req = self
            .client()?
            .post(format!("{}{path}", self.base))
            .json(body);
        self.send(path, Self::with_token(req, token))
    }

    /// `POST path` with `bytes` as the body, the answer read as `T`.
    pub fn post_bytes<T: DeserializeOwned>(
        &self,
        path: &str,
        token: &str,
        bytes: Vec<u8>,
    ) -> Result<T, ApiFailure> {
        let req = self
            .client()?
            .post(format!("{}{path}", self.base))
            .header("content-type", "application/octet-stream")
            .body(bytes);
        self.send(path, Self::with_token(req, Some(token)))
    }

    /// `GET path`, the answer's bytes as they are, at most `limit` of them.
    pub fn get_bytes(&self, path: &str, token: &str, limit: usize) -> Result<Vec<u8>, ApiFailure> {
        use std::io::Read as _;
        let req = self
            .client()?
            .get(format!("{}{path}", self.base))
            .bearer_auth(token);
        let resp = req.send().map_err(|e| self.unreachable(&e))?;
        let status = resp.status().as_u16();
        if !resp.status().is_success() {
            return Err(refusal(status, &resp.json().unwrap_or(Value::Null)));
        }
        let mut out = Vec::new();
        resp.take(u64::try_from(limit).unwrap_or(u64::MAX).saturating_add(1))
            .read_to_end(&mut out)
            .map_err(|e| {
                refusal(
                    status,
                    &serde_json::json!({"code": "unreadable", "message": e.to_string()}),
                )
            })?;
        if out.len() > limit {
            return Err(refusal(
                status,
                &serde_json::json!({"code": "too-large", "message": format!("more than {limit} bytes")}),
            ));
        }
        Ok(out)
    }

    /// The provider's base URL.
    pub fn base(&self) -> &str {
        &self.base
    }

    /// `GET path` as a stream (server-sent events), open for up to an hour.
    pub fn stream(
        &self,
        path: &str,
        token: &str,
    ) -> Result<reqwest::blocking::Response, ApiFailure> {
        let req = self
            .client()?
            .get(format!("{}{path}", self.base))
            .bearer_auth(token)
            .header("accept", "text/event-stream")
            .timeout(std::time::Duration::from_secs(3600));
        let resp = req.send().map_err(|e| self.unreachable(&e))?;
        if resp.status().is_success() {
            return Ok(resp);
        }
        let status = resp.status().as_u16();
        Err(refusal(status, &resp.json().unwrap_or(Value::Null)))
    }

    /// `DELETE path`, the answer read as `T`.
    pub fn delete<T: DeserializeOwned>(
        &self,
        path: &str,
        token: Option<&str>,
    ) -> Result<T, ApiFailure> {
        let req = self.client()?.delete(format!("{}{path}", self.base));
        self.send(path, Self::with_token(req, token))
    }
}
