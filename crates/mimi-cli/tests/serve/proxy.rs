//! A forwarding HTTP/1.1 proxy that can lose answers (the request reaches the provider, the
//! provider acts on it, and the client never hears back: a dropped connection, a timeout),
//! drop requests, or forge the commits it forwards as a malicious client would.

use std::io::{BufRead as _, BufReader, Read as _, Write as _};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

/// A proxy in front of one upstream.
pub struct Proxy {
    pub addr: SocketAddr,
    losing: Arc<AtomicBool>,
    dropping: Arc<AtomicBool>,
    forging: Arc<AtomicBool>,
}

/// What the proxy does to requests whose path holds its marker.
struct Modes {
    losing: Arc<AtomicBool>,
    dropping: Arc<AtomicBool>,
    forging: Arc<AtomicBool>,
}

impl Proxy {
    /// Forwards to `upstream`; while [`Proxy::lose`] is on, answers to requests whose path
    /// contains `marker` are read from the upstream and then dropped.
    pub fn start(upstream: SocketAddr, marker: &'static str) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        let losing = Arc::new(AtomicBool::new(false));
        let dropping = Arc::new(AtomicBool::new(false));
        let forging = Arc::new(AtomicBool::new(false));
        let modes = Arc::new(Modes {
            losing: losing.clone(),
            dropping: dropping.clone(),
            forging: forging.clone(),
        });
        std::thread::spawn(move || {
            for conn in listener.incoming().flatten() {
                let modes = modes.clone();
                std::thread::spawn(move || {
                    let _ = forward(conn, upstream, marker, &modes);
                });
            }
        });
        Self {
            addr,
            losing,
            dropping,
            forging,
        }
    }

    /// Forges the commits of requests whose path contains the marker (true): the last byte
    /// of the MLS message, its membership tag, is garbled. The provider, without the
    /// epoch's secrets, cannot tell; the other members can.
    pub fn forge_commits(&self, on: bool) {
        self.forging.store(on, Ordering::SeqCst);
    }

    /// Drops requests whose path contains the marker before they reach the provider (true),
    /// or forwards them (false).
    pub fn drop_requests(&self, on: bool) {
        self.dropping.store(on, Ordering::SeqCst);
    }

    /// Loses answers (true) or passes them on (false).
    pub fn lose(&self, on: bool) {
        self.losing.store(on, Ordering::SeqCst);
    }
}

/// One request per connection: the upstream is asked to close after answering.
fn forward(
    conn: TcpStream,
    upstream: SocketAddr,
    marker: &str,
    modes: &Modes,
) -> std::io::Result<()> {
    let mut reader = BufReader::new(conn.try_clone()?);
    let mut head = Vec::new();
    let mut length = 0usize;
    let mut path = String::new();
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line)? == 0 {
            return Ok(());
        }
        if path.is_empty() {
            path = line
                .split_whitespace()
                .nth(1)
                .unwrap_or_default()
                .to_owned();
        }
        let lower = line.to_ascii_lowercase();
        if let Some(v) = lower.strip_prefix("content-length:") {
            length = v.trim().parse().unwrap_or(0);
        }
        if line == "\r\n" {
            break;
        }
        if !lower.starts_with("connection:") && !lower.starts_with("content-length:") {
            head.push(line);
        }
    }
    let mut body = vec![0; length];
    reader.read_exact(&mut body)?;
    if modes.forging.load(Ordering::SeqCst) && path.contains(marker) {
        body = garble_commit(&body);
    }
    if modes.dropping.load(Ordering::SeqCst) && path.contains(marker) {
        // The provider never hears of it.
        return conn.shutdown(std::net::Shutdown::Both);
    }
    let mut up = TcpStream::connect(upstream)?;
    up.write_all(head.concat().as_bytes())?;
    up.write_all(format!("Content-Length: {}\r\n", body.len()).as_bytes())?;
    up.write_all(b"Connection: close\r\n\r\n")?;
    up.write_all(&body)?;
    let mut answer = Vec::new();
    up.read_to_end(&mut answer)?;
    if modes.losing.load(Ordering::SeqCst) && path.contains(marker) {
        // The provider has acted; the client hears nothing.
        return conn.shutdown(std::net::Shutdown::Both);
    }
    let mut conn = conn;
    conn.write_all(&answer)?;
    conn.shutdown(std::net::Shutdown::Both)
}

/// The JSON body with the last byte of its base64 `commit` flipped.
fn garble_commit(body: &[u8]) -> Vec<u8> {
    use base64::Engine as _;
    let b64 = base64::engine::general_purpose::STANDARD;
    let mut json: serde_json::Value = serde_json::from_slice(body).unwrap();
    let mut commit = b64.decode(json["commit"].as_str().unwrap()).unwrap();
    *commit.last_mut().unwrap() ^= 0x55;
    json["commit"] = b64.encode(commit).into();
    serde_json::to_vec(&json).unwrap()
}
