//! Join links at the MLS level. A joiner names the link it holds (and the password, if the
//! link or the room has one; an empty link for a password alone) in its external commit's
//! authenticated data, framed as Safe AAD
//! (mls-extensions §4.9) with one item under the `join_links` component ID. The hub and every
//! member read it back and decide the join with the room policy, which accepts a link only
//! when it is one of the room's active `join_links`; so members can verify a link join as
//! well as the hub, and removing a link from the list revokes it.
//!
//! ```text
//! struct {
//!   opaque join_link<V>;
//!   optional<opaque password<V>>;
//! } JoinCode;
//! ```

use mimi_policy::component::ids;
use mimi_policy::operation::Link;
use openmls::framing::{SafeAad, SafeAadItem};
use tls_codec::{Deserialize as _, Serialize as _, VLBytes};

use crate::MlsError;

/// The join link a joiner presents, and the room password with it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JoinCode {
    /// The link, as listed in the room's `join_links`.
    pub link: String,
    /// The room password, when the room has one.
    pub password: Option<String>,
}

#[derive(tls_codec::TlsSerialize, tls_codec::TlsDeserialize, tls_codec::TlsSize)]
struct JoinCodeWire {
    join_link: VLBytes,
    password: Option<VLBytes>,
}

fn text(bytes: VLBytes, what: &str) -> Result<String, MlsError> {
    String::from_utf8(bytes.as_slice().to_vec())
        .map_err(|_| MlsError::Malformed(format!("the join code's {what} is not UTF-8")))
}

/// An external commit's authenticated data: the join code the joiner presents and the signed
/// claims its provider asserts (`crate::claims`), each when there is one; empty for neither.
pub fn joiner_aad(code: Option<&JoinCode>, claims: Option<&[u8]>) -> Result<Vec<u8>, MlsError> {
    let mut items = Vec::new();
    if let Some(code) = code {
        items.push(code.to_item()?);
    }
    if let Some(claims) = claims {
        items.push(SafeAadItem::new(ids::PROVIDER_CLAIMS, claims.to_vec()));
    }
    if items.is_empty() {
        return Ok(Vec::new());
    }
    SafeAad::from_items(items)
        .map_err(MlsError::openmls)?
        .tls_serialize_detached()
        .map_err(MlsError::openmls)
}

impl JoinCode {
    /// A code for `link`, with the room password if there is one.
    pub fn new(link: impl Into<String>, password: Option<String>) -> Self {
        Self {
            link: link.into(),
            password,
        }
    }

    /// The external commit's authenticated data carrying this code.
    pub fn to_aad(&self) -> Result<Vec<u8>, MlsError> {
        joiner_aad(Some(self), None)
    }

    fn to_item(&self) -> Result<SafeAadItem, MlsError> {
        let wire = JoinCodeWire {
            join_link: self.link.as_bytes().into(),
            password: self.password.as_ref().map(|p| p.as_bytes().into()),
        };
        let data = wire.tls_serialize_detached().map_err(MlsError::openmls)?;
        Ok(SafeAadItem::new(ids::JOIN_LINKS, data))
    }

    /// The code in an external commit's authenticated data: none when the data is empty,
    /// else Safe AAD with at most one `join_links` item.
    pub fn from_aad(aad: &[u8]) -> Result<Option<Self>, MlsError> {
        if aad.is_empty() {
            return Ok(None);
        }
        let safe = SafeAad::tls_deserialize_exact(aad)
            .map_err(|e| MlsError::Malformed(format!("authenticated data: {e}")))?;
        let Some(data) = safe.get(ids::JOIN_LINKS) else {
            return Ok(None);
        };
        let wire = JoinCodeWire::tls_deserialize_exact(data)
            .map_err(|e| MlsError::Malformed(format!("join code: {e}")))?;
        Ok(Some(Self {
            link: text(wire.join_link, "link")?,
            password: wire.password.map(|p| text(p, "password")).transpose()?,
        }))
    }

    /// The link as the policy decides it: one that must be listed in the room's
    /// `join_links` (a listed link was vetted when it was listed). An empty link is none: a
    /// password alone, for a password-protected room's other ways in.
    pub fn to_link(&self) -> Link {
        Link {
            issued_by: None,
            code: (!self.link.is_empty()).then(|| self.link.clone()),
            password: self.password.clone(),
            expired: false,
            uses: 0,
            max_uses: None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn join_code_round_trips_through_safe_aad() {
        for code in [
            JoinCode::new("https://example.com/j/7f3a", None),
            JoinCode::new("https://example.com/j/7f3a", Some("s3cret".into())),
        ] {
            let aad = code.to_aad().unwrap();
            assert_eq!(JoinCode::from_aad(&aad).unwrap(), Some(code));
        }
    }

    #[test]
    fn empty_aad_has_no_join_code_and_garbage_is_malformed() {
        assert_eq!(JoinCode::from_aad(&[]).unwrap(), None);
        let err = JoinCode::from_aad(b"\xff\xff").err().unwrap();
        assert_eq!(err.code(), "malformed-mls");
        let empty = SafeAad::empty().tls_serialize_detached().unwrap();
        assert_eq!(JoinCode::from_aad(&empty).unwrap(), None);
    }
}
