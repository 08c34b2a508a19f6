//! The catalogue of rules a decision can name.
//!
//! `SEED-*` rules come from draft-mahy-mimi-group-chat-00 "Authorizing MLS primitives" (and
//! its room capabilities); `MUC-*` from XEP-0045's ordering rules the seed adopts; `RP-*` from
//! draft-ietf-mimi-room-policy-04 §8 (role capabilities) and §3/§5 (constraints); `MIMI-*`
//! are this implementation's own settlements of points the drafts leave open
//! (docs/policy.md explains each).

/// A rule: a stable ID and the rule in words.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Rule {
    /// Stable ID, e.g. `SEED-ADD-1`.
    pub id: &'static str,
    /// The rule in one sentence.
    pub text: &'static str,
}

macro_rules! rules {
    ($($name:ident = $id:literal : $text:literal;)*) => {
        $(
            #[doc = $text]
            pub const $name: Rule = Rule { id: $id, text: $text };
        )*
        /// Every rule, in catalogue order.
        pub const ALL: &[Rule] = &[$($name),*];
    };
}

rules! {
    SEED_CREATE = "SEED-CREATE": "a user who will be an owner or admin of the room, or the owning provider's system user, may create it";
    SEED_CREATE_FIXED_UNIQUE = "SEED-CREATE-FIXED": "only a single fixed-membership room can exist for any set of occupants, named by their sorted, tab-joined, SHA-256 hashed user IDs";
    SEED_ADD_OCCUPANT = "SEED-ADD-1": "commit with Add: allowed when the user of the added client is an occupant (owner, admin or member)";
    SEED_ADD_OPEN = "SEED-ADD-2": "commit with Add: allowed when the room is open";
    SEED_ADD_ADMIN = "SEED-ADD-3": "commit with Add: allowed in a flexible-membership room when the adding user is an admin or owner";
    SEED_ADD_DENIED = "SEED-ADD-4": "commit with Add: the added user is not an occupant, the room is not open, and the adder is not an admin or owner of a flexible-membership room";
    SEED_ADD_FIXED = "SEED-ADD-FIXED": "fixed-membership rooms: other users cannot be added";
    SEED_MULTI_DEVICE = "SEED-MULTI-DEVICE": "multi-device check: a single-device room holds at most one client per user";
    SEED_SYSTEM_CLIENT = "SEED-SYSTEM-CLIENT": "a logger, bot or system client may be in the room only when pre-authorized as a system user and the room's logging or bot policy allows it";
    SEED_COMMITTER_IN_ROOM = "SEED-IN-ROOM": "commits and messages come from a client that is in the room's MLS group";
    SEED_OUTCAST = "SEED-OUTCAST": "an outcast (banned user) cannot enter, be added, send or act in the room";
    SEED_KP_SAME_USER = "SEED-KP-1": "KeyPackage access: the requester represents the same user as the target KeyPackage";
    SEED_KP_PREAUTHORIZED = "SEED-KP-2": "KeyPackage access: the requester is pre-authorized (has consent) to add the target user to groups";
    SEED_KP_QUOTA = "SEED-KP-3": "KeyPackage access: the requester asks for a small number of outstanding KeyPackages, within the target provider's quota";
    SEED_KP_PROVIDED = "SEED-KP-4": "KeyPackage access: the target provided a KeyPackage to the requester (for example by knocking)";
    SEED_KP_DENIED = "SEED-KP-5": "KeyPackage access: none of the four KeyPackage rules holds";
    SEED_JOIN_OCCUPANT = "SEED-JOIN-1": "join: the joining user is an occupant (owner, admin or member) or pre-authorized to become one";
    SEED_JOIN_OPEN = "SEED-JOIN-2": "join: the target room is open";
    SEED_JOIN_LINK = "SEED-JOIN-3": "join: the joining user has a valid link (and password), signed by an admin, an owner or the owning provider's system user";
    SEED_JOIN_PASSWORD = "SEED-JOIN-PASSWORD": "join: a password-protected room asks every newcomer who comes in by itself (open, pre-authorized) for its password";
    SEED_LINK = "SEED-LINK": "join links: an owner, an admin or the owning provider's system user lists and revokes the room's join links";
    SEED_JOIN_LOGGER = "SEED-JOIN-4": "join: the joining user is the system logger of a logging room";
    SEED_JOIN_DENIED = "SEED-JOIN-5": "join: the user is not an occupant or pre-authorized, the room is not open, and there is no valid link";
    SEED_JOIN_KNOCK_FIRST = "SEED-JOIN-KNOCK": "knock-first room: a user who is not an occupant or pre-authorized must knock and be accepted";
    SEED_JOIN_FIXED = "SEED-JOIN-FIXED": "fixed-membership rooms: only the clients of the occupants fixed at creation may join";
    SEED_REMOVE_MODERATOR = "SEED-REMOVE-1": "remove (flexible room): the removing user is a moderator (admin or owner)";
    SEED_REMOVE_SELF = "SEED-REMOVE-2": "remove (flexible room): the proposal was sent by the member itself (SelfRemove), or removes the user's own other client";
    SEED_REMOVE_OWNING_SYSTEM = "SEED-REMOVE-3": "remove (flexible room): the proposal was sent by the system user of the owning provider";
    SEED_REMOVE_PROVIDER_SYSTEM = "SEED-REMOVE-4": "remove (flexible room): the proposal was sent by the system user of the removed user's provider";
    SEED_REMOVE_DENIED = "SEED-REMOVE-5": "remove (flexible room): the remover is not a moderator, the target's own client, or an authorized system user";
    SEED_FIXED_REMOVE_OWN = "SEED-FIXED-REMOVE-1": "remove (fixed room): a regular user can remove any of its other clients";
    SEED_FIXED_REMOVE_OWNING_SYSTEM = "SEED-FIXED-REMOVE-2": "remove (fixed room): the owning provider's system user can remove any but the user's last client";
    SEED_FIXED_REMOVE_PROVIDER_SYSTEM = "SEED-FIXED-REMOVE-3": "remove (fixed room): another provider's system user can remove that provider's clients, except the last client";
    SEED_FIXED_REMOVE_DENIED = "SEED-FIXED-REMOVE-4": "remove (fixed room): occupants cannot be removed; only their other clients can be";
    SEED_FIXED_REMOVE_LAST = "SEED-FIXED-REMOVE-LAST": "remove (fixed room): a user's last client is never removed, since occupants cannot leave";
    SEED_REMOVE_SYSTEM_PROTECTED = "SEED-REMOVE-SYSTEM": "the authorized logger or system user cannot be removed by users";
    SEED_LEAVE = "SEED-LEAVE": "leave: a member can always send a proposal to leave, with two exceptions";
    SEED_LEAVE_LAST_ADMIN = "SEED-LEAVE-1": "leave: not the only admin or owner of an administered room";
    SEED_LEAVE_LAST_MEMBER = "SEED-LEAVE-2": "leave: not the last member of the MLS group (destroy the room instead)";
    SEED_LEAVE_FIXED = "SEED-LEAVE-FIXED": "fixed-membership rooms: occupants cannot leave";
    SEED_ANONYMITY = "SEED-ANON": "non-anonymous vs. semi-anonymous: in a non-anonymous room each user presents a long-term stable identifier; only a semi-anonymous room takes a pseudonymous identifier, unique per room and still associated with the user's provider";
    SEED_VACATE = "SEED-VACATE": "persistent vs. temporary: the last member of a persistent room may leave it; the room is not destroyed and keeps its policy and participant list (MLS has no empty group: the next one in starts a new group with them)";
    SEED_DESTROY = "SEED-DESTROY": "destroy: only the last member of the MLS group (all remaining clients are the actor's), or the owning provider's system user";
    SEED_SEND = "SEED-SEND-1": "send: in an unmoderated room any user in the room can send; members and moderators can send";
    SEED_SEND_VOICE = "SEED-SEND-2": "send: in a moderated room only users with voice can send (a visitor needs voice granted)";
    SEED_SEND_REVOKED = "SEED-SEND-3": "send: a user whose voice was revoked cannot send (Revoke Voice removes the permission to send messages)";
    SEED_SEND_LOGGER = "SEED-SEND-LOG": "send: a logging room carries messages only while its logger is present";
    SEED_POLICY = "SEED-POLICY": "update policy (GroupContextExtensions / AppDataUpdate): the room configuration is changed by an owner or the owning system user";
    SEED_POLICY_SHAPE = "SEED-POLICY-SHAPE": "update policy changes policy only: affiliations, voice and clients change through their own operations";
    SEED_POLICY_FIXED = "SEED-POLICY-FIXED": "a room's fixed-membership property is set at creation and never changes";
    SEED_MLS_PSK = "SEED-MLS-PSK": "MLS policy: PSK proposals are optional, allowed only when the room's MLS policy enables them";
    SEED_MLS_REINIT = "SEED-MLS-REINIT": "MLS policy: ReInit (moving or upgrading a room) is for owners and the owning system user, when enabled";
    SEED_MLS_UPDATE = "SEED-MLS-UPDATE": "MLS policy: an Update is allowed once the minimum interval has passed (-1 = never)";
    SEED_MLS_UPDATE_DUE = "SEED-MLS-UPDATE-DUE": "MLS policy: a client that has not updated within the maximum interval must update before it sends (-1 = no maximum)";
    SEED_MLS_EXTERNAL = "SEED-MLS-EXTERNAL": "MLS policy: external proposals are allowed by default for the uses above (system users' removals and joins)";
    MUC_ORDER = "MUC-ORDER": "moderation: nobody kicks, bans or revokes voice of a user with an equal or higher affiliation";
    MUC_BAN = "MUC-BAN": "ban: admins and owners ban users; the banned user becomes an outcast and its clients are removed";
    MUC_UNBAN = "MUC-UNBAN": "unban: admins and owners lift a ban; the user's affiliation becomes none";
    MUC_KICK = "MUC-KICK": "kick: moderators remove a participant or visitor's clients; the user may re-enter";
    MUC_VOICE = "MUC-VOICE": "grant or revoke voice: moderators change a participant's or visitor's voice";
    MUC_VOICE_MODERATOR = "MUC-VOICE-ADMIN": "the voice of an admin or owner can never be revoked";
    MUC_AFFILIATION_ADMIN = "MUC-AFFILIATION-1": "admins grant and revoke membership and bans for users below admin";
    MUC_AFFILIATION_OWNER = "MUC-AFFILIATION-2": "only owners grant or revoke admin and owner affiliations";
    MUC_LAST_OWNER = "MUC-LAST-OWNER": "the last owner cannot leave or step down";
    SEED_KNOCK = "SEED-KNOCK": "knock: a user who is not in a knock-first room may request entry";
    SEED_ACCEPT_KNOCK = "SEED-KNOCK-ACCEPT": "accept knock: an admin or owner decides on a pending knock";
    SEED_SYSTEM_USER = "SEED-SYSTEM-USER": "a system user acts only when it is the owning provider's (owning-system) or an authorized provider's (system-auth)";
    RP_ADD_PARTICIPANT = "RP-8.1.1-ADD": "canAddParticipant, with an authorized role change from 0 to the new role";
    RP_ADD_OWN_CLIENT = "RP-8.1.1-OWN-CLIENT": "canAddOwnClient: a participant adds another of its clients";
    RP_OPEN_JOIN = "RP-8.1.1-OPEN-JOIN": "canOpenJoin on role 0, into a role role 0 may change to";
    RP_PREAUTH_JOIN = "RP-8.1.1-PREAUTH": "canJoinIfPreauthorized on the role of the first matching pre-authorization entry";
    RP_JOIN_CODE = "RP-8.1.1-JOIN-CODE": "canUseJoinCode on role 0 with a valid join code";
    RP_JOIN_DENIED = "RP-8.1.1-JOIN": "an outsider joins only by canOpenJoin, pre-authorization or a join code";
    RP_REMOVE_PARTICIPANT = "RP-8.1.2-REMOVE": "canRemoveParticipant, with an authorized role change from the target's role to 0";
    RP_KICK = "RP-8.1.2-KICK": "canKick: remove another user's clients, keeping it in the participant list";
    RP_REMOVE_OWN_CLIENT = "RP-8.1.2-OWN-CLIENT": "canRemoveOwnClient: remove one's own client";
    RP_REMOVE_SELF = "RP-8.1.2-SELF": "canRemoveSelf, with an authorized role change from one's role to 0";
    RP_BAN = "RP-8.1.3-BAN": "canBan, with an authorized role change from the target's role to 1 (banned)";
    RP_UNBAN = "RP-8.1.3-UNBAN": "canUnBan, with an authorized role change from 1 (banned)";
    RP_CHANGE_ROLE = "RP-8.1.3-ROLE": "canChangeUserRole, with an authorized role change from the target's role to the new one";
    RP_CHANGE_OWN_ROLE = "RP-8.1.3-OWN-ROLE": "canChangeOwnRole into the role of the first matching pre-authorization entry";
    RP_SEND = "RP-8.3-SEND": "canSendMessage, from an active participant";
    RP_POLICY = "RP-8.6-POLICY": "a policy component changes only with its capability (membership style, role definitions, pre-authorized list, other attributes, MLS operational policies)";
    RP_DESTROY = "RP-8.6-DESTROY": "canDestroyRoom";
    RP_REINIT = "RP-8.6-REINIT": "canSendMLSReinitProposal";
    RP_PSK = "RP-8.7-PSK": "canSendMLSPSKProposal";
    RP_UPDATE = "RP-7-UPDATE": "Updates follow the operational policy's LeafNode update time";
    RP_UPDATE_DUE = "RP-7-UPDATE-DUE": "a client past the operational policy's maximum LeafNode update time must update before it sends";
    RP_EXTERNAL = "RP-7-EXTERNAL": "external proposals need external_proposal_allowed and a sender whose role holds the capability";
    RP_EXTERNAL_COMMIT = "RP-7-EXTERNAL-COMMIT": "external commits need external_commit_allowed";
    RP_KNOCK = "RP-8.7-KNOCK": "canKnock on role 0";
    RP_ACCEPT_KNOCK = "RP-8.7-ACCEPT-KNOCK": "canAcceptKnock";
    RP_CONSTRAINTS = "RP-3-CONSTRAINTS": "role minimum and maximum participants and active participants hold after the change";
    RP_MAX_USERS = "RP-5-LIMITS": "multi_device, max_clients and max_users hold after the change";
    RP_FIXED = "RP-5-FIXED": "fixed_membership: the participant list is fixed at creation";
    RP_NO_VOICE = "RP-VOICE": "role-table rooms have no voice or affiliation; change the user's role instead";
    RP_CREATE = "RP-CREATE": "the creator is a participant of the new room and the room's constraints hold";
    MIMI_REJOIN = "MIMI-REJOIN": "a client in the group may rejoin by an external commit that removes its own earlier leaf (RFC 9420 §12.4.3.2), whatever the room's ways in: its user keeps its role";
    MIMI_VALID = "MIMI-VALID": "the operation's target and fields are consistent with the room";
    MIMI_MLS = "MIMI-MLS": "an MLS message matches the room: the policy in its group context is valid, its participant-list changes are the operations it carries, and its content is well formed";
    MIMI_USER_ACTOR = "MIMI-USER-ACTOR": "this operation is performed by a user through its client, not by a system user";
    MIMI_VISIBLE = "MIMI-VISIBLE": "a discoverable room is known to every user; a hidden room only to the users it has a place for (any role, banned included), and to anyone else it does not exist";
    MIMI_DOCUMENT = "MIMI-DOCUMENT": "the room document is shown for a discoverable room, and for a hidden one to the users with clients in it and those it lets join";
    MIMI_HOST = "MIMI-HOST": "a provider hosts a new room only when the room is named on it and, for a seed room, names its system user as owning system";
    MIMI_HOST_CREATOR = "MIMI-HOST-CREATOR": "a new room's group holds only the creating client";
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rule_ids_are_unique() {
        let mut ids: Vec<_> = ALL.iter().map(|r| r.id).collect();
        ids.sort_unstable();
        let n = ids.len();
        ids.dedup();
        assert_eq!(ids.len(), n);
    }
}
