//! `mimi tls dev-ca|dev-cert`: a private certificate authority and the provider certificates
//! it issues, for tests and demos (providers on loopback, a client trusting the CA through
//! `MIMI_CA_CERT`). Not for production: use a real CA there.

use std::io::Write as _;
use std::path::{Path, PathBuf};

use clap::Subcommand;
use rcgen::{
    BasicConstraints, CertificateParams, DistinguishedName, DnType, ExtendedKeyUsagePurpose, IsCa,
    Issuer, KeyPair, KeyUsagePurpose,
};

use crate::InputError;

/// Certificates for tests and demos.
#[derive(Debug, Subcommand)]
pub enum TlsCommand {
    /// Make a private certificate authority: DIR/ca.pem (to trust) and DIR/ca-key.pem
    /// (secret, readable by you alone).
    DevCa {
        /// Where to write it (made if missing; existing files are not overwritten).
        dir: PathBuf,
    },
    /// Issue a provider certificate for DOMAIN (and localhost) from that authority:
    /// OUT/cert.pem and OUT/key.pem (secret), for `mimi serve --tls-cert --tls-key`, to serve
    /// its clients and, with `--peer-ca`, to prove itself to peer providers.
    DevCert {
        /// The authority's directory (from `mimi tls dev-ca`).
        #[arg(long)]
        ca: PathBuf,
        /// The provider's domain the certificate names.
        #[arg(long)]
        domain: String,
        /// Where to write it.
        #[arg(long)]
        out: PathBuf,
    },
}

/// The authority's name: a certificate it issues names it as issuer.
fn ca_params() -> Result<CertificateParams, rcgen::Error> {
    let mut params = CertificateParams::new(Vec::<String>::new())?;
    let mut name = DistinguishedName::new();
    name.push(DnType::CommonName, "mimi development CA");
    params.distinguished_name = name;
    params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    params.key_usages = vec![
        KeyUsagePurpose::KeyCertSign,
        KeyUsagePurpose::CrlSign,
        KeyUsagePurpose::DigitalSignature,
    ];
    Ok(params)
}

fn failed(what: &str, e: impl std::fmt::Display) -> anyhow::Error {
    InputError(format!("{what}: {e}")).into()
}

/// Writes `text` to a new file `path`, readable by its owner alone when `secret`.
fn write_new(path: &Path, text: &str, secret: bool) -> anyhow::Result<()> {
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt as _;
        options.mode(if secret { 0o600 } else { 0o644 });
    }
    let mut file = options
        .open(path)
        .map_err(|e| failed(&path.display().to_string(), e))?;
    file.write_all(text.as_bytes())
        .map_err(|e| failed(&path.display().to_string(), e))
}

fn make_dir(dir: &Path) -> anyhow::Result<()> {
    std::fs::create_dir_all(dir).map_err(|e| failed(&dir.display().to_string(), e))
}

impl TlsCommand {
    /// Runs the command; `json` prints JSON.
    pub fn run(self, json: bool) -> anyhow::Result<()> {
        let written = match self {
            Self::DevCa { dir } => {
                make_dir(&dir)?;
                let key = KeyPair::generate().map_err(|e| failed("a key", e))?;
                let cert = ca_params()
                    .and_then(|p| p.self_signed(&key))
                    .map_err(|e| failed("the authority's certificate", e))?;
                let (cert_path, key_path) = (dir.join("ca.pem"), dir.join("ca-key.pem"));
                write_new(&key_path, &key.serialize_pem(), true)?;
                write_new(&cert_path, &cert.pem(), false)?;
                (cert_path, key_path)
            }
            Self::DevCert { ca, domain, out } => {
                let domain = mimi_policy::id::ProviderId::parse(&domain)
                    .map_err(|e| failed(&format!("--domain {domain:?}"), e))?
                    .domain()
                    .to_owned();
                let ca_key_path = ca.join("ca-key.pem");
                let ca_key = std::fs::read_to_string(&ca_key_path)
                    .map_err(|e| failed(&ca_key_path.display().to_string(), e))
                    .and_then(|pem| {
                        KeyPair::from_pem(&pem)
                            .map_err(|e| failed(&ca_key_path.display().to_string(), e))
                    })?;
                let issuer =
                    Issuer::new(ca_params().map_err(|e| failed("the authority", e))?, ca_key);
                let host = domain.split(':').next().unwrap_or(&domain).to_owned();
                // It names localhost too, so that the provider's own users reach it on
                // loopback in a demo or a test.
                let mut names = vec![host.clone()];
                if host != "localhost" {
                    names.push("localhost".to_owned());
                }
                let mut params = CertificateParams::new(names)
                    .map_err(|e| failed(&format!("--domain {domain:?}"), e))?;
                let mut name = DistinguishedName::new();
                name.push(DnType::CommonName, host);
                params.distinguished_name = name;
                // A provider is a server to its clients and, between providers, a client too.
                params.extended_key_usages = vec![
                    ExtendedKeyUsagePurpose::ServerAuth,
                    ExtendedKeyUsagePurpose::ClientAuth,
                ];
                let key = KeyPair::generate().map_err(|e| failed("a key", e))?;
                let cert = params
                    .signed_by(&key, &issuer)
                    .map_err(|e| failed("the certificate", e))?;
                make_dir(&out)?;
                let (cert_path, key_path) = (out.join("cert.pem"), out.join("key.pem"));
                write_new(&key_path, &key.serialize_pem(), true)?;
                write_new(&cert_path, &cert.pem(), false)?;
                (cert_path, key_path)
            }
        };
        let (cert, key) = (
            written.0.display().to_string(),
            written.1.display().to_string(),
        );
        if json {
            println!("{}", serde_json::json!({"cert": cert, "key": key}));
        } else {
            println!(
                "wrote {} and {} (secret)",
                crate::safe::visible(&cert),
                crate::safe::visible(&key)
            );
        }
        Ok(())
    }
}
