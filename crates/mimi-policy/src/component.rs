//! Room-policy components carried in the MLS `app_data_dictionary` (RP-04 §5–§7, Appendix B).
//!
//! Each component is one `ComponentData` entry of the GroupContext
//! AppDataDictionary (draft-ietf-mls-extensions) keyed by a [`ComponentId`].
//! Every type here encodes to exactly the bytes of the RP-04 Appendix B
//! syntax, with these errata decisions (see the landscape notes §2.5):
//!
//! - `case mandatory:` in `select` arms is read as [`Optionality::Required`].
//! - `ComponentID` is `uint16`, also for `BaseRoomPolicy.policy_component_ids`.
//! - `unit64` is `uint64`.
//! - `PendingProposalStrategy` gains `extension(3)` (see [`PendingProposalStrategy`]).
//! - `optional<MediaType> permitted_media_types<V>` is an optional vector.
//! - `JoinLinksData` is a bare vector of [`JoinLink`].
//!
//! Roles, preauthorization and the participant list live in other modules.

mod asset;
mod base;
mod bot;
pub(crate) mod bundle;
mod capabilities;
mod error;
mod expiration;
mod history;
mod join_link;
mod link_preview;
mod logging;
mod operational;
mod optionality;
mod pending_proposal;
mod status;
mod text;

#[cfg(test)]
mod test_support;

pub use crate::codec::{DecodeError, Flag};
pub use asset::{
    AssetPolicy, AssetUploadLocation, DownloadPrivacy, DownloadPrivacyType,
    ProviderAssetUploadDomains,
};
pub use base::BaseRoomPolicy;
pub use bot::{Bot, BotPolicy};
pub use bundle::PolicyComponents;
pub use capabilities::{
    CipherSuite, ContentType, CredentialType, ExtendedCapabilities, ExtensionType, ProposalType,
    ProtocolVersion, WireFormat,
};
pub use error::ComponentError;
pub use expiration::{ExpirationRange, MessageExpiration};
pub use history::{HistoryPolicy, HistorySharing};
pub use join_link::{JoinLink, JoinLinkPolicy, JoinLinksData, JoinLinksUpdate};
pub use link_preview::{LinkPreviewPolicy, LinkPreviewProxy};
pub use logging::{LoggingDetails, LoggingPolicy};
pub use operational::{AppMessagePolicy, MinDefaultMaxTime, OperationalParameters};
pub use optionality::Optionality;
pub use pending_proposal::{PendingProposalPolicy, PendingProposalStrategy};
pub use status::StatusNotificationPolicy;
pub use text::{DomainName, MediaType, Uri};

/// An MLS application component identifier (`uint16` in current mls-extensions).
pub type ComponentId = u16;

/// Component IDs requested from IANA by RP-04 §10.1 and protocol-06 §10.
///
/// These are the drafts' *suggested* values; they stay here, in one place,
/// until IANA assigns the final ones.
pub mod ids {
    use super::ComponentId;

    /// `participant_list` (protocol-06 §7.5).
    pub const PARTICIPANT_LIST: ComponentId = 0x0022;
    /// `room_metadata` (protocol-06 §7.6).
    pub const ROOM_METADATA: ComponentId = 0x0023;
    /// `mls_operational_policy` carrying `OperationalParameters` (RP-04 §7).
    pub const MLS_OPERATIONAL_POLICY: ComponentId = 0x0024;
    /// `roles_list` carrying `RoleData` (RP-04 §3).
    pub const ROLES_LIST: ComponentId = 0x0025;
    /// `preauth_list` carrying `PreAuthData` (RP-04 §4).
    pub const PREAUTH_LIST: ComponentId = 0x0026;
    /// `base_room_policy` carrying `BaseRoomPolicy` (RP-04 §5).
    pub const BASE_ROOM_POLICY: ComponentId = 0x0027;
    /// `status_notification_policy` (RP-04 §6.1).
    pub const STATUS_NOTIFICATION_POLICY: ComponentId = 0x0028;
    /// `join_link_policy` (RP-04 §6.2).
    pub const JOIN_LINK_POLICY: ComponentId = 0x0029;
    /// `join_links`, the list of active join links (RP-04 §6.2).
    pub const JOIN_LINKS: ComponentId = 0x002A;
    /// `link_preview_policy` (RP-04 §6.3).
    pub const LINK_PREVIEW_POLICY: ComponentId = 0x002B;
    /// `asset_policy` (RP-04 §6.4).
    pub const ASSET_POLICY: ComponentId = 0x002C;
    /// `logging_policy` (RP-04 §6.5).
    pub const LOGGING_POLICY: ComponentId = 0x002D;
    /// `chat_history_policy` (RP-04 §6.6).
    pub const CHAT_HISTORY_POLICY: ComponentId = 0x002E;
    /// `bot_policy` (RP-04 §6.7).
    pub const BOT_POLICY: ComponentId = 0x002F;
    /// `message_expiration_policy` (RP-04 §6.8).
    pub const MESSAGE_EXPIRATION_POLICY: ComponentId = 0x0030;
    /// mimi's seed profile of a room (flags without an RP-04 home, system users, MLS-level
    /// policy); private use (0x8000-0xFFFF, mls-extensions §7.1).
    pub const SEED_PROFILE: ComponentId = 0xF0A1;
    /// mimi's sender binding: an application message's Safe AAD names its sender's leaf, so
    /// the hub, which cannot decrypt the sender, refuses a message re-posted by another
    /// client; private use.
    pub const SENDER_LEAF: ComponentId = 0xF0A2;
    /// mimi's moderation reason: a commit's Safe AAD may say why a moderator removed, banned
    /// or changed someone, for every member (the removed included) to read; private use.
    pub const REASON: ComponentId = 0xF0A3;
    /// mimi's provider claims: an external commit's Safe AAD may carry the team, workgroup
    /// and group claims the joiner's provider asserts about it, signed with that provider's
    /// external-sender key, for the hub and every member to check; private use.
    pub const PROVIDER_CLAIMS: ComponentId = 0xF0A4;
}

/// A value stored whole as one AppDataDictionary entry under a fixed component ID.
pub trait PolicyComponent: tls_codec::Serialize + tls_codec::Deserialize + Sized {
    /// The component ID this value is stored under.
    const ID: ComponentId;

    /// Encodes the value as the `data` of its `ComponentData` entry.
    fn to_component_bytes(&self) -> Result<Vec<u8>, ComponentError> {
        self.tls_serialize_detached()
            .map_err(|err| ComponentError::Encode {
                component_id: Self::ID,
                reason: err.to_string(),
            })
    }

    /// Decodes the `data` of a `ComponentData` entry, rejecting trailing bytes.
    fn from_component_bytes(bytes: &[u8]) -> Result<Self, ComponentError> {
        crate::codec::decode_exact(bytes).map_err(|source| ComponentError::Decode {
            component_id: Self::ID,
            source,
        })
    }
}
