//! Metrics at `/metrics`, through the Prometheus client library (OpenMetrics text):
//! requests by route and status with latencies, commits and messages by outcome, rooms
//! cached, the writer's queue and the delivery backlog. Counting takes no lock of ours: the
//! library keeps each series' value atomic.

use std::time::Instant;

use axum::extract::{MatchedPath, Request, State};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use mimi_store::prelude::*;
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::encoding::text::{encode_eof, encode_registry};
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::{Family, MetricConstructor};
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::Histogram;
use prometheus_client::registry::Registry;

use crate::state::AppState;

/// Latency bucket bounds, seconds.
const BUCKETS: [f64; 10] = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0];

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RouteStatus {
    route: String,
    status: u16,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct Route {
    route: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct Outcome {
    outcome: String,
}

#[derive(Clone)]
struct LatencyBuckets;

impl MetricConstructor<Histogram> for LatencyBuckets {
    fn new_metric(&self) -> Histogram {
        Histogram::new(BUCKETS)
    }
}

/// The provider's metrics.
pub struct Metrics {
    registry: Registry,
    /// Gauges read when scraped: the database's backlog goes apart, as it may be unknown.
    backlog_registry: Registry,
    requests: Family<RouteStatus, Counter>,
    latency: Family<Route, Histogram, LatencyBuckets>,
    handshakes: Family<Outcome, Counter>,
    messages: Family<Outcome, Counter>,
    rooms_cached: Gauge,
    writer_queue: Gauge,
    backlog: Gauge,
}

impl Default for Metrics {
    fn default() -> Self {
        let mut registry = Registry::default();
        let requests = Family::<RouteStatus, Counter>::default();
        registry.register(
            "mimi_http_requests",
            "HTTP requests by route and status",
            requests.clone(),
        );
        let latency = Family::new_with_constructor(LatencyBuckets);
        registry.register(
            "mimi_http_request_seconds",
            "Request latency by route",
            latency.clone(),
        );
        let handshakes = Family::<Outcome, Counter>::default();
        registry.register(
            "mimi_handshakes",
            "Commits and proposals by outcome (accepted or the refusal's code)",
            handshakes.clone(),
        );
        let messages = Family::<Outcome, Counter>::default();
        registry.register(
            "mimi_messages",
            "Application messages by outcome (accepted or the refusal's code)",
            messages.clone(),
        );
        let rooms_cached = Gauge::default();
        registry.register(
            "mimi_rooms_cached",
            "Rooms whose hub state this process holds",
            rooms_cached.clone(),
        );
        let writer_queue = Gauge::default();
        registry.register(
            "mimi_writer_queue",
            "Requests (messages, acknowledgements) waiting for the next group commit",
            writer_queue.clone(),
        );
        let mut backlog_registry = Registry::default();
        let backlog = Gauge::default();
        backlog_registry.register(
            "mimi_delivery_backlog",
            "Room log entries not yet acknowledged, summed over member devices",
            backlog.clone(),
        );
        Self {
            registry,
            backlog_registry,
            requests,
            latency,
            handshakes,
            messages,
            rooms_cached,
            writer_queue,
            backlog,
        }
    }
}

fn outcome(outcome: &str) -> Outcome {
    Outcome {
        outcome: outcome.to_owned(),
    }
}

fn gauge(value: impl TryInto<i64>) -> i64 {
    value.try_into().unwrap_or(i64::MAX)
}

impl Metrics {
    /// Counts a handshake's outcome (`accepted`, or the refusal's code).
    pub fn handshake(&self, result: &str) {
        self.handshakes.get_or_create(&outcome(result)).inc();
    }

    /// Counts an application message's outcome.
    pub fn message(&self, result: &str) {
        self.messages.get_or_create(&outcome(result)).inc();
    }

    fn request(&self, route: &str, status: u16, seconds: f64) {
        let route = route.to_owned();
        self.latency
            .get_or_create(&Route {
                route: route.clone(),
            })
            .observe(seconds);
        self.requests
            .get_or_create(&RouteStatus { route, status })
            .inc();
    }

    fn render(&self, rooms_cached: usize, writer_queue: usize, backlog: Option<u64>) -> String {
        self.rooms_cached.set(gauge(rooms_cached));
        self.writer_queue.set(gauge(writer_queue));
        let mut out = String::new();
        let mut encoded = encode_registry(&mut out, &self.registry);
        if let Some(backlog) = backlog {
            self.backlog.set(gauge(backlog));
            encoded = encoded.and_then(|()| encode_registry(&mut out, &self.backlog_registry));
        }
        if encoded.and_then(|()| encode_eof(&mut out)).is_err() {
            tracing::error!("encoding the metrics failed");
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

/// `GET /metrics`, for the operator alone: with the configured `metrics_token` as bearer
/// token (401 otherwise); when no token is configured, metrics are off (404).
#[utoipa::path(get, path = "/metrics", tag = "operations", security(("operator" = [])), responses((status = 200, description = "the provider's metrics, OpenMetrics text", content_type = "application/openmetrics-text", body = String), (status = "4XX", description = "refused: no or a wrong operator token (401), metrics off (404)", body = mimi_api::ErrorBody)))]
pub async fn metrics(
    State(state): State<AppState>,
    headers: axum::http::HeaderMap,
) -> Result<impl IntoResponse, crate::error::ApiError> {
    crate::auth::operator(state.metrics_token.as_ref(), &headers, "/metrics")?;
    let backlog = state.store.delivery_backlog().await.ok();
    let body = state
        .metrics
        .render(state.rooms_cached().await, state.writer.waiting(), backlog);
    Ok((
        [(
            axum::http::header::CONTENT_TYPE,
            "application/openmetrics-text; version=1.0.0; charset=utf-8",
        )],
        body,
    ))
}
