//! `OperationalParameters`, the MLS operational policy (RP-04 §7, component 0x0024).
//!
//! RP-04 does not fix the time unit of the lifetimes and periods below;
//! they are carried as the draft's integers and interpreted by the caller.

use super::{
    ComponentError, ComponentId, ExtendedCapabilities, Flag, PendingProposalPolicy,
    PolicyComponent, WireFormat, ids,
};

/// A minimum, default and maximum time (RP-04 §7).
#[derive(
    Clone,
    Copy,
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
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct MinDefaultMaxTime {
    /// Lower bound.
    pub minimum_time: u64,
    /// Value used unless configured otherwise.
    pub default_time: u64,
    /// Upper bound.
    pub maximum_time: u64,
}

impl MinDefaultMaxTime {
    /// Checks `minimum_time <= default_time <= maximum_time`; `field` names it in the error.
    pub fn validate(&self, field: &'static str) -> Result<(), ComponentError> {
        if self.minimum_time <= self.default_time && self.default_time <= self.maximum_time {
            Ok(())
        } else {
            Err(ComponentError::TimeRangeUnordered {
                field,
                min: self.minimum_time,
                default: self.default_time,
                max: self.maximum_time,
            })
        }
    }
}

/// Tolerances for application messages (RP-04 §7).
#[derive(
    Clone,
    Copy,
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
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct AppMessagePolicy {
    /// How many past epochs application messages may be decrypted from.
    pub epoch_tolerance: u8,
    /// Messages are padded to a multiple of this size.
    pub pad_to_size: u16,
    /// How many generations a receiver may skip ahead in a sender's ratchet.
    pub max_generations_skipahead: u32,
}

/// The room's MLS operational policy (RP-04 §7).
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
pub struct OperationalParameters {
    /// Capabilities every member must support.
    pub mandatory_capabilities: ExtendedCapabilities,
    /// Capabilities used unless configured otherwise.
    pub default_capabilities: ExtendedCapabilities,
    /// Capabilities no member may use.
    pub forbidden_capabilities: ExtendedCapabilities,
    /// Wire formats allowed for handshake messages.
    pub handshake_formats: Vec<WireFormat>,
    /// External proposals are accepted.
    pub external_proposal_allowed: Flag,
    /// External commits are accepted.
    pub external_commit_allowed: Flag,
    /// When pending proposals are committed.
    pub pending_proposal_policy: PendingProposalPolicy,
    /// How often members update their LeafNode (`LeafNode_update_time` in the draft).
    pub leaf_node_update_time: MinDefaultMaxTime,
    /// Tolerances for application messages.
    pub app_message_policy: AppMessagePolicy,
    /// Maximum KeyPackage lifetime (`unit64` in the draft, read as `uint64`).
    pub max_kp_lifetime: u64,
    /// Maximum credential lifetime.
    pub max_credential_lifetime: u64,
    /// Lifetime of resumption PSKs.
    pub resumption_psk_lifetime: u64,
    /// Lifetime of sender-nonce keypairs.
    pub sender_nonce_keypair_lifetime: MinDefaultMaxTime,
    /// Maximum number of keypairs kept.
    pub max_keypairs: u32,
    /// How long incoming messages are buffered.
    pub buffer_incoming_message_time: MinDefaultMaxTime,
    /// Maximum number of buffered messages.
    pub max_buffered_messages: u32,
}

impl OperationalParameters {
    /// Checks the ordering of every min/default/max triple and of the random-delay bounds.
    pub fn validate(&self) -> Result<(), ComponentError> {
        self.pending_proposal_policy.validate()?;
        self.leaf_node_update_time
            .validate("leaf_node_update_time")?;
        self.sender_nonce_keypair_lifetime
            .validate("sender_nonce_keypair_lifetime")?;
        self.buffer_incoming_message_time
            .validate("buffer_incoming_message_time")
    }
}

impl PolicyComponent for OperationalParameters {
    const ID: ComponentId = ids::MLS_OPERATIONAL_POLICY;
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::codec::{DecodeError, decode_exact};
    use crate::component::MediaType;
    use crate::component::pending_proposal::tests::arb_pending_proposal_policy;
    use crate::component::test_support::{
        assert_trailing_rejected, assert_truncations_rejected, json_roundtrip, tls_roundtrip,
    };
    use proptest::prelude::*;

    fn time(min: u64, default: u64, max: u64) -> MinDefaultMaxTime {
        MinDefaultMaxTime {
            minimum_time: min,
            default_time: default,
            maximum_time: max,
        }
    }

    pub(crate) fn sample() -> OperationalParameters {
        OperationalParameters {
            mandatory_capabilities: ExtendedCapabilities {
                versions: vec![1],
                cipher_suites: vec![1],
                ..ExtendedCapabilities::default()
            },
            default_capabilities: ExtendedCapabilities::default(),
            forbidden_capabilities: ExtendedCapabilities {
                wire_formats: vec![2],
                ..ExtendedCapabilities::default()
            },
            handshake_formats: vec![1, 5],
            external_proposal_allowed: Flag(true),
            external_commit_allowed: Flag(false),
            pending_proposal_policy: PendingProposalPolicy::ImmediateCommit,
            leaf_node_update_time: time(1, 2, 3),
            app_message_policy: AppMessagePolicy {
                epoch_tolerance: 1,
                pad_to_size: 256,
                max_generations_skipahead: 1000,
            },
            max_kp_lifetime: 7_776_000,
            max_credential_lifetime: 31_536_000,
            resumption_psk_lifetime: 86_400,
            sender_nonce_keypair_lifetime: time(4, 5, 6),
            max_keypairs: 8,
            buffer_incoming_message_time: time(0, 10, 60),
            max_buffered_messages: 100,
        }
    }

    fn arb_caps() -> impl Strategy<Value = ExtendedCapabilities> {
        let small = || proptest::collection::vec(any::<u16>(), 0..3);
        (
            (small(), small(), small(), small(), small()),
            (
                small(),
                small(),
                small(),
                proptest::collection::vec("[a-z]{1,5}/[a-z]{1,5}", 0..2),
                proptest::collection::vec(any::<u8>(), 0..3),
            ),
        )
            .prop_map(
                |(
                    (versions, cipher_suites, extensions, proposals, credentials),
                    (wire_formats, component_ids, safe_aad_types, media, content_types),
                )| ExtendedCapabilities {
                    versions,
                    cipher_suites,
                    extensions,
                    proposals,
                    credentials,
                    wire_formats,
                    component_ids,
                    safe_aad_types,
                    media_types: media.into_iter().map(MediaType).collect(),
                    content_types,
                },
            )
    }

    fn arb_time() -> impl Strategy<Value = MinDefaultMaxTime> {
        (any::<u64>(), any::<u64>(), any::<u64>()).prop_map(|(a, b, c)| time(a, b, c))
    }

    /// Strategy for arbitrary (not necessarily valid) operational parameters.
    pub(crate) fn arb_operational_parameters() -> impl Strategy<Value = OperationalParameters> {
        (
            (arb_caps(), arb_caps(), arb_caps()),
            (
                proptest::collection::vec(any::<u16>(), 0..3),
                any::<bool>(),
                any::<bool>(),
                arb_pending_proposal_policy(),
                arb_time(),
                (any::<u8>(), any::<u16>(), any::<u32>()),
            ),
            (
                any::<u64>(),
                any::<u64>(),
                any::<u64>(),
                arb_time(),
                any::<u32>(),
                arb_time(),
                any::<u32>(),
            ),
        )
            .prop_map(
                |(
                    (mandatory, default, forbidden),
                    (handshake_formats, ext_prop, ext_commit, pending, leaf, (epoch, pad, skip)),
                    (kp, cred, psk, nonce, keypairs, buffer, buffered),
                )| OperationalParameters {
                    mandatory_capabilities: mandatory,
                    default_capabilities: default,
                    forbidden_capabilities: forbidden,
                    handshake_formats,
                    external_proposal_allowed: Flag(ext_prop),
                    external_commit_allowed: Flag(ext_commit),
                    pending_proposal_policy: pending,
                    leaf_node_update_time: leaf,
                    app_message_policy: AppMessagePolicy {
                        epoch_tolerance: epoch,
                        pad_to_size: pad,
                        max_generations_skipahead: skip,
                    },
                    max_kp_lifetime: kp,
                    max_credential_lifetime: cred,
                    resumption_psk_lifetime: psk,
                    sender_nonce_keypair_lifetime: nonce,
                    max_keypairs: keypairs,
                    buffer_incoming_message_time: buffer,
                    max_buffered_messages: buffered,
                },
            )
    }

    #[test]
    fn operational_parameters_round_trip() {
        let bytes = tls_roundtrip(&sample());
        // 3 capability sets (14 + 10 + 12 bytes), handshake_formats (5), two bools,
        // immediate_commit (1), time (24), app policy (7), three uint64 (24), time (24),
        // uint32, time (24), uint32.
        assert_eq!(
            bytes.len(),
            14 + 10 + 12 + 5 + 2 + 1 + 24 + 7 + 24 + 24 + 4 + 24 + 4
        );
        let json = json_roundtrip(&sample());
        assert!(json.contains("\"leaf-node-update-time\":{\"minimum-time\":1"));
        assert!(json.contains("\"pending-proposal-policy\":{\"strategy\":\"immediate-commit\"}"));
        assert_truncations_rejected(&sample());
        assert_trailing_rejected(&sample());
    }

    #[test]
    fn app_message_policy_and_time_encode_fixed_width() {
        let app = AppMessagePolicy {
            epoch_tolerance: 1,
            pad_to_size: 0x0102,
            max_generations_skipahead: 0x0304_0506,
        };
        assert_eq!(tls_roundtrip(&app), [1, 1, 2, 3, 4, 5, 6]);
        json_roundtrip(&app);
        let t = time(1, 2, 3);
        let bytes = tls_roundtrip(&t);
        assert_eq!(bytes.len(), 24);
        assert_eq!([bytes[7], bytes[15], bytes[23]], [1, 2, 3]);
        json_roundtrip(&t);
    }

    #[test]
    fn operational_parameters_rejects_bool_byte_two() {
        let mut bytes = tls_roundtrip(&sample());
        bytes[14 + 10 + 12 + 5] = 2; // external_proposal_allowed
        assert!(matches!(
            decode_exact::<OperationalParameters>(&bytes),
            Err(DecodeError::Malformed(_))
        ));
    }

    #[test]
    fn operational_parameters_rejects_unordered_time_ranges() {
        let mut params = sample();
        assert!(params.validate().is_ok());
        params.buffer_incoming_message_time = time(5, 4, 6);
        assert_eq!(
            params.validate(),
            Err(ComponentError::TimeRangeUnordered {
                field: "buffer_incoming_message_time",
                min: 5,
                default: 4,
                max: 6
            })
        );
        params.buffer_incoming_message_time = time(0, 0, 0);
        params.pending_proposal_policy = PendingProposalPolicy::RandomDelay {
            minimum_delay_ms: 2,
            maximum_delay_ms: 1,
        };
        assert_eq!(
            params.validate(),
            Err(ComponentError::RandomDelayUnordered { min: 2, max: 1 })
        );
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(64))]

        #[test]
        fn operational_parameters_tls_and_json_round_trip(params in arb_operational_parameters()) {
            tls_roundtrip(&params);
            json_roundtrip(&params);
        }

        #[test]
        fn operational_parameters_decoding_arbitrary_bytes_never_panics(
            bytes in proptest::collection::vec(any::<u8>(), 0..160)
        ) {
            let _ = decode_exact::<OperationalParameters>(&bytes);
        }
    }
}
