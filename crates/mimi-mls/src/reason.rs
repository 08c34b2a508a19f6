//! A moderator's reason for a commit (a kick, a ban, a removal, a role change), carried in
//! the commit's authenticated data as Safe AAD (mls-extensions §4.9) under mimi's private
//! `reason` component ID, so that every member, the removed ones included, reads it with
//! the commit and the hub keeps it in its log:
//!
//! ```text
//! struct { opaque reason<V>; } Reason;
//! ```
//!
//! It is at most [`MAX_REASON`] bytes of UTF-8. A receiver that finds no reason, or one it
//! cannot read, shows none: the reason never decides anything.

use mimi_policy::component::ids;
use openmls::framing::{SafeAad, SafeAadItem};
use tls_codec::{Deserialize as _, Serialize as _, VLBytes};

use crate::MlsError;

/// The longest reason, in bytes.
pub const MAX_REASON: usize = 500;

/// The authenticated data carrying `reason`. Refuses an empty or overlong one.
pub fn reason_aad(reason: &str) -> Result<Vec<u8>, MlsError> {
    if reason.trim().is_empty() || reason.len() > MAX_REASON {
        return Err(MlsError::Malformed(format!(
            "a reason is 1 to {MAX_REASON} bytes, not {}",
            reason.len()
        )));
    }
    let data = VLBytes::from(reason.as_bytes())
        .tls_serialize_detached()
        .map_err(MlsError::openmls)?;
    SafeAad::from_items(vec![SafeAadItem::new(ids::REASON, data)])
        .map_err(MlsError::openmls)?
        .tls_serialize_detached()
        .map_err(MlsError::openmls)
}

/// The reason a commit's authenticated data gives, if it gives a readable one.
pub fn reason_of_aad(aad: &[u8]) -> Option<String> {
    let safe = SafeAad::tls_deserialize_exact(aad).ok()?;
    let bytes = VLBytes::tls_deserialize_exact(safe.get(ids::REASON)?).ok()?;
    let text = String::from_utf8(bytes.as_slice().to_vec()).ok()?;
    (text.len() <= MAX_REASON).then_some(text)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_reason_round_trips_and_anything_else_gives_none() {
        let aad = reason_aad("spam, three times").unwrap();
        assert_eq!(reason_of_aad(&aad).as_deref(), Some("spam, three times"));
        for bad in [&b""[..], b"\xff\xff", b"\x00"] {
            assert_eq!(reason_of_aad(bad), None);
        }
        let sender = crate::sender::sender_aad(3).unwrap();
        assert_eq!(reason_of_aad(&sender), None);
    }

    #[test]
    fn an_empty_or_overlong_reason_is_refused() {
        assert!(reason_aad("  ").is_err());
        assert!(reason_aad(&"x".repeat(MAX_REASON + 1)).is_err());
        assert!(reason_aad(&"x".repeat(MAX_REASON)).is_ok());
    }
}
