//! mimi's join links (docs/decisions/0010-join-links-are-listed-by-a-moderators-commit.md).
//!
//! A join link is an entry of the room's `join_links` component (RP-04 §6.2), listed there by
//! a commit the policy allows (in a seed room, an owner's, an admin's or the owning
//! provider's system user's: rule `SEED-LINK`). The listing commit is signed like every MLS
//! commit, so the hub and every member verify who issued a link and that nobody changed it;
//! taking it off the list revokes it. The entry carries the link's terms:
//!
//! ```text
//! <room URI>?link=<code>[&expires=<unix seconds>][&uses=<n>][&password=<hash>]
//! ```
//!
//! `code` is random (26 base32 characters, 128 bits) and names the link. The link handed to
//! people is the entry without its `password` term; a joiner presents it (and the password),
//! and it is matched to the listed entry by its code alone, so the listed terms are the ones
//! that count. `hash` is [`password_hash`] of the code and the link's password.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use sha2::{Digest as _, Sha256};

/// One join link's terms, as listed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LinkTerms {
    /// The room part, before `?`.
    pub room: String,
    /// The code that names the link.
    pub code: String,
    /// When it stops letting people in (unix seconds).
    pub expires: Option<u64>,
    /// How many users it lets in.
    pub max_uses: Option<u32>,
    /// [`password_hash`] of its password, when it has one.
    pub password_hash: Option<String>,
}

impl LinkTerms {
    /// Reads a listed entry or a presented link; `None` when it is not a mimi link.
    pub fn parse(text: &str) -> Option<Self> {
        let (room, query) = text.split_once('?')?;
        let mut terms = Self {
            room: room.to_owned(),
            code: String::new(),
            expires: None,
            max_uses: None,
            password_hash: None,
        };
        for pair in query.split('&') {
            let (key, value) = pair.split_once('=')?;
            match key {
                "link" => terms.code = value.to_owned(),
                "expires" => terms.expires = Some(value.parse().ok()?),
                "uses" => terms.max_uses = Some(value.parse().ok()?),
                "password" => terms.password_hash = Some(value.to_owned()),
                _ => return None,
            }
        }
        (!terms.code.is_empty()).then_some(terms)
    }

    /// The entry as listed in `join_links`.
    pub fn entry(&self) -> String {
        let mut out = self.shareable();
        if let Some(hash) = &self.password_hash {
            out.push_str("&password=");
            out.push_str(hash);
        }
        out
    }

    /// The link handed to people: the entry without the password's hash.
    pub fn shareable(&self) -> String {
        let mut out = format!("{}?link={}", self.room, self.code);
        if let Some(t) = self.expires {
            out.push_str(&format!("&expires={t}"));
        }
        if let Some(n) = self.max_uses {
            out.push_str(&format!("&uses={n}"));
        }
        out
    }

    /// True when `password` is this link's (always true for a link without one). The
    /// comparison takes the same time wherever the hashes differ.
    pub fn password_matches(&self, password: Option<&str>) -> bool {
        let Some(hash) = &self.password_hash else {
            return true;
        };
        let given = password_hash(&self.code, password.unwrap_or_default());
        crate::secret_eq(given.as_bytes(), hash.as_bytes()) && password.is_some()
    }
}

/// A new link's code: 128 random bits as 26 base32 characters (RFC 4648, no padding).
pub fn new_code(random: [u8; 16]) -> String {
    const ALPHABET: &[u8; 32] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
    let mut out = String::with_capacity(26);
    let (mut buffer, mut bits) = (0u32, 0u32);
    for byte in random {
        buffer = (buffer << 8) | u32::from(byte);
        bits += 8;
        while bits >= 5 {
            bits -= 5;
            out.push(char::from(ALPHABET[((buffer >> bits) & 31) as usize]));
        }
    }
    if bits > 0 {
        out.push(char::from(ALPHABET[((buffer << (5 - bits)) & 31) as usize]));
    }
    out
}

/// The code a presented link names: its `link` term, or the whole text when it is not a
/// mimi link (another implementation's opaque link, matched whole).
pub fn code_of(text: &str) -> &str {
    text.split_once('?')
        .and_then(|(_, q)| q.split('&').find_map(|p| p.strip_prefix("link=")))
        .unwrap_or(text)
}

/// The listed hash of a link's password: SHA-256 over a label, the link's code and the
/// password, base64url without padding. The code, random per link, salts it.
pub fn password_hash(code: &str, password: &str) -> String {
    let mut h = Sha256::new();
    h.update(b"mimi join link password\0");
    h.update(code.as_bytes());
    h.update(b"\0");
    h.update(password.as_bytes());
    URL_SAFE_NO_PAD.encode(h.finalize())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_listed_entry_round_trips_and_its_shareable_form_drops_the_password_hash() {
        let terms = LinkTerms {
            room: "mimi://example.com/r/lobby".into(),
            code: "ABCDEFGHIJKLMNOPQRSTUVWXYZ".into(),
            expires: Some(1_800_000_000),
            max_uses: Some(5),
            password_hash: Some(password_hash("ABCDEFGHIJKLMNOPQRSTUVWXYZ", "s3cret")),
        };
        let entry = terms.entry();
        assert_eq!(LinkTerms::parse(&entry), Some(terms.clone()));
        let shared = terms.shareable();
        assert!(!shared.contains("password"), "{shared}");
        assert_eq!(code_of(&shared), "ABCDEFGHIJKLMNOPQRSTUVWXYZ");
        assert_eq!(code_of(&entry), "ABCDEFGHIJKLMNOPQRSTUVWXYZ");
        assert!(terms.password_matches(Some("s3cret")));
        assert!(!terms.password_matches(Some("s3cret ")));
        assert!(!terms.password_matches(None));
    }

    #[test]
    fn a_new_code_is_26_base32_characters_of_its_random_bits() {
        assert_eq!(new_code([0; 16]), "A".repeat(26));
        assert_eq!(new_code([0xff; 16]), format!("{}4", "7".repeat(25)));
        assert_ne!(new_code([1; 16]), new_code([2; 16]));
    }

    #[test]
    fn text_that_is_not_a_mimi_link_has_no_terms_and_is_its_own_code() {
        for text in [
            "https://example.com/j/7f3a",
            "x?link=",
            "x?link=a&colour=blue",
            "x?expires=soon&link=a",
        ] {
            assert_eq!(LinkTerms::parse(text), None, "{text}");
        }
        assert_eq!(
            code_of("https://example.com/j/7f3a"),
            "https://example.com/j/7f3a"
        );
    }
}
