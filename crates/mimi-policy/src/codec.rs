//! TLS presentation-language helpers shared by every policy component.
//!
//! RFC 8446 §3 / RFC 9420 §2.1 conventions as used by RP-04 Appendix B:
//! `bool` is a one-byte enum `{false(0), true(1)}` and every component is a
//! self-contained TLS value, so a decoder must consume its input exactly.

use std::io::{Read, Write};

/// Why a TLS-encoded policy value could not be decoded.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DecodeError {
    /// The bytes do not follow the TLS syntax (truncated, bad length, unknown enum value, bad UTF-8, ...).
    #[error("malformed TLS encoding: {0}")]
    Malformed(String),
    /// A complete value was decoded but input bytes were left over.
    #[error("{extra} trailing byte(s) after the encoded value")]
    TrailingBytes {
        /// Number of bytes left unread.
        extra: usize,
    },
    /// The bytes are well-formed but describe a value the spec does not allow.
    #[error("invalid value: {0}")]
    Invalid(&'static str),
}

impl From<tls_codec::Error> for DecodeError {
    fn from(err: tls_codec::Error) -> Self {
        DecodeError::Malformed(err.to_string())
    }
}

/// Decodes one `T` from `bytes` and rejects any bytes left after it.
///
/// AppDataDictionary entries and AppDataUpdate payloads are length-delimited
/// by their container, so leftover bytes mean the sender and receiver disagree
/// on the structure; accepting them would let two parsers see different policies.
pub fn decode_exact<T: tls_codec::Deserialize>(bytes: &[u8]) -> Result<T, DecodeError> {
    let mut reader = bytes;
    let value = T::tls_deserialize(&mut reader)?;
    if reader.is_empty() {
        Ok(value)
    } else {
        Err(DecodeError::TrailingBytes {
            extra: reader.len(),
        })
    }
}

/// A TLS `bool`: one byte, 0 or 1; JSON shows it as `true`/`false`.
#[derive(
    Clone,
    Copy,
    PartialEq,
    Eq,
    PartialOrd,
    Ord,
    Hash,
    Debug,
    Default,
    serde::Serialize,
    serde::Deserialize,
)]
#[serde(transparent)]
pub struct Flag(pub bool);

impl Flag {
    /// Returns the wrapped boolean.
    pub const fn get(self) -> bool {
        self.0
    }
}

impl From<bool> for Flag {
    fn from(value: bool) -> Self {
        Flag(value)
    }
}

impl From<Flag> for bool {
    fn from(value: Flag) -> Self {
        value.0
    }
}

impl tls_codec::Size for Flag {
    fn tls_serialized_len(&self) -> usize {
        1
    }
}

impl tls_codec::Serialize for Flag {
    fn tls_serialize<W: Write>(&self, writer: &mut W) -> Result<usize, tls_codec::Error> {
        u8::from(self.0).tls_serialize(writer)
    }
}

impl tls_codec::Deserialize for Flag {
    fn tls_deserialize<R: Read>(bytes: &mut R) -> Result<Self, tls_codec::Error> {
        // Only 0 and 1 are enum values of `bool`; treating any non-zero byte as
        // true would give one policy two encodings.
        match u8::tls_deserialize(bytes)? {
            0 => Ok(Flag(false)),
            1 => Ok(Flag(true)),
            other => Err(tls_codec::Error::DecodingError(format!(
                "bool must be 0 or 1, got {other}"
            ))),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tls_codec::Serialize as _;

    #[test]
    fn flag_encodes_as_single_byte_zero_or_one() {
        assert_eq!(Flag(false).tls_serialize_detached().unwrap(), [0]);
        assert_eq!(Flag(true).tls_serialize_detached().unwrap(), [1]);
    }

    #[test]
    fn flag_decodes_zero_and_one() {
        assert_eq!(decode_exact::<Flag>(&[0]).unwrap(), Flag(false));
        assert_eq!(decode_exact::<Flag>(&[1]).unwrap(), Flag(true));
    }

    #[test]
    fn flag_rejects_byte_two() {
        assert!(matches!(
            decode_exact::<Flag>(&[2]),
            Err(DecodeError::Malformed(_))
        ));
    }

    #[test]
    fn flag_rejects_empty_input() {
        assert!(matches!(
            decode_exact::<Flag>(&[]),
            Err(DecodeError::Malformed(_))
        ));
    }

    #[test]
    fn decode_exact_rejects_trailing_bytes() {
        assert_eq!(
            decode_exact::<Flag>(&[1, 0, 0]),
            Err(DecodeError::TrailingBytes { extra: 2 })
        );
    }

    #[test]
    fn flag_json_is_plain_boolean() {
        assert_eq!(serde_json::to_string(&Flag(true)).unwrap(), "true");
        assert_eq!(serde_json::from_str::<Flag>("false").unwrap(), Flag(false));
    }

    #[test]
    fn decode_exact_reads_varint_string() {
        assert_eq!(
            decode_exact::<String>(&[2, b'h', b'i']).unwrap(),
            "hi".to_owned()
        );
        assert!(matches!(
            decode_exact::<String>(&[2, 0xff, 0xfe]),
            Err(DecodeError::Malformed(_))
        ));
    }
}
