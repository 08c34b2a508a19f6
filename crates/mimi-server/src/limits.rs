//! Rate limits a real provider has (the `governor` crate's GCRA buckets, one per key): on
//! sign-ups per address, on logins per address and per account, on requests per token, and
//! on consent requests per requester and per requester and target, on abuse reports per
//! reporter; and a cap on the event
//! streams a device holds open.
//! A request over a limit is answered `429 rate-limited` with `Retry-After`, and changes
//! nothing.
//!
//! Defaults a person never meets in normal use: a burst of ten sign-ups from one address
//! passes, then one more every six minutes; ten logins from one address or to one account
//! pass at once and ten more each minute (fifty in a minute do not); a token makes 200
//! requests at once and 100 a second after that. An address is the TCP peer's: behind a
//! reverse proxy every request comes from the proxy, so per-address limits there count
//! everyone together (see SECURITY.md).

use std::net::IpAddr;
use std::num::NonZeroU32;
use std::time::Duration;

use governor::clock::Clock as _;
use governor::{DefaultKeyedRateLimiter, Quota};
use mimi_policy::id::ClientId;

use crate::error::ApiError;

/// The limits, as an operator sets them (0: no limit).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LimitConfig {
    /// Sign-ups an address may make at once, and per hour after that.
    pub signups_per_hour: u32,
    /// Logins an address, or one account, may try at once, and per minute after that.
    pub logins_per_minute: u32,
    /// Requests a token may make per second (twice as many at once).
    pub requests_per_second: u32,
}

impl Default for LimitConfig {
    fn default() -> Self {
        Self {
            signups_per_hour: 10,
            logins_per_minute: 10,
            requests_per_second: 100,
        }
    }
}

type Bucket<K> = Option<DefaultKeyedRateLimiter<K>>;

/// Consent requests one user may send at once, and per hour after that.
const CONSENT_PER_REQUESTER: u32 = 30;

/// Consent requests one user may send another at once, and per day after that: the
/// target's inbox holds few of them, whatever room names the requester makes up.
const CONSENT_PER_PAIR: u32 = 5;

/// Abuse reports one user may send at once, and per hour after that: a device reports each
/// commit it cannot process, and a person a few messages.
const REPORTS_PER_REPORTER: u32 = 20;

fn per_day(n: NonZeroU32) -> Quota {
    Quota::with_period(Duration::from_secs(86_400) / n.get())
        .unwrap_or_else(|| Quota::per_hour(n))
        .allow_burst(n)
}

/// The buckets.
pub struct Limits {
    signups: Bucket<IpAddr>,
    logins_by_address: Bucket<IpAddr>,
    logins_by_account: Bucket<String>,
    requests: Bucket<String>,
    consent_by_requester: Bucket<String>,
    consent_by_pair: Bucket<(String, String)>,
    reports: Bucket<String>,
}

fn bucket<K: std::hash::Hash + Eq + Clone>(
    n: u32,
    per: fn(NonZeroU32) -> Quota,
    burst: u32,
) -> Bucket<K> {
    let n = NonZeroU32::new(n)?;
    let burst = NonZeroU32::new(burst).unwrap_or(n);
    Some(DefaultKeyedRateLimiter::keyed(per(n).allow_burst(burst)))
}

fn check<K: std::hash::Hash + Eq + Clone>(
    bucket: &Bucket<K>,
    key: &K,
    what: &str,
) -> Result<(), ApiError> {
    let Some(bucket) = bucket else {
        return Ok(());
    };
    bucket.check_key(key).map_err(|not_until| {
        // The bucket's own clock: a new one would calibrate itself on every refusal.
        let wait = not_until.wait_time_from(bucket.clock().now());
        // Whole seconds, rounded up: `Retry-After` counts seconds.
        let retry_after = Duration::from_secs(wait.as_secs() + u64::from(wait.subsec_nanos() > 0));
        ApiError::RateLimited {
            message: format!(
                "too many {what}; try again in {} s",
                retry_after.as_secs().max(1)
            ),
            retry_after,
        }
    })
}

impl Limits {
    /// Buckets for `config`.
    pub fn new(config: LimitConfig) -> Self {
        Self {
            signups: bucket(config.signups_per_hour, Quota::per_hour, 0),
            logins_by_address: bucket(config.logins_per_minute, Quota::per_minute, 0),
            logins_by_account: bucket(config.logins_per_minute, Quota::per_minute, 0),
            requests: bucket(
                config.requests_per_second,
                Quota::per_second,
                config.requests_per_second.saturating_mul(2),
            ),
            consent_by_requester: bucket(CONSENT_PER_REQUESTER, Quota::per_hour, 0),
            consent_by_pair: bucket(CONSENT_PER_PAIR, per_day, 0),
            reports: bucket(REPORTS_PER_REPORTER, Quota::per_hour, 0),
        }
    }

    /// A sign-up from `address` (unknown: not limited by address).
    pub fn signup(&self, address: Option<IpAddr>) -> Result<(), ApiError> {
        match address {
            Some(a) => check(&self.signups, &a, "sign-ups from this address"),
            None => Ok(()),
        }
    }

    /// A login to `account` from `address`.
    pub fn login(&self, address: Option<IpAddr>, account: &str) -> Result<(), ApiError> {
        if let Some(a) = address {
            check(&self.logins_by_address, &a, "logins from this address")?;
        }
        check(
            &self.logins_by_account,
            &account.to_owned(),
            "logins to this account",
        )
    }

    /// A request made with the token whose hash is `token`.
    pub fn request(&self, token: &str) -> Result<(), ApiError> {
        check(
            &self.requests,
            &token.to_owned(),
            "requests with this token",
        )
    }

    /// A consent request from `requester` to `target`: counted whether or not `target`
    /// exists, so that the answer does not tell.
    pub fn consent_request(&self, requester: &str, target: &str) -> Result<(), ApiError> {
        check(
            &self.consent_by_requester,
            &requester.to_owned(),
            "consent requests",
        )?;
        check(
            &self.consent_by_pair,
            &(requester.to_owned(), target.to_owned()),
            "consent requests to this user",
        )
    }

    /// An abuse report from `reporter`.
    pub fn report(&self, reporter: &str) -> Result<(), ApiError> {
        check(&self.reports, &reporter.to_owned(), "abuse reports")
    }

    /// Forgets the keys whose buckets are full again (memory stays bounded by the keys
    /// seen recently).
    pub fn forget_idle(&self) {
        for bucket in [&self.signups, &self.logins_by_address]
            .into_iter()
            .flatten()
        {
            bucket.retain_recent();
            bucket.shrink_to_fit();
        }
        for bucket in [
            &self.logins_by_account,
            &self.requests,
            &self.consent_by_requester,
            &self.reports,
        ]
        .into_iter()
        .flatten()
        {
            bucket.retain_recent();
            bucket.shrink_to_fit();
        }
        if let Some(bucket) = &self.consent_by_pair {
            bucket.retain_recent();
            bucket.shrink_to_fit();
        }
    }
}

impl std::fmt::Debug for Limits {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Limits")
    }
}

/// Most event streams one device may hold open at once.
pub const STREAMS_PER_DEVICE: usize = 4;

/// The event streams open per device.
#[derive(Debug, Default)]
pub struct Streams(std::sync::Mutex<std::collections::HashMap<ClientId, usize>>);

/// An open stream's place, given back when the stream ends (dropped).
#[derive(Debug)]
pub struct StreamSlot {
    streams: std::sync::Arc<Streams>,
    client: ClientId,
}

impl Streams {
    /// A place for one more stream of `client`, unless it holds [`STREAMS_PER_DEVICE`].
    pub fn open(self: &std::sync::Arc<Self>, client: &ClientId) -> Result<StreamSlot, ApiError> {
        let mut open = self
            .0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let n = open.entry(client.clone()).or_insert(0);
        if *n >= STREAMS_PER_DEVICE {
            return Err(ApiError::RateLimited {
                message: format!(
                    "{client} has {STREAMS_PER_DEVICE} event streams open already; close one"
                ),
                retry_after: Duration::from_secs(1),
            });
        }
        *n += 1;
        Ok(StreamSlot {
            streams: std::sync::Arc::clone(self),
            client: client.clone(),
        })
    }
}

impl Drop for StreamSlot {
    fn drop(&mut self) {
        let mut open = self
            .streams
            .0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if let Some(n) = open.get_mut(&self.client) {
            *n -= 1;
            if *n == 0 {
                open.remove(&self.client);
            }
        }
    }
}

/// The TCP peer of a connection, which `mimi serve` gives every request on it
/// (`axum::extract::ConnectInfo<PeerAddr>`).
#[derive(Debug, Clone, Copy)]
pub struct PeerAddr(pub std::net::SocketAddr);

/// The peer address of a request, when the server recorded it (`mimi serve` does; a
/// router called in-process may not).
#[derive(Debug, Clone, Copy)]
pub struct Peer(pub Option<IpAddr>);

impl<S: Send + Sync> axum::extract::FromRequestParts<S> for Peer {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(
        parts: &mut axum::http::request::Parts,
        _: &S,
    ) -> Result<Self, Self::Rejection> {
        Ok(Self(
            parts
                .extensions
                .get::<axum::extract::ConnectInfo<PeerAddr>>()
                .map(|c| c.0.0.ip()),
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_burst_passes_and_the_next_request_is_told_when_to_come_back() {
        let limits = Limits::new(LimitConfig {
            signups_per_hour: 10,
            logins_per_minute: 10,
            requests_per_second: 0,
        });
        let here = Some(IpAddr::from([192, 0, 2, 1]));
        for _ in 0..10 {
            limits.signup(here).unwrap();
        }
        let Err(ApiError::RateLimited { retry_after, .. }) = limits.signup(here) else {
            panic!("the eleventh sign-up in a row passed");
        };
        assert!(retry_after >= Duration::from_secs(1) && retry_after <= Duration::from_secs(360));
        // Another address has its own bucket; 0 turns a limit off.
        limits.signup(Some(IpAddr::from([192, 0, 2, 2]))).unwrap();
        for _ in 0..1_000 {
            limits.request("token").unwrap();
        }
    }

    #[test]
    fn a_device_holds_a_bounded_number_of_streams_and_a_closed_one_frees_its_place() {
        let streams = std::sync::Arc::new(Streams::default());
        let phone = ClientId::parse("mimi://example.com/d/alice/phone").unwrap();
        let laptop = ClientId::parse("mimi://example.com/d/alice/laptop").unwrap();
        let open: Vec<_> = (0..STREAMS_PER_DEVICE)
            .map(|_| streams.open(&phone).unwrap())
            .collect();
        assert!(streams.open(&phone).is_err());
        let _other = streams.open(&laptop).unwrap();
        drop(open);
        let _again = streams.open(&phone).unwrap();
    }

    #[test]
    fn an_account_is_limited_whatever_the_address() {
        let limits = Limits::new(LimitConfig::default());
        for i in 0..10u8 {
            limits
                .login(Some(IpAddr::from([192, 0, 2, i])), "alice")
                .unwrap();
        }
        assert!(
            limits
                .login(Some(IpAddr::from([192, 0, 2, 99])), "alice")
                .is_err()
        );
        limits
            .login(Some(IpAddr::from([192, 0, 2, 99])), "bob")
            .unwrap();
    }
}
