//! `mimi serve` as it runs for real: the built binary on a free port, real sockets, signals.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod client;
mod commands;
mod content;
mod crash;
mod defaults;
mod demo;
mod destroy;
mod dm;
mod federation;
mod hidden;
mod http;
mod join;
mod knocks;
mod lifecycle;
mod links;
mod logger;
mod moderation;
mod output;
mod policy;
mod postgres;
mod profile;
mod proxy;
mod pseudonym;
mod rejoin;
mod scenarios;
mod server;
mod sessions;
mod tls;
