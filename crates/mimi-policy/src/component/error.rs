//! The single error type of the component module (RP-04 §5–§7 rules).

use super::{ComponentId, DecodeError, DownloadPrivacyType};

/// Why a policy component could not be encoded, decoded, validated or updated.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ComponentError {
    /// The component's bytes could not be decoded.
    #[error("component {component_id:#06x}: {source}")]
    Decode {
        /// Component whose data was being decoded.
        component_id: ComponentId,
        /// The underlying decoding failure.
        #[source]
        source: DecodeError,
    },
    /// The component could not be TLS-encoded (a vector exceeded the varint range).
    #[error("component {component_id:#06x} cannot be encoded: {reason}")]
    Encode {
        /// Component that was being encoded.
        component_id: ComponentId,
        /// The encoder's explanation.
        reason: String,
    },
    /// A component that must always be present is missing from the app data.
    #[error("required component {component_id:#06x} is missing")]
    MissingComponent {
        /// The missing component.
        component_id: ComponentId,
    },
    /// `parent_dependant` is set but no parent room URI is given (RP-04 §5).
    #[error("parent_dependant room has no parent_room")]
    ParentRoomMissing,
    /// A parent room URI is given although `parent_dependant` is false (RP-04 §5).
    #[error("room is not parent_dependant but lists {count} parent_room URI(s)")]
    ParentRoomUnexpected {
        /// How many URIs were listed.
        count: usize,
    },
    /// A `parent_room` entry is the empty string.
    #[error("parent_room entry {index} is empty")]
    ParentRoomEmpty {
        /// Position of the empty entry.
        index: usize,
    },
    /// `autodetect_hyperlinks_in_text` is `required`, which RP-04 §6.3 forbids.
    #[error("autodetect_hyperlinks_in_text must not be required")]
    AutodetectHyperlinksRequired,
    /// Role 0 (outsider) or 1 (banned) is listed as able to share history (RP-04 §6.6).
    #[error("role {role_index} cannot be allowed to share history")]
    HistoryRoleNotShareable {
        /// The offending role index.
        role_index: u32,
    },
    /// The minimum expiration duration exceeds the maximum (RP-04 §6.8).
    #[error("min_expiration_duration {min} exceeds max_expiration_duration {max}")]
    ExpirationMinAboveMax {
        /// Minimum duration in seconds.
        min: u32,
        /// Maximum duration in seconds.
        max: u32,
    },
    /// The default expiration duration lies outside `[min, max]` (RP-04 §6.8).
    #[error("default_expiration_duration {default} is outside [{min}, {max}]")]
    ExpirationDefaultOutOfRange {
        /// Default duration in seconds.
        default: u32,
        /// Minimum duration in seconds.
        min: u32,
        /// Maximum duration in seconds.
        max: u32,
    },
    /// A `removedIndices` entry points past the end of the join-link list (RP-04 §6.2).
    #[error("join link index {index} is out of range for {len} link(s)")]
    JoinLinkIndexOutOfRange {
        /// The requested index.
        index: u32,
        /// Length of the current list.
        len: usize,
    },
    /// A `removedIndices` entry appears twice (RP-04 §6.2).
    #[error("join link index {index} is removed twice")]
    JoinLinkIndexDuplicate {
        /// The repeated index.
        index: u32,
    },
    /// A local client bot has a non-zero `bot_role_index` (RP-04 §6.7).
    #[error("local client bot {bot} must have bot_role_index 0, has {role_index}")]
    LocalBotHasRole {
        /// Position of the bot in `allowed_bots`.
        bot: usize,
        /// Its role index.
        role_index: u32,
    },
    /// The default download privacy type is also listed as forbidden (RP-04 §6.4).
    #[error("default download type {download_type:?} is forbidden")]
    DefaultDownloadTypeForbidden {
        /// The conflicting type.
        download_type: DownloadPrivacyType,
    },
    /// A download privacy type is both allowed and forbidden (RP-04 §6.4).
    #[error("download type {download_type:?} is both allowed and forbidden")]
    DownloadTypeAllowedAndForbidden {
        /// The conflicting type.
        download_type: DownloadPrivacyType,
    },
    /// A `MinDefaultMaxTime` is not ordered `minimum <= default <= maximum` (RP-04 §7).
    #[error("{field}: expected minimum {min} <= default {default} <= maximum {max}")]
    TimeRangeUnordered {
        /// Name of the `OperationalParameters` field.
        field: &'static str,
        /// Minimum time.
        min: u64,
        /// Default time.
        default: u64,
        /// Maximum time.
        max: u64,
    },
    /// A `random_delay` pending-proposal strategy has minimum above maximum (RP-04 §7).
    #[error("random_delay minimum {min} ms exceeds maximum {max} ms")]
    RandomDelayUnordered {
        /// Minimum delay in milliseconds.
        min: u64,
        /// Maximum delay in milliseconds.
        max: u64,
    },
}

impl ComponentError {
    /// A stable kebab-case identifier for this error kind, for logs and APIs.
    pub fn code(&self) -> &'static str {
        match self {
            ComponentError::Decode { .. } => "component-decode",
            ComponentError::Encode { .. } => "component-encode",
            ComponentError::MissingComponent { .. } => "missing-component",
            ComponentError::ParentRoomMissing => "parent-room-missing",
            ComponentError::ParentRoomUnexpected { .. } => "parent-room-unexpected",
            ComponentError::ParentRoomEmpty { .. } => "parent-room-empty",
            ComponentError::AutodetectHyperlinksRequired => "autodetect-hyperlinks-required",
            ComponentError::HistoryRoleNotShareable { .. } => "history-role-not-shareable",
            ComponentError::ExpirationMinAboveMax { .. } => "expiration-min-above-max",
            ComponentError::ExpirationDefaultOutOfRange { .. } => "expiration-default-out-of-range",
            ComponentError::JoinLinkIndexOutOfRange { .. } => "join-link-index-out-of-range",
            ComponentError::JoinLinkIndexDuplicate { .. } => "join-link-index-duplicate",
            ComponentError::LocalBotHasRole { .. } => "local-bot-has-role",
            ComponentError::DefaultDownloadTypeForbidden { .. } => {
                "default-download-type-forbidden"
            }
            ComponentError::DownloadTypeAllowedAndForbidden { .. } => {
                "download-type-allowed-and-forbidden"
            }
            ComponentError::TimeRangeUnordered { .. } => "time-range-unordered",
            ComponentError::RandomDelayUnordered { .. } => "random-delay-unordered",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn error_codes_are_kebab_case_and_distinct() {
        let samples = [
            ComponentError::Decode {
                component_id: 1,
                source: DecodeError::Invalid("x"),
            },
            ComponentError::Encode {
                component_id: 1,
                reason: String::new(),
            },
            ComponentError::MissingComponent { component_id: 1 },
            ComponentError::ParentRoomMissing,
            ComponentError::ParentRoomUnexpected { count: 1 },
            ComponentError::ParentRoomEmpty { index: 0 },
            ComponentError::AutodetectHyperlinksRequired,
            ComponentError::HistoryRoleNotShareable { role_index: 0 },
            ComponentError::ExpirationMinAboveMax { min: 2, max: 1 },
            ComponentError::ExpirationDefaultOutOfRange {
                default: 0,
                min: 1,
                max: 2,
            },
            ComponentError::JoinLinkIndexOutOfRange { index: 1, len: 0 },
            ComponentError::JoinLinkIndexDuplicate { index: 0 },
            ComponentError::LocalBotHasRole {
                bot: 0,
                role_index: 3,
            },
            ComponentError::DefaultDownloadTypeForbidden {
                download_type: DownloadPrivacyType::Direct,
            },
            ComponentError::DownloadTypeAllowedAndForbidden {
                download_type: DownloadPrivacyType::Ohttp,
            },
            ComponentError::TimeRangeUnordered {
                field: "f",
                min: 2,
                default: 1,
                max: 0,
            },
            ComponentError::RandomDelayUnordered { min: 2, max: 1 },
        ];
        let mut seen = std::collections::BTreeSet::new();
        for err in &samples {
            let code = err.code();
            assert!(
                code.chars().all(|c| c.is_ascii_lowercase() || c == '-'),
                "{code}"
            );
            assert!(seen.insert(code), "duplicate code {code}");
            assert!(!err.to_string().is_empty());
        }
    }
}
