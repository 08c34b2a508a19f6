//! `mimi serve` over HTTPS: the client trusts the provider's certificate through
//! `MIMI_CA_CERT`, refuses it otherwise, and plain HTTP gets no answer from the TLS port.

use std::process::Command;

use crate::http::request;
use crate::server::{Server, scratch};

fn mimi(profile: &std::path::Path, ca: Option<&std::path::Path>, args: &[&str]) -> (bool, String) {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_mimi"));
    cmd.args(args)
        .arg("--profile")
        .arg(profile)
        .env("MIMI_PASSWORD", "correct horse battery")
        .env_remove("MIMI_CA_CERT");
    if let Some(ca) = ca {
        cmd.env("MIMI_CA_CERT", ca);
    }
    let out = cmd.output().unwrap();
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn serve_speaks_https_with_the_configured_certificate() {
    let dir = scratch("tls");
    let cert = rcgen::generate_simple_self_signed(vec!["localhost".to_owned()]).unwrap();
    let (cert_pem, key_pem) = (dir.join("cert.pem"), dir.join("key.pem"));
    std::fs::write(&cert_pem, cert.cert.pem()).unwrap();
    std::fs::write(&key_pem, cert.signing_key.serialize_pem()).unwrap();
    let server = Server::start(
        &dir,
        &[
            "--tls-cert",
            cert_pem.to_str().unwrap(),
            "--tls-key",
            key_pem.to_str().unwrap(),
        ],
    );
    let url = format!("https://localhost:{}", server.addr.port());

    // A client that does not trust the certificate refuses to talk.
    let (ok, stderr) = mimi(
        &dir.join("eve"),
        None,
        &["account", "create", "--server", &url, "--user", "eve"],
    );
    assert!(!ok);
    assert!(stderr.contains("certificate"), "{stderr}");
    // With the provider's certificate as a root of trust, it works.
    let (ok, stderr) = mimi(
        &dir.join("alice"),
        Some(&cert_pem),
        &["account", "create", "--server", &url, "--user", "alice"],
    );
    assert!(ok, "{stderr}");
    let (ok, stderr) = mimi(
        &dir.join("alice"),
        Some(&cert_pem),
        &["room", "create", "team"],
    );
    assert!(ok, "{stderr}");
    // Plain HTTP to the TLS port gets no HTTP answer.
    assert!(request(server.addr, "GET", "/healthz", None, None).is_err());
    assert_eq!(server.terminate(), Some(0));
    let _ = std::fs::remove_dir_all(dir);
}

#[test]
fn serve_refuses_half_a_tls_configuration_and_a_bad_certificate() {
    let dir = scratch("tls-bad");
    let out = Command::new(env!("CARGO_BIN_EXE_mimi"))
        .args([
            "serve",
            "--listen",
            "127.0.0.1:0",
            "--tls-cert",
            "/nonexistent.pem",
        ])
        .arg("--data-dir")
        .arg(&dir)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("--tls-key"));
    let junk = dir.join("junk.pem");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(&junk, "not a certificate").unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_mimi"))
        .args(["serve", "--listen", "127.0.0.1:0"])
        .args([
            "--tls-cert",
            junk.to_str().unwrap(),
            "--tls-key",
            junk.to_str().unwrap(),
        ])
        .arg("--data-dir")
        .arg(&dir)
        .output()
        .unwrap();
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("TLS certificate"), "{stderr}");
    let _ = std::fs::remove_dir_all(dir);
}

#[test]
fn a_development_authority_issues_the_certificate_a_provider_serves_and_clients_trust() {
    let dir = scratch("tls-dev-ca");
    let tool = |args: &[&str]| {
        Command::new(env!("CARGO_BIN_EXE_mimi"))
            .args(args)
            .output()
            .unwrap()
    };
    let (ca, provider) = (dir.join("ca"), dir.join("a"));
    let made = tool(&["tls", "dev-ca", ca.to_str().unwrap()]);
    assert!(
        made.status.success(),
        "{}",
        String::from_utf8_lossy(&made.stderr)
    );
    let issued = tool(&[
        "tls",
        "dev-cert",
        "--ca",
        ca.to_str().unwrap(),
        "--domain",
        "localhost",
        "--out",
        provider.to_str().unwrap(),
    ]);
    assert!(
        issued.status.success(),
        "{}",
        String::from_utf8_lossy(&issued.stderr)
    );
    // Keys are their owner's alone; an authority is never overwritten.
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        for key in [ca.join("ca-key.pem"), provider.join("key.pem")] {
            let mode = std::fs::metadata(&key).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600, "{}", key.display());
        }
    }
    assert!(
        !tool(&["tls", "dev-ca", ca.to_str().unwrap()])
            .status
            .success()
    );
    let bad = tool(&[
        "tls",
        "dev-cert",
        "--ca",
        ca.to_str().unwrap(),
        "--domain",
        "not a domain",
        "--out",
        dir.join("bad").to_str().unwrap(),
    ]);
    assert!(!bad.status.success());

    let server = Server::start(
        &dir,
        &[
            "--tls-cert",
            provider.join("cert.pem").to_str().unwrap(),
            "--tls-key",
            provider.join("key.pem").to_str().unwrap(),
        ],
    );
    let url = format!("https://localhost:{}", server.addr.port());
    // A client that trusts the authority (not the provider's own certificate) talks to it.
    let (ok, stderr) = mimi(
        &dir.join("alice"),
        Some(&ca.join("ca.pem")),
        &["account", "create", "--server", &url, "--user", "alice"],
    );
    assert!(ok, "{stderr}");
    let (ok, _) = mimi(
        &dir.join("eve"),
        None,
        &["account", "create", "--server", &url, "--user", "eve"],
    );
    assert!(!ok);
    assert_eq!(server.terminate(), Some(0));
    let _ = std::fs::remove_dir_all(dir);
}
