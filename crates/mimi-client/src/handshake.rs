//! A room change from this device: the group made ready for it (waiting proposals committed
//! first), and the commit submitted, then merged or dropped by the provider's answer.

use mimi_api::{Commit, GroupInfo, Handshake};
use mimi_mls::member::RoomGroup;
use mimi_policy::id::RoomId;

use crate::{ClientError, Profile, api, room_path};

impl Profile {
    pub(crate) fn group(&self, room: &RoomId) -> Result<RoomGroup, ClientError> {
        let (client, _) = self.device()?;
        client
            .group(room)?
            .ok_or_else(|| ClientError::Input(format!("this device is not in {room}")))
    }

    /// The group of `room`, for a new change or message: refused while a commit of this
    /// device awaits the provider's answer.
    pub(crate) fn ready_group(&self, room: &RoomId) -> Result<RoomGroup, ClientError> {
        let mut group = self.group(room)?;
        if !group.mls().is_active() {
            return Err(ClientError::Input(format!(
                "this device is no longer in {room}"
            )));
        }
        if group.mls().pending_commit().is_some() {
            // Whether the provider took it: taking it would have moved the room's epoch.
            let (client, token) = self.device()?;
            let info: GroupInfo = self
                .api
                .get(&format!("{}/group-info", room_path(room)), Some(token))?;
            if info.epoch == group.epoch() {
                group.discard(client)?;
                self.save()?;
            } else {
                return Err(ClientError::Input(format!(
                    "this device's last change to {room} is not confirmed yet; run `mimi sync`"
                )));
            }
        }
        // Proposals wait (a member's leave, the provider's removal of a deleted device):
        // MLS sends nothing more in the epoch until they are committed, so this device
        // commits them first.
        if group.mls().pending_proposals().next().is_some()
            && self.commit_proposals(room, &mut group)?.is_none()
        {
            // Not read here: what arrived meanwhile is for `mimi sync` to show.
            return Err(ClientError::Input(format!(
                "another member changed {room} first; run `mimi sync` and try again"
            )));
        }
        Ok(group)
    }

    /// Commits the proposals waiting in `room`'s group so that the room moves on. The
    /// new epoch when this device's commit was taken; `None` when another member's commit
    /// took the epoch first (the next sync brings it).
    pub(crate) fn commit_proposals(
        &self,
        room: &RoomId,
        group: &mut RoomGroup,
    ) -> Result<Option<u64>, ClientError> {
        let (client, _) = self.device()?;
        let me = group.mls().own_leaf_index();
        let leaving = group
            .mls()
            .pending_proposals()
            .any(|q| matches!(q.sender(), openmls::prelude::Sender::Member(leaf) if *leaf == me));
        if leaving {
            return Err(ClientError::Input(format!(
                "this device asked to leave {room}; it does nothing there until a member \
                 commits its departure"
            )));
        }
        let out = group.commit_pending(client)?;
        match self.submit(room, group, &out) {
            Ok(epoch) => Ok(Some(epoch)),
            Err(ClientError::Api(e)) if e.status == 409 => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// Submits a commit. Accepted: the group merges it. Refused (a 4xx answer: nothing was
    /// stored): the group drops it. No answer, or a server error: the provider may have
    /// stored it, so the commit stays pending until sync sees it delivered (then it is
    /// merged) or sees another commit take its epoch (then it is dropped).
    pub(crate) fn submit(
        &self,
        room: &RoomId,
        group: &mut RoomGroup,
        out: &mimi_mls::member::OutgoingCommit,
    ) -> Result<u64, ClientError> {
        let (client, token) = self.device()?;
        let body = Commit {
            commit: api::b64(&out.commit),
            group_info: api::b64(&out.group_info),
            welcome: out.welcome.as_deref().map(api::b64),
        };
        // A malformed answer (a 2xx nonetheless) leaves the commit pending, like no answer:
        // sync tells whether the provider took it.
        match self.api.post::<Handshake>(
            &format!("{}/commits", room_path(room)),
            Some(token),
            &body,
        ) {
            Ok(stored) => {
                group.confirm(client)?;
                self.save()?;
                Ok(stored.epoch)
            }
            Err(e) => {
                if (400..500).contains(&e.status) {
                    group.discard(client)?;
                }
                self.save()?;
                Err(e.into())
            }
        }
    }
}
