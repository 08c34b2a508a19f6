//! `update` (protocol-06 §5.3): a follower relays its user's commit or proposals to the
//! room's hub.

use tls_codec::Error;

use crate::codec::{
    GroupInfo, MessageKind, Mls, MlsMessage, Opaque, RatchetTree, Select, Text, Welcome, byte_enum,
    put, select_codec, take,
};

byte_enum! {
    /// `RatchetTreeRepresentation` (draft-mahy-mls-ratchet-tree-options).
    RatchetTreeRepresentation {
        /// The whole tree follows.
        Full = 1,
        /// The tree is fetched from an HTTPS URI.
        HttpsUri = 2,
        /// The receiver has the tree already.
        OutOfBand = 3,
        /// The delivery service keeps the tree.
        DistributionService = 4,
    }
}

/// `RatchetTreeOption`: how a ratchet tree travels.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RatchetTreeOption {
    /// The whole tree (`optional<Node> ratchet_tree<V>`).
    Full(Mls<RatchetTree>),
    /// Where to fetch it.
    HttpsUri(Text),
    /// The receiver has it already.
    OutOfBand,
    /// The delivery service keeps it.
    DistributionService,
}

impl Select for RatchetTreeOption {
    fn put(&self, out: &mut Vec<u8>) -> Result<(), Error> {
        match self {
            Self::Full(tree) => {
                put(out, &RatchetTreeRepresentation::Full)?;
                put(out, tree)
            }
            Self::HttpsUri(uri) => {
                put(out, &RatchetTreeRepresentation::HttpsUri)?;
                put(out, uri)
            }
            Self::OutOfBand => put(out, &RatchetTreeRepresentation::OutOfBand),
            Self::DistributionService => put(out, &RatchetTreeRepresentation::DistributionService),
        }
    }

    fn take(bytes: &[u8]) -> Result<(Self, &[u8]), Error> {
        let (representation, bytes) = take::<RatchetTreeRepresentation>(bytes)?;
        Ok(match representation {
            RatchetTreeRepresentation::Full => {
                let (tree, bytes) = take(bytes)?;
                (Self::Full(tree), bytes)
            }
            RatchetTreeRepresentation::HttpsUri => {
                let (uri, bytes) = take(bytes)?;
                (Self::HttpsUri(uri), bytes)
            }
            RatchetTreeRepresentation::OutOfBand => (Self::OutOfBand, bytes),
            RatchetTreeRepresentation::DistributionService => (Self::DistributionService, bytes),
        })
    }
}

/// `GroupInfoOption`. Only the full GroupInfo is read: a `partial` one (whose format the
/// ratchet-tree-options draft still changes) is refused (decision 0015).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GroupInfoOption(pub Mls<GroupInfo>);

impl Select for GroupInfoOption {
    fn put(&self, out: &mut Vec<u8>) -> Result<(), Error> {
        put(out, &1u8)?;
        put(out, &self.0)
    }

    fn take(bytes: &[u8]) -> Result<(Self, &[u8]), Error> {
        let (representation, bytes) = take::<u8>(bytes)?;
        if representation != 1 {
            return Err(Error::UnknownValue(representation.into()));
        }
        let (group_info, bytes) = take(bytes)?;
        Ok((Self(group_info), bytes))
    }
}

/// `HandshakeBundle`, which is all of an `UpdateRequest` for mls10.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HandshakeBundle {
    /// A commit, with what a joiner needs.
    Commit {
        /// The commit, a PublicMessage.
        commit: Mls<MlsMessage>,
        /// The Welcome for the clients it adds (without the ratchet tree).
        welcome: Option<Mls<Welcome>>,
        /// The committer's GroupInfo for the new epoch (without the ratchet tree).
        group_info: GroupInfoOption,
        /// The new epoch's ratchet tree.
        ratchet_tree: RatchetTreeOption,
    },
    /// Proposals.
    Proposal {
        /// The first, a PublicMessage.
        proposal: Mls<MlsMessage>,
        /// More of them.
        more_proposals: Vec<Mls<MlsMessage>>,
    },
}

/// `UpdateRequest`: for mls10, a [`HandshakeBundle`].
pub type UpdateRequest = HandshakeBundle;

impl Select for HandshakeBundle {
    fn put(&self, out: &mut Vec<u8>) -> Result<(), Error> {
        match self {
            Self::Commit {
                commit,
                welcome,
                group_info,
                ratchet_tree,
            } => {
                put(out, commit)?;
                put(out, welcome)?;
                put(out, group_info)?;
                put(out, ratchet_tree)
            }
            Self::Proposal {
                proposal,
                more_proposals,
            } => {
                put(out, proposal)?;
                put(out, more_proposals)
            }
        }
    }

    fn take(bytes: &[u8]) -> Result<(Self, &[u8]), Error> {
        let (message, bytes) = take::<Mls<MlsMessage>>(bytes)?;
        match message.kind() {
            MessageKind::Commit => {
                let (welcome, bytes) = take(bytes)?;
                let (group_info, bytes) = take(bytes)?;
                let (ratchet_tree, bytes) = take(bytes)?;
                Ok((
                    Self::Commit {
                        commit: message,
                        welcome,
                        group_info,
                        ratchet_tree,
                    },
                    bytes,
                ))
            }
            MessageKind::Proposal => {
                let (more_proposals, bytes) = take(bytes)?;
                Ok((
                    Self::Proposal {
                        proposal: message,
                        more_proposals,
                    },
                    bytes,
                ))
            }
            _ => Err(Error::DecodingError(
                "a handshake bundle starts with a commit or a proposal".into(),
            )),
        }
    }
}

byte_enum! {
    /// `UpdateResponseCode`.
    UpdateResponseCode {
        /// Accepted.
        Success = 0,
        /// The room is at another epoch.
        WrongEpoch = 1,
        /// The room's policy refuses it.
        NotAllowed = 2,
        /// Some proposals are invalid.
        InvalidProposal = 3,
    }
}

/// `UpdateRoomResponse`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UpdateRoomResponse {
    /// For a person: why, when refused (empty when accepted).
    pub error_description: Text,
    /// The outcome.
    pub outcome: UpdateOutcome,
}

/// `UpdateRoomResponse`'s `select (responseCode)`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum UpdateOutcome {
    /// Accepted at this time (ms since the UNIX epoch).
    Success {
        /// The hub's acceptance time.
        accepted_timestamp: u64,
    },
    /// The room is at this epoch.
    WrongEpoch {
        /// The room's epoch.
        current_epoch: u64,
    },
    /// The policy refuses it.
    NotAllowed,
    /// These proposals (ProposalRefs) are invalid.
    InvalidProposal {
        /// Their references.
        invalid_proposals: Vec<Opaque>,
    },
}

impl Select for UpdateRoomResponse {
    fn put(&self, out: &mut Vec<u8>) -> Result<(), Error> {
        let code = match &self.outcome {
            UpdateOutcome::Success { .. } => UpdateResponseCode::Success,
            UpdateOutcome::WrongEpoch { .. } => UpdateResponseCode::WrongEpoch,
            UpdateOutcome::NotAllowed => UpdateResponseCode::NotAllowed,
            UpdateOutcome::InvalidProposal { .. } => UpdateResponseCode::InvalidProposal,
        };
        put(out, &code)?;
        put(out, &self.error_description)?;
        match &self.outcome {
            UpdateOutcome::Success { accepted_timestamp } => put(out, accepted_timestamp),
            UpdateOutcome::WrongEpoch { current_epoch } => put(out, current_epoch),
            UpdateOutcome::NotAllowed => Ok(()),
            UpdateOutcome::InvalidProposal { invalid_proposals } => put(out, invalid_proposals),
        }
    }

    fn take(bytes: &[u8]) -> Result<(Self, &[u8]), Error> {
        let (code, bytes) = take::<UpdateResponseCode>(bytes)?;
        let (error_description, bytes) = take(bytes)?;
        let (outcome, bytes) = match code {
            UpdateResponseCode::Success => {
                let (accepted_timestamp, bytes) = take(bytes)?;
                (UpdateOutcome::Success { accepted_timestamp }, bytes)
            }
            UpdateResponseCode::WrongEpoch => {
                let (current_epoch, bytes) = take(bytes)?;
                (UpdateOutcome::WrongEpoch { current_epoch }, bytes)
            }
            UpdateResponseCode::NotAllowed => (UpdateOutcome::NotAllowed, bytes),
            UpdateResponseCode::InvalidProposal => {
                let (invalid_proposals, bytes) = take(bytes)?;
                (UpdateOutcome::InvalidProposal { invalid_proposals }, bytes)
            }
        };
        Ok((
            Self {
                error_description,
                outcome,
            },
            bytes,
        ))
    }
}

select_codec!(
    RatchetTreeOption,
    GroupInfoOption,
    HandshakeBundle,
    UpdateRoomResponse
);
