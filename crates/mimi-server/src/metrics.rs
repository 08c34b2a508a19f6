//! Prometheus metrics at `/metrics` (text format 0.0.4): requests by route and status with
//! latencies, commits and messages by outcome, rooms cached, and the delivery backlog.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::sync::Mutex;
use std::time::Instant;

use axum::extract::{MatchedPath, Request, State};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use mimi_store::Store as _;

use crate::state::AppState;

/// Latency bucket bounds, seconds.
const BUCKETS: [f64; 10] = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0];

#[derive(Default)]
struct Histogram {
    counts: [u64; BUCKETS.len()],
    sum: f64,
    count: u64,
}

/// The provider's counters.
#[derive(Default)]
pub struct Metrics {
    requests: Mutex<BTreeMap<(String, u16), u64>>,
    latency: Mutex<BTreeMap<String, Histogram>>,
    commits: Mutex<BTreeMap<String, u64>>,
    messages: Mutex<BTreeMap<String, u64>>,
}

fn bump(map: &Mutex<BTreeMap<String, u64>>, key: &str) {
    if let Ok(mut m) = map.lock() {
        *m.entry(key.to_owned()).or_default() += 1;
    }
}

impl Metrics {
    /// Counts a handshake's outcome (`accepted`, or the refusal's code).
    pub fn handshake(&self, outcome: &str) {
        bump(&self.commits, outcome);
    }

    /// Counts an application message's outcome.
    pub fn message(&self, outcome: &str) {
        bump(&self.messages, outcome);
    }

    fn request(&self, route: &str, status: u16, seconds: f64) {
        if let Ok(mut m) = self.requests.lock() {
            *m.entry((route.to_owned(), status)).or_default() += 1;
        }
        if let Ok(mut m) = self.latency.lock() {
            let h = m.entry(route.to_owned()).or_default();
            for (i, bound) in BUCKETS.iter().enumerate() {
                if seconds <= *bound {
                    h.counts[i] += 1;
                }
            }
            h.sum += seconds;
            h.count += 1;
        }
    }

    fn render(&self, rooms_cached: usize, writer_queue: usize, backlog: Option<u64>) -> String {
        let mut out = String::new();
        let _ = writeln!(
            out,
            "# HELP mimi_http_requests_total HTTP requests by route and status."
        );
        let _ = writeln!(out, "# TYPE mimi_http_requests_total counter");
        if let Ok(m) = self.requests.lock() {
            for ((route, status), n) in m.iter() {
                let _ = writeln!(
                    out,
                    "mimi_http_requests_total{{route=\"{route}\",status=\"{status}\"}} {n}"
                );
            }
        }
        let _ = writeln!(
            out,
            "# HELP mimi_http_request_seconds Request latency by route."
        );
        let _ = writeln!(out, "# TYPE mimi_http_request_seconds histogram");
        if let Ok(m) = self.latency.lock() {
            for (route, h) in m.iter() {
                for (i, bound) in BUCKETS.iter().enumerate() {
                    let _ = writeln!(
                        out,
                        "mimi_http_request_seconds_bucket{{route=\"{route}\",le=\"{bound}\"}} {}",
                        h.counts[i]
                    );
                }
                let _ = writeln!(
                    out,
                    "mimi_http_request_seconds_bucket{{route=\"{route}\",le=\"+Inf\"}} {}",
                    h.count
                );
                let _ = writeln!(
                    out,
                    "mimi_http_request_seconds_sum{{route=\"{route}\"}} {}",
                    h.sum
                );
                let _ = writeln!(
                    out,
                    "mimi_http_request_seconds_count{{route=\"{route}\"}} {}",
                    h.count
                );
            }
        }
        for (name, help, map) in [
            (
                "mimi_handshakes_total",
                "Commits and proposals by outcome (accepted or the refusal's code).",
                &self.commits,
            ),
            (
                "mimi_messages_total",
                "Application messages by outcome (accepted or the refusal's code).",
                &self.messages,
            ),
        ] {
            let _ = writeln!(out, "# HELP {name} {help}");
            let _ = writeln!(out, "# TYPE {name} counter");
            if let Ok(m) = map.lock() {
                for (outcome, n) in m.iter() {
                    let _ = writeln!(out, "{name}{{outcome=\"{outcome}\"}} {n}");
                }
            }
        }
        let _ = writeln!(
            out,
            "# HELP mimi_rooms_cached Rooms whose hub state this process holds."
        );
        let _ = writeln!(out, "# TYPE mimi_rooms_cached gauge");
        let _ = writeln!(out, "mimi_rooms_cached {rooms_cached}");
        let _ = writeln!(
            out,
            "# HELP mimi_writer_queue Requests (messages, acknowledgements) waiting for the next group commit."
        );
        let _ = writeln!(out, "# TYPE mimi_writer_queue gauge");
        let _ = writeln!(out, "mimi_writer_queue {writer_queue}");
        if let Some(backlog) = backlog {
            let _ = writeln!(
                out,
                "# HELP mimi_delivery_backlog Room log entries not yet acknowledged, summed over member devices."
            );
            let _ = writeln!(out, "# TYPE mimi_delivery_backlog gauge");
            let _ = writeln!(out, "mimi_delivery_backlog {backlog}");
        }
        out
    }
}

/// Counts every request by its route pattern and status.
pub async fn track(State(state): State<AppState>, req: Request, next: Next) -> Response {
    let route = req
        .extensions()
        .get::<MatchedPath>()
        .map_or_else(|| "unmatched".to_owned(), |p| p.as_str().to_owned());
    let start = Instant::now();
    let response = next.run(req).await;
    state.metrics.request(
        &route,
        response.status().as_u16(),
        start.elapsed().as_secs_f64(),
    );
    response
}

/// `GET /metrics`.
pub async fn metrics(State(state): State<AppState>) -> impl IntoResponse {
    let backlog = state.store.delivery_backlog().await.ok();
    let body = state
        .metrics
        .render(state.rooms_cached().await, state.writer.waiting(), backlog);
    (
        [(
            axum::http::header::CONTENT_TYPE,
            "text/plain; version=0.0.4; charset=utf-8",
        )],
        body,
    )
}
