//! Text-valued opaque vectors of RP-04 Appendix B: `Uri`, `DomainName` and `MediaType`.
//!
//! The draft declares each as `opaque <name><V>`. All three are text by
//! definition (RFC 3986 URIs, DNS names, RFC 6838 media types), so they are
//! held as `String`: decoding rejects non-UTF-8 bytes, and JSON shows them as
//! plain strings. Syntax beyond UTF-8 is not checked here.

/// A URI, `struct { opaque uri<V>; } Uri` (RP-04 Appendix B).
#[derive(
    Clone,
    PartialEq,
    Eq,
    PartialOrd,
    Ord,
    Hash,
    Debug,
    Default,
    serde::Serialize,
    serde::Deserialize,
    tls_codec::TlsSerialize,
    tls_codec::TlsDeserialize,
    tls_codec::TlsSize,
)]
#[serde(transparent)]
pub struct Uri(pub String);

/// A DNS domain name, `struct { opaque domain<V>; } DomainName` (RP-04 Appendix B).
#[derive(
    Clone,
    PartialEq,
    Eq,
    PartialOrd,
    Ord,
    Hash,
    Debug,
    Default,
    serde::Serialize,
    serde::Deserialize,
    tls_codec::TlsSerialize,
    tls_codec::TlsDeserialize,
    tls_codec::TlsSize,
)]
#[serde(transparent)]
pub struct DomainName(pub String);

/// A media type such as `image/png`, simplified from mls-extensions `MediaType` to its `media_type<V>` string.
///
/// mls-extensions §6.2.2 also carries media-type parameters; RP-04 only names
/// media types in allow/deny lists, so parameters are not modelled.
#[derive(
    Clone,
    PartialEq,
    Eq,
    PartialOrd,
    Ord,
    Hash,
    Debug,
    Default,
    serde::Serialize,
    serde::Deserialize,
    tls_codec::TlsSerialize,
    tls_codec::TlsDeserialize,
    tls_codec::TlsSize,
)]
#[serde(transparent)]
pub struct MediaType(pub String);

macro_rules! text_conversions {
    ($($ty:ident),*) => {$(
        impl $ty {
            /// Returns the text.
            pub fn as_str(&self) -> &str {
                &self.0
            }

            /// Returns true when the text is empty.
            pub fn is_empty(&self) -> bool {
                self.0.is_empty()
            }
        }

        impl From<&str> for $ty {
            fn from(value: &str) -> Self {
                $ty(value.to_owned())
            }
        }

        impl From<String> for $ty {
            fn from(value: String) -> Self {
                $ty(value)
            }
        }

        impl std::fmt::Display for $ty {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(&self.0)
            }
        }
    )*};
}

text_conversions!(Uri, DomainName, MediaType);

#[cfg(test)]
mod tests {
    use super::*;
    use crate::codec::{DecodeError, decode_exact};
    use crate::component::test_support::{
        assert_trailing_rejected, assert_truncations_rejected, json_roundtrip, tls_roundtrip,
    };

    #[test]
    fn uri_is_varint_length_then_utf8_bytes() {
        let uri = Uri::from("mimi://a.example/r/x");
        let bytes = tls_roundtrip(&uri);
        assert_eq!(bytes[0], 20);
        assert_eq!(&bytes[1..], b"mimi://a.example/r/x");
        assert_eq!(json_roundtrip(&uri), "\"mimi://a.example/r/x\"");
    }

    #[test]
    fn long_uri_uses_two_byte_varint_length() {
        let uri = Uri("a".repeat(100));
        let bytes = tls_roundtrip(&uri);
        // 100 > 63, so QUIC varint needs the 2-byte form 0x40|len_hi, len_lo.
        assert_eq!(&bytes[..2], [0x40, 100]);
    }

    #[test]
    fn uri_rejects_non_utf8() {
        assert!(matches!(
            decode_exact::<Uri>(&[2, 0xc3, 0x28]),
            Err(DecodeError::Malformed(_))
        ));
    }

    #[test]
    fn domain_and_media_type_round_trip() {
        let domain = DomainName::from("upload.example");
        tls_roundtrip(&domain);
        json_roundtrip(&domain);
        let media = MediaType::from("image/png");
        tls_roundtrip(&media);
        assert_eq!(json_roundtrip(&media), "\"image/png\"");
        assert_truncations_rejected(&media);
        assert_trailing_rejected(&media);
    }
}
