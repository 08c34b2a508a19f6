//! `groupInfo` (protocol-06 §5.6): a follower asks the hub for what its user needs to join
//! by external commit, encrypted to a key of the joiner's.

use tls_codec::Error;

use crate::codec::{
    self, Credential, ExternalSender, GroupInfo, HpkeCiphertext, Mls, MlsMessage, Opaque, Protocol,
    Select, byte_enum, put, select_codec, take,
};
use crate::update::RatchetTreeOption;

/// The label a `GroupInfoRequest` is signed under.
pub const GROUP_INFO_REQUEST_LABEL: &str = "GroupInfoRequestTBS";
/// The label a `GroupInfoResponse` is signed under.
pub const GROUP_INFO_RESPONSE_LABEL: &str = "GroupInfoResponseTBS";
/// The label the GroupInfo and tree are encrypted under.
pub const GROUP_INFO_ENCRYPTION_LABEL: &str = "GroupInfo and ratchet_tree encryption";

/// `GroupInfoRequestTBS`: the fields the joiner signs. The joining code is `opaque<V>`
/// here as in the request (empty: none); the draft's TBS says `optional`, its request not
/// (decision 0015).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GroupInfoRequestTbs {
    /// The joiner's cipher suite.
    pub cipher_suite: u16,
    /// The joiner's signature key.
    pub requesting_signature_key: Opaque,
    /// The joiner's credential.
    pub requesting_credential: Mls<Credential>,
    /// The HPKE key the answer is encrypted to.
    pub group_info_public_key: Opaque,
    /// The room's join code, if it has one (a join link and its password).
    pub joining_code: Opaque,
}

/// `GroupInfoRequest`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GroupInfoRequest {
    /// The signed fields.
    pub tbs: GroupInfoRequestTbs,
    /// `SignWithLabel(requestingSignatureKey, "GroupInfoRequestTBS", tbs)`.
    pub signature: Opaque,
}

impl Select for GroupInfoRequestTbs {
    fn put(&self, out: &mut Vec<u8>) -> Result<(), Error> {
        put(out, &Protocol::Mls10)?;
        put(out, &self.cipher_suite)?;
        put(out, &self.requesting_signature_key)?;
        put(out, &self.requesting_credential)?;
        put(out, &self.group_info_public_key)?;
        put(out, &self.joining_code)
    }

    fn take(bytes: &[u8]) -> Result<(Self, &[u8]), Error> {
        let (Protocol::Mls10, bytes) = take::<Protocol>(bytes)?;
        let (cipher_suite, bytes) = take(bytes)?;
        let (requesting_signature_key, bytes) = take(bytes)?;
        let (requesting_credential, bytes) = take(bytes)?;
        let (group_info_public_key, bytes) = take(bytes)?;
        let (joining_code, bytes) = take(bytes)?;
        Ok((
            Self {
                cipher_suite,
                requesting_signature_key,
                requesting_credential,
                group_info_public_key,
                joining_code,
            },
            bytes,
        ))
    }
}

impl Select for GroupInfoRequest {
    fn put(&self, out: &mut Vec<u8>) -> Result<(), Error> {
        self.tbs.put(out)?;
        put(out, &self.signature)
    }

    fn take(bytes: &[u8]) -> Result<(Self, &[u8]), Error> {
        let (tbs, bytes) = GroupInfoRequestTbs::take(bytes)?;
        let (signature, bytes) = take(bytes)?;
        Ok((Self { tbs, signature }, bytes))
    }
}

impl GroupInfoRequest {
    /// The bytes the joiner's signature covers.
    pub fn signed_content(&self) -> Result<Vec<u8>, Error> {
        codec::sign_content(GROUP_INFO_REQUEST_LABEL, &codec::encode(&self.tbs)?)
    }
}

byte_enum! {
    /// `GroupInfoCode`.
    GroupInfoCode {
        /// The encrypted GroupInfo follows.
        Success = 1,
        /// The joiner may not have it.
        NotAuthorized = 2,
        /// No such room.
        NoSuchRoom = 3,
    }
}

/// `PendingProposal`: a proposal the hub accepted in the current epoch.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PendingProposal {
    /// The proposal.
    pub proposal: Mls<MlsMessage>,
    /// When the hub accepted it (ms since the UNIX epoch).
    pub hub_accepted_time: u64,
}

/// `GroupInfoRatchetTreeTBE`: what is encrypted to the joiner.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GroupInfoRatchetTreeTbe {
    /// The GroupInfo, without the ratchet tree.
    pub group_info: Mls<GroupInfo>,
    /// The ratchet tree.
    pub ratchet_tree: RatchetTreeOption,
    /// Proposals pending in the current epoch.
    pub pending_proposals: Vec<PendingProposal>,
}

/// The encrypted part of a successful answer, and the hub's signature over it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GroupInfoSuccess {
    /// The room's cipher suite.
    pub cipher_suite: u16,
    /// The hub, as it is listed in the room's `external_senders`.
    pub hub_sender: Mls<ExternalSender>,
    /// `EncryptWithLabel(groupInfoPublicKey, ..., room_id, GroupInfoRatchetTreeTBE)`.
    pub encrypted_groupinfo_and_tree: Mls<HpkeCiphertext>,
    /// `SignWithLabel(hub_sender.signature_key, "GroupInfoResponseTBS", ...)`.
    pub signature: Opaque,
}

/// `GroupInfoResponse`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GroupInfoResponse {
    /// The room.
    pub room_id: Opaque,
    /// The answer.
    pub outcome: GroupInfoOutcome,
}

/// `GroupInfoResponse`'s `select (status)`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum GroupInfoOutcome {
    /// `success`.
    Success(GroupInfoSuccess),
    /// `notAuthorized`.
    NotAuthorized,
    /// `noSuchRoom`.
    NoSuchRoom,
}

impl Select for PendingProposal {
    fn put(&self, out: &mut Vec<u8>) -> Result<(), Error> {
        put(out, &self.proposal)?;
        put(out, &self.hub_accepted_time)
    }

    fn take(bytes: &[u8]) -> Result<(Self, &[u8]), Error> {
        let (proposal, bytes) = take(bytes)?;
        let (hub_accepted_time, bytes) = take(bytes)?;
        Ok((
            Self {
                proposal,
                hub_accepted_time,
            },
            bytes,
        ))
    }
}

impl Select for GroupInfoRatchetTreeTbe {
    fn put(&self, out: &mut Vec<u8>) -> Result<(), Error> {
        put(out, &self.group_info)?;
        put(out, &self.ratchet_tree)?;
        put(out, &self.pending_proposals)
    }

    fn take(bytes: &[u8]) -> Result<(Self, &[u8]), Error> {
        let (group_info, bytes) = take(bytes)?;
        let (ratchet_tree, bytes) = take(bytes)?;
        let (pending_proposals, bytes) = take(bytes)?;
        Ok((
            Self {
                group_info,
                ratchet_tree,
                pending_proposals,
            },
            bytes,
        ))
    }
}

impl GroupInfoResponse {
    /// The bytes the hub's signature covers (`GroupInfoResponseTBS`; success only).
    pub fn signed_content(room_id: &[u8], success: &GroupInfoSuccess) -> Result<Vec<u8>, Error> {
        let mut tbs = Vec::new();
        put(&mut tbs, &Protocol::Mls10)?;
        put(&mut tbs, &tls_codec::VLByteSlice(room_id))?;
        put(&mut tbs, &GroupInfoCode::Success)?;
        put(&mut tbs, &success.cipher_suite)?;
        put(&mut tbs, &success.hub_sender)?;
        put(&mut tbs, &success.encrypted_groupinfo_and_tree)?;
        codec::sign_content(GROUP_INFO_RESPONSE_LABEL, &tbs)
    }
}

impl Select for GroupInfoResponse {
    fn put(&self, out: &mut Vec<u8>) -> Result<(), Error> {
        put(out, &Protocol::Mls10)?;
        put(out, &self.room_id)?;
        match &self.outcome {
            GroupInfoOutcome::Success(s) => {
                put(out, &GroupInfoCode::Success)?;
                put(out, &s.cipher_suite)?;
                put(out, &s.hub_sender)?;
                put(out, &s.encrypted_groupinfo_and_tree)?;
                put(out, &s.signature)
            }
            GroupInfoOutcome::NotAuthorized => put(out, &GroupInfoCode::NotAuthorized),
            GroupInfoOutcome::NoSuchRoom => put(out, &GroupInfoCode::NoSuchRoom),
        }
    }

    fn take(bytes: &[u8]) -> Result<(Self, &[u8]), Error> {
        let (Protocol::Mls10, bytes) = take::<Protocol>(bytes)?;
        let (room_id, bytes) = take(bytes)?;
        let (code, bytes) = take::<GroupInfoCode>(bytes)?;
        let (outcome, bytes) = match code {
            GroupInfoCode::Success => {
                let (cipher_suite, bytes) = take(bytes)?;
                let (hub_sender, bytes) = take(bytes)?;
                let (encrypted_groupinfo_and_tree, bytes) = take(bytes)?;
                let (signature, bytes) = take(bytes)?;
                (
                    GroupInfoOutcome::Success(GroupInfoSuccess {
                        cipher_suite,
                        hub_sender,
                        encrypted_groupinfo_and_tree,
                        signature,
                    }),
                    bytes,
                )
            }
            GroupInfoCode::NotAuthorized => (GroupInfoOutcome::NotAuthorized, bytes),
            GroupInfoCode::NoSuchRoom => (GroupInfoOutcome::NoSuchRoom, bytes),
        };
        Ok((Self { room_id, outcome }, bytes))
    }
}

select_codec!(
    GroupInfoRequestTbs,
    GroupInfoRequest,
    PendingProposal,
    GroupInfoRatchetTreeTbe,
    GroupInfoResponse
);
