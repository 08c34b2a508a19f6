//! The MIMI role capability registry (RP-04 §10.2, Table 1) and capability sets.
//!
//! Values are the registry's "suggested" uint16 values; the table is the one place they live.
//! `canUnBan` is the registry's spelling; `canUnban` (RP-04 §8.1.3 prose) is accepted on input.
//! `canGrantVoice`/`canRevokeVoice` (used by RP-04 Appendix A) are not in the registry: voice
//! is expressed as a role change between a visitor role and a participant role (DESIGN §2).

use std::collections::BTreeSet;
use std::fmt;

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use tls_codec::{Deserialize as TlsDeserialize, Serialize as TlsSerialize, Size};

/// One role capability, identified by its registry value.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Capability(pub u16);

/// `(value, name, reserved)` for every registered capability, sorted by value.
pub const REGISTRY: [(u16, &str, bool); 77] = [
    (0x0000, "canAddParticipant", false),
    (0x0001, "canRemoveParticipant", false),
    (0x0002, "canAddOwnClient", false),
    (0x0003, "canRemoveOwnClient", false),
    (0x0004, "canOpenJoin", false),
    (0x0005, "canJoinIfPreauthorized", false),
    (0x0006, "canRemoveSelf", false),
    (0x0007, "canCreateJoinCode", true),
    (0x0008, "canDeleteJoinCode", true),
    (0x0009, "canUseJoinCode", false),
    (0x000a, "canBan", false),
    (0x000b, "canUnBan", false),
    (0x000c, "canKick", false),
    (0x000d, "canKnock", true),
    (0x000e, "canAcceptKnock", true),
    (0x000f, "canChangeUserRole", false),
    (0x0010, "canChangeOwnRole", false),
    (0x0011, "canCreateSubgroup", true),
    (0x0100, "canSendMessage", false),
    (0x0101, "canReceiveMessage", false),
    (0x0102, "canCopyMessage", false),
    (0x0103, "canReportAbuse", false),
    (0x0104, "canReplyToMessage", false),
    (0x0105, "canReactToMessage", false),
    (0x0106, "canEditReaction", false),
    (0x0107, "canDeleteOwnReaction", false),
    (0x0108, "canDeleteOtherReaction", false),
    (0x0109, "canEditOwnMessage", false),
    (0x010a, "canDeleteOwnMessage", false),
    (0x010b, "canDeleteOtherMessage", false),
    (0x010c, "canStartTopic", false),
    (0x010d, "canReplyInTopic", false),
    (0x010e, "canEditOwnTopic", false),
    (0x010f, "canEditOtherTopic", false),
    (0x0110, "canSendDirectMessage", true),
    (0x0111, "canTargetMessage", true),
    (0x0200, "canUploadImage", false),
    (0x0201, "canUploadAudio", false),
    (0x0202, "canUploadVideo", false),
    (0x0203, "canUploadAttachment", false),
    (0x0204, "canDownloadImage", false),
    (0x0205, "canDownloadAudio", false),
    (0x0206, "canDownloadVideo", false),
    (0x0207, "canDownloadAttachment", false),
    (0x0208, "canSendLink", false),
    (0x0209, "canSendLinkPreview", false),
    (0x020a, "canFollowLink", false),
    (0x020b, "canCopyLink", false),
    (0x0300, "canChangeRoomName", false),
    (0x0301, "canChangeRoomDescription", false),
    (0x0302, "canChangeRoomAvatar", false),
    (0x0303, "canChangeRoomSubject", false),
    (0x0304, "canChangeRoomMood", false),
    (0x0380, "canChangeOwnName", true),
    (0x0381, "canChangeOwnPresence", true),
    (0x0382, "canChangeOwnMood", true),
    (0x0383, "canChangeOwnAvatar", true),
    (0x0400, "canStartCall", false),
    (0x0401, "canJoinCall", false),
    (0x0402, "canSendAudio", false),
    (0x0403, "canReceiveAudio", false),
    (0x0404, "canSendVideo", false),
    (0x0405, "canReceiveVideo", false),
    (0x0406, "canShareScreen", false),
    (0x0407, "canViewSharedScreen", false),
    (0x0500, "canCreateRoom", true),
    (0x0501, "canDestroyRoom", false),
    (0x0502, "canChangeRoomMembershipStyle", false),
    (0x0503, "canChangeRoleDefinitions", false),
    (0x0504, "canChangePreauthorizedUserList", false),
    (0x0505, "canChangeOtherPolicyAttribute", true),
    (0x0600, "canChangeMlsOperationalPolicies", true),
    (0x0601, "canSendMLSReinitProposal", false),
    (0x0602, "canSendMLSUpdateProposal", true),
    (0x0603, "canSendMLSPSKProposal", true),
    (0x0604, "canSendMLSExternalProposal", true),
    (0x0605, "canSendMLSExternalCommit", true),
];

#[allow(missing_docs)]
impl Capability {
    /// `canAddParticipant` (0x0000).
    pub const CAN_ADD_PARTICIPANT: Self = Self(0x0000);
    /// `canRemoveParticipant` (0x0001).
    pub const CAN_REMOVE_PARTICIPANT: Self = Self(0x0001);
    /// `canAddOwnClient` (0x0002).
    pub const CAN_ADD_OWN_CLIENT: Self = Self(0x0002);
    /// `canRemoveOwnClient` (0x0003).
    pub const CAN_REMOVE_OWN_CLIENT: Self = Self(0x0003);
    /// `canOpenJoin` (0x0004).
    pub const CAN_OPEN_JOIN: Self = Self(0x0004);
    /// `canJoinIfPreauthorized` (0x0005).
    pub const CAN_JOIN_IF_PREAUTHORIZED: Self = Self(0x0005);
    /// `canRemoveSelf` (0x0006).
    pub const CAN_REMOVE_SELF: Self = Self(0x0006);
    /// `canCreateJoinCode` (0x0007), reserved.
    pub const CAN_CREATE_JOIN_CODE: Self = Self(0x0007);
    /// `canDeleteJoinCode` (0x0008), reserved.
    pub const CAN_DELETE_JOIN_CODE: Self = Self(0x0008);
    /// `canUseJoinCode` (0x0009).
    pub const CAN_USE_JOIN_CODE: Self = Self(0x0009);
    /// `canBan` (0x000a).
    pub const CAN_BAN: Self = Self(0x000a);
    /// `canUnBan` (0x000b).
    pub const CAN_UNBAN: Self = Self(0x000b);
    /// `canKick` (0x000c).
    pub const CAN_KICK: Self = Self(0x000c);
    /// `canKnock` (0x000d), reserved.
    pub const CAN_KNOCK: Self = Self(0x000d);
    /// `canAcceptKnock` (0x000e), reserved.
    pub const CAN_ACCEPT_KNOCK: Self = Self(0x000e);
    /// `canChangeUserRole` (0x000f).
    pub const CAN_CHANGE_USER_ROLE: Self = Self(0x000f);
    /// `canChangeOwnRole` (0x0010).
    pub const CAN_CHANGE_OWN_ROLE: Self = Self(0x0010);
    /// `canCreateSubgroup` (0x0011), reserved.
    pub const CAN_CREATE_SUBGROUP: Self = Self(0x0011);
    /// `canSendMessage` (0x0100).
    pub const CAN_SEND_MESSAGE: Self = Self(0x0100);
    /// `canReceiveMessage` (0x0101).
    pub const CAN_RECEIVE_MESSAGE: Self = Self(0x0101);
    /// `canCopyMessage` (0x0102).
    pub const CAN_COPY_MESSAGE: Self = Self(0x0102);
    /// `canReportAbuse` (0x0103).
    pub const CAN_REPORT_ABUSE: Self = Self(0x0103);
    /// `canReplyToMessage` (0x0104).
    pub const CAN_REPLY_TO_MESSAGE: Self = Self(0x0104);
    /// `canReactToMessage` (0x0105).
    pub const CAN_REACT_TO_MESSAGE: Self = Self(0x0105);
    /// `canEditReaction` (0x0106).
    pub const CAN_EDIT_REACTION: Self = Self(0x0106);
    /// `canDeleteOwnReaction` (0x0107).
    pub const CAN_DELETE_OWN_REACTION: Self = Self(0x0107);
    /// `canDeleteOtherReaction` (0x0108).
    pub const CAN_DELETE_OTHER_REACTION: Self = Self(0x0108);
    /// `canEditOwnMessage` (0x0109).
    pub const CAN_EDIT_OWN_MESSAGE: Self = Self(0x0109);
    /// `canDeleteOwnMessage` (0x010a).
    pub const CAN_DELETE_OWN_MESSAGE: Self = Self(0x010a);
    /// `canDeleteOtherMessage` (0x010b).
    pub const CAN_DELETE_OTHER_MESSAGE: Self = Self(0x010b);
    /// `canStartTopic` (0x010c).
    pub const CAN_START_TOPIC: Self = Self(0x010c);
    /// `canReplyInTopic` (0x010d).
    pub const CAN_REPLY_IN_TOPIC: Self = Self(0x010d);
    /// `canEditOwnTopic` (0x010e).
    pub const CAN_EDIT_OWN_TOPIC: Self = Self(0x010e);
    /// `canEditOtherTopic` (0x010f).
    pub const CAN_EDIT_OTHER_TOPIC: Self = Self(0x010f);
    /// `canSendDirectMessage` (0x0110), reserved.
    pub const CAN_SEND_DIRECT_MESSAGE: Self = Self(0x0110);
    /// `canTargetMessage` (0x0111), reserved.
    pub const CAN_TARGET_MESSAGE: Self = Self(0x0111);
    /// `canUploadImage` (0x0200).
    pub const CAN_UPLOAD_IMAGE: Self = Self(0x0200);
    /// `canUploadAudio` (0x0201).
    pub const CAN_UPLOAD_AUDIO: Self = Self(0x0201);
    /// `canUploadVideo` (0x0202).
    pub const CAN_UPLOAD_VIDEO: Self = Self(0x0202);
    /// `canUploadAttachment` (0x0203).
    pub const CAN_UPLOAD_ATTACHMENT: Self = Self(0x0203);
    /// `canDownloadImage` (0x0204).
    pub const CAN_DOWNLOAD_IMAGE: Self = Self(0x0204);
    /// `canDownloadAudio` (0x0205).
    pub const CAN_DOWNLOAD_AUDIO: Self = Self(0x0205);
    /// `canDownloadVideo` (0x0206).
    pub const CAN_DOWNLOAD_VIDEO: Self = Self(0x0206);
    /// `canDownloadAttachment` (0x0207).
    pub const CAN_DOWNLOAD_ATTACHMENT: Self = Self(0x0207);
    /// `canSendLink` (0x0208).
    pub const CAN_SEND_LINK: Self = Self(0x0208);
    /// `canSendLinkPreview` (0x0209).
    pub const CAN_SEND_LINK_PREVIEW: Self = Self(0x0209);
    /// `canFollowLink` (0x020a).
    pub const CAN_FOLLOW_LINK: Self = Self(0x020a);
    /// `canCopyLink` (0x020b).
    pub const CAN_COPY_LINK: Self = Self(0x020b);
    /// `canChangeRoomName` (0x0300).
    pub const CAN_CHANGE_ROOM_NAME: Self = Self(0x0300);
    /// `canChangeRoomDescription` (0x0301).
    pub const CAN_CHANGE_ROOM_DESCRIPTION: Self = Self(0x0301);
    /// `canChangeRoomAvatar` (0x0302).
    pub const CAN_CHANGE_ROOM_AVATAR: Self = Self(0x0302);
    /// `canChangeRoomSubject` (0x0303).
    pub const CAN_CHANGE_ROOM_SUBJECT: Self = Self(0x0303);
    /// `canChangeRoomMood` (0x0304).
    pub const CAN_CHANGE_ROOM_MOOD: Self = Self(0x0304);
    /// `canChangeOwnName` (0x0380), reserved.
    pub const CAN_CHANGE_OWN_NAME: Self = Self(0x0380);
    /// `canChangeOwnPresence` (0x0381), reserved.
    pub const CAN_CHANGE_OWN_PRESENCE: Self = Self(0x0381);
    /// `canChangeOwnMood` (0x0382), reserved.
    pub const CAN_CHANGE_OWN_MOOD: Self = Self(0x0382);
    /// `canChangeOwnAvatar` (0x0383), reserved.
    pub const CAN_CHANGE_OWN_AVATAR: Self = Self(0x0383);
    /// `canStartCall` (0x0400).
    pub const CAN_START_CALL: Self = Self(0x0400);
    /// `canJoinCall` (0x0401).
    pub const CAN_JOIN_CALL: Self = Self(0x0401);
    /// `canSendAudio` (0x0402).
    pub const CAN_SEND_AUDIO: Self = Self(0x0402);
    /// `canReceiveAudio` (0x0403).
    pub const CAN_RECEIVE_AUDIO: Self = Self(0x0403);
    /// `canSendVideo` (0x0404).
    pub const CAN_SEND_VIDEO: Self = Self(0x0404);
    /// `canReceiveVideo` (0x0405).
    pub const CAN_RECEIVE_VIDEO: Self = Self(0x0405);
    /// `canShareScreen` (0x0406).
    pub const CAN_SHARE_SCREEN: Self = Self(0x0406);
    /// `canViewSharedScreen` (0x0407).
    pub const CAN_VIEW_SHARED_SCREEN: Self = Self(0x0407);
    /// `canCreateRoom` (0x0500), reserved.
    pub const CAN_CREATE_ROOM: Self = Self(0x0500);
    /// `canDestroyRoom` (0x0501).
    pub const CAN_DESTROY_ROOM: Self = Self(0x0501);
    /// `canChangeRoomMembershipStyle` (0x0502).
    pub const CAN_CHANGE_ROOM_MEMBERSHIP_STYLE: Self = Self(0x0502);
    /// `canChangeRoleDefinitions` (0x0503).
    pub const CAN_CHANGE_ROLE_DEFINITIONS: Self = Self(0x0503);
    /// `canChangePreauthorizedUserList` (0x0504).
    pub const CAN_CHANGE_PREAUTHORIZED_USER_LIST: Self = Self(0x0504);
    /// `canChangeOtherPolicyAttribute` (0x0505), reserved.
    pub const CAN_CHANGE_OTHER_POLICY_ATTRIBUTE: Self = Self(0x0505);
    /// `canChangeMlsOperationalPolicies` (0x0600), reserved.
    pub const CAN_CHANGE_MLS_OPERATIONAL_POLICIES: Self = Self(0x0600);
    /// `canSendMLSReinitProposal` (0x0601).
    pub const CAN_SEND_MLS_REINIT_PROPOSAL: Self = Self(0x0601);
    /// `canSendMLSUpdateProposal` (0x0602), reserved.
    pub const CAN_SEND_MLS_UPDATE_PROPOSAL: Self = Self(0x0602);
    /// `canSendMLSPSKProposal` (0x0603), reserved.
    pub const CAN_SEND_MLS_PSK_PROPOSAL: Self = Self(0x0603);
    /// `canSendMLSExternalProposal` (0x0604), reserved.
    pub const CAN_SEND_MLS_EXTERNAL_PROPOSAL: Self = Self(0x0604);
    /// `canSendMLSExternalCommit` (0x0605), reserved.
    pub const CAN_SEND_MLS_EXTERNAL_COMMIT: Self = Self(0x0605);
}

/// Why a capability name or value is not accepted.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CapabilityError {
    /// The name is not in the registry.
    #[error("unknown capability `{0}`")]
    UnknownName(String),
}

impl Capability {
    /// Position in [`REGISTRY`], or `None` for a value outside it (private use, future).
    fn slot(self) -> Option<usize> {
        REGISTRY.binary_search_by_key(&self.0, |e| e.0).ok()
    }

    /// The registry name, or `None` for an unregistered value.
    pub fn name(self) -> Option<&'static str> {
        self.slot().map(|i| REGISTRY[i].1)
    }

    /// True when the registry marks the capability reserved (named, semantics not yet defined).
    pub fn is_reserved(self) -> bool {
        self.slot().is_some_and(|i| REGISTRY[i].2)
    }

    /// Looks a capability up by registry name (case-insensitive, so `canUnban` is `canUnBan`),
    /// or by a hex value such as `0xf001` for private-use capabilities.
    pub fn from_name(name: &str) -> Result<Self, CapabilityError> {
        if let Some(hex) = name.strip_prefix("0x")
            && let Ok(v) = u16::from_str_radix(hex, 16)
        {
            return Ok(Self(v));
        }
        REGISTRY
            .iter()
            .find(|e| e.1.eq_ignore_ascii_case(name))
            .map(|e| Self(e.0))
            .ok_or_else(|| CapabilityError::UnknownName(name.to_owned()))
    }
}

impl fmt::Display for Capability {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.name() {
            Some(n) => f.write_str(n),
            None => write!(f, "{:#06x}", self.0),
        }
    }
}

impl Serialize for Capability {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Capability {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let name = String::deserialize(d)?;
        Self::from_name(&name).map_err(serde::de::Error::custom)
    }
}

/// A set of capabilities: a bit per registered capability, plus any unregistered values.
///
/// Membership tests are a binary search and a bit test, so authorization stays cheap.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash)]
pub struct CapabilitySet {
    bits: u128,
    other: BTreeSet<u16>,
}

impl CapabilitySet {
    /// The empty set.
    pub fn new() -> Self {
        Self::default()
    }

    /// True if `cap` is in the set.
    pub fn contains(&self, cap: Capability) -> bool {
        match cap.slot() {
            Some(i) => self.bits & (1u128 << i) != 0,
            None => self.other.contains(&cap.0),
        }
    }

    /// Adds `cap`.
    pub fn insert(&mut self, cap: Capability) {
        match cap.slot() {
            Some(i) => self.bits |= 1u128 << i,
            None => {
                self.other.insert(cap.0);
            }
        }
    }

    /// Removes `cap`.
    pub fn remove(&mut self, cap: Capability) {
        match cap.slot() {
            Some(i) => self.bits &= !(1u128 << i),
            None => {
                self.other.remove(&cap.0);
            }
        }
    }

    /// Adds every capability of `other`.
    pub fn extend_from(&mut self, other: &CapabilitySet) {
        self.bits |= other.bits;
        self.other.extend(other.other.iter().copied());
    }

    /// The capabilities in ascending value order (the canonical wire order).
    pub fn iter(&self) -> impl Iterator<Item = Capability> + '_ {
        REGISTRY
            .iter()
            .enumerate()
            .filter(|(i, _)| self.bits & (1u128 << i) != 0)
            .map(|(_, e)| Capability(e.0))
            .chain(self.other.iter().map(|v| Capability(*v)))
    }

    /// Number of capabilities in the set.
    pub fn len(&self) -> usize {
        self.bits.count_ones() as usize + self.other.len()
    }

    /// True if the set is empty.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    fn values(&self) -> Vec<u16> {
        let mut v: Vec<u16> = self.iter().map(|c| c.0).collect();
        v.sort_unstable();
        v
    }
}

impl FromIterator<Capability> for CapabilitySet {
    fn from_iter<I: IntoIterator<Item = Capability>>(iter: I) -> Self {
        let mut set = Self::new();
        for cap in iter {
            set.insert(cap);
        }
        set
    }
}

impl Serialize for CapabilitySet {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut caps: Vec<Capability> = self.iter().collect();
        caps.sort();
        caps.serialize(s)
    }
}

impl<'de> Deserialize<'de> for CapabilitySet {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        Ok(Vec::<Capability>::deserialize(d)?.into_iter().collect())
    }
}

// Wire form: `CapabilityType role_capabilities<V>` (RP-04 §3), ascending, no duplicates.
impl Size for CapabilitySet {
    fn tls_serialized_len(&self) -> usize {
        self.values().tls_serialized_len()
    }
}

impl TlsSerialize for CapabilitySet {
    fn tls_serialize<W: std::io::Write>(&self, writer: &mut W) -> Result<usize, tls_codec::Error> {
        self.values().tls_serialize(writer)
    }
}

impl TlsDeserialize for CapabilitySet {
    fn tls_deserialize<R: std::io::Read>(bytes: &mut R) -> Result<Self, tls_codec::Error> {
        let values = Vec::<u16>::tls_deserialize(bytes)?;
        Ok(values.into_iter().map(Capability).collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn registry_is_sorted_unique_and_fits_the_bitset() {
        assert!(REGISTRY.windows(2).all(|w| w[0].0 < w[1].0));
        assert!(REGISTRY.len() <= 128);
    }

    #[test]
    fn registry_matches_the_shipped_json() {
        let json: serde_json::Value =
            serde_json::from_str(include_str!("../data/mimi-role-capabilities.json")).unwrap();
        let map = json.as_object().unwrap();
        assert_eq!(map.len(), REGISTRY.len());
        for (name, entry) in map {
            let cap = Capability::from_name(name).unwrap();
            let value = u16::from_str_radix(
                entry["value"].as_str().unwrap().trim_start_matches("0x"),
                16,
            )
            .unwrap();
            assert_eq!(cap.0, value, "{name}");
            assert_eq!(
                cap.is_reserved(),
                entry["reserved"].as_bool().unwrap(),
                "{name}"
            );
        }
    }

    #[test]
    fn unban_is_accepted_in_both_spellings() {
        assert_eq!(
            Capability::from_name("canUnban").unwrap(),
            Capability::CAN_UNBAN
        );
        assert_eq!(Capability::CAN_UNBAN.name(), Some("canUnBan"));
        assert!(Capability::from_name("canGrantVoice").is_err());
    }

    #[test]
    fn set_holds_registered_and_private_values() {
        let mut set = CapabilitySet::new();
        set.insert(Capability::CAN_SEND_MESSAGE);
        set.insert(Capability(0xf001));
        assert!(set.contains(Capability::CAN_SEND_MESSAGE));
        assert!(set.contains(Capability(0xf001)));
        assert!(!set.contains(Capability::CAN_BAN));
        assert_eq!(set.len(), 2);
        set.remove(Capability::CAN_SEND_MESSAGE);
        assert!(!set.contains(Capability::CAN_SEND_MESSAGE));
    }
}
