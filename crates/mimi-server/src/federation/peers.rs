//! How this provider calls its peers: HTTPS with its own certificate as the client's
//! (mutual TLS), trusting only the peer authority; each peer reached at `https://DOMAIN/`
//! or where `--peer DOMAIN=URL` says, its certificate always checked for DOMAIN; each
//! endpoint taken from the peer's directory, which must stay on the peer's origin.

use std::collections::{BTreeMap, HashMap};
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use mimi_policy::id::ProviderId;
use mimi_protocol::directory::{DIRECTORY_PATH, Directory, expand};
use rustls::pki_types::PrivateKeyDer;
use rustls::pki_types::pem::PemObject as _;

use crate::error::ApiError;
use crate::tls::TlsFiles;

/// How long a peer has to answer one request.
const TIMEOUT: Duration = Duration::from_secs(10);

/// Largest answer read from a peer.
const MAX_ANSWER: usize = 4 * 1024 * 1024;

/// This provider's client to its peers.
pub struct Peers {
    own: ProviderId,
    http: reqwest::Client,
    bases: HashMap<String, String>,
    directories: tokio::sync::Mutex<HashMap<String, Directory>>,
}

/// Why a call to a peer failed.
#[derive(Debug, thiserror::Error)]
pub enum PeerError {
    /// The peer could not be reached, or its answer not read.
    #[error("cannot reach {domain}: {reason}")]
    Unreachable {
        /// The peer.
        domain: String,
        /// Why.
        reason: String,
    },
    /// The peer answered with a status this call does not expect.
    #[error("{domain} answered {status}: {body}")]
    Refused {
        /// The peer.
        domain: String,
        /// Its status.
        status: u16,
        /// Its answer, for the logs.
        body: String,
    },
}

impl From<PeerError> for ApiError {
    /// For the user whose request was relayed: which provider failed, not how (the reason
    /// goes to this provider's log; a user must not probe what lies behind a name).
    fn from(e: PeerError) -> Self {
        tracing::info!(error = %e, "a peer failed a relayed request");
        let message = match &e {
            PeerError::Unreachable { domain, .. } => format!("{domain} cannot be reached now"),
            PeerError::Refused { domain, status, .. } => {
                format!("{domain} did not take the request ({status})")
            }
        };
        ApiError::Request {
            status: axum::http::StatusCode::BAD_GATEWAY,
            code: "peer-unreachable",
            message,
        }
    }
}

/// An error with its causes (reqwest's own message hides the TLS reason).
fn chain(e: &dyn std::error::Error) -> String {
    let mut text = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        text.push_str(": ");
        text.push_str(&s.to_string());
        source = s.source();
    }
    text
}

impl Peers {
    /// The client of provider `own`, presenting the certificate of `files`, trusting the
    /// authorities of `peer_ca`, with `fixed` peers (domain to `https://HOST:PORT`).
    pub async fn new(
        own: ProviderId,
        files: &TlsFiles,
        peer_ca: &Path,
        fixed: &BTreeMap<String, String>,
    ) -> Result<Self, String> {
        let roots = crate::tls::root_store(peer_ca).map_err(|e| format!("--peer-ca {e}"))?;
        let certs = crate::tls::read_certificates(&files.cert)
            .map_err(|e| format!("TLS certificate {e}"))?;
        let key = PrivateKeyDer::from_pem_file(&files.key)
            .map_err(|e| format!("TLS key {}: {e}", files.key.display()))?;
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let mut config = rustls::ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .map_err(|e| format!("TLS: {e}"))?
            .with_root_certificates(roots)
            .with_client_auth_cert(certs, key)
            .map_err(|e| format!("TLS certificate and key: {e}"))?;
        config.alpn_protocols = vec![b"http/1.1".to_vec()];
        let mut builder = reqwest::Client::builder()
            .tls_backend_preconfigured(config)
            .timeout(TIMEOUT)
            .redirect(reqwest::redirect::Policy::none());
        let mut bases = HashMap::new();
        for (domain, url) in fixed {
            let domain = ProviderId::parse(domain)
                .map_err(|e| format!("--peer {domain}: {e}"))?
                .domain()
                .to_owned();
            let parsed =
                reqwest::Url::parse(url).map_err(|e| format!("--peer {domain}={url}: {e}"))?;
            if parsed.scheme() != "https" || parsed.path() != "/" && !parsed.path().is_empty() {
                return Err(format!(
                    "--peer {domain}={url}: write https://HOST:PORT (providers speak HTTPS)"
                ));
            }
            let host = parsed
                .host_str()
                .ok_or_else(|| format!("--peer {domain}={url}: no host"))?;
            let port = parsed.port_or_known_default().unwrap_or(443);
            let addrs: Vec<_> = tokio::net::lookup_host((host.trim_matches(['[', ']']), port))
                .await
                .map_err(|e| format!("--peer {domain}={url}: {e}"))?
                .collect();
            // Reached at HOST:PORT, its certificate checked for DOMAIN.
            builder = builder.resolve_to_addrs(&domain, &addrs);
            bases.insert(domain.clone(), format!("https://{domain}:{port}"));
        }
        let http = builder
            .build()
            .map_err(|e| format!("the peer client: {}", chain(&e)))?;
        Ok(Self {
            own,
            http,
            bases,
            directories: Default::default(),
        })
    }

    /// Where `domain` is reached: as `--peer` says, or `https://DOMAIN` for a DNS name (an
    /// address, a port or a single label is no provider's domain, unless configured).
    fn base(&self, domain: &str) -> Result<String, PeerError> {
        if let Some(base) = self.bases.get(domain) {
            return Ok(base.clone());
        }
        let dns_name = domain.contains('.')
            && domain.parse::<std::net::IpAddr>().is_err()
            && domain
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'.');
        if !dns_name {
            return Err(PeerError::Unreachable {
                domain: domain.to_owned(),
                reason: "not a provider's DNS name, and no --peer names it".into(),
            });
        }
        Ok(format!("https://{domain}"))
    }

    fn unreachable(domain: &str, e: &dyn std::error::Error) -> PeerError {
        PeerError::Unreachable {
            domain: domain.to_owned(),
            reason: chain(e),
        }
    }

    /// `domain`'s directory, asked once and kept.
    async fn directory(&self, domain: &str) -> Result<Directory, PeerError> {
        if let Some(d) = self.directories.lock().await.get(domain) {
            return Ok(d.clone());
        }
        let url = format!("{}{DIRECTORY_PATH}", self.base(domain)?);
        let (status, _, body) = self.send(domain, self.http.get(&url)).await?;
        if status != 200 {
            return Err(PeerError::Refused {
                domain: domain.to_owned(),
                status,
                body: String::from_utf8_lossy(&body).chars().take(200).collect(),
            });
        }
        let directory: Directory =
            serde_json::from_slice(&body).map_err(|e| Self::unreachable(domain, &e))?;
        self.directories
            .lock()
            .await
            .insert(domain.to_owned(), directory.clone());
        Ok(directory)
    }

    async fn send(
        &self,
        domain: &str,
        request: reqwest::RequestBuilder,
    ) -> Result<(u16, reqwest::header::HeaderMap, Vec<u8>), PeerError> {
        let mut answer = request
            .header(reqwest::header::FROM, format!("mimi@{}", self.own.domain()))
            .send()
            .await
            .map_err(|e| Self::unreachable(domain, &e))?;
        let status = answer.status().as_u16();
        let headers = answer.headers().clone();
        let mut body = Vec::new();
        while let Some(chunk) = answer
            .chunk()
            .await
            .map_err(|e| Self::unreachable(domain, &e))?
        {
            if body.len() + chunk.len() > MAX_ANSWER {
                return Err(PeerError::Unreachable {
                    domain: domain.to_owned(),
                    reason: "its answer is too large".into(),
                });
            }
            body.extend_from_slice(&chunk);
        }
        Ok((status, headers, body))
    }

    /// POSTs `body` to `domain`'s endpoint `pick` (from its directory) for `value`, and
    /// returns the answer's status and body.
    pub async fn post(
        &self,
        domain: &str,
        pick: fn(&Directory) -> &str,
        value: &str,
        body: Vec<u8>,
    ) -> Result<(u16, Vec<u8>), PeerError> {
        self.post_with(domain, pick, value, &[], body)
            .await
            .map(|(status, _, body)| (status, body))
    }

    /// Like [`Peers::post`], with `headers` (mimi's own, `Mimi-*`), returning the answer's
    /// headers too.
    pub async fn post_with(
        &self,
        domain: &str,
        pick: fn(&Directory) -> &str,
        value: &str,
        headers: &[(&'static str, String)],
        body: Vec<u8>,
    ) -> Result<(u16, reqwest::header::HeaderMap, Vec<u8>), PeerError> {
        let directory = self.directory(domain).await?;
        let origin = format!("{}/", self.base(domain)?);
        let url = expand(pick(&directory), value)
            .filter(|url| url.starts_with(&origin))
            .ok_or_else(|| PeerError::Unreachable {
                domain: domain.to_owned(),
                reason: "its directory lists an endpoint off its own origin".into(),
            })?;
        let mut request = self
            .http
            .post(url)
            .header(reqwest::header::CONTENT_TYPE, super::CONTENT_TYPE)
            .body(body);
        for (name, value) in headers {
            request = request.header(*name, value);
        }
        self.send(domain, request).await
    }
}
