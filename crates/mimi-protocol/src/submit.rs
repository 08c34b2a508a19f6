//! `submitMessage` (protocol-06 §5.4) and `notify` (§5.5): a follower submits its user's
//! application message to the hub; the hub fans out what it accepted to the followers.

use tls_codec::{DeserializeBytes, Error};

use crate::codec::{
    IdentifierUri, MessageKind, Mls, MlsMessage, Opaque, Protocol, Select, byte_enum, put,
    select_codec, take,
};
use crate::update::RatchetTreeOption;

/// `SubmitMessageRequest`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SubmitMessageRequest {
    /// A PrivateMessage holding an application message.
    pub app_message: Mls<MlsMessage>,
    /// Who sends it (the client, or a pseudonym of it).
    pub sending_uri: IdentifierUri,
}

impl Select for SubmitMessageRequest {
    fn put(&self, out: &mut Vec<u8>) -> Result<(), Error> {
        put(out, &Protocol::Mls10)?;
        put(out, &self.app_message)?;
        put(out, &self.sending_uri)
    }

    fn take(bytes: &[u8]) -> Result<(Self, &[u8]), Error> {
        let (Protocol::Mls10, bytes) = take::<Protocol>(bytes)?;
        let (app_message, bytes) = take::<Mls<MlsMessage>>(bytes)?;
        if app_message.kind() != MessageKind::Application {
            return Err(Error::DecodingError(
                "submitMessage carries an application message".into(),
            ));
        }
        let (sending_uri, bytes) = take(bytes)?;
        Ok((
            Self {
                app_message,
                sending_uri,
            },
            bytes,
        ))
    }
}

/// `Frank` (§5.4.1).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Frank {
    /// `HMAC_SHA256(hub_key, franking_tag || context)`.
    pub server_frank: [u8; 32],
    /// The cipher suite of the franking signature.
    pub franking_signature_ciphersuite: u16,
    /// `SignWithLabel(franking_private_key, "FrankingIntegrityTBS", ...)`.
    pub franking_integrity_signature: Opaque,
}

impl Select for Frank {
    fn put(&self, out: &mut Vec<u8>) -> Result<(), Error> {
        out.extend_from_slice(&self.server_frank);
        put(out, &self.franking_signature_ciphersuite)?;
        put(out, &self.franking_integrity_signature)
    }

    fn take(bytes: &[u8]) -> Result<(Self, &[u8]), Error> {
        let (server_frank, bytes) = <[u8; 32]>::tls_deserialize_bytes(bytes)?;
        let (franking_signature_ciphersuite, bytes) = take(bytes)?;
        let (franking_integrity_signature, bytes) = take(bytes)?;
        Ok((
            Self {
                server_frank,
                franking_signature_ciphersuite,
                franking_integrity_signature,
            },
            bytes,
        ))
    }
}

byte_enum! {
    /// `SubmitResponseCode`.
    SubmitResponseCode {
        /// Accepted.
        Accepted = 0,
        /// The room's policy refuses it.
        NotAllowed = 1,
        /// The message's epoch is over.
        EpochTooOld = 2,
    }
}

/// `SubmitMessageResponse`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SubmitMessageResponse {
    /// Accepted at this time (ms since the UNIX epoch), perhaps franked.
    Accepted {
        /// The hub's acceptance time.
        accepted_timestamp: u64,
        /// The hub's frank.
        frank: Option<Frank>,
    },
    /// The policy refuses it.
    NotAllowed,
    /// The room is at this epoch now.
    EpochTooOld {
        /// The room's epoch.
        current_epoch: u64,
    },
}

impl Select for SubmitMessageResponse {
    fn put(&self, out: &mut Vec<u8>) -> Result<(), Error> {
        put(out, &Protocol::Mls10)?;
        match self {
            Self::Accepted {
                accepted_timestamp,
                frank,
            } => {
                put(out, &SubmitResponseCode::Accepted)?;
                put(out, accepted_timestamp)?;
                put(out, frank)
            }
            Self::NotAllowed => put(out, &SubmitResponseCode::NotAllowed),
            Self::EpochTooOld { current_epoch } => {
                put(out, &SubmitResponseCode::EpochTooOld)?;
                put(out, current_epoch)
            }
        }
    }

    fn take(bytes: &[u8]) -> Result<(Self, &[u8]), Error> {
        let (Protocol::Mls10, bytes) = take::<Protocol>(bytes)?;
        let (code, bytes) = take::<SubmitResponseCode>(bytes)?;
        Ok(match code {
            SubmitResponseCode::Accepted => {
                let (accepted_timestamp, bytes) = take(bytes)?;
                let (frank, bytes) = take(bytes)?;
                (
                    Self::Accepted {
                        accepted_timestamp,
                        frank,
                    },
                    bytes,
                )
            }
            SubmitResponseCode::NotAllowed => (Self::NotAllowed, bytes),
            SubmitResponseCode::EpochTooOld => {
                let (current_epoch, bytes) = take(bytes)?;
                (Self::EpochTooOld { current_epoch }, bytes)
            }
        })
    }
}

/// `FanoutMessage`: one message the hub accepted, as it fans it out.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FanoutMessage {
    /// The hub's acceptance time (ms since the UNIX epoch).
    pub timestamp: u64,
    /// The message, with what its kind carries beside it.
    pub body: FanoutBody,
}

/// `FanoutMessage`'s `select (message.wire_format)`, read as the message's kind (decision
/// 0015: application, proposal and commit are content types, not wire formats).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FanoutBody {
    /// An application message (PrivateMessage), perhaps franked.
    Application {
        /// The message.
        message: Mls<MlsMessage>,
        /// The hub's frank.
        frank: Option<Frank>,
    },
    /// A Welcome (as an MLSMessage) and the tree of the epoch it welcomes into.
    Welcome {
        /// The Welcome.
        message: Mls<MlsMessage>,
        /// The ratchet tree.
        ratchet_tree: RatchetTreeOption,
    },
    /// A proposal and more of them.
    Proposal {
        /// The first.
        message: Mls<MlsMessage>,
        /// The rest.
        more_proposals: Vec<Mls<MlsMessage>>,
    },
    /// A commit, and the hub's proposals that replace pending ones it invalidated.
    Commit {
        /// The commit.
        message: Mls<MlsMessage>,
        /// The hub's replacement proposals.
        external_proposals: Vec<Mls<MlsMessage>>,
    },
}

impl FanoutBody {
    /// The MLS message.
    pub fn message(&self) -> &Mls<MlsMessage> {
        match self {
            Self::Application { message, .. }
            | Self::Welcome { message, .. }
            | Self::Proposal { message, .. }
            | Self::Commit { message, .. } => message,
        }
    }
}

impl Select for FanoutMessage {
    fn put(&self, out: &mut Vec<u8>) -> Result<(), Error> {
        put(out, &self.timestamp)?;
        put(out, self.body.message())?;
        match &self.body {
            FanoutBody::Application { frank, .. } => put(out, frank),
            FanoutBody::Welcome { ratchet_tree, .. } => put(out, ratchet_tree),
            FanoutBody::Proposal { more_proposals, .. } => put(out, more_proposals),
            FanoutBody::Commit {
                external_proposals, ..
            } => put(out, external_proposals),
        }
    }

    fn take(bytes: &[u8]) -> Result<(Self, &[u8]), Error> {
        let (timestamp, bytes) = take(bytes)?;
        let (message, bytes) = take::<Mls<MlsMessage>>(bytes)?;
        let (body, bytes) = match message.kind() {
            MessageKind::Application => {
                let (frank, bytes) = take(bytes)?;
                (FanoutBody::Application { message, frank }, bytes)
            }
            MessageKind::Welcome => {
                let (ratchet_tree, bytes) = take(bytes)?;
                (
                    FanoutBody::Welcome {
                        message,
                        ratchet_tree,
                    },
                    bytes,
                )
            }
            MessageKind::Proposal => {
                let (more_proposals, bytes) = take(bytes)?;
                (
                    FanoutBody::Proposal {
                        message,
                        more_proposals,
                    },
                    bytes,
                )
            }
            MessageKind::Commit => {
                let (external_proposals, bytes) = take(bytes)?;
                (
                    FanoutBody::Commit {
                        message,
                        external_proposals,
                    },
                    bytes,
                )
            }
            MessageKind::Other => {
                return Err(Error::DecodingError(
                    "a fanout message is an application message, proposal, commit or Welcome"
                        .into(),
                ));
            }
        };
        Ok((Self { timestamp, body }, bytes))
    }
}

select_codec!(
    SubmitMessageRequest,
    Frank,
    SubmitMessageResponse,
    FanoutMessage
);

/// A `notify` body: one or more fanout messages, one after another.
pub fn decode_fanout(mut bytes: &[u8]) -> Result<Vec<FanoutMessage>, Error> {
    let mut messages = Vec::new();
    while !bytes.is_empty() {
        let (message, rest) = FanoutMessage::take(bytes)?;
        messages.push(message);
        bytes = rest;
    }
    if messages.is_empty() {
        return Err(Error::EndOfStream);
    }
    Ok(messages)
}

/// A `notify` body of `messages`.
pub fn encode_fanout(messages: &[FanoutMessage]) -> Result<Vec<u8>, Error> {
    let mut out = Vec::new();
    for message in messages {
        message.put(&mut out)?;
    }
    Ok(out)
}
