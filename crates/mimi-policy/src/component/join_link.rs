//! Join-link policy and the active join-link list (RP-04 §6.2, components 0x0029 and 0x002A).

use std::collections::BTreeSet;

use super::{ComponentError, ComponentId, Flag, PolicyComponent, Uri, ids};

/// How join links may be used in the room (RP-04 §6.2).
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
pub struct JoinLinkPolicy {
    /// Join links are only created on request.
    pub on_request: Flag,
    /// Where join links are requested (the prose calls it the link-request URI).
    pub join_link: Uri,
    /// One link may be used by more than one user.
    pub multiuser: Flag,
    /// How long a join link stays valid, in seconds.
    pub expiration: u32,
}

impl PolicyComponent for JoinLinkPolicy {
    const ID: ComponentId = ids::JOIN_LINK_POLICY;
}

/// One active join link, `struct { opaque join_link<V>; } JoinLink` (RP-04 §6.2).
///
/// The draft leaves the bytes opaque; they are held as text because a join
/// link is a URL, so non-UTF-8 input is rejected on decode.
#[derive(
    Clone,
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
#[serde(transparent)]
pub struct JoinLink {
    /// The link itself.
    pub join_link: Uri,
}

impl From<&str> for JoinLink {
    fn from(value: &str) -> Self {
        JoinLink {
            join_link: Uri::from(value),
        }
    }
}

/// The active join links, `JoinLink JoinLinksData<V>`: a bare vector (RP-04 §6.2, erratum 9).
#[derive(
    Clone,
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
#[serde(transparent)]
pub struct JoinLinksData(pub Vec<JoinLink>);

impl PolicyComponent for JoinLinksData {
    const ID: ComponentId = ids::JOIN_LINKS;
}

/// A delta on [`JoinLinksData`]: removals by index, then appended links (RP-04 §6.2).
#[derive(
    Clone,
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
#[serde(rename_all = "kebab-case", deny_unknown_fields, default)]
pub struct JoinLinksUpdate {
    /// Indices into the current list of the links to remove (`removedIndices`).
    pub removed_indices: Vec<u32>,
    /// Links appended after the removals.
    pub added_links: Vec<JoinLink>,
}

impl JoinLinksUpdate {
    /// Applies the delta to `data` and returns the new list, leaving `data` untouched.
    ///
    /// Every index refers to the list *before* the update, so removals do not
    /// shift one another. An index past the end, or one given twice, makes the
    /// whole update invalid, because the AppDataUpdate callback must then
    /// reject the proposal list rather than guess.
    pub fn apply(&self, data: &JoinLinksData) -> Result<JoinLinksData, ComponentError> {
        let len = data.0.len();
        let mut removed = BTreeSet::new();
        for &index in &self.removed_indices {
            let position = usize::try_from(index)
                .ok()
                .filter(|&position| position < len)
                .ok_or(ComponentError::JoinLinkIndexOutOfRange { index, len })?;
            if !removed.insert(position) {
                return Err(ComponentError::JoinLinkIndexDuplicate { index });
            }
        }
        let kept = data
            .0
            .iter()
            .enumerate()
            .filter(|(position, _)| !removed.contains(position))
            .map(|(_, link)| link.clone());
        Ok(JoinLinksData(
            kept.chain(self.added_links.iter().cloned()).collect(),
        ))
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

    fn links(names: &[&str]) -> JoinLinksData {
        JoinLinksData(names.iter().map(|name| JoinLink::from(*name)).collect())
    }

    fn policy() -> JoinLinkPolicy {
        JoinLinkPolicy {
            on_request: Flag(true),
            join_link: Uri::from("https://hub.example/join"),
            multiuser: Flag(false),
            expiration: 86_400,
        }
    }

    #[test]
    fn join_link_policy_round_trips() {
        let bytes = tls_roundtrip(&policy());
        // on_request, then Uri (length 24 + bytes), multiuser, uint32 86400 = 0x00015180.
        assert_eq!(bytes[..2], [0x01, 24]);
        assert_eq!(bytes[26..], [0x00, 0x00, 0x01, 0x51, 0x80]);
        let json = json_roundtrip(&policy());
        assert!(json.contains("\"on-request\":true"));
        assert_truncations_rejected(&policy());
        assert_trailing_rejected(&policy());
    }

    #[test]
    fn join_link_policy_rejects_bool_byte_two() {
        let mut bytes = tls_roundtrip(&policy());
        bytes[0] = 2;
        assert!(matches!(
            decode_exact::<JoinLinkPolicy>(&bytes),
            Err(DecodeError::Malformed(_))
        ));
    }

    #[test]
    fn join_links_data_is_bare_vector_of_links() {
        let data = links(&["ab", "c"]);
        // Outer varint length 5 = (1+2) + (1+1); no wrapper struct around the vector.
        assert_eq!(tls_roundtrip(&data), [5, 2, b'a', b'b', 1, b'c']);
        assert_eq!(json_roundtrip(&data), "[\"ab\",\"c\"]");
        assert_truncations_rejected(&data);
        assert_trailing_rejected(&data);
    }

    #[test]
    fn join_links_update_round_trips() {
        let update = JoinLinksUpdate {
            removed_indices: vec![0, 2],
            added_links: vec![JoinLink::from("x")],
        };
        assert_eq!(
            tls_roundtrip(&update),
            [8, 0, 0, 0, 0, 0, 0, 0, 2, 2, 1, b'x']
        );
        assert_eq!(
            json_roundtrip(&update),
            "{\"removed-indices\":[0,2],\"added-links\":[\"x\"]}"
        );
        assert_truncations_rejected(&update);
        assert_trailing_rejected(&update);
    }

    #[test]
    fn join_links_update_removes_by_original_index_then_appends() {
        let update = JoinLinksUpdate {
            removed_indices: vec![2, 0],
            added_links: vec![JoinLink::from("new")],
        };
        let result = update.apply(&links(&["a", "b", "c", "d"])).unwrap();
        assert_eq!(result, links(&["b", "d", "new"]));
    }

    #[test]
    fn join_links_update_rejects_out_of_range_index() {
        let update = JoinLinksUpdate {
            removed_indices: vec![2],
            added_links: vec![],
        };
        assert_eq!(
            update.apply(&links(&["a", "b"])),
            Err(ComponentError::JoinLinkIndexOutOfRange { index: 2, len: 2 })
        );
    }

    #[test]
    fn join_links_update_rejects_duplicate_index() {
        let update = JoinLinksUpdate {
            removed_indices: vec![1, 1],
            added_links: vec![],
        };
        assert_eq!(
            update.apply(&links(&["a", "b"])),
            Err(ComponentError::JoinLinkIndexDuplicate { index: 1 })
        );
    }

    fn arb_links() -> impl Strategy<Value = JoinLinksData> {
        proptest::collection::vec("[a-z]{0,4}", 0..8).prop_map(|names| {
            JoinLinksData(
                names
                    .into_iter()
                    .map(|n| JoinLink::from(n.as_str()))
                    .collect(),
            )
        })
    }

    fn arb_update() -> impl Strategy<Value = JoinLinksUpdate> {
        (
            proptest::collection::vec(prop_oneof![0u32..10, any::<u32>()], 0..6),
            proptest::collection::vec("[a-z]{0,4}", 0..4),
        )
            .prop_map(|(removed_indices, added)| JoinLinksUpdate {
                removed_indices,
                added_links: added.iter().map(|n| JoinLink::from(n.as_str())).collect(),
            })
    }

    proptest! {
        #[test]
        fn join_links_update_apply_never_panics_and_keeps_count(
            data in arb_links(),
            update in arb_update(),
        ) {
            tls_roundtrip(&update);
            json_roundtrip(&update);
            if let Ok(next) = update.apply(&data) {
                prop_assert_eq!(
                    next.0.len(),
                    data.0.len() - update.removed_indices.len() + update.added_links.len()
                );
            }
        }
    }
}
