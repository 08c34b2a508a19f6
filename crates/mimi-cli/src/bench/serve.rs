//! `mimi bench serve`: a provider under load. Starts `mimi serve` (SQLite, a scratch data
//! directory) as a child process, creates a room of `--members` users (one device each),
//! has `--senders` of them submit `--messages` end-to-end encrypted messages concurrently
//! while every member device receives over `/v1/sync` and acknowledges, and prints one JSON
//! line: messages accepted per second, fan-out deliveries per second, p50/p99 submit
//! latency, each delivery's time from its submit to its arrival (`delivery_p50_ms`...; with
//! `--rate` the senders are paced, with `--receive events` the receivers are on the event
//! stream), the server's peak memory, and the time the disk takes to flush a write (the
//! figures depend on it more than on anything else about the machine), and the CPU the
//! providers and the load generator used per delivery while the messages went out and in
//! (`server_cpu_us_per_delivery`, `load_cpu_us_per_delivery`). One receiver also decrypts
//! every message it got, once the deliveries are over (`decrypt_mean_ms`).
//!
//! `--database postgres://...` runs the provider on PostgreSQL (in a schema of the run's
//! own), `--processes N` runs N providers on it (senders on the first, receivers on the
//! last), and `--idle-devices N` connects that many devices that receive nothing and
//! measures the provider's CPU with only them connected (`idle_cpu_percent`).
//!
//! Messages are encrypted before the clock starts (each sender's in order, in the room's
//! epoch): the figures are the provider's, not the clients' MLS work.

use std::borrow::Cow;
use std::io::{BufRead as _, BufReader};
use std::process::{Child, Command, Stdio};
use std::time::Instant;

use anyhow::{Context as _, anyhow, bail};
use base64::Engine as _;
use mimi_api as api;
use mimi_mls::key_package::validate_key_package;
use mimi_mls::member::{Client, RoomGroup};
use mimi_policy::document::{Affiliations, SeedDocument};
use mimi_policy::id::{ClientId, RoomId, UserId};
use openmls::prelude::ExternalSender;
use openmls_traits::OpenMlsProvider as _;
use serde_json::{Value, json};
use tls_codec::Deserialize as _;

use crate::InputError;

/// Arguments of `mimi bench serve`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Users in the room (one device each).
    #[arg(long, default_value_t = 100)]
    members: usize,
    /// Messages sent in all.
    #[arg(long, default_value_t = 10_000)]
    messages: usize,
    /// Members sending concurrently.
    #[arg(long, default_value_t = 10)]
    senders: usize,
    /// Messages per request (1: each its own request; more: a client flushing a queue).
    #[arg(long, default_value_t = 1)]
    batch: usize,
    /// Pace the senders at this many messages per second in all (as people type), instead
    /// of as fast as the provider takes them.
    #[arg(long, value_name = "R")]
    rate: Option<f64>,
    /// How receivers get their entries: `poll` (long polls of /v1/sync, letting entries
    /// gather for 100 ms), or `events` (the server-sent event stream, each entry as soon as
    /// it is stored).
    #[arg(long, value_enum, default_value_t = Receive::Poll)]
    receive: Receive,
    /// The provider's database: SQLite in a scratch directory (the default), or a
    /// PostgreSQL database (`postgres://...`), in which the run makes a schema of its own
    /// and drops it at the end.
    #[arg(long, value_name = "URL")]
    database: Option<String>,
    /// `mimi serve` processes on the one database (more than one needs PostgreSQL): the
    /// room is made and the senders send through the first, the receivers receive through
    /// the last, so that every delivery crosses between processes.
    #[arg(long, default_value_t = 1)]
    processes: usize,
    /// Devices connected with their event streams open that receive nothing (spread over
    /// the processes), through the whole run. Before the load, the provider's CPU with only
    /// them connected is measured for `--idle-seconds` (`idle_cpu_percent`, of one core).
    #[arg(long, default_value_t = 0)]
    idle_devices: usize,
    /// How long the idle devices' CPU is measured.
    #[arg(long, default_value_t = 10.0)]
    idle_seconds: f64,
    /// The `mimi` binary run as the provider (default: this one): another build's provider
    /// under this load generator, for figures side by side.
    #[arg(long, value_name = "PATH")]
    server_exe: Option<std::path::PathBuf>,
}

/// How the bench's receivers get entries.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
enum Receive {
    /// `/v1/sync` long polls.
    Poll,
    /// The `/v1/events` stream.
    Events,
}

pub(crate) fn b64(bytes: &[u8]) -> String {
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

pub(crate) fn unb64(v: &str) -> anyhow::Result<Vec<u8>> {
    Ok(base64::engine::general_purpose::STANDARD.decode(v)?)
}

pub(crate) struct Server {
    child: Child,
    pub(crate) url: String,
    /// How it was started, to start it again ([`Server::restart`]).
    exe: Option<std::path::PathBuf>,
    dir: std::path::PathBuf,
    database: Option<String>,
    extra: Vec<String>,
    env: Vec<(String, String)>,
}

impl Server {
    /// `mimi serve` (of `exe`, or this binary) with its data in `dir`, on `database`
    /// (none: SQLite in `dir`).
    pub(crate) fn start(
        exe: Option<&std::path::Path>,
        dir: &std::path::Path,
        database: Option<&str>,
    ) -> anyhow::Result<Self> {
        Self::spawn(exe, dir, database, &[], &[])
    }

    /// `env`: variables added to the provider's environment (not the load generator's).
    fn spawn(
        exe: Option<&std::path::Path>,
        dir: &std::path::Path,
        database: Option<&str>,
        extra: &[&str],
        env: &[(String, String)],
    ) -> anyhow::Result<Self> {
        let exe = match exe {
            Some(e) => e.to_owned(),
            None => std::env::current_exe()?,
        };
        let mut command = Command::new(&exe);
        command.arg("serve");
        if let Some(url) = database {
            command.args(["--database", url]);
        }
        command.args(extra);
        let mut child = command
            .args([
                "--listen",
                "127.0.0.1:0",
                "--domain",
                "bench.example",
                // A load generator is not a person: its sign-ups and requests go unlimited.
                "--signups-per-hour",
                "0",
                "--logins-per-minute",
                "0",
                "--requests-per-second",
                "0",
            ])
            .arg("--data-dir")
            .arg(dir)
            .env("RUST_LOG", "warn")
            .envs(env.iter().map(|(k, v)| (k, v)))
            .stdout(Stdio::piped())
            .spawn()
            .context("starting mimi serve")?;
        let mut line = String::new();
        BufReader::new(child.stdout.take().context("no stdout")?).read_line(&mut line)?;
        let url = line
            .trim()
            .rsplit_once(" on ")
            .map(|(_, u)| u.to_owned())
            .ok_or_else(|| anyhow!("unexpected output of mimi serve: {line:?}"))?;
        Ok(Self {
            child,
            url,
            exe: exe.into(),
            dir: dir.to_owned(),
            database: database.map(str::to_owned),
            extra: extra.iter().map(|&a| a.to_owned()).collect(),
            env: env.to_vec(),
        })
    }

    /// Stops the provider and starts it again on the same data, in a new process (on a new
    /// port: [`Server::url`] changes).
    pub(crate) fn restart(&mut self) -> anyhow::Result<()> {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let extra: Vec<&str> = self.extra.iter().map(String::as_str).collect();
        let next = Self::spawn(
            self.exe.as_deref(),
            &self.dir,
            self.database.as_deref(),
            &extra,
            &self.env,
        )?;
        *self = next;
        Ok(())
    }

    /// The server's resident memory now, in MiB.
    pub(crate) fn rss_mib(&self) -> Option<f64> {
        self.status_kb("VmRSS:").map(|kb| kb / 1024.0)
    }

    /// A `kB` figure of the server's `/proc/PID/status`.
    fn status_kb(&self, field: &str) -> Option<f64> {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.child.id())).ok()?;
        status
            .lines()
            .find_map(|l| l.strip_prefix(field))?
            .trim()
            .trim_end_matches("kB")
            .trim()
            .parse()
            .ok()
    }

    /// The CPU time the server has used, seconds.
    fn cpu_seconds(&self, ticks_per_s: f64) -> Option<f64> {
        cpu_seconds(&self.child.id().to_string(), ticks_per_s)
    }

    /// The server's peak resident memory, in MiB.
    pub(crate) fn peak_mib(&self) -> Option<f64> {
        self.status_kb("VmHWM:").map(|kb| kb / 1024.0)
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// What a receiver reads of `/v1/sync` (`mimi_api::SyncBatch`): the entries' positions,
/// kinds and messages (it matches each to the submit that sent it).
/// Borrowed from the answer's text where it can be (no string of an entry is copied).
#[derive(serde::Deserialize)]
struct Pending<'a> {
    #[serde(borrow)]
    entries: Vec<PendingEntry<'a>>,
}

#[derive(serde::Deserialize)]
struct PendingEntry<'a> {
    #[serde(borrow)]
    room: Cow<'a, str>,
    seq: u64,
    #[serde(borrow)]
    kind: Cow<'a, str>,
    #[serde(default, borrow)]
    sender: Cow<'a, str>,
    #[serde(default, borrow)]
    message: Cow<'a, str>,
}

/// When each message's submit started (ns since the run's start, plus one; 0: not yet), by
/// the message's base64, so that a receiver times each delivery on the one clock.
struct Clock {
    start: Instant,
    /// A permit for each receiver that has the warm-up message (the one message not
    /// timed): its stream or long poll is open and its first read done.
    warm: tokio::sync::Semaphore,
    index: std::collections::HashMap<String, usize, TailHashing>,
    sent_at: Vec<std::sync::atomic::AtomicU64>,
}

/// Hashes a message's base64 by its last 16 bytes alone: they encode the end of its AEAD
/// tag, different for every message (keys are still compared whole). SipHash over the
/// whole text was a twentieth of the receivers' time at saturation.
#[derive(Default)]
struct TailHash(u64);

impl std::hash::Hasher for TailHash {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        for chunk in bytes[bytes.len().saturating_sub(16)..].chunks(8) {
            let mut word = [0u8; 8];
            word[..chunk.len()].copy_from_slice(chunk);
            self.0 = (self.0 ^ u64::from_le_bytes(word))
                .wrapping_mul(0x9e37_79b9_7f4a_7c15)
                .rotate_left(29);
        }
    }
}

type TailHashing = std::hash::BuildHasherDefault<TailHash>;

impl Clock {
    fn now_ns(&self) -> u64 {
        u64::try_from(self.start.elapsed().as_nanos()).unwrap_or(u64::MAX)
    }

    fn sent(&self, message: &str) {
        if let Some(i) = self.index.get(message) {
            self.sent_at[*i].store(self.now_ns() + 1, std::sync::atomic::Ordering::Relaxed);
        }
    }

    /// Which message `message` is, and its delivery time, arrived at `at` (ns), in ms.
    fn latency_ms(&self, message: &str, at: u64) -> Option<(usize, f64)> {
        let i = *self.index.get(message)?;
        let sent = self
            .sent_at
            .get(i)?
            .load(std::sync::atomic::Ordering::Relaxed);
        (sent > 0).then(|| (i, (at.saturating_sub(sent - 1)) as f64 / 1e6))
    }
}

/// A receiver's tally: messages received, and each one's delivery time (ms).
#[derive(Default)]
struct Tally {
    got: usize,
    /// Each delivery: which message, and its time.
    latencies: Vec<(usize, f64)>,
    /// The member that decrypts what it receives (one receiver does: the others only
    /// count, so that the decryption of a hundred devices is not put on one thread).
    decrypting: Option<Decrypting>,
}

/// A member decrypting each message it receives, on a thread of its own and only once the
/// run's deliveries are over (the receivers' thread only hands the message over): the
/// decryptions take none of the machine's time while deliveries are timed.
struct Decrypting {
    /// The member's own client ID: its own messages come back to it, and MLS gives a
    /// sender no way to decrypt those (it keeps no key for them).
    own: String,
    messages: std::sync::mpsc::Sender<Vec<u8>>,
    /// Each decryption's time, ms, when the messages end.
    thread: std::thread::JoinHandle<anyhow::Result<Vec<f64>>>,
}

impl Decrypting {
    fn start(client: Client, mut group: RoomGroup) -> std::io::Result<Self> {
        let own = client.id().to_string();
        let (messages, rx) = std::sync::mpsc::channel::<Vec<u8>>();
        let thread = std::thread::Builder::new()
            .name("bench-decrypt".into())
            .spawn(move || {
                let received: Vec<Vec<u8>> = rx.into_iter().collect();
                let mut times = Vec::with_capacity(received.len());
                for bytes in received {
                    let t = Instant::now();
                    group
                        .process(&client, &bytes)
                        .context("decrypting a delivered message")?;
                    times.push(t.elapsed().as_secs_f64() * 1e3);
                }
                Ok(times)
            })?;
        Ok(Self {
            own,
            messages,
            thread,
        })
    }

    /// Each decryption's time, ms, once all are done.
    fn times(self) -> anyhow::Result<Vec<f64>> {
        drop(self.messages);
        self.thread
            .join()
            .map_err(|_| anyhow!("the decrypting thread panicked"))?
    }
}

impl Tally {
    fn take(&mut self, clock: &Clock, entries: &[PendingEntry<'_>], at: u64) -> anyhow::Result<()> {
        for e in entries.iter().filter(|e| e.kind == "message") {
            self.got += 1;
            match clock.latency_ms(&e.message, at) {
                Some(ms) => self.latencies.push(ms),
                None => clock.warm.add_permits(1),
            }
            if let Some(d) = self.decrypting.as_ref().filter(|d| e.sender != d.own) {
                // A closed channel: the thread failed, and says why when joined.
                let _ = d.messages.send(unb64(&e.message)?);
            }
        }
        Ok(())
    }
}

/// A runtime of the load generator's own, shut down without waiting when dropped (as it
/// must be inside another runtime, whichever way the run ends).
struct Background(Option<tokio::runtime::Runtime>);

impl Drop for Background {
    fn drop(&mut self) {
        if let Some(runtime) = self.0.take() {
            runtime.shutdown_background();
        }
    }
}

/// A receiver on the event stream: takes each `pending` event's entries as it arrives and
/// acknowledges them as the client does (`mimi_client::ACK_DELAY`: gathered, the latest
/// position once per delay, which is `ack_delay` for this device), until `expected`
/// messages came.
async fn receive_events(
    http: Http,
    token: String,
    clock: std::sync::Arc<Clock>,
    expected: usize,
    ack_delay: std::time::Duration,
    mut tally: Tally,
) -> anyhow::Result<Tally> {
    let mut answer = http
        .http
        .get(format!("{}/v1/events", http.base))
        .bearer_auth(&token)
        .send()
        .await?;
    if !answer.status().is_success() {
        bail!("GET /v1/events: {}", answer.status());
    }
    // Acknowledged beside the stream (which is never held up by one): the latest position,
    // `ack_delay` after the first entry not yet acknowledged.
    let (latest, mut to_ack) = tokio::sync::watch::channel::<Option<api::Ack>>(None);
    let mut acker = {
        let (http, token) = (http.clone(), token.clone());
        tokio::spawn(async move {
            while to_ack.changed().await.is_ok() {
                tokio::time::sleep(ack_delay).await;
                let ack = to_ack.borrow_and_update().clone();
                if let Some(ack) = ack {
                    let (): () = http
                        .call(reqwest::Method::POST, "/v1/ack", Some(&token), Some(&ack))
                        .await?;
                }
            }
            anyhow::Ok(())
        })
    };
    let mut events = SseEvents::default();
    while tally.got < expected {
        let chunk = tokio::select! {
            chunk = answer.chunk() => chunk?,
            // A failed acknowledgement ends the run (a stream may wait for it).
            ended = &mut acker => {
                ended??;
                bail!("the acknowledgements ended");
            }
        };
        let Some(chunk) = chunk else {
            bail!("the event stream ended");
        };
        let at = clock.now_ns();
        events.push(&chunk);
        while let Some(data) = events.next_data() {
            let v: Pending<'_> = serde_json::from_slice(data).context("an event's batch")?;
            tally.take(&clock, &v.entries, at)?;
            if let Some(last) = v.entries.last() {
                latest.send_replace(Some(last.ack()));
            }
        }
    }
    // What is still gathered does not matter to the run, which ends here; an acknowledgement
    // that failed does.
    drop(latest);
    if acker.is_finished() {
        acker.await??;
    } else {
        acker.abort();
    }
    Ok(tally)
}

/// Server-sent events as they are read, in whatever pieces: each event's `data` once the
/// event is whole. An event's end is looked for only in what came since the last look (an
/// event of a thousand entries comes in many reads, and looking from its start after each
/// one took a quarter of the receivers' time at saturation).
#[derive(Default)]
struct SseEvents {
    buffer: Vec<u8>,
    /// Where the next event starts.
    start: usize,
    /// How far the current event was searched for its end.
    searched: usize,
}

impl SseEvents {
    /// What was read next.
    fn push(&mut self, bytes: &[u8]) {
        if self.start > 0 {
            self.buffer.drain(..self.start);
            self.searched -= self.start;
            self.start = 0;
        }
        self.buffer.extend_from_slice(bytes);
    }

    /// The next whole event's data (its `data:` line, trimmed), skipping events without
    /// one (keep-alive comments); `None` until another event is whole.
    fn next_data(&mut self) -> Option<&[u8]> {
        loop {
            // The end may straddle the last look's end by one byte.
            let from = self.searched.saturating_sub(1).max(self.start);
            let Some(end) = memchr::memmem::find(&self.buffer[from..], b"\n\n") else {
                self.searched = self.buffer.len();
                return None;
            };
            let (start, end) = (self.start, from + end);
            self.start = end + 2;
            self.searched = self.start;
            // Its lines, each found with `memchr` (the data line is most of the event).
            let mut rest = &self.buffer[start..end];
            loop {
                let (line, next) = match memchr::memchr(b'\n', rest) {
                    Some(i) => (&rest[..i], &rest[i + 1..]),
                    None => (rest, &[][..]),
                };
                if let Some(data) = line.strip_prefix(b"data:") {
                    return Some(data.trim_ascii());
                }
                if next.is_empty() {
                    break;
                }
                rest = next;
            }
        }
    }
}

impl PendingEntry<'_> {
    /// The acknowledgement of everything up to this entry.
    fn ack(&self) -> api::Ack {
        api::Ack {
            rooms: vec![api::RoomAck {
                room: self.room.to_string(),
                seq: self.seq,
            }],
            ..api::Ack::default()
        }
    }
}

/// `KEY=VALUE` of `--server-env`.
pub(crate) fn env_pair(text: &str) -> Result<(String, String), String> {
    match text.split_once('=') {
        Some((k, v)) if !k.is_empty() => Ok((k.to_owned(), v.to_owned())),
        _ => Err(format!("{text:?} is not KEY=VALUE")),
    }
}

/// No request body.
pub(crate) const NONE: Option<&()> = None;

#[derive(Clone)]
pub(crate) struct Http {
    pub(crate) http: reqwest::Client,
    pub(crate) base: String,
}

impl Http {
    /// A call with `body` (the client API's request type), its answer read as `T` (the
    /// client API's answer type; `()` for none, or a partial view of one).
    pub(crate) async fn call<T: serde::de::DeserializeOwned>(
        &self,
        method: reqwest::Method,
        path: &str,
        token: Option<&str>,
        body: Option<&(impl serde::Serialize + Sync)>,
    ) -> anyhow::Result<T> {
        let text = self.text(method.clone(), path, token, body).await?;
        let json = if text.is_empty() { "null" } else { &text };
        serde_json::from_str(json).with_context(|| format!("{method} {path}: malformed answer"))
    }

    /// A call's answer as text, once it succeeded.
    pub(crate) async fn text(
        &self,
        method: reqwest::Method,
        path: &str,
        token: Option<&str>,
        body: Option<&(impl serde::Serialize + Sync)>,
    ) -> anyhow::Result<String> {
        let mut req = self
            .http
            .request(method.clone(), format!("{}{path}", self.base));
        if let Some(t) = token {
            req = req.bearer_auth(t);
        }
        if let Some(b) = body {
            req = req.json(b);
        }
        let resp = req.send().await?;
        let status = resp.status();
        let text = resp.text().await?;
        if !status.is_success() {
            bail!("{method} {path}: {status} {text}");
        }
        Ok(text)
    }
}

struct Member {
    token: String,
    client: Client,
    group: Option<RoomGroup>,
}

pub(crate) fn percentile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let i = ((sorted.len() - 1) as f64 * p).round() as usize;
    sorted[i.min(sorted.len() - 1)]
}

/// The machine's figures: the median time to append 4 KiB to a file in `dir` and flush it
/// to disk, in ms, the floor under every durable answer and what differs most between
/// machines (figures taken on different days compare only with it beside them), and the
/// CPU's ([`Cpu`]). Two disk figures: flushes one after another (`disk_flush_ms`), and
/// each after 20 ms without disk writes, as a message every 20 ms finds the disk
/// (`disk_flush_paced_ms`; on a virtual disk it was two to four times the first).
pub(crate) fn machine_figures(dir: &std::path::Path) -> std::io::Result<Machine> {
    use std::io::Write as _;
    let path = dir.join("flush-probe");
    let mut file = std::fs::File::create(&path)?;
    let page = [0u8; 4096];
    let mut median = |count: usize, pause: std::time::Duration| {
        let mut times = Vec::with_capacity(count);
        for _ in 0..count {
            std::thread::sleep(pause);
            let t = Instant::now();
            file.write_all(&page)?;
            file.sync_data()?;
            times.push(t.elapsed().as_secs_f64() * 1e3);
        }
        times.sort_by(f64::total_cmp);
        std::io::Result::Ok(percentile(&times, 0.5))
    };
    let back_to_back = median(100, std::time::Duration::ZERO)?;
    let paced = median(30, std::time::Duration::from_millis(20))?;
    drop(file);
    std::fs::remove_file(&path)?;
    Ok(Machine {
        back_to_back,
        paced,
        cpu: Cpu::measure()?,
    })
}

/// [`machine_figures`]: the disk's flush, ms, and the CPU's figures.
pub(crate) struct Machine {
    back_to_back: f64,
    paced: f64,
    cpu: Cpu,
}

impl Machine {
    /// Puts every figure in a benchmark's JSON line.
    pub(crate) fn report(&self, line: &mut Value) {
        let ms = |v: f64| json!((v * 1000.0).round() / 1000.0);
        line["disk_flush_ms"] = ms(self.back_to_back);
        line["disk_flush_paced_ms"] = ms(self.paced);
        self.cpu.report(line);
    }
}

/// The machine's speed where the provider spends a paced message's time, beside the disk's:
/// the same build's figures moved by a quarter between two hours of one machine, and runs
/// of different hours or machines compare only with these beside them.
pub(crate) struct Cpu {
    /// The median time to sort 2^18 pseudo-random integers on one thread, ms.
    sort_ms: f64,
    /// The median round trip of one byte between two threads over a loopback TCP
    /// connection, each blocked in its read until the other's write wakes it (as a stored
    /// message wakes the provider's streams and they wake their devices), µs.
    wake_us: f64,
    /// The same, each round trip after 20 ms without one: as a message paced at 50 a
    /// second finds the machine (a virtual CPU left idle may be slower to wake).
    wake_paced_us: f64,
}

impl Cpu {
    /// Puts the figures in a benchmark's JSON line.
    pub(crate) fn report(&self, line: &mut Value) {
        line["cpu_probe_ms"] = json!((self.sort_ms * 1000.0).round() / 1000.0);
        line["wake_rtt_us"] = json!((self.wake_us * 10.0).round() / 10.0);
        line["wake_rtt_paced_us"] = json!((self.wake_paced_us * 10.0).round() / 10.0);
    }

    pub(crate) fn measure() -> std::io::Result<Self> {
        let mut sorts = Vec::with_capacity(9);
        let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
        let mut values = vec![0u64; 1 << 18];
        for _ in 0..9 {
            for v in &mut values {
                // xorshift64: the same values on every machine.
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                *v = x;
            }
            let t = Instant::now();
            values.sort_unstable();
            sorts.push(t.elapsed().as_secs_f64() * 1e3);
            std::hint::black_box(&values);
        }
        sorts.sort_by(f64::total_cmp);
        let (wake_us, wake_paced_us) = wake_rtt_us()?;
        Ok(Self {
            sort_ms: percentile(&sorts, 0.5),
            wake_us,
            wake_paced_us,
        })
    }
}

/// [`Cpu`]'s round trips, µs: the median of 500 one after another, and of 30 each after a
/// 20 ms pause.
fn wake_rtt_us() -> std::io::Result<(f64, f64)> {
    use std::io::{Read as _, Write as _};
    let listener = std::net::TcpListener::bind("127.0.0.1:0")?;
    let mut near = std::net::TcpStream::connect(listener.local_addr()?)?;
    let (mut far, _) = listener.accept()?;
    near.set_nodelay(true)?;
    far.set_nodelay(true)?;
    let echo = std::thread::spawn(move || {
        let mut byte = [0u8; 1];
        while far.read_exact(&mut byte).is_ok() && far.write_all(&byte).is_ok() {}
    });
    let mut median = |count: usize, pause: std::time::Duration| {
        let mut times = Vec::with_capacity(count);
        let mut byte = [0u8; 1];
        for _ in 0..count {
            std::thread::sleep(pause);
            let t = Instant::now();
            near.write_all(&byte)?;
            near.read_exact(&mut byte)?;
            times.push(t.elapsed().as_secs_f64() * 1e6);
        }
        times.sort_by(f64::total_cmp);
        std::io::Result::Ok(percentile(&times, 0.5))
    };
    // The first round trips start the threads and the connection: not counted.
    median(50, std::time::Duration::ZERO)?;
    let back_to_back = median(500, std::time::Duration::ZERO)?;
    let paced = median(30, std::time::Duration::from_millis(20))?;
    drop(near);
    let _ = echo.join();
    Ok((back_to_back, paced))
}

/// A scratch directory, removed on drop.
pub(crate) struct Scratch(pub(crate) std::path::PathBuf);

impl Scratch {
    pub(crate) fn new(what: &str) -> std::io::Result<Self> {
        let dir = std::env::temp_dir().join(format!("mimi_bench_{what}_{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir)?;
        Ok(Self(dir))
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// A PostgreSQL schema of the run's own, dropped at its end.
pub(crate) struct Schema {
    base: String,
    name: String,
    /// The URL whose connections use only the schema.
    pub(crate) url: String,
}

impl Schema {
    pub(crate) async fn create(base: &str, what: &str) -> anyhow::Result<Self> {
        if !(base.starts_with("postgres://") || base.starts_with("postgresql://")) {
            return Err(InputError(format!(
                "--database takes a PostgreSQL URL (postgres://...), not {base:?}; \
                 without it the run is on SQLite"
            ))
            .into());
        }
        let name = format!("mimi_bench_{what}_{}", std::process::id());
        let url = mimi_store::scratch_schema(base, &name)
            .await
            .with_context(|| format!("making schema {name} in the database"))?;
        Ok(Self {
            base: base.to_owned(),
            name,
            url,
        })
    }

    pub(crate) async fn drop(self) {
        if let Err(e) = mimi_store::drop_schema(&self.base, &self.name).await {
            eprintln!("dropping schema {}: {e}", self.name);
        }
    }
}

/// A run against one provider: `mimi serve` (of `exe`, or this binary, with `extra`
/// arguments) on `database` (in a schema of the run's own, dropped at the end) or on SQLite
/// in a scratch directory.
/// `measure` runs the load; its JSON line is printed with the provider's peak memory, the
/// machine's figures (the disk's flush, the CPU's speed) and the kind of database.
pub(crate) fn one_provider(
    what: &str,
    exe: Option<&std::path::Path>,
    database: Option<&str>,
    extra: &[&str],
    env: &[(String, String)],
    measure: impl FnOnce(&mut Server, &tokio::runtime::Runtime) -> anyhow::Result<Value>,
) -> anyhow::Result<()> {
    let runtime = tokio::runtime::Runtime::new()?;
    let scratch = Scratch::new(what)?;
    let schema = match database {
        Some(base) => Some(runtime.block_on(Schema::create(base, what))?),
        None => None,
    };
    let result = (|| {
        let url = schema.as_ref().map(|s| s.url.as_str());
        let mut server = Server::spawn(exe, &scratch.0.join("p0"), url, extra, env)?;
        let machine = machine_figures(&scratch.0).context("timing the disk and the CPU")?;
        let mut line = measure(&mut server, &runtime)?;
        if !env.is_empty() {
            let env: Vec<String> = env.iter().map(|(k, v)| format!("{k}={v}")).collect();
            line["server_env"] = json!(env);
        }
        line["server_peak_mib"] = json!(server.peak_mib().map(|m| (m * 10.0).round() / 10.0));
        machine.report(&mut line);
        line["database"] = json!(if schema.is_some() {
            "postgres"
        } else {
            "sqlite"
        });
        anyhow::Ok(line)
    })();
    if let Some(schema) = schema {
        runtime.block_on(schema.drop());
    }
    println!("{}", result?);
    Ok(())
}

/// A bench user with one device: the device's bearer token and MLS client.
pub(crate) struct Person {
    pub(crate) token: String,
    pub(crate) client: Client,
}

/// How a bench device offers its KeyPackage.
#[derive(Clone, Copy)]
pub(crate) enum KeyPackageKind {
    /// Claimed once.
    OneTime,
    /// The last resort: claimed by anyone, for any room, as often as asked.
    LastResort,
}

/// Signs `name` up with one device (named `d`) that uploads a KeyPackage of `kind`; if
/// `consent_to` names a user, the new user consents to that user's adds.
pub(crate) async fn sign_up(
    http: &Http,
    name: &str,
    kind: KeyPackageKind,
    consent_to: Option<&str>,
) -> anyhow::Result<Person> {
    let post = reqwest::Method::POST;
    let credentials = api::Credentials {
        user: name.to_owned(),
        password: "bench password".into(),
    };
    let session: api::Session = http
        .call(post.clone(), "/v1/accounts", None, Some(&credentials))
        .await?;
    let device: api::Device = http
        .call(
            post.clone(),
            "/v1/devices",
            Some(&session.token),
            Some(&api::NewDevice { name: "d".into() }),
        )
        .await?;
    let client = Client::new(ClientId::parse(&device.client)?)?;
    let key_package = b64(&client.key_package()?);
    let upload = match kind {
        KeyPackageKind::OneTime => api::Upload {
            key_packages: vec![key_package],
            last_resort: None,
        },
        KeyPackageKind::LastResort => api::Upload {
            key_packages: Vec::new(),
            last_resort: Some(key_package),
        },
    };
    let _: api::Stored = http
        .call(
            post.clone(),
            "/v1/key-packages",
            Some(&device.token),
            Some(&upload),
        )
        .await?;
    if let Some(user) = consent_to {
        let grant = api::ConsentBody {
            user: user.into(),
            room: None,
        };
        let (): () = http
            .call(
                post,
                "/v1/consent/grant",
                Some(&session.token),
                Some(&grant),
            )
            .await?;
    }
    Ok(Person {
        token: device.token,
        client,
    })
}

/// The provider's hub key, which every room it hosts names as external sender.
pub(crate) async fn hub_key(http: &Http) -> anyhow::Result<ExternalSender> {
    let provider: api::Provider = http
        .call(reqwest::Method::GET, "/v1/provider", None, NONE)
        .await?;
    Ok(ExternalSender::tls_deserialize_exact(unb64(
        &provider.external_sender,
    )?)?)
}

/// `client` (the device `token`) makes room `name` on `bench.example`, its user the owner
/// and its only member (an open room if `open`), and the hub stores it; returns its group.
pub(crate) async fn create_room(
    http: &Http,
    hub: &ExternalSender,
    token: &str,
    client: &Client,
    name: &str,
    open: bool,
) -> anyhow::Result<RoomGroup> {
    let owner = client.id().user().clone();
    let doc = SeedDocument {
        id: Some(RoomId::new("bench.example", name)?),
        policy: mimi_policy::document::SeedPolicyDoc {
            open: open.then_some(true),
            ..Default::default()
        },
        user_affiliations: Affiliations {
            owner: vec![owner.clone()],
            ..Default::default()
        },
        clients: [(owner, vec!["d".to_owned()])].into(),
        owning_system: vec![UserId::new("bench.example", "system")?],
        ..Default::default()
    };
    let room = doc.into_room().map_err(|e| anyhow!("{e}"))?;
    let group = client.create_room(&room, hub)?;
    let body = api::CreateRoom {
        group_info: b64(&client.group_info(&group)?),
        ratchet_tree: b64(&group.ratchet_tree()?),
        refound: None,
    };
    let _: api::RoomCreated = http
        .call(reqwest::Method::POST, "/v1/rooms", Some(token), Some(&body))
        .await?;
    Ok(group)
}

/// The device `token` of `client` claims a KeyPackage of each of `users` (for the room
/// named `claim_for`, if given) and commits their add to the room at `room_path` (in one
/// commit); `group` moves on once the hub accepts it.
pub(crate) async fn claim_and_add(
    http: &Http,
    token: &str,
    client: &Client,
    group: &mut RoomGroup,
    users: &[UserId],
    room_path: &str,
    claim_for: Option<&str>,
) -> anyhow::Result<()> {
    let post = reqwest::Method::POST;
    let mut kps = Vec::with_capacity(users.len());
    for user in users {
        let claim = api::Claim {
            user: user.to_string(),
            room: claim_for.map(str::to_owned),
        };
        let claimed: api::ClaimedAll = http
            .call(
                post.clone(),
                "/v1/key-packages/claim",
                Some(token),
                Some(&claim),
            )
            .await?;
        let first = claimed.key_packages.first().context("no KeyPackage")?;
        kps.push(validate_key_package(
            client.provider().crypto(),
            &unb64(&first.key_package)?,
            user,
        )?);
    }
    let out = group.add(client, kps)?;
    let body = api::Commit {
        commit: b64(&out.commit),
        group_info: b64(&out.group_info),
        welcome: out.welcome.as_deref().map(b64),
    };
    let _: api::Handshake = http
        .call(
            post,
            &format!("{room_path}/commits"),
            Some(token),
            Some(&body),
        )
        .await?;
    group.confirm(client)?;
    Ok(())
}

/// The CPU time process `pid` (a number, or `self`) has used, seconds.
fn cpu_seconds(pid: &str, ticks_per_s: f64) -> Option<f64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // After the command name (in parentheses, which may hold spaces): state is field 3,
    // utime and stime fields 14 and 15.
    let rest = stat.rsplit_once(')')?.1;
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let utime: f64 = fields.get(11)?.parse().ok()?;
    let stime: f64 = fields.get(12)?.parse().ok()?;
    Some((utime + stime) / ticks_per_s)
}

/// The clock ticks per second of `/proc/PID/stat`'s CPU times.
fn ticks_per_second() -> f64 {
    Command::new("getconf")
        .arg("CLK_TCK")
        .output()
        .ok()
        .and_then(|o| String::from_utf8(o.stdout).ok())
        .and_then(|s| s.trim().parse().ok())
        .unwrap_or(100.0)
}

pub fn run(args: Args) -> anyhow::Result<()> {
    if args.members < 2 || args.messages == 0 || args.senders == 0 || args.senders > args.members {
        return Err(InputError(
            "--members at least 2, --messages at least 1, --senders between 1 and --members".into(),
        )
        .into());
    }
    if args.processes == 0 || args.processes > 8 {
        return Err(InputError("--processes between 1 and 8".into()).into());
    }
    if args.processes > 1 && args.database.is_none() {
        return Err(InputError(
            "--processes above 1 share a PostgreSQL database: give --database postgres://..."
                .into(),
        )
        .into());
    }
    let runtime = tokio::runtime::Runtime::new()?;
    let scratch = Scratch::new("serve")?;
    let schema = match &args.database {
        Some(base) => Some(runtime.block_on(Schema::create(base, "serve"))?),
        None => None,
    };
    let result = (|| {
        let database = schema.as_ref().map(|s| s.url.as_str());
        let servers = (0..args.processes)
            .map(|i| {
                Server::start(
                    args.server_exe.as_deref(),
                    &scratch.0.join(format!("p{i}")),
                    database,
                )
            })
            .collect::<anyhow::Result<Vec<_>>>()?;
        let machine = machine_figures(&scratch.0).context("timing the disk and the CPU")?;
        let mut line = runtime.block_on(load(&servers, &args))?;
        let peak: Option<f64> = servers.iter().map(Server::peak_mib).sum();
        line["server_peak_mib"] = json!(peak.map(|m| (m * 10.0).round() / 10.0));
        machine.report(&mut line);
        line["database"] = json!(if schema.is_some() {
            "postgres"
        } else {
            "sqlite"
        });
        line["processes"] = json!(args.processes);
        anyhow::Ok(line)
    })();
    if let Some(schema) = schema {
        runtime.block_on(schema.drop());
    }
    println!("{}", result?);
    Ok(())
}

/// Connects `count` devices that receive nothing, spread over `urls`, each with its event
/// stream open (read, and its keep-alives dropped, until the run ends). Returns when every
/// stream is open.
async fn connect_idle(urls: &[&str], count: usize) -> anyhow::Result<()> {
    if count == 0 {
        return Ok(());
    }
    eprintln!("connecting {count} idle devices...");
    let http = reqwest::Client::new();
    let per_user = 100;
    let mut opened = tokio::task::JoinSet::new();
    for u in 0..count.div_ceil(per_user) {
        let base = urls[u % urls.len()];
        let api = Http {
            http: http.clone(),
            base: base.to_owned(),
        };
        let credentials = api::Credentials {
            user: format!("idle{u:04}"),
            password: "bench password".into(),
        };
        let session: api::Session = api
            .call(
                reqwest::Method::POST,
                "/v1/accounts",
                None,
                Some(&credentials),
            )
            .await?;
        for d in 0..per_user.min(count - u * per_user) {
            let device: api::Device = api
                .call(
                    reqwest::Method::POST,
                    "/v1/devices",
                    Some(&session.token),
                    Some(&api::NewDevice {
                        name: format!("d{d}"),
                    }),
                )
                .await?;
            let (http, url) = (http.clone(), format!("{base}/v1/events"));
            opened.spawn(async move {
                let answer = http.get(url).bearer_auth(&device.token).send().await?;
                if !answer.status().is_success() {
                    bail!("an idle device's GET /v1/events: {}", answer.status());
                }
                let (open, wait) = tokio::sync::oneshot::channel();
                tokio::spawn(async move {
                    let mut answer = answer;
                    let _ = open.send(());
                    while let Ok(Some(_)) = answer.chunk().await {}
                });
                wait.await?;
                anyhow::Ok(())
            });
        }
    }
    while let Some(r) = opened.join_next().await {
        r??;
    }
    Ok(())
}

async fn load(servers: &[Server], args: &Args) -> anyhow::Result<Value> {
    let urls: Vec<&str> = servers.iter().map(|s| s.url.as_str()).collect();
    let (url, receive_url) = (urls[0], urls[urls.len() - 1]);
    connect_idle(&urls, args.idle_devices).await?;
    let idle_cpu_percent = if args.idle_devices > 0 {
        // Settled first: the streams' first reads are behind them.
        tokio::time::sleep(std::time::Duration::from_secs(2)).await;
        let ticks = ticks_per_second();
        let cpu = || {
            servers
                .iter()
                .filter_map(|s| s.cpu_seconds(ticks))
                .sum::<f64>()
        };
        let (before, t) = (cpu(), Instant::now());
        tokio::time::sleep(std::time::Duration::from_secs_f64(
            args.idle_seconds.max(0.1),
        ))
        .await;
        let used = cpu() - before;
        Some((used / t.elapsed().as_secs_f64() * 1000.0).round() / 10.0)
    } else {
        None
    };
    let http = Http {
        http: reqwest::Client::new(),
        base: url.to_owned(),
    };
    let post = reqwest::Method::POST;
    let get = reqwest::Method::GET;
    eprintln!("setting up {} members...", args.members);
    let mut members = Vec::with_capacity(args.members);
    for i in 0..args.members {
        // The room's owner (user0000) adds everyone: each consents to it.
        let consent = (i > 0).then_some("user0000");
        let p = sign_up(
            &http,
            &format!("user{i:04}"),
            KeyPackageKind::OneTime,
            consent,
        )
        .await?;
        members.push(Member {
            token: p.token,
            client: p.client,
            group: None,
        });
    }
    // The first member creates the room and adds everyone in one commit.
    let hub = hub_key(&http).await?;
    let owner = &members[0];
    let mut group = create_room(&http, &hub, &owner.token, &owner.client, "load", false).await?;
    let room_path = "/v1/rooms/bench.example/load";
    let others: Vec<UserId> = members[1..]
        .iter()
        .map(|m| m.client.id().user().clone())
        .collect();
    claim_and_add(
        &http,
        &owner.token,
        &owner.client,
        &mut group,
        &others,
        room_path,
        None,
    )
    .await?;
    members[0].group = Some(group);
    let info: api::GroupInfo = http
        .call(
            get.clone(),
            &format!("{room_path}/group-info"),
            Some(&members[0].token),
            NONE,
        )
        .await?;
    let tree = unb64(&info.ratchet_tree)?;
    for m in members.iter_mut().skip(1) {
        let batch: api::SyncBatch = http
            .call(get.clone(), "/v1/sync", Some(&m.token), NONE)
            .await?;
        let w = batch.welcomes.first().context("no Welcome")?;
        m.group = Some(m.client.join(&unb64(&w.welcome)?, &tree)?);
        let ack = api::Ack {
            welcomes: vec![w.id],
            ..api::Ack::default()
        };
        let (): () = http
            .call(post.clone(), "/v1/ack", Some(&m.token), Some(&ack))
            .await?;
    }
    // Everyone has acknowledged the add: from here each device receives exactly the messages.
    for m in &members {
        let text = http
            .text(get.clone(), "/v1/sync", Some(&m.token), NONE)
            .await?;
        let v: Pending<'_> = serde_json::from_str(&text).context("GET /v1/sync")?;
        if let Some(last) = v.entries.last() {
            let (): () = http
                .call(post.clone(), "/v1/ack", Some(&m.token), Some(&last.ack()))
                .await?;
        }
    }
    eprintln!("encrypting {} messages...", args.messages);
    // Sent and received by everyone before the clock starts: the devices are connected, as
    // a person's is before a message is sent to them (their first reads are not timed).
    let warm_up = {
        let m = members.first_mut().context("no members")?;
        let group = m.group.as_mut().context("no group")?;
        b64(&group.encrypt(&m.client, b"warm-up")?)
    };
    let mut batches: Vec<(String, Vec<String>)> = Vec::new();
    for (s, m) in members.iter_mut().take(args.senders).enumerate() {
        let count = args.messages / args.senders + usize::from(s < args.messages % args.senders);
        let group = m.group.as_mut().context("no group")?;
        let mut bodies = Vec::with_capacity(count);
        for i in 0..count {
            // A 100-byte plaintext, as in the XMPP figures the issue compares with.
            let text = format!("{s:03}-{i:06} {}", "x".repeat(89));
            bodies.push(b64(&group.encrypt(&m.client, text.as_bytes())?));
        }
        batches.push((m.token.clone(), bodies));
    }
    eprintln!("sending and receiving...");
    // Every receiver gets the warm-up message as well.
    let expected = args.messages + 1;
    let index = batches
        .iter()
        .flat_map(|(_, bodies)| bodies.iter().cloned())
        .enumerate()
        .map(|(i, b)| (b, i))
        .collect::<std::collections::HashMap<_, _, TailHashing>>();
    let clock = std::sync::Arc::new(Clock {
        start: Instant::now(),
        warm: tokio::sync::Semaphore::new(0),
        sent_at: (0..index.len())
            .map(|_| std::sync::atomic::AtomicU64::new(0))
            .collect(),
        index,
    });
    let owner_token = members.first().context("no members")?.token.clone();
    let receiver_count = u32::try_from(members.len())?;
    // Receivers run on threads of their own, as devices apart from the senders would: a
    // receiver parsing a large answer never holds up a sender's request (or its timing).
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()?;
    let receiving = runtime.handle().clone();
    let runtime = Background(Some(runtime));
    let mut receivers = Vec::new();
    let decrypter = members.len() - 1;
    for (i, m) in members.into_iter().enumerate() {
        let http = Http {
            http: reqwest::Client::new(),
            base: receive_url.to_owned(),
        };
        let token = m.token.clone();
        let clock = clock.clone();
        let mut tally = Tally::default();
        // The last member (a sender only when everyone sends) decrypts what it receives.
        if i == decrypter {
            tally.decrypting = Some(Decrypting::start(m.client, m.group.context("no group")?)?);
        }
        if args.receive == Receive::Events {
            // Each device's acknowledgements gather as the client's do, the devices' delays
            // spread over the client's range (half the delay to all of it).
            let spread = 0.5 + 0.5 * i as f64 / args.members as f64;
            let ack_delay = mimi_client::ACK_DELAY.mul_f64(spread);
            receivers.push(receiving.spawn(receive_events(
                http, token, clock, expected, ack_delay, tally,
            )));
            continue;
        }
        receivers.push(receiving.spawn(async move {
            while tally.got < expected {
                let text = http
                    .text(
                        reqwest::Method::GET,
                        "/v1/sync?limit=1000&wait=5",
                        Some(&token),
                        NONE,
                    )
                    .await?;
                let at = clock.now_ns();
                let v: Pending<'_> = serde_json::from_str(&text).context("GET /v1/sync")?;
                let Some(last) = v.entries.last() else {
                    continue;
                };
                tally.take(&clock, &v.entries, at)?;
                // A device that is keeping up lets entries gather for a moment, so each
                // request carries many (delivery latency for throughput, as chat allows).
                if v.entries.len() < 100 {
                    tokio::time::sleep(std::time::Duration::from_millis(100)).await;
                }
                let (): () = http
                    .call(
                        reqwest::Method::POST,
                        "/v1/ack",
                        Some(&token),
                        Some(&last.ack()),
                    )
                    .await?;
            }
            anyhow::Ok(tally)
        }));
    }
    let (): () = {
        let body = api::Message {
            message: Some(warm_up),
            messages: None,
        };
        let _: api::Sent = http
            .call(
                reqwest::Method::POST,
                &format!("{room_path}/messages"),
                Some(&owner_token),
                Some(&body),
            )
            .await?;
        let deadline = Instant::now() + std::time::Duration::from_secs(60);
        loop {
            let warm = clock.warm.acquire_many(receiver_count);
            if let Ok(permits) =
                tokio::time::timeout(std::time::Duration::from_millis(100), warm).await
            {
                permits?.forget();
                break;
            }
            // A receiver that failed ended its task: its error is the one to report.
            if let Some(i) = receivers.iter().position(|r| r.is_finished()) {
                receivers.swap_remove(i).await??;
                bail!("a receiver ended before the run began");
            }
            if Instant::now() > deadline {
                bail!("the receivers did not all get the warm-up message in 60 s");
            }
        }
    };
    // The clock of the run (pacing, throughput) starts once every receiver is connected.
    // The CPU the providers and the load generator use while the messages go out and in.
    let ticks = ticks_per_second();
    let start = Instant::now();
    let cpu = move || {
        let servers: Option<f64> = servers.iter().map(|s| s.cpu_seconds(ticks)).sum();
        (servers, cpu_seconds("self", ticks))
    };
    let cpu_before = cpu();
    let mut senders = Vec::new();
    let per_request = args.batch.clamp(1, 100);
    // With a rate, each sender's requests are spaced evenly, the senders staggered.
    let spacing = args
        .rate
        .filter(|r| *r > 0.0)
        .map(|r| std::time::Duration::from_secs_f64(args.senders as f64 * per_request as f64 / r));
    for (s, (token, bodies)) in batches.into_iter().enumerate() {
        let http = http.clone();
        let clock = clock.clone();
        let senders_n = args.senders as u32;
        senders.push(tokio::spawn(async move {
            let mut latencies = Vec::with_capacity(bodies.len());
            let first = tokio::time::Instant::from_std(start)
                + spacing.map_or(std::time::Duration::ZERO, |d| d * s as u32 / senders_n);
            for (k, chunk) in bodies.chunks(per_request).enumerate() {
                if let Some(d) = spacing {
                    tokio::time::sleep_until(first + d * k as u32).await;
                }
                for m in chunk {
                    clock.sent(m);
                }
                let body = if per_request == 1 {
                    api::Message {
                        message: chunk.first().cloned(),
                        messages: None,
                    }
                } else {
                    api::Message {
                        message: None,
                        messages: Some(chunk.to_vec()),
                    }
                };
                let t = Instant::now();
                let _: api::Sent = http
                    .call(
                        reqwest::Method::POST,
                        &format!("{room_path}/messages"),
                        Some(&token),
                        Some(&body),
                    )
                    .await?;
                latencies.push(t.elapsed().as_secs_f64() * 1e3);
            }
            anyhow::Ok(latencies)
        }));
    }
    let mut latencies = Vec::new();
    for s in senders {
        latencies.extend(s.await??);
    }
    let submitted = start.elapsed().as_secs_f64();
    let mut delivered = 0usize;
    let mut deliveries = Vec::new();
    // Each message's first and last delivery.
    let mut reach: std::collections::HashMap<usize, (f64, f64)> = Default::default();
    let mut decrypting = Vec::new();
    for r in receivers {
        let tally = r.await??;
        // The warm-up message is not one of the run's deliveries.
        delivered += tally.got.saturating_sub(1);
        for (i, ms) in tally.latencies {
            deliveries.push(ms);
            let r = reach.entry(i).or_insert((ms, ms));
            *r = (r.0.min(ms), r.1.max(ms));
        }
        decrypting.extend(tally.decrypting);
    }
    let done = start.elapsed().as_secs_f64();
    let cpu_after = cpu();
    // Microseconds of CPU per delivery, from two readings of seconds; none from fewer
    // than a hundred of the clock's ticks (a short run: the figure would be mostly the
    // ticks' rounding).
    let per_delivery = |before: Option<f64>, after: Option<f64>| {
        let used = after? - before?;
        (delivered > 0 && used * ticks >= 100.0)
            .then(|| (used / delivered as f64 * 1e7).round() / 10.0)
    };
    let server_cpu = per_delivery(cpu_before.0, cpu_after.0);
    let load_cpu = per_delivery(cpu_before.1, cpu_after.1);
    // Every delivery is in: the decryptions run now.
    let mut decrypts = Vec::new();
    for d in decrypting {
        decrypts.extend(d.times()?);
    }
    deliveries.sort_by(f64::total_cmp);
    let mut first: Vec<f64> = reach.values().map(|r| r.0).collect();
    let mut spread: Vec<f64> = reach.values().map(|r| r.1 - r.0).collect();
    first.sort_by(f64::total_cmp);
    spread.sort_by(f64::total_cmp);
    let ms = |x: f64| (x * 100.0).round() / 100.0;
    drop(runtime);
    latencies.sort_by(f64::total_cmp);
    let round = |x: f64| (x * 10.0).round() / 10.0;
    Ok(json!({
        "members": args.members,
        "messages": args.messages,
        "senders": args.senders,
        "batch": per_request,
        "rate": args.rate,
        "receive": match args.receive { Receive::Poll => "poll", Receive::Events => "events" },
        "messages_per_s": round(args.messages as f64 / submitted),
        "delivery_p50_ms": ms(percentile(&deliveries, 0.50)),
        "delivery_p90_ms": ms(percentile(&deliveries, 0.90)),
        "delivery_p99_ms": ms(percentile(&deliveries, 0.99)),
        "delivery_max_ms": ms(deliveries.last().copied().unwrap_or_default()),
        "first_delivery_p50_ms": ms(percentile(&first, 0.50)),
        "first_delivery_p99_ms": ms(percentile(&first, 0.99)),
        "spread_p50_ms": ms(percentile(&spread, 0.50)),
        "spread_p99_ms": ms(percentile(&spread, 0.99)),
        "idle_devices": args.idle_devices,
        "idle_cpu_percent": idle_cpu_percent,
        "decrypt_mean_ms": (decrypts.iter().sum::<f64>() / decrypts.len().max(1) as f64 * 1000.0)
            .round()
            / 1000.0,
        "deliveries_per_s": round(delivered as f64 / done),
        "server_cpu_us_per_delivery": server_cpu,
        "load_cpu_us_per_delivery": load_cpu,
        "submit_p50_ms": (percentile(&latencies, 0.50) * 100.0).round() / 100.0,
        "submit_p90_ms": (percentile(&latencies, 0.90) * 100.0).round() / 100.0,
        "submit_p99_ms": (percentile(&latencies, 0.99) * 100.0).round() / 100.0,
        "submit_mean_ms": (latencies.iter().sum::<f64>() / latencies.len().max(1) as f64 * 100.0)
            .round()
            / 100.0,
        "seconds": round(done),
    }))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    fn entry<'a>(seq: u64, message: &'a str) -> PendingEntry<'a> {
        PendingEntry {
            room: Cow::Borrowed("bench.example/load"),
            seq,
            kind: Cow::Borrowed("message"),
            sender: Cow::Borrowed("mimi://bench.example/d/u0/device"),
            message: Cow::Borrowed(message),
        }
    }

    #[test]
    fn server_sent_events_read_in_pieces_are_each_found_once_whole_wherever_they_are_split() {
        let stream =
            b"event: pending\ndata: {\"a\":1}\n\n:\n\nevent: pending\ndata: {\"b\":[2,3]}\n\n";
        let want: Vec<&[u8]> = vec![b"{\"a\":1}", b"{\"b\":[2,3]}"];
        for cut in 0..=stream.len() {
            for second in cut..=stream.len() {
                let mut events = SseEvents::default();
                let mut got = Vec::new();
                for piece in [&stream[..cut], &stream[cut..second], &stream[second..]] {
                    events.push(piece);
                    while let Some(data) = events.next_data() {
                        got.push(data.to_vec());
                    }
                }
                assert_eq!(got, want, "split at {cut} and {second}");
            }
        }
    }

    #[test]
    fn the_warm_up_message_marks_its_receiver_connected_and_is_not_timed() {
        let clock = Clock {
            start: Instant::now(),
            warm: tokio::sync::Semaphore::new(0),
            index: [("timed".to_owned(), 0)].into_iter().collect(),
            sent_at: vec![std::sync::atomic::AtomicU64::new(0)],
        };
        clock.sent("timed");
        let mut tally = Tally::default();
        tally
            .take(&clock, &[entry(1, "warm-up")], clock.now_ns())
            .unwrap();
        assert_eq!(
            clock.warm.available_permits(),
            1,
            "one receiver is connected"
        );
        assert!(tally.latencies.is_empty(), "the warm-up is not timed");
        tally
            .take(&clock, &[entry(2, "timed")], clock.now_ns())
            .unwrap();
        assert_eq!(tally.latencies.len(), 1);
        assert_eq!(tally.got, 2, "both count towards the receiver's end");
        assert_eq!(clock.warm.available_permits(), 1);
    }
}
