//! `mimi serve` as it runs for real: the built binary on a free port, real sockets, signals.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod client;
mod crash;
mod http;
mod lifecycle;
mod proxy;
mod server;
mod tls;
