//! A room this device can no longer follow. The hub holds no epoch secrets, so it accepts a
//! commit whose secrets are garbage for some members (docs/decisions/0002, "Known limits").
//! A device that cannot process a commit the provider accepted rejoins in its own place by
//! external commit from the hub's current GroupInfo (RFC 9420 §12.4.3.2), reports the
//! committer to the provider, and carries on; each of the user's devices does so for itself.

use mimi_api::{AbuseReport, Commit, GroupInfo, Handshake, MAX_REPORT_NOTE};
use mimi_policy::id::RoomId;

use crate::{ClientError, Profile, api, room_path};

/// How often a rejoin is tried at once (another member's change may take the epoch first).
const ATTEMPTS: usize = 3;

impl Profile {
    /// Rejoins `room` in this device's own place; the room's epoch after the rejoin.
    ///
    /// A commit whose answer is lost may still have been taken: the hub then serves the
    /// GroupInfo that commit carried, and the pending rejoin is merged. A refusal other than
    /// a lost race deletes what the attempt left: the device is then out of the room.
    pub(crate) fn rejoin(&self, room: &RoomId) -> Result<u64, ClientError> {
        let (client, token) = self.device()?;
        let base = room_path(room);
        // The GroupInfo of a rejoin the provider may have taken without our hearing of it.
        let mut unheard: Option<String> = None;
        let mut last = None;
        for _ in 0..ATTEMPTS {
            let info: GroupInfo = self.api.get(&format!("{base}/group-info"), Some(token))?;
            if unheard.as_ref() == Some(&info.group_info)
                && let Some(mut group) = client.group(room)?
            {
                group.confirm(client)?;
                self.save()?;
                return Ok(info.epoch);
            }
            let group_info = api::unb64("group_info", &info.group_info)?;
            let tree = api::unb64("ratchet_tree", &info.ratchet_tree)?;
            let (mut group, out) = client.rejoin(&group_info, &tree)?;
            let body = Commit {
                commit: api::b64(&out.commit),
                group_info: api::b64(&out.group_info),
                welcome: None,
            };
            match self
                .api
                .post::<Handshake>(&format!("{base}/commits"), Some(token), &body)
            {
                Ok(stored) => {
                    group.confirm(client)?;
                    self.save()?;
                    return Ok(stored.epoch);
                }
                // Another change took the epoch: again, from the newer GroupInfo.
                Err(e) if e.status == 409 => {
                    unheard = None;
                    last = Some(ClientError::Input(format!(
                        "could not rejoin {room}: other changes kept taking its epoch"
                    )));
                }
                // The provider is away: a sync tries again if this stays so.
                Err(e) if e.status == 0 || e.status >= 500 => {
                    unheard = Some(body.group_info);
                    last = Some(e.into());
                }
                Err(e) => {
                    group.forget(client)?;
                    self.save()?;
                    return Err(e.into());
                }
            }
        }
        self.save()?;
        Err(last.unwrap_or_else(|| ClientError::Input(format!("could not rejoin {room}"))))
    }

    /// Tells the provider hosting `room` of abuse by `alleged_abuser` (a user's or a
    /// client's URI): `reason` is one of `mimi_api::REPORT_REASONS`, `note` is for people
    /// (cut to the size the provider takes), `seq` the log entry it is about.
    pub fn report(
        &self,
        room: &RoomId,
        alleged_abuser: &str,
        reason: &str,
        note: &str,
        seq: Option<u64>,
    ) -> Result<(), ClientError> {
        let (_, token) = self.device()?;
        let mut end = note.len().min(MAX_REPORT_NOTE);
        while !note.is_char_boundary(end) {
            end -= 1;
        }
        let body = AbuseReport {
            alleged_abuser: alleged_abuser.to_owned(),
            reason: reason.to_owned(),
            note: note[..end].to_owned(),
            seq,
        };
        self.api
            .post::<()>(&format!("{}/reports", room_path(room)), Some(token), &body)?;
        Ok(())
    }
}
