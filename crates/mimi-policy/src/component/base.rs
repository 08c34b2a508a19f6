//! `BaseRoomPolicy`, the membership style of a room (RP-04 §5, component 0x0027).

use super::{ComponentError, ComponentId, Flag, PolicyComponent, Uri, ids};

/// The base room policy, used as both `BaseRoomData` and `BaseRoomUpdate` (RP-04 §5).
///
/// `parent_room` is declared `Uri parent_room<V>`, a vector of URIs; the
/// prose describes a single parent room, so [`BaseRoomPolicy::validate`]
/// only asks for a non-empty list when the room is parent dependant.
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
#[serde(rename_all = "kebab-case", deny_unknown_fields, default)]
pub struct BaseRoomPolicy {
    /// The participant list is fixed at creation (DMs and group DMs).
    pub fixed_membership: Flag,
    /// Participants must be a strict subset of the parent room's (spelled `parent_dependent` in the prose).
    pub parent_dependant: Flag,
    /// The parent room(s) of a parent-dependant room.
    pub parent_room: Vec<Uri>,
    /// Users may have more than one client in the room.
    pub multi_device: Flag,
    /// Maximum number of clients in the room, if limited.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub max_clients: Option<u32>,
    /// Maximum number of non-banned participants, if limited.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub max_users: Option<u32>,
    /// Participants may use pseudonymous identities.
    pub pseudonyms_allowed: Flag,
    /// The room outlives periods with no participants.
    pub persistent_room: Flag,
    /// The room can be found through a directory.
    pub discoverable: Flag,
    /// Component IDs relevant to this room, including roles and preauth lists.
    pub policy_component_ids: Vec<ComponentId>,
}

impl Default for BaseRoomPolicy {
    /// RP-04 §5 gives `multi_device` a default of true; a persistent,
    /// undiscoverable, flexible-membership room is the usual group chat.
    fn default() -> Self {
        BaseRoomPolicy {
            fixed_membership: Flag(false),
            parent_dependant: Flag(false),
            parent_room: Vec::new(),
            multi_device: Flag(true),
            max_clients: None,
            max_users: None,
            pseudonyms_allowed: Flag(false),
            persistent_room: Flag(true),
            discoverable: Flag(false),
            policy_component_ids: Vec::new(),
        }
    }
}

impl BaseRoomPolicy {
    /// Checks that `parent_room` is non-empty (with no empty URI) iff the room is parent dependant.
    pub fn validate(&self) -> Result<(), ComponentError> {
        if self.parent_dependant.get() {
            if self.parent_room.is_empty() {
                return Err(ComponentError::ParentRoomMissing);
            }
            if let Some(index) = self.parent_room.iter().position(Uri::is_empty) {
                return Err(ComponentError::ParentRoomEmpty { index });
            }
        } else if !self.parent_room.is_empty() {
            return Err(ComponentError::ParentRoomUnexpected {
                count: self.parent_room.len(),
            });
        }
        Ok(())
    }
}

impl PolicyComponent for BaseRoomPolicy {
    const ID: ComponentId = ids::BASE_ROOM_POLICY;
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::codec::{DecodeError, decode_exact};
    use crate::component::test_support::{
        assert_trailing_rejected, assert_truncations_rejected, json_roundtrip, tls_roundtrip,
    };
    use proptest::prelude::*;

    fn sample() -> BaseRoomPolicy {
        BaseRoomPolicy {
            fixed_membership: Flag(true),
            parent_dependant: Flag(true),
            parent_room: vec![Uri::from("mimi://hub.example/r/parent")],
            multi_device: Flag(false),
            max_clients: Some(10),
            max_users: Some(2),
            pseudonyms_allowed: Flag(true),
            persistent_room: Flag(false),
            discoverable: Flag(true),
            policy_component_ids: vec![ids::ROLES_LIST, ids::PREAUTH_LIST, 0x8001],
        }
    }

    /// Strategy for arbitrary (not necessarily valid) base policies.
    pub(crate) fn arb_base_room_policy() -> impl Strategy<Value = BaseRoomPolicy> {
        (
            any::<bool>(),
            any::<bool>(),
            proptest::collection::vec(".{0,12}", 0..3),
            any::<bool>(),
            any::<Option<u32>>(),
            any::<Option<u32>>(),
            any::<bool>(),
            any::<bool>(),
            any::<bool>(),
            proptest::collection::vec(any::<u16>(), 0..6),
        )
            .prop_map(
                |(
                    fixed,
                    dependant,
                    parents,
                    multi,
                    clients,
                    users,
                    pseudo,
                    persistent,
                    disc,
                    ids,
                )| {
                    BaseRoomPolicy {
                        fixed_membership: Flag(fixed),
                        parent_dependant: Flag(dependant),
                        parent_room: parents.into_iter().map(Uri).collect(),
                        multi_device: Flag(multi),
                        max_clients: clients,
                        max_users: users,
                        pseudonyms_allowed: Flag(pseudo),
                        persistent_room: Flag(persistent),
                        discoverable: Flag(disc),
                        policy_component_ids: ids,
                    }
                },
            )
    }

    #[test]
    fn base_room_policy_default_matches_draft_defaults() {
        let policy = BaseRoomPolicy::default();
        assert!(policy.multi_device.get());
        assert!(policy.persistent_room.get());
        assert!(!policy.discoverable.get());
        assert!(!policy.fixed_membership.get());
        assert!(policy.validate().is_ok());
    }

    #[test]
    fn base_room_policy_default_encodes_to_hand_computed_bytes() {
        // Field by field from RP-04 Appendix B:
        //   bool fixed_membership            = false -> 00
        //   bool parent_dependant            = false -> 00
        //   Uri parent_room<V>               = []    -> 00 (varint length 0)
        //   bool multi_device                = true  -> 01
        //   optional uint32 max_clients      = none  -> 00
        //   optional uint32 max_users        = none  -> 00
        //   bool pseudonyms_allowed          = false -> 00
        //   bool persistent_room             = true  -> 01
        //   bool discoverable                = false -> 00
        //   ComponentID policy_component_ids<V> = [] -> 00
        let expected = [0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x01, 0x00, 0x00];
        assert_eq!(tls_roundtrip(&BaseRoomPolicy::default()), expected);
    }

    #[test]
    fn base_room_policy_sample_encodes_to_hand_computed_bytes() {
        let mut expected = vec![0x01, 0x01];
        // parent_room<V>: one Uri of 27 bytes -> inner length 27, outer length 28.
        expected.extend([28, 27]);
        expected.extend(b"mimi://hub.example/r/parent");
        expected.push(0x00); // multi_device false
        expected.extend([0x01, 0, 0, 0, 10]); // max_clients Some(10)
        expected.extend([0x01, 0, 0, 0, 2]); // max_users Some(2)
        expected.extend([0x01, 0x00, 0x01]); // pseudonyms, persistent, discoverable
        // policy_component_ids<V>: three uint16 -> 6 bytes.
        expected.extend([6, 0x00, 0x25, 0x00, 0x26, 0x80, 0x01]);
        assert_eq!(tls_roundtrip(&sample()), expected);
    }

    #[test]
    fn base_room_policy_json_round_trips_with_kebab_case() {
        let json = json_roundtrip(&sample());
        assert!(json.contains("\"fixed-membership\":true"));
        assert!(json.contains("\"policy-component-ids\":[37,38,32769]"));
        let default_json = json_roundtrip(&BaseRoomPolicy::default());
        assert!(!default_json.contains("max-clients"));
    }

    #[test]
    fn base_room_policy_json_fills_defaults_and_rejects_unknown_fields() {
        let parsed: BaseRoomPolicy = serde_json::from_str("{\"discoverable\":true}").unwrap();
        assert_eq!(
            parsed,
            BaseRoomPolicy {
                discoverable: Flag(true),
                ..BaseRoomPolicy::default()
            }
        );
        assert!(serde_json::from_str::<BaseRoomPolicy>("{\"parent-dependent\":true}").is_err());
    }

    #[test]
    fn base_room_policy_rejects_truncated_and_trailing_input() {
        assert_truncations_rejected(&sample());
        assert_trailing_rejected(&sample());
    }

    #[test]
    fn base_room_policy_rejects_bool_byte_two() {
        let mut bytes = tls_roundtrip(&BaseRoomPolicy::default());
        bytes[3] = 2; // multi_device
        assert!(matches!(
            decode_exact::<BaseRoomPolicy>(&bytes),
            Err(DecodeError::Malformed(_))
        ));
    }

    #[test]
    fn base_room_policy_component_bytes_report_component_id() {
        let err = BaseRoomPolicy::from_component_bytes(&[0x00]).unwrap_err();
        assert!(matches!(
            err,
            ComponentError::Decode {
                component_id: 0x0027,
                ..
            }
        ));
        let bytes = BaseRoomPolicy::default().to_component_bytes().unwrap();
        assert_eq!(
            BaseRoomPolicy::from_component_bytes(&bytes).unwrap(),
            BaseRoomPolicy::default()
        );
    }

    #[test]
    fn base_room_policy_requires_parent_room_iff_parent_dependant() {
        let dependant_without_parent = BaseRoomPolicy {
            parent_dependant: Flag(true),
            ..BaseRoomPolicy::default()
        };
        assert_eq!(
            dependant_without_parent.validate(),
            Err(ComponentError::ParentRoomMissing)
        );

        let parent_without_dependant = BaseRoomPolicy {
            parent_room: vec![Uri::from("mimi://hub.example/r/p")],
            ..BaseRoomPolicy::default()
        };
        assert_eq!(
            parent_without_dependant.validate(),
            Err(ComponentError::ParentRoomUnexpected { count: 1 })
        );

        let empty_uri = BaseRoomPolicy {
            parent_dependant: Flag(true),
            parent_room: vec![Uri::default()],
            ..BaseRoomPolicy::default()
        };
        assert_eq!(
            empty_uri.validate(),
            Err(ComponentError::ParentRoomEmpty { index: 0 })
        );

        assert!(sample().validate().is_ok());
    }

    proptest! {
        #[test]
        fn base_room_policy_tls_and_json_round_trip(policy in arb_base_room_policy()) {
            tls_roundtrip(&policy);
            json_roundtrip(&policy);
        }

        #[test]
        fn base_room_policy_decoding_arbitrary_bytes_never_panics(
            bytes in proptest::collection::vec(any::<u8>(), 0..64)
        ) {
            let _ = decode_exact::<BaseRoomPolicy>(&bytes);
        }
    }
}
