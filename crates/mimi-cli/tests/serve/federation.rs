//! Providers among providers (issue 15, decision 0015): rooms hosted by one provider with
//! members on others, over mutually authenticated TLS, each provider with a certificate
//! from one private authority and its own database.

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::client::Out;
use crate::server::{Server, scratch};

/// Every provider's operator token (`/v1/reports`).
const OPERATOR: &str = "operator-secret";

/// Providers on loopback that know each other.
pub(crate) struct Federation {
    pub dir: PathBuf,
    /// The authority every provider's certificate comes from (`MIMI_CA_CERT` of clients).
    pub ca: PathBuf,
    pub servers: Vec<Server>,
    /// Each provider's domain, its client URL and its serve arguments (to restart it).
    pub providers: Vec<Provider>,
    /// The PostgreSQL schemas of providers that use one (dropped at the end).
    schemas: Vec<crate::postgres::Schema>,
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

/// A port free now, for a provider its peers must know before it starts. It is taken below
/// the kernel's ephemeral range (`/proc/sys/net/ipv4/ip_local_port_range`, 32768 and up
/// here), so that while a test has killed a provider, no other test's listener on port 0
/// and no outgoing connection can be given its port before it starts again there. Each
/// test process walks the range from a random place, so two calls never give one port.
fn free_port() -> u16 {
    use std::hash::{BuildHasher as _, Hasher as _};
    use std::sync::atomic::{AtomicU32, Ordering};
    const LOW: u32 = 20_000;
    const SPAN: u32 = 12_000;
    static NEXT: AtomicU32 = AtomicU32::new(u32::MAX);
    let start = std::collections::hash_map::RandomState::new()
        .build_hasher()
        .finish() as u32
        % SPAN;
    let _ = NEXT.compare_exchange(u32::MAX, start, Ordering::Relaxed, Ordering::Relaxed);
    for _ in 0..SPAN {
        let port = (LOW + NEXT.fetch_add(1, Ordering::Relaxed) % SPAN) as u16;
        if std::net::TcpListener::bind(("127.0.0.1", port)).is_ok() {
            return port;
        }
    }
    panic!("no free port between {LOW} and {}", LOW + SPAN);
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
    /// Starts a provider for each of `domains`, each trusting the others, on SQLite.
    pub fn start(name: &str, domains: &[&str]) -> Self {
        Self::start_on(name, domains, &[])
    }

    /// Like [`Federation::start`], the providers of `on_postgres` (indexes) on a fresh
    /// PostgreSQL schema each when `MIMI_TEST_POSTGRES_URL` is set.
    pub fn start_on(name: &str, domains: &[&str], on_postgres: &[usize]) -> Self {
        let dir = scratch(name);
        let ca_dir = dir.join("ca");
        tool(&["tls", "dev-ca", ca_dir.to_str().unwrap()]);
        let ports: Vec<u16> = domains.iter().map(|_| free_port()).collect();
        let mut providers = Vec::new();
        let mut schemas = Vec::new();
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
                "--metrics-token".to_owned(),
                OPERATOR.to_owned(),
            ];
            if on_postgres.contains(&i)
                && let Some(schema) =
                    crate::postgres::Schema::create(&format!("{name}_{i}").replace('-', "_"))
            {
                args.push("--database".to_owned());
                args.push(schema.url.clone());
                schemas.push(schema);
            }
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
            schemas,
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
        self.schemas.clear();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

#[test]
fn a_user_of_another_provider_joins_an_open_room_and_both_sides_talk() {
    let f = Federation::start("fed-open", &["a.example", "b.example"]);
    let alice = f.person(0, "alice");
    // Names may be any letters: they cross providers percent-encoded.
    let bob = f.person(1, "björn");
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
    let seen = f.sync_until(&alice, "hi from b.example");
    assert!(seen.contains("mimi://b.example/d/björn/"), "{seen}");

    // The room's document, read through b.example.
    let doc: serde_json::Value = serde_json::from_str(&f.ok(
        &bob,
        &["room", "show", "mimi://a.example/r/lobby", "--json"],
    ))
    .unwrap();
    assert!(
        doc["clients"]["mimi://b.example/u/björn"].is_array(),
        "{doc}"
    );
    // Attachments both ways: kept by a.example, uploaded and fetched through each one's
    // own provider.
    let file = f.dir.join("notes.txt");
    std::fs::write(&file, "the minutes").unwrap();
    let sent: serde_json::Value = serde_json::from_str(&f.ok(
        &bob,
        &[
            "send",
            "mimi://a.example/r/lobby",
            "notes",
            "--file",
            file.to_str().unwrap(),
            "--json",
        ],
    ))
    .unwrap();
    let id = format!("#{}", &sent["id"].as_str().unwrap()[2..10]);
    f.sync_until(&alice, "notes.txt");
    let got = f.dir.join("got.txt");
    f.ok(
        &alice,
        &[
            "attachment",
            "get",
            "lobby",
            &id,
            "--out",
            got.to_str().unwrap(),
        ],
    );
    assert_eq!(std::fs::read_to_string(&got).unwrap(), "the minutes");
    let again = f.dir.join("again.txt");
    f.ok(
        &bob,
        &[
            "attachment",
            "get",
            "mimi://a.example/r/lobby",
            &id,
            "--out",
            again.to_str().unwrap(),
        ],
    );
    assert_eq!(std::fs::read_to_string(&again).unwrap(), "the minutes");
}

#[test]
fn another_providers_user_is_added_by_consent_and_its_new_and_deleted_devices_follow() {
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

    // carol's new device joins her rooms, on a.example too, by itself.
    let phone = f.dir.join("carol-phone");
    f.ok(
        &phone,
        &[
            "account",
            "login",
            "--server",
            &f.providers[1].url,
            "--user",
            "carol",
        ],
    );
    f.ok(&phone, &["device", "add", "phone"]);
    let joined = f.ok(&phone, &["sync"]);
    assert!(joined.contains("mimi://a.example/r/team"), "{joined}");
    f.sync_until(&alice, "(epoch 2)");
    // Her first device deleted on b.example: b.example asks, a.example's hub proposes its
    // removal, and alice's device commits it.
    f.ok(&phone, &["device", "remove", "cli"]);
    let carol_clients = || {
        let shown: serde_json::Value =
            serde_json::from_str(&f.ok(&alice, &["room", "show", "team", "--json"])).unwrap();
        shown["clients"]["mimi://b.example/u/carol"].clone()
    };
    let mut left = serde_json::Value::Null;
    for _ in 0..50 {
        f.ok(&alice, &["sync"]);
        left = carol_clients();
        if left == serde_json::json!(["phone"]) {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(200));
    }
    assert_eq!(left, serde_json::json!(["phone"]));
}

/// An HTTPS client trusting `ca`, presenting the certificate in `identity` (a directory
/// from `mimi tls dev-cert`) if given.
fn peer_client(ca: &Path, identity: Option<&Path>) -> reqwest::blocking::Client {
    use rustls::pki_types::pem::PemObject as _;
    use rustls::pki_types::{CertificateDer, PrivateKeyDer};
    let mut roots = rustls::RootCertStore::empty();
    for cert in CertificateDer::pem_file_iter(ca).unwrap() {
        roots.add(cert.unwrap()).unwrap();
    }
    let builder = rustls::ClientConfig::builder_with_provider(std::sync::Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .unwrap()
    .with_root_certificates(roots);
    let config = match identity {
        Some(dir) => {
            let chain = CertificateDer::pem_file_iter(dir.join("cert.pem"))
                .unwrap()
                .collect::<Result<Vec<_>, _>>()
                .unwrap();
            let key = PrivateKeyDer::from_pem_file(dir.join("key.pem")).unwrap();
            builder.with_client_auth_cert(chain, key).unwrap()
        }
        None => builder.with_no_client_auth(),
    };
    reqwest::blocking::Client::builder()
        .tls_backend_preconfigured(config)
        .build()
        .unwrap()
}

/// A consent request of `requester` to bob of b.example, as a provider sends it.
fn consent_request(requester: &str) -> Vec<u8> {
    use mimi_protocol::consent::{Consent, ConsentEntry};
    mimi_protocol::encode(&ConsentEntry {
        requester_uri: mimi_protocol::Text::new(requester).unwrap(),
        target_uri: mimi_protocol::Text::new("mimi://b.example/u/bob").unwrap(),
        room_id: None,
        operation: Consent::Request,
        consent_extensions: mimi_protocol::Mls::new(vec![0]).unwrap(),
    })
    .unwrap()
}

#[test]
fn a_peer_request_is_taken_only_from_the_provider_its_certificate_names() {
    let f = Federation::start("fed-auth", &["a.example", "b.example"]);
    let ca_dir = f.ca.parent().unwrap().to_path_buf();
    // Another provider certified by the same authority, and one by another authority.
    let c_tls = f.dir.join("c.example-tls");
    certificate(&ca_dir, "c.example", &c_tls);
    let rogue_ca = f.dir.join("rogue-ca");
    tool(&["tls", "dev-ca", rogue_ca.to_str().unwrap()]);
    let rogue = f.dir.join("rogue-tls");
    certificate(&rogue_ca, "a.example", &rogue);
    let a_tls = f.dir.join("a.example-tls");
    let bob = f.person(1, "bob");
    let url = format!(
        "{}/mimi/v1/requestConsent/mimi%3A%2F%2Fb.example%2Fu%2Fbob",
        f.providers[1].url
    );
    let send = |client: &reqwest::blocking::Client, from: &str, requester: &str| {
        client
            .post(&url)
            .header("From", format!("mimi@{from}"))
            .body(consent_request(requester))
            .send()
    };
    let code = |r: reqwest::blocking::Response| {
        let status = r.status().as_u16();
        let body: serde_json::Value = r.json().unwrap_or_default();
        (status, body["code"].as_str().unwrap_or_default().to_owned())
    };

    let as_a = peer_client(&f.ca, Some(&a_tls));
    // Another provider's certificate, or none, does not make a request a.example's.
    let as_c = peer_client(&f.ca, Some(&c_tls));
    assert_eq!(
        code(send(&as_c, "a.example", "mimi://a.example/u/alice").unwrap()),
        (403, "peer-not-authenticated".into())
    );
    let anonymous = peer_client(&f.ca, None);
    assert_eq!(
        code(send(&anonymous, "a.example", "mimi://a.example/u/alice").unwrap()),
        (403, "peer-not-authenticated".into())
    );
    // a.example's certificate speaks for a.example only, and for its own users only.
    assert_eq!(
        code(send(&as_a, "c.example", "mimi://c.example/u/mallory").unwrap()),
        (403, "peer-not-authenticated".into())
    );
    assert_eq!(
        code(send(&as_a, "a.example", "mimi://c.example/u/mallory").unwrap()),
        (403, "wrong-peer".into())
    );
    // A certificate from an authority b.example does not trust ends the handshake.
    assert!(
        send(
            &peer_client(&f.ca, Some(&rogue)),
            "a.example",
            "mimi://a.example/u/alice"
        )
        .is_err()
    );
    // Garbage is refused as such, and changes nothing.
    let garbage = as_a
        .post(&url)
        .header("From", "mimi@a.example")
        .body(vec![9, 9, 9])
        .send()
        .unwrap();
    assert_eq!(code(garbage), (400, "bad-message".into()));
    let nothing = f.ok(&bob, &["sync"]);
    assert!(
        !nothing.contains("mallory") && !nothing.contains("alice"),
        "{nothing}"
    );
    // The real thing is taken, once however often it comes: bob hears of alice once.
    for _ in 0..2 {
        assert_eq!(
            send(&as_a, "a.example", "mimi://a.example/u/alice")
                .unwrap()
                .status()
                .as_u16(),
            201
        );
    }
    let asked = f.ok(&bob, &["sync"]);
    assert_eq!(asked.matches("asks to add you").count(), 1, "{asked}");

    // A user cannot make its provider call an address, nor learn what answers there.
    let alice = f.person(0, "alice");
    let probe = f.mimi(&alice, &["consent", "request", "x@127.0.0.1", "--json"]);
    assert!(!probe.ok);
    let refusal: serde_json::Value = serde_json::from_str(probe.stdout.trim()).unwrap();
    assert_eq!(refusal["code"], "peer-unreachable", "{refusal}");
    assert_eq!(
        refusal["message"], "127.0.0.1 cannot be reached now",
        "{refusal}"
    );
    assert!(asked.contains("mimi://a.example/u/alice"), "{asked}");
}

#[test]
fn three_providers_share_a_room_and_a_follower_killed_during_traffic_misses_nothing() {
    // c.example keeps its state in PostgreSQL (when the tests have one), the others SQLite.
    let mut f = Federation::start_on("fed-three", &["a.example", "b.example", "c.example"], &[2]);
    let alice = f.person(0, "alice");
    let bob = f.person(1, "bob");
    let carol = f.person(2, "carol");
    f.ok(&alice, &["room", "create", "lobby", "--preset", "open"]);
    let lobby = "mimi://a.example/r/lobby";
    f.ok(&bob, &["room", "join", lobby]);
    f.ok(&carol, &["room", "join", lobby]);
    f.sync_until(&alice, "(epoch 2)");
    f.sync_until(&bob, "(epoch 2)");
    // carol's message reaches bob through the hub: c.example -> a.example -> b.example.
    f.ok(&carol, &["send", lobby, "carol says hi"]);
    let mut bob_saw = f.sync_until(&bob, "carol says hi");

    // bob's provider dies (SIGKILL) in the middle of the room's traffic.
    for i in 1..=10 {
        if i == 4 {
            f.servers.remove(1).kill9();
        }
        f.ok(&alice, &["send", "lobby", &format!("msg-{i:02}.")]);
    }
    f.ok(&carol, &["send", lobby, "carol again"]);
    // Back where its peers expect it: the hub pushes what it missed.
    f.servers.insert(1, f.providers[1].start());
    bob_saw.push_str(&f.sync_until(&bob, "carol again"));
    bob_saw.push_str(&f.ok(&bob, &["sync"]));
    for i in 1..=10 {
        let m = format!("msg-{i:02}.");
        assert_eq!(bob_saw.matches(&m).count(), 1, "{m} in: {bob_saw}");
    }
    assert_eq!(bob_saw.matches("carol again").count(), 1, "{bob_saw}");
    // And in order.
    let at = |m: &str| bob_saw.find(m).unwrap();
    assert!(at("msg-01.") < at("msg-05.") && at("msg-05.") < at("msg-10."));

    // The hub dies: its followers' users are told it cannot be reached, and catch up with
    // it when it returns.
    f.servers.remove(0).kill9();
    let down = f.mimi(&carol, &["send", lobby, "anyone there?", "--json"]);
    assert!(!down.ok);
    let refusal: serde_json::Value = serde_json::from_str(down.stdout.trim()).unwrap();
    assert_eq!(refusal["code"], "peer-unreachable", "{refusal}");
    f.servers.insert(0, f.providers[0].start());
    f.ok(&carol, &["send", lobby, "back again"]);
    f.sync_until(&bob, "back again");
    f.sync_until(&alice, "back again");
}

#[test]
fn a_ban_by_the_hub_keeps_another_providers_user_out() {
    let f = Federation::start("fed-ban", &["a.example", "b.example"]);
    let alice = f.person(0, "alice");
    let bob = f.person(1, "bob");
    f.ok(&alice, &["room", "create", "lobby", "--preset", "open"]);
    let lobby = "mimi://a.example/r/lobby";
    f.ok(&bob, &["room", "join", lobby]);
    f.sync_until(&alice, "(epoch 1)");
    f.ok(
        &alice,
        &["room", "ban", "lobby", "bob@b.example", "--reason", "spam"],
    );
    f.sync_until(&bob, "no longer in");
    // His provider relays his attempt back in; the hub's refusal comes back as it was.
    let join = f.mimi(&bob, &["room", "join", lobby, "--json"]);
    assert!(!join.ok);
    let refusal: serde_json::Value = serde_json::from_str(join.stdout.trim())
        .unwrap_or_else(|e| panic!("{e}: {} {}", join.stdout, join.stderr));
    assert_eq!(refusal["code"], "banned", "{refusal}");
    assert!(refusal["rule"].is_string(), "{refusal}");
    let sent = f.mimi(&bob, &["send", lobby, "let me in"]);
    assert!(!sent.ok);
}

/// The device token in `profile`.
fn device_token(profile: &Path) -> String {
    let file: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(profile.join("profile.json")).unwrap())
            .unwrap();
    file["device"]["token"].as_str().unwrap().to_owned()
}

#[test]
fn an_abuse_report_reaches_the_rooms_hub_and_a_handle_query_its_provider() {
    let f = Federation::start("fed-report", &["a.example", "b.example"]);
    let alice = f.person(0, "alice");
    let bob = f.person(1, "bob");
    let dave = f.person(1, "dave");
    f.ok(&alice, &["room", "create", "lobby", "--preset", "open"]);
    f.ok(&bob, &["room", "join", "mimi://a.example/r/lobby"]);
    let http = peer_client(&f.ca, None);
    let report = |who: &Path| {
        http.post(format!(
            "{}/v1/rooms/a.example/lobby/reports",
            f.providers[1].url
        ))
        .bearer_auth(device_token(who))
        .json(&serde_json::json!({
            "alleged_abuser": "mimi://a.example/u/alice", "reason": "spam", "note": "ads"
        }))
        .send()
        .unwrap()
    };
    // bob reports through b.example; a.example's operator reads it.
    assert_eq!(report(&bob).status().as_u16(), 202);
    let reports: serde_json::Value = http
        .get(format!("{}/v1/reports", f.providers[0].url))
        .bearer_auth(OPERATOR)
        .send()
        .unwrap()
        .json()
        .unwrap();
    let kept = &reports["reports"][0];
    assert_eq!(kept["reporter"], "mimi://b.example/u/bob", "{reports}");
    assert_eq!(kept["reason"], "spam");
    assert_eq!(kept["note"], "ads");
    // dave has no place in the room: the hub's refusal comes back as it was.
    let refused = report(&dave);
    assert_eq!(refused.status().as_u16(), 403);
    let body: serde_json::Value = refused.json().unwrap();
    assert_eq!(body["code"], "not-in-room", "{body}");

    // a.example asks b.example which user a handle names.
    use mimi_protocol::consent::*;
    let as_a = peer_client(&f.ca, Some(&f.dir.join("a.example-tls")));
    let query = |search: Search, value: &str| {
        let request = IdentifierRequest {
            query_elements: vec![QueryElement {
                search,
                search_value: mimi_protocol::Text::new(value).unwrap(),
            }],
            id_request_extensions: mimi_protocol::Mls::new(vec![0]).unwrap(),
        };
        let answer = as_a
            .post(format!(
                "{}/mimi/v1/identifierQuery/b.example",
                f.providers[1].url
            ))
            .header("From", "mimi@a.example")
            .body(mimi_protocol::encode(&request).unwrap())
            .send()
            .unwrap();
        assert_eq!(answer.status().as_u16(), 200);
        mimi_protocol::decode_exact::<IdentifierResponse>(&answer.bytes().unwrap()).unwrap()
    };
    let found = query(
        Search::Plain(SearchIdentifierType::Handle),
        "im:bob@b.example",
    );
    assert_eq!(found.response_code, IdentifierQueryCode::Success);
    assert_eq!(found.uri[0].as_str(), "mimi://b.example/u/bob");
    let none = query(
        Search::Plain(SearchIdentifierType::Handle),
        "nobody@b.example",
    );
    assert_eq!(none.response_code, IdentifierQueryCode::NotFound);
    let unsupported = query(Search::VcardField(b"NICKNAME".to_vec().into()), "bobby");
    assert_eq!(
        unsupported.response_code,
        IdentifierQueryCode::UnsupportedField
    );
}

#[test]
fn another_providers_user_knocks_and_a_moderator_of_the_hub_lets_it_in() {
    let f = Federation::start("fed-knock", &["a.example", "b.example"]);
    let alice = f.person(0, "alice");
    let carol = f.person(0, "carol");
    let dave = f.person(1, "dave");
    f.ok(&alice, &["room", "create", "team"]);
    f.ok(&carol, &["consent", "grant", "alice"]);
    f.ok(&alice, &["room", "add", "team", "carol"]);
    f.sync_until(&carol, "joined");
    // Members-only: dave may not join by himself, but he may knock, through b.example.
    f.ok(&dave, &["room", "knock", "mimi://a.example/r/team"]);
    let told = f.sync_until(&alice, "knock");
    assert!(told.contains("mimi://b.example/u/dave"), "{told}");
    // carol, a member but no moderator, may not let him in on his knock: her provider,
    // the room's, does not ask b.example for his KeyPackages.
    let refused = f.mimi(&carol, &["room", "add", "team", "dave@b.example", "--json"]);
    assert!(!refused.ok);
    let refusal: serde_json::Value = serde_json::from_str(refused.stdout.trim()).unwrap();
    assert_eq!(refusal["code"], "consent-required", "{refusal}");
    // alice may: b.example hands his KeyPackages to her for the room he knocked on.
    f.ok(&alice, &["room", "add", "team", "dave@b.example"]);
    f.sync_until(&dave, "joined");
    f.ok(&alice, &["send", "team", "come in, dave"]);
    f.sync_until(&dave, "come in, dave");
    // The knock is answered on both sides: a.example lists it no more.
    let knocks = f.ok(&alice, &["room", "knocks", "team"]);
    assert!(!knocks.contains("dave"), "{knocks}");
}

#[test]
fn a_one_on_one_room_across_providers_lives_with_the_first_occupant_and_both_name_it() {
    let f = Federation::start("fed-dm", &["a.example", "b.example"]);
    let alice = f.person(0, "alice");
    let bob = f.person(1, "bob");
    // bob first: the room lives on a.example (alice's URI sorts first); he asks her to
    // open it.
    let asked: serde_json::Value =
        serde_json::from_str(&f.ok(&bob, &["dm", "alice@a.example", "--json"])).unwrap();
    assert_eq!(asked["asked"], "mimi://a.example/u/alice", "{asked}");
    let room = asked["room"].as_str().unwrap().to_owned();
    assert!(
        room.starts_with("im:mimi=%23%23") && room.ends_with("@a.example"),
        "{room}"
    );
    let told = f.sync_until(&alice, "asks you into a fixed room");
    assert!(told.contains("`mimi dm mimi://b.example/u/bob`"), "{told}");
    // alice names the same room, and opens it.
    let opened: serde_json::Value =
        serde_json::from_str(&f.ok(&alice, &["dm", "bob@b.example", "--json"])).unwrap();
    assert_eq!(opened["room"], room.as_str());
    assert_eq!(opened["created"], true);
    let joined: serde_json::Value =
        serde_json::from_str(&f.ok(&bob, &["dm", "alice@a.example", "--json"])).unwrap();
    assert_eq!(joined["room"], room.as_str());
    assert_eq!(joined["created"], false);
    assert!(joined["asked"].is_null(), "{joined}");
    f.sync_until(&alice, "changed");
    f.ok(&alice, &["send", &room, "just us"]);
    f.sync_until(&bob, "just us");
}
