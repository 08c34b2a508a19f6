//! Errors of the MLS layer.

use mimi_policy::Decision;

/// Why an MLS operation or a peer's MLS input was refused.
#[derive(Debug, thiserror::Error)]
pub enum MlsError {
    /// The bytes are not the expected MLS structure.
    #[error("malformed MLS input: {0}")]
    Malformed(String),
    /// The bytes do not decode (TLS presentation language).
    #[error("malformed MLS input: {0}")]
    Decode(#[source] tls_codec::Error),
    /// A credential does not name a mimi client.
    #[error("credential: {0}")]
    Credential(String),
    /// A KeyPackage failed validation.
    #[error("KeyPackage: {0}")]
    KeyPackage(String),
    /// The group context does not carry a valid room policy.
    #[error("room policy in the group context: {0}")]
    Policy(String),
    /// The room policy forbids the operation.
    #[error("denied: {} ({})", .0.code(), .0.rule().id)]
    Denied(Decision),
    /// The message is for another epoch than the room's current one.
    #[error("wrong epoch: the room is at epoch {current}")]
    WrongEpoch {
        /// The room's current epoch.
        current: u64,
    },
    /// A commit came without the committer's GroupInfo for the new epoch, or with a wrong one.
    #[error("GroupInfo: {0}")]
    GroupInfo(String),
    /// A member's commit leaves out a Remove the hub proposed in this epoch (RFC 9420
    /// §12.4: a commit includes the valid proposals of its epoch).
    #[error("missing proposals: {0}")]
    MissingProposals(String),
    /// A staged change was merged into a room that changed since it was staged.
    #[error("the room changed since the change was staged; stage it again")]
    StaleStage,
    /// openmls refused the operation; its error is the source.
    #[error("MLS: {0}")]
    Openmls(#[source] Box<dyn std::error::Error + Send + Sync>),
}

impl MlsError {
    /// Stable kebab-case code.
    pub fn code(&self) -> &'static str {
        match self {
            Self::Malformed(_) | Self::Decode(_) => "malformed-mls",
            Self::Credential(_) => "bad-credential",
            Self::KeyPackage(_) => "bad-key-package",
            Self::Policy(_) => "invalid-policy",
            Self::Denied(d) => d.code(),
            Self::WrongEpoch { .. } => "wrong-epoch",
            Self::GroupInfo(_) => "bad-group-info",
            Self::MissingProposals(_) => "missing-proposals",
            Self::StaleStage => "stale-stage",
            Self::Openmls(_) => "mls-error",
        }
    }

    /// The rule behind a refusal: a policy decision's, or `MIMI-MLS` for a commit or
    /// message that does not match the room or is malformed; none for the others (an
    /// epoch, a credential, openmls).
    pub fn rule(&self) -> Option<mimi_policy::rule::Rule> {
        match self {
            Self::Denied(d) => Some(d.rule()),
            Self::Policy(_) | Self::Malformed(_) | Self::Decode(_) => {
                Some(mimi_policy::rule::MIMI_MLS)
            }
            _ => None,
        }
    }

    /// Wraps an openmls error, kept as the source.
    pub(crate) fn openmls(e: impl std::error::Error + Send + Sync + 'static) -> Self {
        Self::Openmls(Box::new(e))
    }
}

#[cfg(test)]
mod tests {
    use std::error::Error as _;

    use super::MlsError;

    #[test]
    fn undecodable_input_keeps_the_decoders_error_as_its_source() {
        let hub = crate::hub::Hub::new(
            mimi_policy::id::ProviderId::parse("a.example").unwrap_or_else(|e| panic!("{e}")),
        )
        .unwrap_or_else(|e| panic!("{e}"));
        let Err(err) = hub.load_room(&[0xff, 0x00], &[]) else {
            panic!("garbage loaded as a room");
        };
        assert!(matches!(err, MlsError::Decode(_)), "{err:?}");
        assert_eq!(err.code(), "malformed-mls");
        assert!(err.source().is_some());
    }
}
