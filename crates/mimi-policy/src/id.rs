//! Identifiers of providers, users, clients and rooms.
//!
//! The canonical form is the `mimi://` URI of draft-mahy-mimi-identity-05 §4
//! (`mimi://a.example/u/alice`, `mimi://a.example/d/alice/phone`,
//! `mimi://a.example/r/clubhouse`). On input we also accept the seed's `im:` forms
//! (`im:%40alice@example.com`, `im:#room35@example.com`) and a bare `alice@example.com`.

use std::fmt;
use std::sync::Arc;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// Why a string is not a valid identifier.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum IdError {
    /// The string is empty.
    #[error("identifier is empty")]
    Empty,
    /// The string is in no form we accept for this kind of identifier.
    #[error("`{input}` is not a {kind} identifier (expected {expected})")]
    Unrecognized {
        /// The rejected input.
        input: String,
        /// The kind of identifier that was expected.
        kind: &'static str,
        /// The accepted forms.
        expected: &'static str,
    },
    /// The domain part is not a plausible DNS name.
    #[error("`{0}` is not a valid domain")]
    BadDomain(String),
    /// A local part (user name, client name, room name) is empty or holds a forbidden character.
    #[error(
        "`{0}` is not a valid name (empty, or contains '/', '@', whitespace or a control character)"
    )]
    BadName(String),
}

fn check_domain(domain: &str) -> Result<(), IdError> {
    let ok = !domain.is_empty()
        && domain.len() <= 253
        && domain.split('.').all(|label| {
            !label.is_empty()
                && label.len() <= 63
                && label
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        })
        || domain.parse::<std::net::SocketAddr>().is_ok()
        || domain_with_port(domain);
    if ok {
        Ok(())
    } else {
        Err(IdError::BadDomain(domain.to_owned()))
    }
}

/// Accepts `host:port`, which loopback deployments use as their provider name.
fn domain_with_port(domain: &str) -> bool {
    let Some((host, port)) = domain.rsplit_once(':') else {
        return false;
    };
    port.parse::<u16>().is_ok() && !host.contains(':') && check_domain(host).is_ok()
}

fn check_name(name: &str) -> Result<(), IdError> {
    let bad = name.is_empty()
        || name.len() > 255
        || name
            .chars()
            .any(|c| c == '/' || c == '@' || c.is_whitespace() || c.is_control());
    if bad {
        Err(IdError::BadName(name.to_owned()))
    } else {
        Ok(())
    }
}

/// Decodes the `%XX` escapes the seed's `im:` URIs use (RFC 3862 §3); input that does not
/// decode to UTF-8 is kept as it is and rejected later by the name checks.
fn percent_decode(input: &str) -> String {
    let bytes = input.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%'
            && let Some(hex) = input.get(i + 1..i + 3)
            && let Ok(v) = u8::from_str_radix(hex, 16)
        {
            out.push(v);
            i += 3;
            continue;
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8(out).unwrap_or_else(|_| input.to_owned())
}

/// A provider, named by its domain (`mimi://a.example`).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ProviderId(String);

impl ProviderId {
    /// Parses `mimi://a.example` or a bare domain.
    pub fn parse(input: &str) -> Result<Self, IdError> {
        let domain = input.strip_prefix("mimi://").unwrap_or(input);
        let domain = domain.trim_end_matches('/');
        check_domain(domain)?;
        Ok(Self(domain.to_ascii_lowercase()))
    }

    /// The provider's domain.
    pub fn domain(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for ProviderId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "mimi://{}", self.0)
    }
}

/// A user: `mimi://a.example/u/alice`.
///
/// Ordered and compared by its canonical URI so that every provider sorts users the same way.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct UserId {
    /// Shared by the copies a room keeps of each user (its participant list, the list's
    /// index, the clients in the group): one allocation, not three.
    uri: Arc<str>,
    /// Byte offset of the name inside `uri` (after `/u/`).
    name_at: usize,
}

const MIMI: &str = "mimi://";

/// The first character of a pseudonym's name (`mimi://a.example/u/~k7f3...`): the identity
/// draft lets a provider write a pseudonym as a user ID by local policy, and this one marks
/// it, so that a non-anonymous room can refuse it.
pub const PSEUDONYM_MARK: char = '~';

impl UserId {
    /// Builds a user ID from a domain and a user name.
    pub fn new(domain: &str, name: &str) -> Result<Self, IdError> {
        check_domain(domain)?;
        check_name(name)?;
        let domain = domain.to_ascii_lowercase();
        let uri = format!("{MIMI}{domain}/u/{name}");
        let name_at = MIMI.len() + domain.len() + 3;
        Ok(Self {
            uri: uri.into(),
            name_at,
        })
    }

    /// Parses `mimi://a.example/u/alice`, `im:%40alice@a.example`, `im:alice@a.example`,
    /// `@alice@a.example` or `alice@a.example`.
    pub fn parse(input: &str) -> Result<Self, IdError> {
        let input = input.trim();
        if input.is_empty() {
            return Err(IdError::Empty);
        }
        if let Some(rest) = input.strip_prefix(MIMI) {
            if let Some((domain, name)) = rest.split_once("/u/") {
                return Self::new(domain, name);
            }
            return Err(Self::unrecognized(input));
        }
        let plain = match input.strip_prefix("im:") {
            Some(rest) => percent_decode(rest),
            None => input.to_owned(),
        };
        let plain = plain.strip_prefix('@').unwrap_or(&plain);
        match plain.rsplit_once('@') {
            Some((name, domain)) => Self::new(domain, name),
            None => Err(Self::unrecognized(input)),
        }
    }

    /// Like [`UserId::parse`], but a bare name (`bob`) is taken as a user of `default_domain`.
    pub fn parse_with_default(input: &str, default_domain: &str) -> Result<Self, IdError> {
        let trimmed = input.trim();
        if !trimmed.contains('@') && !trimmed.contains(':') {
            return Self::new(default_domain, trimmed);
        }
        Self::parse(input)
    }

    fn unrecognized(input: &str) -> IdError {
        IdError::Unrecognized {
            input: input.to_owned(),
            kind: "user",
            expected: "mimi://DOMAIN/u/NAME, im:%40NAME@DOMAIN or NAME@DOMAIN",
        }
    }

    /// The canonical `mimi://` URI.
    pub fn as_str(&self) -> &str {
        &self.uri
    }

    /// The user's provider domain.
    pub fn domain(&self) -> &str {
        &self.uri[MIMI.len()..self.name_at - 3]
    }

    /// The user name within the domain.
    pub fn name(&self) -> &str {
        &self.uri[self.name_at..]
    }

    /// True for a pseudonym: a user ID its provider issued for one user in one room (the
    /// seed's semi-anonymous rooms), whose name starts with [`PSEUDONYM_MARK`]. Only the
    /// provider knows whose it is; nobody can sign up under such a name.
    pub fn is_pseudonym(&self) -> bool {
        self.name().starts_with(PSEUDONYM_MARK)
    }

    /// The seed's user-ID form, `name@domain`.
    pub fn to_seed_form(&self) -> String {
        format!("{}@{}", self.name(), self.domain())
    }
}

impl fmt::Display for UserId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.uri)
    }
}

impl Serialize for UserId {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.uri)
    }
}

impl<'de> Deserialize<'de> for UserId {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        Self::parse(&s).map_err(serde::de::Error::custom)
    }
}

// Wire form: the canonical URI as `opaque user<V>` (protocol-06 §7.5 `UserRolePair.user`).
impl tls_codec::Size for UserId {
    fn tls_serialized_len(&self) -> usize {
        (*self.uri).tls_serialized_len()
    }
}

impl tls_codec::Serialize for UserId {
    fn tls_serialize<W: std::io::Write>(&self, writer: &mut W) -> Result<usize, tls_codec::Error> {
        (*self.uri).tls_serialize(writer)
    }
}

impl tls_codec::Deserialize for UserId {
    fn tls_deserialize<R: std::io::Read>(bytes: &mut R) -> Result<Self, tls_codec::Error> {
        let uri = String::tls_deserialize(bytes)?;
        let user = Self::parse(&uri).map_err(|e| tls_codec::Error::DecodingError(e.to_string()))?;
        // Every member must compute the same bytes, so only the canonical form is accepted.
        if *user.uri != *uri {
            return Err(tls_codec::Error::DecodingError(format!(
                "user `{uri}` is not in canonical form `{user}`"
            )));
        }
        Ok(user)
    }
}

/// A client (device) of a user: `mimi://a.example/d/alice/phone`.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ClientId {
    user: UserId,
    name: String,
}

impl ClientId {
    /// Builds a client ID from its user and the client's name.
    pub fn new(user: UserId, name: &str) -> Result<Self, IdError> {
        check_name(name)?;
        Ok(Self {
            user,
            name: name.to_owned(),
        })
    }

    /// Parses `mimi://a.example/d/alice/phone`.
    pub fn parse(input: &str) -> Result<Self, IdError> {
        let unrecognized = || IdError::Unrecognized {
            input: input.to_owned(),
            kind: "client",
            expected: "mimi://DOMAIN/d/USER/CLIENT",
        };
        let rest = input.trim().strip_prefix(MIMI).ok_or_else(unrecognized)?;
        let (domain, path) = rest.split_once("/d/").ok_or_else(unrecognized)?;
        let (user, client) = path.split_once('/').ok_or_else(unrecognized)?;
        Self::new(UserId::new(domain, user)?, client)
    }

    /// The user this client belongs to.
    pub fn user(&self) -> &UserId {
        &self.user
    }

    /// The client's name, unique among its user's clients.
    pub fn name(&self) -> &str {
        &self.name
    }
}

impl fmt::Display for ClientId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{MIMI}{}/d/{}/{}",
            self.user.domain(),
            self.user.name(),
            self.name
        )
    }
}

impl Serialize for ClientId {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for ClientId {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        Self::parse(&s).map_err(serde::de::Error::custom)
    }
}

/// A room: `mimi://a.example/r/clubhouse`, `im:#room35@a.example`, or a fixed-membership
/// room's `im:mimi=%23%23<hash>@a.example`.
///
/// The original spelling is kept: fixed-membership room IDs are defined by the seed in
/// `im:` form, and a room is known by exactly the ID it was created with.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct RoomId {
    uri: String,
    domain: String,
}

impl RoomId {
    /// Builds `mimi://DOMAIN/r/NAME`.
    pub fn new(domain: &str, name: &str) -> Result<Self, IdError> {
        check_domain(domain)?;
        check_name(name)?;
        let domain = domain.to_ascii_lowercase();
        Ok(Self {
            uri: format!("{MIMI}{domain}/r/{name}"),
            domain,
        })
    }

    /// Parses any accepted room form.
    pub fn parse(input: &str) -> Result<Self, IdError> {
        let input = input.trim();
        if input.is_empty() {
            return Err(IdError::Empty);
        }
        if let Some(rest) = input.strip_prefix(MIMI)
            && let Some((domain, name)) = rest.split_once("/r/")
        {
            return Self::new(domain, name);
        }
        if let Some(rest) = input.strip_prefix("im:")
            && let Some((local, domain)) = rest.rsplit_once('@')
        {
            let local = percent_decode(local);
            let name = local
                .strip_prefix('#')
                .or_else(|| local.strip_prefix("mimi=##"));
            if let Some(name) = name {
                check_domain(domain)?;
                check_name(name.trim_start_matches('#'))?;
                return Ok(Self {
                    uri: input.to_owned(),
                    domain: domain.to_ascii_lowercase(),
                });
            }
        }
        Err(IdError::Unrecognized {
            input: input.to_owned(),
            kind: "room",
            expected: "mimi://DOMAIN/r/NAME, im:#NAME@DOMAIN or im:mimi=%23%23HASH@DOMAIN",
        })
    }

    /// The room's URI as it was created.
    pub fn as_str(&self) -> &str {
        &self.uri
    }

    /// The domain of the room's owning provider (its hub).
    pub fn domain(&self) -> &str {
        &self.domain
    }

    /// The name of a `mimi://DOMAIN/r/NAME` room (`None` for the `im:` forms).
    pub fn name(&self) -> Option<&str> {
        self.uri
            .strip_prefix(MIMI)
            .and_then(|rest| rest.split_once("/r/"))
            .map(|(_, name)| name)
    }
}

impl fmt::Display for RoomId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.uri)
    }
}

impl Serialize for RoomId {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.uri)
    }
}

impl<'de> Deserialize<'de> for RoomId {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        Self::parse(&s).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn user_id_accepts_mimi_im_and_bare_forms() {
        let canonical = "mimi://example.com/u/alice";
        for form in [
            canonical,
            "im:%40alice@example.com",
            "im:alice@example.com",
            "@alice@example.com",
            "alice@example.com",
            "alice@EXAMPLE.com",
        ] {
            let user = UserId::parse(form).unwrap();
            assert_eq!(user.as_str(), canonical, "{form}");
            assert_eq!(user.domain(), "example.com");
            assert_eq!(user.name(), "alice");
        }
    }

    #[test]
    fn user_id_rejects_malformed_input() {
        for bad in [
            "",
            "alice",
            "mimi://example.com/r/room",
            "a b@example.com",
            "@example.com",
            "alice@",
            "alice@exa mple.com",
            "alice@..",
            "%",
            "im:%4",
        ] {
            assert!(UserId::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn bare_name_takes_the_default_domain() {
        let bob = UserId::parse_with_default("bob", "b.example").unwrap();
        assert_eq!(bob.as_str(), "mimi://b.example/u/bob");
        let other = UserId::parse_with_default("bob@c.example", "b.example").unwrap();
        assert_eq!(other.domain(), "c.example");
    }

    #[test]
    fn client_id_round_trips() {
        let c = ClientId::parse("mimi://a.example/d/alice/phone").unwrap();
        assert_eq!(c.user().as_str(), "mimi://a.example/u/alice");
        assert_eq!(c.to_string(), "mimi://a.example/d/alice/phone");
        assert!(ClientId::parse("mimi://a.example/d/alice").is_err());
    }

    #[test]
    fn room_id_accepts_mimi_and_seed_forms() {
        assert_eq!(
            RoomId::parse("mimi://a.example/r/clubhouse")
                .unwrap()
                .domain(),
            "a.example"
        );
        let seed = RoomId::parse("im:#room35@example.com").unwrap();
        assert_eq!(seed.domain(), "example.com");
        let fixed =
            RoomId::parse("im:mimi=%23%233qAm84t9_PGgXoe3d9brqUy5YHgDHp82UysnmCf6zjo@example.com")
                .unwrap();
        assert_eq!(fixed.domain(), "example.com");
        assert!(RoomId::parse("im:room@example.com").is_err());
    }

    #[test]
    fn loopback_provider_with_port_is_a_domain() {
        assert!(UserId::new("localhost:8080", "alice").is_ok());
        assert!(ProviderId::parse("mimi://127.0.0.1:7000").is_ok());
    }
}
