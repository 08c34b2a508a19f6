//! The client API through the router, with real MLS clients and a real database.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod access;
mod attachments;
mod cache;
mod consent;
mod devices;
mod errors;
mod events;
mod federation;
mod flow;
mod hardening;
mod knocks;
mod membership;
mod metrics;
mod openapi;
mod pseudonyms;
mod race;
mod recovery;
mod reports;
mod rules;
mod sessions;
mod support;
mod vacant;
