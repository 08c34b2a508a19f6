//! A device on the event stream acknowledges what it applied a moment later, several
//! batches at once, instead of once per batch.
//!
//! An acknowledgement tells the provider what it need not send again when the device next
//! connects; the stream itself sends each entry once whatever the device acknowledges. Sent
//! at once, every message to a room of a hundred devices brings a hundred requests and
//! durable writes back to the provider, at the very moment it is delivering the next one
//! (`mimi bench serve --rate 50 --receive events`, side by side: delivery p50 3.8-4.7 ms
//! with an acknowledgement per batch, 2.0-2.2 ms gathered; BENCHMARKS.md). Gathered, a
//! device sends one per [`ACK_DELAY`] at most, the latest position of each room; the delay
//! is drawn between half of it and all of it so that devices woken by the same message do
//! not acknowledge together. What is gathered is sent before the stream is opened again
//! and before the follower stops, and kept (to be sent again) while the provider does not
//! answer; a device that dies holding it (an interrupted `mimi sync --follow`) is sent
//! those entries again and skips them (their message keys are gone).

use std::collections::BTreeMap;
use std::sync::mpsc;
use std::time::{Duration, Instant};

use mimi_api::{Ack, RoomAck};

use crate::api::Api;

/// The longest a device on the event stream holds an acknowledgement back.
pub const ACK_DELAY: Duration = Duration::from_secs(1);

enum Job {
    /// Acknowledge this with the device's token.
    Ack(String, Ack),
    /// Send what is gathered now, then answer.
    Flush(mpsc::Sender<()>),
}

/// Gathers a device's acknowledgements and sends them from a thread of its own.
pub(crate) struct Acker {
    jobs: Option<mpsc::Sender<Job>>,
    thread: Option<std::thread::JoinHandle<()>>,
    /// With no thread (the system refused one): the API, to send each as it comes.
    direct: Option<Api>,
}

impl Acker {
    /// Starts the thread; each acknowledgement waits between half of `delay` and `delay`.
    pub(crate) fn start(api: Api, delay: Duration) -> Self {
        let (jobs, queue) = mpsc::channel();
        let spare = api.clone();
        let thread = std::thread::Builder::new()
            .name("mimi-acks".into())
            .spawn(move || run(&api, &queue, delay))
            .ok();
        match thread {
            Some(thread) => Self {
                jobs: Some(jobs),
                thread: Some(thread),
                direct: None,
            },
            // No thread: acknowledgements are sent as they come.
            None => Self {
                jobs: None,
                thread: None,
                direct: Some(spare),
            },
        }
    }

    /// Gathers `ack`, to be sent with `token` within the delay. Failures are not reported:
    /// an entry not acknowledged comes again, and the device skips it.
    pub(crate) fn add(&self, token: &str, ack: Ack) {
        if let Some(jobs) = &self.jobs {
            let _ = jobs.send(Job::Ack(token.to_owned(), ack));
        } else if let Some(api) = &self.direct {
            let _ = api.post::<()>("/v1/ack", Some(token), &ack);
        }
    }

    /// Sends what is gathered and returns once it is answered.
    pub(crate) fn flush(&self) {
        let Some(jobs) = &self.jobs else { return };
        let (done, sent) = mpsc::channel();
        if jobs.send(Job::Flush(done)).is_ok() {
            let _ = sent.recv();
        }
    }
}

impl Drop for Acker {
    /// Sends what is gathered before the follower goes.
    fn drop(&mut self) {
        drop(self.jobs.take());
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// A delay between half of `delay` and `delay`, different for each device and each time.
fn jittered(delay: Duration) -> Duration {
    use std::hash::{BuildHasher as _, Hasher as _};
    // std's hasher keys are random per process and differ for each new state: enough to
    // spread devices apart, with no generator to depend on.
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    h.write_u8(0);
    let fraction = (h.finish() >> 11) as f64 / (1u64 << 53) as f64;
    delay.mul_f64(0.5 + 0.5 * fraction)
}

/// Merges `ack` into `into`: the later position of each room, every inbox item.
fn merge(into: &mut Gathered, ack: Ack) {
    for r in ack.rooms {
        let seq = into.rooms.entry(r.room).or_insert(r.seq);
        *seq = (*seq).max(r.seq);
    }
    into.welcomes.extend(ack.welcomes);
    into.welcome = into.welcome.max(ack.welcome);
}

#[derive(Default)]
struct Gathered {
    token: String,
    rooms: BTreeMap<String, u64>,
    welcomes: std::collections::BTreeSet<u64>,
    welcome: Option<u64>,
}

impl Gathered {
    fn is_empty(&self) -> bool {
        self.rooms.is_empty() && self.welcomes.is_empty() && self.welcome.is_none()
    }

    /// Sends what is gathered (if anything) and empties it; false if the provider did not
    /// answer, and what is gathered stays to be sent again (a refusal is not sent again).
    fn send(&mut self, api: &Api) -> bool {
        if self.is_empty() {
            return true;
        }
        let ack = Ack {
            welcome: self.welcome,
            welcomes: self.welcomes.iter().copied().collect(),
            rooms: self
                .rooms
                .iter()
                .map(|(room, seq)| RoomAck {
                    room: room.clone(),
                    seq: *seq,
                })
                .collect(),
        };
        match api.post::<()>("/v1/ack", Some(&self.token), &ack) {
            Err(e) if e.status == 0 || e.status >= 500 => false,
            _ => {
                self.rooms.clear();
                self.welcomes.clear();
                self.welcome = None;
                true
            }
        }
    }
}

fn run(api: &Api, queue: &mpsc::Receiver<Job>, delay: Duration) {
    let mut gathered = Gathered::default();
    // When what is gathered is due (None: nothing gathered).
    let mut due: Option<Instant> = None;
    // Sends what is gathered: nothing is due after it, unless the provider did not answer
    // (then again after another delay).
    let send =
        |gathered: &mut Gathered| (!gathered.send(api)).then(|| Instant::now() + jittered(delay));
    loop {
        let job = match due {
            None => queue
                .recv()
                .map_err(|_| mpsc::RecvTimeoutError::Disconnected),
            // Due already: sent before anything else is taken (a steady stream of jobs
            // does not hold it back).
            Some(at) if at <= Instant::now() => Err(mpsc::RecvTimeoutError::Timeout),
            Some(at) => queue.recv_timeout(at.saturating_duration_since(Instant::now())),
        };
        match job {
            Ok(Job::Ack(token, ack)) => {
                gathered.token = token;
                merge(&mut gathered, ack);
                due = due.or_else(|| Some(Instant::now() + jittered(delay)));
            }
            Ok(Job::Flush(done)) => {
                due = send(&mut gathered);
                let _ = done.send(());
            }
            Err(mpsc::RecvTimeoutError::Timeout) => due = send(&mut gathered),
            Err(mpsc::RecvTimeoutError::Disconnected) => {
                gathered.send(api);
                return;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use std::io::{BufRead as _, BufReader, Read as _, Write as _};
    use std::net::TcpListener;

    use super::*;

    /// A provider that answers every request with 200 and an empty body, and passes each
    /// `POST /v1/ack` body on.
    fn provider() -> (Api, mpsc::Receiver<Ack>) {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        (Api::new(&url), provider_on(listener))
    }

    /// The same provider, on `listener`.
    fn provider_on(listener: TcpListener) -> mpsc::Receiver<Ack> {
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                let Ok(stream) = stream else { return };
                let tx = tx.clone();
                std::thread::spawn(move || {
                    let mut reader = BufReader::new(stream.try_clone().unwrap());
                    let mut stream = stream;
                    loop {
                        let (mut length, mut path) = (0usize, String::new());
                        loop {
                            let mut line = String::new();
                            if reader.read_line(&mut line).unwrap_or(0) == 0 {
                                return;
                            }
                            if path.is_empty() {
                                path = line.split(' ').nth(1).unwrap_or_default().to_owned();
                            }
                            let lower = line.to_ascii_lowercase();
                            if let Some(v) = lower.strip_prefix("content-length:") {
                                length = v.trim().parse().unwrap();
                            }
                            if line == "\r\n" {
                                break;
                            }
                        }
                        let mut body = vec![0; length];
                        reader.read_exact(&mut body).unwrap();
                        if path == "/v1/ack" {
                            let _ = tx.send(serde_json::from_slice(&body).unwrap());
                        }
                        stream
                            .write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n")
                            .unwrap();
                    }
                });
            }
        });
        rx
    }

    fn room(room: &str, seq: u64) -> Ack {
        Ack {
            rooms: vec![RoomAck {
                room: room.into(),
                seq,
            }],
            ..Ack::default()
        }
    }

    #[test]
    fn acknowledgements_within_the_delay_go_as_one_with_each_rooms_latest_position() {
        let (api, sent) = provider();
        let acker = Acker::start(api, Duration::from_millis(400));
        for seq in 1..=20 {
            acker.add("t", room("a.example/one", seq));
        }
        acker.add("t", room("a.example/two", 7));
        acker.add("t", room("a.example/one", 3));
        acker.add(
            "t",
            Ack {
                welcomes: vec![9],
                ..Ack::default()
            },
        );
        let one = sent.recv_timeout(Duration::from_secs(5)).unwrap();
        let rooms: Vec<(&str, u64)> = one.rooms.iter().map(|r| (r.room.as_str(), r.seq)).collect();
        assert_eq!(rooms, [("a.example/one", 20), ("a.example/two", 7)]);
        assert_eq!(one.welcomes, [9]);
        // Nothing else was sent for those.
        assert!(sent.recv_timeout(Duration::from_millis(600)).is_err());
        drop(acker);
    }

    #[test]
    fn a_gathered_acknowledgement_is_sent_at_last_by_itself_and_at_once_on_flush_or_stop() {
        let (api, sent) = provider();
        // Sent within the delay with nothing more arriving.
        let acker = Acker::start(api.clone(), Duration::from_millis(200));
        acker.add("t", room("a.example/one", 4));
        let alone = sent.recv_timeout(Duration::from_secs(5)).unwrap();
        assert_eq!(alone.rooms[0].seq, 4);
        // A delay far longer than the test: only a flush or the stop sends it.
        let acker = Acker::start(api, Duration::from_secs(3600));
        acker.add("t", room("a.example/one", 5));
        assert!(sent.recv_timeout(Duration::from_millis(300)).is_err());
        acker.flush();
        assert_eq!(sent.try_recv().unwrap().rooms[0].seq, 5);
        acker.add("t", room("a.example/one", 6));
        drop(acker);
        assert_eq!(sent.try_recv().unwrap().rooms[0].seq, 6);
    }

    #[test]
    fn a_gathered_acknowledgement_the_provider_did_not_answer_is_kept_and_sent_again() {
        // A port nobody listens on, for now.
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        drop(listener);
        let acker = Acker::start(
            Api::new(&format!("http://{addr}")),
            Duration::from_secs(3600),
        );
        acker.add("t", room("a.example/one", 8));
        // Not answered: kept.
        acker.flush();
        let sent = provider_on(TcpListener::bind(addr).unwrap());
        acker.add("t", room("a.example/two", 2));
        acker.flush();
        let again = sent.recv_timeout(Duration::from_secs(5)).unwrap();
        let rooms: Vec<(&str, u64)> = again
            .rooms
            .iter()
            .map(|r| (r.room.as_str(), r.seq))
            .collect();
        assert_eq!(rooms, [("a.example/one", 8), ("a.example/two", 2)]);
    }
}
