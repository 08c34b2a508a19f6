//! Decisions: allow, or deny with a stable code, always naming the rule that decided.

use std::fmt;

use serde::Serialize;

use crate::rule::Rule;

/// Why an operation was denied: a stable kebab-case code (the vocabulary follows XEP-0045's
/// error conditions where one fits).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum DenyCode {
    /// The actor holds no client in the room's group.
    NotInRoom,
    /// The actor or the target is banned (outcast).
    Banned,
    /// The actor lacks the privilege for this operation.
    NotAllowed,
    /// A members-only room and the user is neither a member nor pre-authorized.
    RegistrationRequired,
    /// A knock-first room: the user must knock and be accepted.
    KnockRequired,
    /// The target's affiliation is equal to or higher than the actor's.
    EqualOrHigherAffiliation,
    /// Voice of an admin or owner cannot be revoked.
    CannotRevokeModeratorVoice,
    /// The last owner cannot leave or step down.
    LastOwner,
    /// The last admin or owner of an administered room cannot leave.
    LastAdmin,
    /// The last client of the MLS group cannot leave; destroy the room instead.
    LastMember,
    /// The user's last client cannot be removed.
    LastClient,
    /// Fixed-membership rooms do not add, remove or ban users.
    FixedMembership,
    /// The room is single-device and the user already has a client in it.
    SingleDevice,
    /// The client is already in the group.
    AlreadyInRoom,
    /// The target user or client is not in the room.
    NotFound,
    /// The authorized logger or system user cannot be removed.
    SystemUserProtected,
    /// A logging room cannot carry messages while no logger is present.
    LoggerRequired,
    /// The sender has no voice.
    NoVoice,
    /// The join link is not one of the room's: never issued, or revoked.
    BadLink,
    /// The join link has expired.
    LinkExpired,
    /// The join link has been used as often as it may be.
    LinkExhausted,
    /// The join link was not issued by an admin, an owner or the owning provider's system user.
    LinkNotTrusted,
    /// The password is missing or wrong.
    BadPassword,
    /// The target has not consented to the requester fetching its KeyPackages.
    NoConsent,
    /// No knock from the target is pending.
    NoKnock,
    /// The room does not take knocks.
    KnockNotEnabled,
    /// The system user is not the owning provider's nor an authorized provider's.
    UnknownSystemUser,
    /// The room's MLS policy forbids this MLS operation.
    MlsPolicy,
    /// An Update arrived before the minimum interval elapsed.
    UpdateTooSoon,
    /// The client has not updated within the maximum interval.
    UpdateOverdue,
    /// A role's minimum or maximum count, `max_users` or `max_clients` would be broken.
    ConstraintViolated,
    /// The actor's role may not make this role change.
    RoleChangeNotAuthorized,
    /// The actor's role lacks the capability the operation needs.
    MissingCapability,
    /// The operation would change nothing.
    NoChange,
    /// A fixed-membership room for this set of participants already exists.
    FixedRoomExists,
    /// The proposed room or policy is not valid.
    InvalidPolicy,
    /// The operation does not apply to this kind of room.
    NotApplicable,
    /// The room is not named on the provider asked to host it.
    ForeignRoom,
    /// A new room's group holds more than its creating client.
    NotCreator,
    /// A pseudonym in a room that wants long-term stable identifiers (not semi-anonymous).
    PseudonymNotAllowed,
}

impl DenyCode {
    /// The stable kebab-case code.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::NotInRoom => "not-in-room",
            Self::Banned => "banned",
            Self::NotAllowed => "not-allowed",
            Self::RegistrationRequired => "registration-required",
            Self::KnockRequired => "knock-required",
            Self::EqualOrHigherAffiliation => "equal-or-higher-affiliation",
            Self::CannotRevokeModeratorVoice => "cannot-revoke-moderator-voice",
            Self::LastOwner => "last-owner",
            Self::LastAdmin => "last-admin",
            Self::LastMember => "last-member",
            Self::LastClient => "last-client",
            Self::FixedMembership => "fixed-membership",
            Self::SingleDevice => "single-device",
            Self::AlreadyInRoom => "already-in-room",
            Self::NotFound => "not-found",
            Self::SystemUserProtected => "system-user-protected",
            Self::LoggerRequired => "logger-required",
            Self::NoVoice => "no-voice",
            Self::BadLink => "bad-link",
            Self::LinkExpired => "link-expired",
            Self::LinkExhausted => "link-exhausted",
            Self::LinkNotTrusted => "link-not-trusted",
            Self::BadPassword => "bad-password",
            Self::NoConsent => "no-consent",
            Self::NoKnock => "no-knock",
            Self::KnockNotEnabled => "knock-not-enabled",
            Self::UnknownSystemUser => "unknown-system-user",
            Self::MlsPolicy => "mls-policy",
            Self::UpdateTooSoon => "update-too-soon",
            Self::UpdateOverdue => "update-overdue",
            Self::ConstraintViolated => "constraint-violated",
            Self::RoleChangeNotAuthorized => "role-change-not-authorized",
            Self::MissingCapability => "missing-capability",
            Self::NoChange => "no-change",
            Self::FixedRoomExists => "fixed-room-exists",
            Self::InvalidPolicy => "invalid-policy",
            Self::NotApplicable => "not-applicable",
            Self::ForeignRoom => "foreign-room",
            Self::NotCreator => "not-creator",
            Self::PseudonymNotAllowed => "pseudonym-not-allowed",
        }
    }
}

impl fmt::Display for DenyCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The outcome of [`crate::authorize`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decision {
    /// The operation is allowed by `rule`.
    Allow {
        /// The rule that allowed it.
        rule: Rule,
    },
    /// The operation is denied by `rule`, for the reason `code`.
    Deny {
        /// Why.
        code: DenyCode,
        /// The rule that denied it.
        rule: Rule,
    },
}

impl Decision {
    /// Allowed by `rule`.
    pub fn allow(rule: Rule) -> Self {
        Self::Allow { rule }
    }

    /// Denied by `rule` with `code`.
    pub fn deny(code: DenyCode, rule: Rule) -> Self {
        Self::Deny { code, rule }
    }

    /// True for [`Decision::Allow`].
    pub fn is_allowed(&self) -> bool {
        matches!(self, Self::Allow { .. })
    }

    /// The rule that decided.
    pub fn rule(&self) -> Rule {
        match self {
            Self::Allow { rule } | Self::Deny { rule, .. } => *rule,
        }
    }

    /// The denial's code; `None` when allowed. Callers match on it, never on
    /// [`Decision::code`]'s text.
    pub fn deny_code(&self) -> Option<DenyCode> {
        match self {
            Self::Allow { .. } => None,
            Self::Deny { code, .. } => Some(*code),
        }
    }

    /// The stable code: `ok` when allowed.
    pub fn code(&self) -> &'static str {
        match self {
            Self::Allow { .. } => "ok",
            Self::Deny { code, .. } => code.as_str(),
        }
    }

    /// The decision as the JSON object `mimi policy check` prints.
    pub fn report(&self) -> DecisionReport {
        DecisionReport {
            decision: if self.is_allowed() { "allow" } else { "deny" },
            code: self.code(),
            rule: self.rule().id,
            reason: self.rule().text,
        }
    }
}

/// A serializable view of a [`Decision`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DecisionReport {
    /// `allow` or `deny`.
    pub decision: &'static str,
    /// `ok` or the deny code.
    pub code: &'static str,
    /// The rule ID.
    pub rule: &'static str,
    /// The rule, in words.
    pub reason: &'static str,
}

/// `Err(decision)` short-circuits a chain of checks with a denial.
pub(crate) type Check = Result<(), Decision>;

/// Denies with `code` under `rule` unless `ok`.
pub(crate) fn ensure(ok: bool, code: DenyCode, rule: Rule) -> Check {
    if ok {
        Ok(())
    } else {
        Err(Decision::deny(code, rule))
    }
}
