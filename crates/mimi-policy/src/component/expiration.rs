//! `MessageExpiration`: disappearing-message rules (RP-04 §6.8, component 0x0030).

use std::io::{Read, Write};

use super::optionality::{Selected, deserialize_select, select_len, serialize_select};
use super::{ComponentError, ComponentId, Optionality, PolicyComponent, ids};

/// The fields shared by the `optional` and `required` arms of [`MessageExpiration`] (RP-04 §6.8).
#[derive(
    Clone,
    Copy,
    PartialEq,
    Eq,
    Debug,
    serde::Serialize,
    serde::Deserialize,
    tls_codec::TlsSerialize,
    tls_codec::TlsDeserialize,
    tls_codec::TlsSize,
)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct ExpirationRange {
    /// Shortest allowed expiration, in seconds.
    pub min_expiration_duration: u32,
    /// Longest allowed expiration, in seconds.
    pub max_expiration_duration: u32,
    /// Expiration applied when the sender picks none, in seconds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub default_expiration_duration: Option<u32>,
}

impl ExpirationRange {
    /// Checks `min <= max` and, when a default is given, `min <= default <= max`.
    pub fn validate(&self) -> Result<(), ComponentError> {
        let (min, max) = (self.min_expiration_duration, self.max_expiration_duration);
        if min > max {
            return Err(ComponentError::ExpirationMinAboveMax { min, max });
        }
        match self.default_expiration_duration {
            Some(default) if !(min..=max).contains(&default) => {
                Err(ComponentError::ExpirationDefaultOutOfRange { default, min, max })
            }
            _ => Ok(()),
        }
    }
}

/// Whether messages may, must or must not expire (RP-04 §6.8).
///
/// Wire form: `Optionality expiring_messages` then, unless forbidden, the
/// [`ExpirationRange`] fields. JSON: `{"expiring-messages": "optional", ...range}`.
#[derive(Clone, Copy, PartialEq, Eq, Debug, Default, serde::Serialize, serde::Deserialize)]
#[serde(from = "MessageExpirationJson", into = "MessageExpirationJson")]
pub enum MessageExpiration {
    /// Messages never expire; the only arm without parameters.
    #[default]
    Forbidden,
    /// Senders may set an expiration within the range.
    Optional(ExpirationRange),
    /// Every message expires within the range.
    Required(ExpirationRange),
}

impl MessageExpiration {
    /// The `expiring_messages` optionality on the wire.
    pub fn optionality(&self) -> Optionality {
        match self {
            MessageExpiration::Forbidden => Optionality::Forbidden,
            MessageExpiration::Optional(_) => Optionality::Optional,
            MessageExpiration::Required(_) => Optionality::Required,
        }
    }

    /// The arm's range, `None` when expiration is forbidden.
    pub fn range(&self) -> Option<&ExpirationRange> {
        match self {
            MessageExpiration::Forbidden => None,
            MessageExpiration::Optional(range) | MessageExpiration::Required(range) => Some(range),
        }
    }

    /// Checks the arm's range (see [`ExpirationRange::validate`]).
    pub fn validate(&self) -> Result<(), ComponentError> {
        self.range().map_or(Ok(()), ExpirationRange::validate)
    }
}

impl PolicyComponent for MessageExpiration {
    const ID: ComponentId = ids::MESSAGE_EXPIRATION_POLICY;
}

/// JSON shape of [`MessageExpiration`].
///
/// serde ignores stray fields next to the tag of an internally tagged unit
/// variant, so `forbidden` is an empty struct variant here to keep
/// `deny_unknown_fields` effective.
#[derive(serde::Serialize, serde::Deserialize)]
#[serde(
    tag = "expiring-messages",
    rename_all = "kebab-case",
    deny_unknown_fields
)]
enum MessageExpirationJson {
    Forbidden {},
    Optional(ExpirationRange),
    Required(ExpirationRange),
}

impl From<MessageExpirationJson> for MessageExpiration {
    fn from(json: MessageExpirationJson) -> Self {
        match json {
            MessageExpirationJson::Forbidden {} => MessageExpiration::Forbidden,
            MessageExpirationJson::Optional(arm) => MessageExpiration::Optional(arm),
            MessageExpirationJson::Required(arm) => MessageExpiration::Required(arm),
        }
    }
}

impl From<MessageExpiration> for MessageExpirationJson {
    fn from(policy: MessageExpiration) -> Self {
        match policy {
            MessageExpiration::Forbidden => MessageExpirationJson::Forbidden {},
            MessageExpiration::Optional(arm) => MessageExpirationJson::Optional(arm),
            MessageExpiration::Required(arm) => MessageExpirationJson::Required(arm),
        }
    }
}

impl tls_codec::Size for MessageExpiration {
    fn tls_serialized_len(&self) -> usize {
        select_len(self.range())
    }
}

impl tls_codec::Serialize for MessageExpiration {
    fn tls_serialize<W: Write>(&self, writer: &mut W) -> Result<usize, tls_codec::Error> {
        serialize_select(self.optionality(), self.range(), writer)
    }
}

impl tls_codec::Deserialize for MessageExpiration {
    fn tls_deserialize<R: Read>(bytes: &mut R) -> Result<Self, tls_codec::Error> {
        Ok(match deserialize_select(bytes)? {
            Selected::Forbidden => MessageExpiration::Forbidden,
            Selected::Optional(range) => MessageExpiration::Optional(range),
            Selected::Required(range) => MessageExpiration::Required(range),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::codec::{DecodeError, decode_exact};
    use crate::component::test_support::{
        assert_trailing_rejected, assert_truncations_rejected, json_roundtrip, tls_roundtrip,
    };

    fn range(min: u32, max: u32, default: Option<u32>) -> ExpirationRange {
        ExpirationRange {
            min_expiration_duration: min,
            max_expiration_duration: max,
            default_expiration_duration: default,
        }
    }

    #[test]
    fn message_expiration_required_encodes_to_hand_computed_bytes() {
        // expiring_messages = required(1); min uint32 60; max uint32 86400 (0x00015180);
        // optional default present(1) + uint32 3600 (0x00000e10).
        let policy = MessageExpiration::Required(range(60, 86_400, Some(3600)));
        let expected = [1, 0, 0, 0, 60, 0, 1, 0x51, 0x80, 1, 0, 0, 0x0e, 0x10];
        assert_eq!(tls_roundtrip(&policy), expected);
        assert_truncations_rejected(&policy);
        assert_trailing_rejected(&policy);
    }

    #[test]
    fn message_expiration_json_round_trips() {
        let policy = MessageExpiration::Optional(range(1, 2, None));
        assert_eq!(
            json_roundtrip(&policy),
            "{\"expiring-messages\":\"optional\",\"min-expiration-duration\":1,\"max-expiration-duration\":2}"
        );
        assert_eq!(tls_roundtrip(&policy), [0, 0, 0, 0, 1, 0, 0, 0, 2, 0]);
        json_roundtrip(&MessageExpiration::Required(range(1, 5, Some(3))));
        assert_eq!(tls_roundtrip(&MessageExpiration::default()), [2]);
    }

    #[test]
    fn message_expiration_json_rejects_fields_on_forbidden_arm() {
        let json = "{\"expiring-messages\":\"forbidden\",\"min-expiration-duration\":1}";
        assert!(serde_json::from_str::<MessageExpiration>(json).is_err());
    }

    #[test]
    fn message_expiration_rejects_min_above_max() {
        assert_eq!(
            MessageExpiration::Optional(range(10, 5, None)).validate(),
            Err(ComponentError::ExpirationMinAboveMax { min: 10, max: 5 })
        );
    }

    #[test]
    fn message_expiration_rejects_default_outside_range() {
        assert_eq!(
            MessageExpiration::Required(range(10, 20, Some(21))).validate(),
            Err(ComponentError::ExpirationDefaultOutOfRange {
                default: 21,
                min: 10,
                max: 20
            })
        );
        assert!(
            MessageExpiration::Required(range(10, 20, Some(10)))
                .validate()
                .is_ok()
        );
        assert!(
            MessageExpiration::Required(range(10, 10, None))
                .validate()
                .is_ok()
        );
    }

    #[test]
    fn message_expiration_rejects_bad_option_byte_and_unknown_optionality() {
        assert!(matches!(
            decode_exact::<MessageExpiration>(&[0, 0, 0, 0, 1, 0, 0, 0, 2, 2]),
            Err(DecodeError::Malformed(_))
        ));
        assert!(matches!(
            decode_exact::<MessageExpiration>(&[3]),
            Err(DecodeError::Malformed(_))
        ));
    }
}
