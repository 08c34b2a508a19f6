//! `LoggingPolicy` (RP-04 §6.5, component 0x002D).

use std::io::{Read, Write};

use super::optionality::{Selected, deserialize_select, select_len, serialize_select};
use super::{ComponentId, Optionality, PolicyComponent, Uri, ids};

/// The fields shared by the `optional` and `required` arms of [`LoggingPolicy`] (RP-04 §6.5).
#[derive(
    Clone,
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
pub struct LoggingDetails {
    /// URIs of the clients that log the room.
    pub logging_clients: Vec<Uri>,
    /// Where the machine-readable logging policy is published.
    pub machine_readable_policy: Uri,
    /// Where the human-readable logging policy is published.
    pub human_readable_policy: Uri,
}

/// Whether the room may, must or must not be logged (RP-04 §6.5).
///
/// Wire form: `Optionality logging` then, unless forbidden, the
/// [`LoggingDetails`] fields. JSON: `{"logging": "optional", ...details}`.
#[derive(Clone, PartialEq, Eq, Debug, Default, serde::Serialize, serde::Deserialize)]
#[serde(from = "LoggingPolicyJson", into = "LoggingPolicyJson")]
pub enum LoggingPolicy {
    /// No logging is allowed; the privacy-preserving default.
    #[default]
    Forbidden,
    /// Logging may happen with these clients and policies.
    Optional(LoggingDetails),
    /// Logging must happen with these clients and policies.
    Required(LoggingDetails),
}

impl LoggingPolicy {
    /// The `logging` optionality on the wire.
    pub fn optionality(&self) -> Optionality {
        match self {
            LoggingPolicy::Forbidden => Optionality::Forbidden,
            LoggingPolicy::Optional(_) => Optionality::Optional,
            LoggingPolicy::Required(_) => Optionality::Required,
        }
    }

    /// The arm's details, `None` when logging is forbidden.
    pub fn details(&self) -> Option<&LoggingDetails> {
        match self {
            LoggingPolicy::Forbidden => None,
            LoggingPolicy::Optional(details) | LoggingPolicy::Required(details) => Some(details),
        }
    }
}

impl PolicyComponent for LoggingPolicy {
    const ID: ComponentId = ids::LOGGING_POLICY;
}

/// JSON shape of [`LoggingPolicy`].
///
/// serde ignores stray fields next to the tag of an internally tagged unit
/// variant, so `forbidden` is an empty struct variant here to keep
/// `deny_unknown_fields` effective.
#[derive(serde::Serialize, serde::Deserialize)]
#[serde(tag = "logging", rename_all = "kebab-case", deny_unknown_fields)]
enum LoggingPolicyJson {
    Forbidden {},
    Optional(LoggingDetails),
    Required(LoggingDetails),
}

impl From<LoggingPolicyJson> for LoggingPolicy {
    fn from(json: LoggingPolicyJson) -> Self {
        match json {
            LoggingPolicyJson::Forbidden {} => LoggingPolicy::Forbidden,
            LoggingPolicyJson::Optional(arm) => LoggingPolicy::Optional(arm),
            LoggingPolicyJson::Required(arm) => LoggingPolicy::Required(arm),
        }
    }
}

impl From<LoggingPolicy> for LoggingPolicyJson {
    fn from(policy: LoggingPolicy) -> Self {
        match policy {
            LoggingPolicy::Forbidden => LoggingPolicyJson::Forbidden {},
            LoggingPolicy::Optional(arm) => LoggingPolicyJson::Optional(arm),
            LoggingPolicy::Required(arm) => LoggingPolicyJson::Required(arm),
        }
    }
}

impl tls_codec::Size for LoggingPolicy {
    fn tls_serialized_len(&self) -> usize {
        select_len(self.details())
    }
}

impl tls_codec::Serialize for LoggingPolicy {
    fn tls_serialize<W: Write>(&self, writer: &mut W) -> Result<usize, tls_codec::Error> {
        serialize_select(self.optionality(), self.details(), writer)
    }
}

impl tls_codec::Deserialize for LoggingPolicy {
    fn tls_deserialize<R: Read>(bytes: &mut R) -> Result<Self, tls_codec::Error> {
        Ok(match deserialize_select(bytes)? {
            Selected::Forbidden => LoggingPolicy::Forbidden,
            Selected::Optional(details) => LoggingPolicy::Optional(details),
            Selected::Required(details) => LoggingPolicy::Required(details),
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
    use proptest::prelude::*;

    fn details() -> LoggingDetails {
        LoggingDetails {
            logging_clients: vec![Uri::from("l:1")],
            machine_readable_policy: Uri::from("m"),
            human_readable_policy: Uri::from("h"),
        }
    }

    fn arb_uri() -> impl Strategy<Value = Uri> {
        ".{0,10}".prop_map(Uri)
    }

    fn arb_details() -> impl Strategy<Value = LoggingDetails> {
        (
            proptest::collection::vec(arb_uri(), 0..3),
            arb_uri(),
            arb_uri(),
        )
            .prop_map(
                |(logging_clients, machine_readable_policy, human_readable_policy)| {
                    LoggingDetails {
                        logging_clients,
                        machine_readable_policy,
                        human_readable_policy,
                    }
                },
            )
    }

    fn arb_logging_policy() -> impl Strategy<Value = LoggingPolicy> {
        prop_oneof![
            Just(LoggingPolicy::Forbidden),
            arb_details().prop_map(LoggingPolicy::Optional),
            arb_details().prop_map(LoggingPolicy::Required),
        ]
    }

    #[test]
    fn logging_policy_required_encodes_to_hand_computed_bytes() {
        // Optionality logging = required(1) (the draft's `case mandatory:`), then
        //   Uri logging_clients<V>     = ["l:1"] -> outer length 4, inner length 3, "l:1"
        //   Uri machine_readable_policy = "m"    -> 01 'm'
        //   Uri human_readable_policy   = "h"    -> 01 'h'
        let expected = [1, 4, 3, b'l', b':', b'1', 1, b'm', 1, b'h'];
        assert_eq!(tls_roundtrip(&LoggingPolicy::Required(details())), expected);
    }

    #[test]
    fn logging_policy_forbidden_is_single_byte_and_default() {
        assert_eq!(LoggingPolicy::default(), LoggingPolicy::Forbidden);
        assert_eq!(tls_roundtrip(&LoggingPolicy::Forbidden), [2]);
        assert_eq!(
            json_roundtrip(&LoggingPolicy::Forbidden),
            "{\"logging\":\"forbidden\"}"
        );
    }

    #[test]
    fn logging_policy_optional_round_trips() {
        let policy = LoggingPolicy::Optional(details());
        assert_eq!(tls_roundtrip(&policy)[0], 0);
        let json = json_roundtrip(&policy);
        assert!(json.starts_with("{\"logging\":\"optional\",\"logging-clients\":[\"l:1\"]"));
        assert_eq!(policy.optionality(), Optionality::Optional);
        assert_truncations_rejected(&policy);
        assert_trailing_rejected(&policy);
    }

    #[test]
    fn logging_policy_json_rejects_unknown_fields() {
        let json = "{\"logging\":\"optional\",\"logging-clients\":[],\"machine-readable-policy\":\"m\",\"human-readable-policy\":\"h\",\"extra\":1}";
        assert!(serde_json::from_str::<LoggingPolicy>(json).is_err());
        assert!(serde_json::from_str::<LoggingPolicy>("{\"logging\":\"mandatory\"}").is_err());
        let forbidden_with_clients = "{\"logging\":\"forbidden\",\"logging-clients\":[]}";
        assert!(serde_json::from_str::<LoggingPolicy>(forbidden_with_clients).is_err());
    }

    #[test]
    fn logging_policy_rejects_unknown_optionality() {
        assert!(matches!(
            decode_exact::<LoggingPolicy>(&[3]),
            Err(DecodeError::Malformed(_))
        ));
    }

    #[test]
    fn logging_policy_forbidden_with_arm_bytes_is_trailing() {
        assert_eq!(
            decode_exact::<LoggingPolicy>(&[2, 0, 1, b'm', 1, b'h']),
            Err(DecodeError::TrailingBytes { extra: 5 })
        );
    }

    proptest! {
        #[test]
        fn logging_policy_tls_and_json_round_trip(policy in arb_logging_policy()) {
            tls_roundtrip(&policy);
            json_roundtrip(&policy);
        }

        #[test]
        fn logging_policy_decoding_arbitrary_bytes_never_panics(
            bytes in proptest::collection::vec(any::<u8>(), 0..48)
        ) {
            let _ = decode_exact::<LoggingPolicy>(&bytes);
        }
    }
}
