//! Providers among providers (issue 15, decision 0015): rooms hosted by one provider with
//! members on others, over mutually authenticated TLS, each provider with a certificate
//! from one private authority and its own database.

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::client::Out;
use crate::server::{Server, scratch};

/// Providers on loopback that know each other.
pub(crate) struct Federation {
    pub dir: PathBuf,
    /// The authority every provider's certificate comes from (`MIMI_CA_CERT` of clients).
    pub ca: PathBuf,
    pub servers: Vec<Server>,
    /// Each provider's domain, its client URL and its serve arguments (to restart it).
    pub providers: Vec<Provider>,
}

pub(crate) struct Provider {
    pub domain: String,
    pub url: String,
    pub listen: String,
    pub data: PathBuf,
    pub args: Vec<String>,
}

fn tool(args: &[&str]) {
    let out = Command::new(env!("CARGO_BIN_EXE_mimi"))
        .args(args)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "mimi {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// A port free now, for a provider its peers must know before it starts.
fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// Issues a certificate for `domain` from the authority in `ca` into `out`.
pub(crate) fn certificate(ca: &Path, domain: &str, out: &Path) {
    tool(&[
        "tls",
        "dev-cert",
        "--ca",
        ca.to_str().unwrap(),
        "--domain",
        domain,
        "--out",
        out.to_str().unwrap(),
    ]);
}

impl Federation {
    /// Starts a provider for each of `domains`, each trusting the others.
    pub fn start(name: &str, domains: &[&str]) -> Self {
        let dir = scratch(name);
        let ca_dir = dir.join("ca");
        tool(&["tls", "dev-ca", ca_dir.to_str().unwrap()]);
        let ports: Vec<u16> = domains.iter().map(|_| free_port()).collect();
        let mut providers = Vec::new();
        for (i, domain) in domains.iter().enumerate() {
            let certs = dir.join(format!("{domain}-tls"));
            certificate(&ca_dir, domain, &certs);
            let mut args = vec![
                "--tls-cert".to_owned(),
                certs.join("cert.pem").display().to_string(),
                "--tls-key".to_owned(),
                certs.join("key.pem").display().to_string(),
                "--peer-ca".to_owned(),
                ca_dir.join("ca.pem").display().to_string(),
            ];
            for (j, other) in domains.iter().enumerate() {
                if i != j {
                    args.push("--peer".to_owned());
                    args.push(format!("{other}=https://127.0.0.1:{}", ports[j]));
                }
            }
            providers.push(Provider {
                domain: (*domain).to_owned(),
                url: format!("https://localhost:{}", ports[i]),
                listen: format!("127.0.0.1:{}", ports[i]),
                data: dir.join(format!("{domain}-data")),
                args,
            });
        }
        let servers = providers.iter().map(Provider::start).collect();
        Self {
            dir,
            ca: ca_dir.join("ca.pem"),
            servers,
            providers,
        }
    }

    /// `mimi ARGS --profile PROFILE`, trusting the federation's authority.
    pub fn mimi(&self, profile: &Path, args: &[&str]) -> Out {
        let out = Command::new(env!("CARGO_BIN_EXE_mimi"))
            .args(args)
            .arg("--profile")
            .arg(profile)
            .env("MIMI_PASSWORD", "correct horse battery")
            .env("MIMI_CA_CERT", &self.ca)
            .output()
            .unwrap();
        Out {
            ok: out.status.success(),
            stdout: String::from_utf8(out.stdout).unwrap(),
            stderr: String::from_utf8(out.stderr).unwrap(),
        }
    }

    /// Like [`Federation::mimi`], which must succeed: its output.
    pub fn ok(&self, profile: &Path, args: &[&str]) -> String {
        let out = self.mimi(profile, args);
        assert!(out.ok, "mimi {args:?} failed: {}", out.stderr);
        out.stdout
    }

    /// An account `name` on provider `i`, in a profile of its own.
    pub fn person(&self, i: usize, name: &str) -> PathBuf {
        let profile = self
            .dir
            .join(format!("{name}@{}", self.providers[i].domain));
        self.ok(
            &profile,
            &[
                "account",
                "create",
                "--server",
                &self.providers[i].url,
                "--user",
                name,
            ],
        );
        profile
    }

    /// Syncs `profile` until its output holds `text` (the hub pushes in the background),
    /// for at most ten seconds; everything it printed.
    pub fn sync_until(&self, profile: &Path, text: &str) -> String {
        let mut seen = String::new();
        for _ in 0..50 {
            seen.push_str(&self.ok(profile, &["sync"]));
            if seen.contains(text) {
                return seen;
            }
            std::thread::sleep(std::time::Duration::from_millis(200));
        }
        panic!(
            "{} never received {text:?}; it saw: {seen}",
            profile.display()
        );
    }
}

impl Provider {
    fn start(&self) -> Server {
        let args: Vec<&str> = self.args.iter().map(String::as_str).collect();
        Server::start_for(&self.data, &self.listen, &self.domain, &args)
    }
}

impl Drop for Federation {
    fn drop(&mut self) {
        for server in self.servers.drain(..) {
            server.kill9();
        }
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

#[test]
fn a_user_of_another_provider_joins_an_open_room_and_both_sides_talk() {
    let f = Federation::start("fed-open", &["a.example", "b.example"]);
    let alice = f.person(0, "alice");
    let bob = f.person(1, "bob");
    f.ok(&alice, &["room", "create", "lobby", "--preset", "open"]);

    // bob's provider relays his external join to the room's hub.
    let joined = f.ok(&bob, &["room", "join", "mimi://a.example/r/lobby"]);
    assert!(joined.contains("lobby"), "{joined}");
    f.sync_until(&alice, "changed (epoch 1)");
    f.ok(&alice, &["send", "lobby", "hello from a.example"]);
    f.sync_until(&bob, "hello from a.example");
    f.ok(
        &bob,
        &["send", "mimi://a.example/r/lobby", "hi from b.example"],
    );
    f.sync_until(&alice, "hi from b.example");
}

#[test]
fn a_user_adds_another_providers_user_who_consented_and_it_joins_by_welcome() {
    let f = Federation::start("fed-add", &["a.example", "b.example"]);
    let alice = f.person(0, "alice");
    let carol = f.person(1, "carol");
    f.ok(&alice, &["room", "create", "team"]);
    // Without consent, carol's provider hands out none of her KeyPackages.
    let refused = f.mimi(&alice, &["room", "add", "team", "carol@b.example"]);
    assert!(!refused.ok);
    assert!(refused.stderr.contains("consent"), "{}", refused.stderr);
    // alice asks through carol's provider; carol sees the request and grants it.
    f.ok(&alice, &["consent", "request", "carol@b.example"]);
    f.sync_until(&carol, "alice");
    f.ok(&carol, &["consent", "grant", "alice@a.example"]);
    f.ok(&alice, &["room", "add", "team", "carol@b.example"]);
    f.sync_until(&carol, "team");
    f.ok(&alice, &["send", "team", "welcome, carol"]);
    f.sync_until(&carol, "welcome, carol");
    f.ok(
        &carol,
        &["send", "mimi://a.example/r/team", "glad to be here"],
    );
    f.sync_until(&alice, "glad to be here");
}
