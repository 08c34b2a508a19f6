//! `PendingProposalPolicy`: when members commit pending proposals (RP-04 §7).

use std::io::{Read, Write};

use tls_codec::{Deserialize, Serialize, Size};

use super::{ComponentError, ComponentId};

/// The discriminant of [`PendingProposalPolicy`] (`uint8` enum, RP-04 §7).
///
/// RP-04 lists `unspecified(0)`, `immediate_commit(1)` and `random_delay(2)`
/// but its `select` also has a `case extension:` with no enum value
/// (erratum 2). We assign `extension(3)`, the next free value, carrying the
/// ComponentID of the component that holds the strategy's parameters.
#[derive(
    Clone,
    Copy,
    PartialEq,
    Eq,
    PartialOrd,
    Ord,
    Hash,
    Debug,
    serde::Serialize,
    serde::Deserialize,
    tls_codec::TlsSerialize,
    tls_codec::TlsDeserialize,
    tls_codec::TlsSize,
)]
#[serde(rename_all = "kebab-case")]
#[repr(u8)]
pub enum PendingProposalStrategy {
    /// No strategy is imposed.
    Unspecified = 0,
    /// Commit pending proposals at once.
    ImmediateCommit = 1,
    /// Commit after a random delay.
    RandomDelay = 2,
    /// A strategy defined by another component (our value for the draft's `case extension:`).
    Extension = 3,
}

/// How members handle pending proposals (RP-04 §7).
///
/// JSON: `{"strategy": "random-delay", "minimum-delay-ms": 10, "maximum-delay-ms": 20}`.
#[derive(Clone, Copy, PartialEq, Eq, Debug, Default, serde::Serialize, serde::Deserialize)]
#[serde(from = "PendingProposalPolicyJson", into = "PendingProposalPolicyJson")]
pub enum PendingProposalPolicy {
    /// No strategy is imposed (the zero value).
    #[default]
    Unspecified,
    /// Commit pending proposals at once.
    ImmediateCommit,
    /// Commit after a delay drawn from `[minimum_delay_ms, maximum_delay_ms]`.
    RandomDelay {
        /// Shortest delay in milliseconds.
        minimum_delay_ms: u64,
        /// Longest delay in milliseconds.
        maximum_delay_ms: u64,
    },
    /// The strategy's parameters live in another component.
    Extension {
        /// The component holding the strategy's parameters.
        id_of_strategy_params: ComponentId,
    },
}

impl PendingProposalPolicy {
    /// The `pending_proposal_strategy` value on the wire.
    pub fn strategy(&self) -> PendingProposalStrategy {
        match self {
            PendingProposalPolicy::Unspecified => PendingProposalStrategy::Unspecified,
            PendingProposalPolicy::ImmediateCommit => PendingProposalStrategy::ImmediateCommit,
            PendingProposalPolicy::RandomDelay { .. } => PendingProposalStrategy::RandomDelay,
            PendingProposalPolicy::Extension { .. } => PendingProposalStrategy::Extension,
        }
    }

    /// Checks `minimum_delay_ms <= maximum_delay_ms` for `random_delay`.
    pub fn validate(&self) -> Result<(), ComponentError> {
        match *self {
            PendingProposalPolicy::RandomDelay {
                minimum_delay_ms: min,
                maximum_delay_ms: max,
            } if min > max => Err(ComponentError::RandomDelayUnordered { min, max }),
            _ => Ok(()),
        }
    }
}

/// JSON shape of [`PendingProposalPolicy`].
///
/// serde ignores stray fields next to the tag of an internally tagged unit
/// variant, so the field-less arms are empty struct variants here to keep
/// `deny_unknown_fields` effective.
#[derive(serde::Serialize, serde::Deserialize)]
#[serde(
    tag = "strategy",
    rename_all = "kebab-case",
    rename_all_fields = "kebab-case",
    deny_unknown_fields
)]
enum PendingProposalPolicyJson {
    Unspecified {},
    ImmediateCommit {},
    RandomDelay {
        minimum_delay_ms: u64,
        maximum_delay_ms: u64,
    },
    Extension {
        id_of_strategy_params: ComponentId,
    },
}

impl From<PendingProposalPolicyJson> for PendingProposalPolicy {
    fn from(json: PendingProposalPolicyJson) -> Self {
        match json {
            PendingProposalPolicyJson::Unspecified {} => PendingProposalPolicy::Unspecified,
            PendingProposalPolicyJson::ImmediateCommit {} => PendingProposalPolicy::ImmediateCommit,
            PendingProposalPolicyJson::RandomDelay {
                minimum_delay_ms,
                maximum_delay_ms,
            } => PendingProposalPolicy::RandomDelay {
                minimum_delay_ms,
                maximum_delay_ms,
            },
            PendingProposalPolicyJson::Extension {
                id_of_strategy_params,
            } => PendingProposalPolicy::Extension {
                id_of_strategy_params,
            },
        }
    }
}

impl From<PendingProposalPolicy> for PendingProposalPolicyJson {
    fn from(policy: PendingProposalPolicy) -> Self {
        match policy {
            PendingProposalPolicy::Unspecified => PendingProposalPolicyJson::Unspecified {},
            PendingProposalPolicy::ImmediateCommit => PendingProposalPolicyJson::ImmediateCommit {},
            PendingProposalPolicy::RandomDelay {
                minimum_delay_ms,
                maximum_delay_ms,
            } => PendingProposalPolicyJson::RandomDelay {
                minimum_delay_ms,
                maximum_delay_ms,
            },
            PendingProposalPolicy::Extension {
                id_of_strategy_params,
            } => PendingProposalPolicyJson::Extension {
                id_of_strategy_params,
            },
        }
    }
}

impl Size for PendingProposalPolicy {
    fn tls_serialized_len(&self) -> usize {
        1 + match self {
            PendingProposalPolicy::Unspecified | PendingProposalPolicy::ImmediateCommit => 0,
            PendingProposalPolicy::RandomDelay { .. } => 16,
            PendingProposalPolicy::Extension { .. } => 2,
        }
    }
}

impl Serialize for PendingProposalPolicy {
    fn tls_serialize<W: Write>(&self, writer: &mut W) -> Result<usize, tls_codec::Error> {
        let mut written = self.strategy().tls_serialize(writer)?;
        match self {
            PendingProposalPolicy::Unspecified | PendingProposalPolicy::ImmediateCommit => {}
            PendingProposalPolicy::RandomDelay {
                minimum_delay_ms,
                maximum_delay_ms,
            } => {
                written += minimum_delay_ms.tls_serialize(writer)?;
                written += maximum_delay_ms.tls_serialize(writer)?;
            }
            PendingProposalPolicy::Extension {
                id_of_strategy_params,
            } => written += id_of_strategy_params.tls_serialize(writer)?,
        }
        Ok(written)
    }
}

impl Deserialize for PendingProposalPolicy {
    fn tls_deserialize<R: Read>(bytes: &mut R) -> Result<Self, tls_codec::Error> {
        Ok(match PendingProposalStrategy::tls_deserialize(bytes)? {
            PendingProposalStrategy::Unspecified => PendingProposalPolicy::Unspecified,
            PendingProposalStrategy::ImmediateCommit => PendingProposalPolicy::ImmediateCommit,
            PendingProposalStrategy::RandomDelay => PendingProposalPolicy::RandomDelay {
                minimum_delay_ms: u64::tls_deserialize(bytes)?,
                maximum_delay_ms: u64::tls_deserialize(bytes)?,
            },
            PendingProposalStrategy::Extension => PendingProposalPolicy::Extension {
                id_of_strategy_params: u16::tls_deserialize(bytes)?,
            },
        })
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::codec::{DecodeError, decode_exact};
    use crate::component::test_support::{
        assert_trailing_rejected, assert_truncations_rejected, json_roundtrip, tls_roundtrip,
    };
    use proptest::prelude::*;

    /// Strategy covering every arm with arbitrary (possibly unordered) delays.
    pub(crate) fn arb_pending_proposal_policy() -> impl Strategy<Value = PendingProposalPolicy> {
        prop_oneof![
            Just(PendingProposalPolicy::Unspecified),
            Just(PendingProposalPolicy::ImmediateCommit),
            (any::<u64>(), any::<u64>()).prop_map(|(minimum_delay_ms, maximum_delay_ms)| {
                PendingProposalPolicy::RandomDelay {
                    minimum_delay_ms,
                    maximum_delay_ms,
                }
            }),
            any::<u16>().prop_map(|id_of_strategy_params| PendingProposalPolicy::Extension {
                id_of_strategy_params
            }),
        ]
    }

    #[test]
    fn pending_proposal_policy_arms_encode_to_hand_computed_bytes() {
        assert_eq!(tls_roundtrip(&PendingProposalPolicy::Unspecified), [0]);
        assert_eq!(tls_roundtrip(&PendingProposalPolicy::ImmediateCommit), [1]);
        // random_delay(2), then two uint64 in network byte order.
        let delay = PendingProposalPolicy::RandomDelay {
            minimum_delay_ms: 1,
            maximum_delay_ms: 0x0102,
        };
        assert_eq!(
            tls_roundtrip(&delay),
            [2, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 1, 2]
        );
        // extension(3), our assigned value, then a uint16 ComponentID.
        let extension = PendingProposalPolicy::Extension {
            id_of_strategy_params: 0x8001,
        };
        assert_eq!(tls_roundtrip(&extension), [3, 0x80, 0x01]);
        assert_truncations_rejected(&delay);
        assert_trailing_rejected(&extension);
    }

    #[test]
    fn pending_proposal_policy_json_round_trips() {
        assert_eq!(
            json_roundtrip(&PendingProposalPolicy::RandomDelay {
                minimum_delay_ms: 10,
                maximum_delay_ms: 20
            }),
            "{\"strategy\":\"random-delay\",\"minimum-delay-ms\":10,\"maximum-delay-ms\":20}"
        );
        assert_eq!(
            json_roundtrip(&PendingProposalPolicy::Extension {
                id_of_strategy_params: 5
            }),
            "{\"strategy\":\"extension\",\"id-of-strategy-params\":5}"
        );
        assert_eq!(
            json_roundtrip(&PendingProposalPolicy::ImmediateCommit),
            "{\"strategy\":\"immediate-commit\"}"
        );
    }

    #[test]
    fn pending_proposal_policy_json_rejects_unknown_fields() {
        let json = "{\"strategy\":\"immediate-commit\",\"minimum-delay-ms\":1}";
        assert!(serde_json::from_str::<PendingProposalPolicy>(json).is_err());
        let json = "{\"strategy\":\"random-delay\",\"minimum-delay-ms\":1}";
        assert!(serde_json::from_str::<PendingProposalPolicy>(json).is_err());
    }

    #[test]
    fn pending_proposal_strategy_assigns_extension_value_three() {
        assert_eq!(tls_roundtrip(&PendingProposalStrategy::Extension), [3]);
        assert_eq!(
            json_roundtrip(&PendingProposalStrategy::RandomDelay),
            "\"random-delay\""
        );
        assert!(decode_exact::<PendingProposalStrategy>(&[4]).is_err());
    }

    #[test]
    fn pending_proposal_policy_rejects_unknown_strategy() {
        assert!(matches!(
            decode_exact::<PendingProposalPolicy>(&[4]),
            Err(DecodeError::Malformed(_))
        ));
    }

    #[test]
    fn pending_proposal_policy_rejects_unordered_random_delay() {
        let policy = PendingProposalPolicy::RandomDelay {
            minimum_delay_ms: 5,
            maximum_delay_ms: 4,
        };
        assert_eq!(
            policy.validate(),
            Err(ComponentError::RandomDelayUnordered { min: 5, max: 4 })
        );
    }

    proptest! {
        #[test]
        fn pending_proposal_policy_tls_and_json_round_trip(policy in arb_pending_proposal_policy()) {
            tls_roundtrip(&policy);
            json_roundtrip(&policy);
        }
    }
}
