//! `ExtendedCapabilities` and the MLS code-point types it lists (RP-04 §7, RFC 9420 §17).

use super::{ComponentId, MediaType};

/// An MLS `ProtocolVersion` (RFC 9420, `uint16`).
pub type ProtocolVersion = u16;
/// An MLS `CipherSuite` (RFC 9420, `uint16`).
pub type CipherSuite = u16;
/// An MLS `ExtensionType` (RFC 9420, `uint16`).
pub type ExtensionType = u16;
/// An MLS `ProposalType` (RFC 9420, `uint16`).
pub type ProposalType = u16;
/// An MLS `CredentialType` (RFC 9420, `uint16`).
pub type CredentialType = u16;
/// An MLS `WireFormat` (RFC 9420, `uint16`).
pub type WireFormat = u16;
/// An MLS `ContentType` (RFC 9420 §6: `enum {...(255)}`, so `uint8`, unlike the other code points).
pub type ContentType = u8;

/// A set of MLS and MIMI capabilities that a room requires, defaults to or forbids (RP-04 §7).
#[derive(
    Clone,
    PartialEq,
    Eq,
    Debug,
    Default,
    serde::Serialize,
    serde::Deserialize,
    tls_codec::TlsSerialize,
    tls_codec::TlsDeserialize,
    tls_codec::TlsSize,
)]
#[serde(rename_all = "kebab-case", deny_unknown_fields, default)]
pub struct ExtendedCapabilities {
    /// MLS protocol versions.
    pub versions: Vec<ProtocolVersion>,
    /// MLS cipher suites.
    pub cipher_suites: Vec<CipherSuite>,
    /// MLS extension types.
    pub extensions: Vec<ExtensionType>,
    /// MLS proposal types.
    pub proposals: Vec<ProposalType>,
    /// MLS credential types.
    pub credentials: Vec<CredentialType>,
    /// MLS wire formats.
    pub wire_formats: Vec<WireFormat>,
    /// Application component IDs.
    pub component_ids: Vec<ComponentId>,
    /// Component IDs usable as Safe AAD items.
    pub safe_aad_types: Vec<ComponentId>,
    /// Media types of application content.
    pub media_types: Vec<MediaType>,
    /// MLS content types.
    pub content_types: Vec<ContentType>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::component::test_support::{
        assert_trailing_rejected, assert_truncations_rejected, json_roundtrip, tls_roundtrip,
    };

    #[test]
    fn extended_capabilities_encodes_ten_vectors_in_order() {
        let caps = ExtendedCapabilities {
            versions: vec![1],
            cipher_suites: vec![1, 3],
            extensions: vec![],
            proposals: vec![8],
            credentials: vec![1],
            wire_formats: vec![1],
            component_ids: vec![0x27],
            safe_aad_types: vec![],
            media_types: vec![MediaType::from("text/plain")],
            content_types: vec![1, 2],
        };
        let mut expected = vec![
            2, 0, 1, 4, 0, 1, 0, 3, 0, 2, 0, 8, 2, 0, 1, 2, 0, 1, 2, 0, 0x27, 0,
        ];
        expected.extend([11, 10]);
        expected.extend(b"text/plain");
        // content_types are uint8, so two entries take two bytes.
        expected.extend([2, 1, 2]);
        assert_eq!(tls_roundtrip(&caps), expected);
        let json = json_roundtrip(&caps);
        assert!(json.contains("\"cipher-suites\":[1,3]"));
        assert!(json.contains("\"safe-aad-types\":[]"));
        assert_truncations_rejected(&caps);
        assert_trailing_rejected(&caps);
    }

    #[test]
    fn extended_capabilities_default_is_ten_empty_vectors() {
        assert_eq!(tls_roundtrip(&ExtendedCapabilities::default()), [0; 10]);
        assert_eq!(
            serde_json::from_str::<ExtendedCapabilities>("{}").unwrap(),
            ExtendedCapabilities::default()
        );
    }
}
