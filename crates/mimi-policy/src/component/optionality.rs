//! The `Optionality` enum and the `select (optionality)` wire pattern (RP-04 Appendix B).
//!
//! Several RP-04 structs are an `Optionality` followed by a `select` whose
//! `required` (spelled `mandatory`, erratum 1) and `optional` arms carry the
//! same fields while `forbidden` carries nothing. The helpers here encode that
//! shape once so each policy enum only supplies its arm type.

use std::io::{Read, Write};

use tls_codec::{Deserialize, Serialize, Size};

/// Whether a feature is optional, required or forbidden in the room (RP-04 Appendix B).
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
    tls_codec::TlsSerialize,
    tls_codec::TlsDeserialize,
    tls_codec::TlsSize,
)]
#[serde(rename_all = "kebab-case")]
#[repr(u8)]
pub enum Optionality {
    /// Clients may use the feature (`optional(0)`, the zero value).
    #[default]
    Optional = 0,
    /// Clients must use the feature (`required(1)`, spelled `mandatory` in `select` arms).
    Required = 1,
    /// Clients must not use the feature (`forbidden(2)`).
    Forbidden = 2,
}

/// Encoded size of a select-struct whose non-forbidden arm is `arm`.
pub(crate) fn select_len<T: Size>(arm: Option<&T>) -> usize {
    1 + arm.map_or(0, Size::tls_serialized_len)
}

/// Writes the optionality tag and, for the `optional`/`required` arms, the arm's fields.
pub(crate) fn serialize_select<T: Serialize, W: Write>(
    tag: Optionality,
    arm: Option<&T>,
    writer: &mut W,
) -> Result<usize, tls_codec::Error> {
    let mut written = tag.tls_serialize(writer)?;
    match (tag, arm) {
        (Optionality::Forbidden, None) => {}
        (Optionality::Optional | Optionality::Required, Some(arm)) => {
            written += arm.tls_serialize(writer)?;
        }
        // The callers build (tag, arm) from their own enum, so a mismatch is a bug here.
        _ => return Err(tls_codec::Error::LibraryError),
    }
    Ok(written)
}

/// A decoded select-struct: the forbidden arm, or the optional/required arm with its data.
pub(crate) enum Selected<T> {
    /// `case forbidden: struct {};`
    Forbidden,
    /// `case optional:` with its fields.
    Optional(T),
    /// `case mandatory:` (= required) with its fields.
    Required(T),
}

/// Reads the optionality tag and the fields of the chosen arm.
pub(crate) fn deserialize_select<T: Deserialize, R: Read>(
    reader: &mut R,
) -> Result<Selected<T>, tls_codec::Error> {
    Ok(match Optionality::tls_deserialize(reader)? {
        Optionality::Forbidden => Selected::Forbidden,
        Optionality::Optional => Selected::Optional(T::tls_deserialize(reader)?),
        Optionality::Required => Selected::Required(T::tls_deserialize(reader)?),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::codec::{DecodeError, decode_exact};
    use crate::component::test_support::{json_roundtrip, tls_roundtrip};

    #[test]
    fn optionality_wire_values_match_draft_enum() {
        assert_eq!(tls_roundtrip(&Optionality::Optional), [0]);
        assert_eq!(tls_roundtrip(&Optionality::Required), [1]);
        assert_eq!(tls_roundtrip(&Optionality::Forbidden), [2]);
    }

    #[test]
    fn optionality_rejects_unknown_value() {
        assert!(matches!(
            decode_exact::<Optionality>(&[3]),
            Err(DecodeError::Malformed(_))
        ));
    }

    #[test]
    fn optionality_json_is_kebab_case_string() {
        assert_eq!(json_roundtrip(&Optionality::Required), "\"required\"");
        assert!(serde_json::from_str::<Optionality>("\"mandatory\"").is_err());
    }

    #[test]
    fn optionality_default_is_zero_value_optional() {
        assert_eq!(Optionality::default(), Optionality::Optional);
    }

    #[test]
    fn serialize_select_rejects_mismatched_arm() {
        let mut out = Vec::new();
        assert!(serialize_select::<u8, _>(Optionality::Forbidden, Some(&1), &mut out).is_err());
        assert!(serialize_select::<u8, _>(Optionality::Required, None, &mut out).is_err());
    }
}
