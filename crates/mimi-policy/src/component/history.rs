//! `HistoryPolicy`: sharing chat history with new members (RP-04 §6.6, component 0x002E).

use std::io::{Read, Write};

use super::optionality::{Selected, deserialize_select, select_len, serialize_select};
use super::{ComponentError, ComponentId, Flag, Optionality, PolicyComponent, ids};

/// Role index of users not (or no longer) in the participant list (RP-04 §3).
const OUTSIDER_ROLE: u32 = 0;
/// Role index of the banned role (RP-04 §3).
const BANNED_ROLE: u32 = 1;

/// The fields shared by the `optional` and `required` arms of [`HistoryPolicy`] (RP-04 §6.6).
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
pub struct HistorySharing {
    /// Role indexes whose holders may share history (`who_can_share` in the prose).
    pub roles_that_can_share: Vec<u32>,
    /// History is shared with new members without asking.
    pub automatically_share: Flag,
    /// How far back history may be shared, in seconds.
    pub max_time_period: u32,
}

impl HistorySharing {
    /// Rejects role 0 (outsider) and role 1 (banned) in `roles_that_can_share`.
    ///
    /// RP-04 §6.6 also excludes roles whose `maximum_active_participants_constraint`
    /// is 0; that needs the roles list, so the caller that holds it must check it.
    pub fn validate(&self) -> Result<(), ComponentError> {
        match self
            .roles_that_can_share
            .iter()
            .find(|&&role| role == OUTSIDER_ROLE || role == BANNED_ROLE)
        {
            Some(&role_index) => Err(ComponentError::HistoryRoleNotShareable { role_index }),
            None => Ok(()),
        }
    }
}

/// Whether history sharing is optional, required or forbidden (RP-04 §6.6).
///
/// Wire form: `Optionality history_sharing` then, unless forbidden, the
/// [`HistorySharing`] fields. JSON: `{"history-sharing": "required", ...fields}`.
#[derive(Clone, PartialEq, Eq, Debug, Default, serde::Serialize, serde::Deserialize)]
#[serde(from = "HistoryPolicyJson", into = "HistoryPolicyJson")]
pub enum HistoryPolicy {
    /// History is never shared; the privacy-preserving default.
    #[default]
    Forbidden,
    /// History may be shared under these rules.
    Optional(HistorySharing),
    /// History must be shared under these rules.
    Required(HistorySharing),
}

impl HistoryPolicy {
    /// The `history_sharing` optionality on the wire.
    pub fn optionality(&self) -> Optionality {
        match self {
            HistoryPolicy::Forbidden => Optionality::Forbidden,
            HistoryPolicy::Optional(_) => Optionality::Optional,
            HistoryPolicy::Required(_) => Optionality::Required,
        }
    }

    /// The arm's sharing rules, `None` when sharing is forbidden.
    pub fn sharing(&self) -> Option<&HistorySharing> {
        match self {
            HistoryPolicy::Forbidden => None,
            HistoryPolicy::Optional(sharing) | HistoryPolicy::Required(sharing) => Some(sharing),
        }
    }

    /// Checks the arm's rules (see [`HistorySharing::validate`]).
    pub fn validate(&self) -> Result<(), ComponentError> {
        self.sharing().map_or(Ok(()), HistorySharing::validate)
    }
}

impl PolicyComponent for HistoryPolicy {
    const ID: ComponentId = ids::CHAT_HISTORY_POLICY;
}

/// JSON shape of [`HistoryPolicy`].
///
/// serde ignores stray fields next to the tag of an internally tagged unit
/// variant, so `forbidden` is an empty struct variant here to keep
/// `deny_unknown_fields` effective.
#[derive(serde::Serialize, serde::Deserialize)]
#[serde(
    tag = "history-sharing",
    rename_all = "kebab-case",
    deny_unknown_fields
)]
enum HistoryPolicyJson {
    Forbidden {},
    Optional(HistorySharing),
    Required(HistorySharing),
}

impl From<HistoryPolicyJson> for HistoryPolicy {
    fn from(json: HistoryPolicyJson) -> Self {
        match json {
            HistoryPolicyJson::Forbidden {} => HistoryPolicy::Forbidden,
            HistoryPolicyJson::Optional(arm) => HistoryPolicy::Optional(arm),
            HistoryPolicyJson::Required(arm) => HistoryPolicy::Required(arm),
        }
    }
}

impl From<HistoryPolicy> for HistoryPolicyJson {
    fn from(policy: HistoryPolicy) -> Self {
        match policy {
            HistoryPolicy::Forbidden => HistoryPolicyJson::Forbidden {},
            HistoryPolicy::Optional(arm) => HistoryPolicyJson::Optional(arm),
            HistoryPolicy::Required(arm) => HistoryPolicyJson::Required(arm),
        }
    }
}

impl tls_codec::Size for HistoryPolicy {
    fn tls_serialized_len(&self) -> usize {
        select_len(self.sharing())
    }
}

impl tls_codec::Serialize for HistoryPolicy {
    fn tls_serialize<W: Write>(&self, writer: &mut W) -> Result<usize, tls_codec::Error> {
        serialize_select(self.optionality(), self.sharing(), writer)
    }
}

impl tls_codec::Deserialize for HistoryPolicy {
    fn tls_deserialize<R: Read>(bytes: &mut R) -> Result<Self, tls_codec::Error> {
        Ok(match deserialize_select(bytes)? {
            Selected::Forbidden => HistoryPolicy::Forbidden,
            Selected::Optional(sharing) => HistoryPolicy::Optional(sharing),
            Selected::Required(sharing) => HistoryPolicy::Required(sharing),
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

    fn sharing(roles: Vec<u32>) -> HistorySharing {
        HistorySharing {
            roles_that_can_share: roles,
            automatically_share: Flag(true),
            max_time_period: 3600,
        }
    }

    fn arb_history_policy() -> impl Strategy<Value = HistoryPolicy> {
        let sharing = (
            proptest::collection::vec(any::<u32>(), 0..5),
            any::<bool>(),
            any::<u32>(),
        )
            .prop_map(
                |(roles_that_can_share, auto, max_time_period)| HistorySharing {
                    roles_that_can_share,
                    automatically_share: Flag(auto),
                    max_time_period,
                },
            );
        prop_oneof![
            Just(HistoryPolicy::Forbidden),
            sharing.clone().prop_map(HistoryPolicy::Optional),
            sharing.prop_map(HistoryPolicy::Required),
        ]
    }

    #[test]
    fn history_policy_optional_encodes_to_hand_computed_bytes() {
        // history_sharing = optional(0); roles_that_can_share<V> = [2, 3] -> length 8 then two
        // uint32; automatically_share = true -> 01; max_time_period = 3600 = 0x00000e10.
        let expected = [0, 8, 0, 0, 0, 2, 0, 0, 0, 3, 1, 0, 0, 0x0e, 0x10];
        let policy = HistoryPolicy::Optional(sharing(vec![2, 3]));
        assert_eq!(tls_roundtrip(&policy), expected);
        assert_truncations_rejected(&policy);
        assert_trailing_rejected(&policy);
    }

    #[test]
    fn history_policy_json_round_trips() {
        let json = json_roundtrip(&HistoryPolicy::Required(sharing(vec![4])));
        assert_eq!(
            json,
            "{\"history-sharing\":\"required\",\"roles-that-can-share\":[4],\"automatically-share\":true,\"max-time-period\":3600}"
        );
        assert_eq!(
            json_roundtrip(&HistoryPolicy::Forbidden),
            "{\"history-sharing\":\"forbidden\"}"
        );
        assert_eq!(tls_roundtrip(&HistoryPolicy::default()), [2]);
    }

    #[test]
    fn history_policy_json_rejects_fields_on_forbidden_arm() {
        let json = "{\"history-sharing\":\"forbidden\",\"max-time-period\":1}";
        assert!(serde_json::from_str::<HistoryPolicy>(json).is_err());
        let json = "{\"history-sharing\":\"optional\",\"roles-that-can-share\":[],\"automatically-share\":true}";
        assert!(serde_json::from_str::<HistoryPolicy>(json).is_err());
    }

    #[test]
    fn history_policy_rejects_role_zero_and_banned() {
        assert_eq!(
            HistoryPolicy::Optional(sharing(vec![2, 0])).validate(),
            Err(ComponentError::HistoryRoleNotShareable { role_index: 0 })
        );
        assert_eq!(
            HistoryPolicy::Required(sharing(vec![1])).validate(),
            Err(ComponentError::HistoryRoleNotShareable { role_index: 1 })
        );
        assert!(
            HistoryPolicy::Required(sharing(vec![2, 3]))
                .validate()
                .is_ok()
        );
        assert!(HistoryPolicy::Forbidden.validate().is_ok());
    }

    #[test]
    fn history_policy_rejects_bool_byte_two_and_unknown_optionality() {
        let mut bytes = tls_roundtrip(&HistoryPolicy::Optional(sharing(vec![])));
        bytes[2] = 2; // automatically_share
        assert!(matches!(
            decode_exact::<HistoryPolicy>(&bytes),
            Err(DecodeError::Malformed(_))
        ));
        assert!(matches!(
            decode_exact::<HistoryPolicy>(&[7]),
            Err(DecodeError::Malformed(_))
        ));
    }

    proptest! {
        #[test]
        fn history_policy_tls_and_json_round_trip(policy in arb_history_policy()) {
            tls_roundtrip(&policy);
            json_roundtrip(&policy);
        }

        #[test]
        fn history_policy_validate_accepts_exactly_roles_above_one(policy in arb_history_policy()) {
            let allowed = policy
                .sharing()
                .is_none_or(|s| s.roles_that_can_share.iter().all(|&r| r > 1));
            prop_assert_eq!(policy.validate().is_ok(), allowed);
        }
    }
}
