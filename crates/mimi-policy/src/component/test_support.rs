//! Shared round-trip assertions for the component tests.

use std::fmt::Debug;

use crate::codec::decode_exact;

/// Encodes `value`, checks the declared size and exact decoding, and returns the bytes.
pub(crate) fn tls_roundtrip<T>(value: &T) -> Vec<u8>
where
    T: tls_codec::Serialize + tls_codec::Deserialize + PartialEq + Debug,
{
    let bytes = value.tls_serialize_detached().unwrap();
    assert_eq!(value.tls_serialized_len(), bytes.len(), "Size disagrees");
    let decoded: T = decode_exact(&bytes).unwrap();
    assert_eq!(&decoded, value);
    bytes
}

/// Serializes `value` to JSON, checks it parses back equal, and returns the JSON.
pub(crate) fn json_roundtrip<T>(value: &T) -> String
where
    T: serde::Serialize + serde::de::DeserializeOwned + PartialEq + Debug,
{
    let json = serde_json::to_string(value).unwrap();
    let decoded: T = serde_json::from_str(&json).unwrap();
    assert_eq!(&decoded, value, "JSON was {json}");
    json
}

/// Checks that every strict prefix of a valid encoding fails to decode.
pub(crate) fn assert_truncations_rejected<T>(value: &T)
where
    T: tls_codec::Serialize + tls_codec::Deserialize + Debug,
{
    let bytes = value.tls_serialize_detached().unwrap();
    for cut in 0..bytes.len() {
        assert!(
            decode_exact::<T>(&bytes[..cut]).is_err(),
            "prefix of {cut} bytes decoded"
        );
    }
}

/// Checks that a valid encoding followed by an extra byte is rejected.
pub(crate) fn assert_trailing_rejected<T>(value: &T)
where
    T: tls_codec::Serialize + tls_codec::Deserialize + Debug,
{
    let mut bytes = value.tls_serialize_detached().unwrap();
    bytes.push(0);
    assert_eq!(
        decode_exact::<T>(&bytes).unwrap_err(),
        crate::codec::DecodeError::TrailingBytes { extra: 1 }
    );
}
