//! Messages: sending, and receiving what arrived (Welcomes, commits, messages, consent
//! requests, knocks), by sync or by following the provider's event stream.

use std::collections::BTreeMap;

use mimi_api::{Ack, GroupInfo, Message, RoomAck, Sent, SyncBatch, Welcome};
use mimi_mls::member::Incoming;
use mimi_policy::id::RoomId;

use mimi_content::{Disposition, MessageId};

use crate::acks::Acker;
use crate::history::{Entry, History, Record};

/// One of this device's rooms, for `mimi room list`.
#[derive(Debug, Clone, serde::Serialize)]
pub struct RoomSummary {
    /// The room.
    pub room: String,
    /// Who this device is there (its user, or its pseudonym).
    pub user: String,
    /// Messages of others that arrived since the room was last read.
    pub unread: u32,
    /// Its last message, as a person reads it.
    pub last: Option<Entry>,
}
use crate::{ClientError, Event, Profile, api, bad_answer, content, room_path};

/// How [`Profile::apply`] sends a batch's acknowledgement.
pub(crate) enum Acks<'a> {
    /// At once, before it returns (a sync: the next one starts after it).
    Now,
    /// Gathered with others, by the event stream's follower.
    Gathered(&'a Acker),
}

impl Acks<'_> {
    fn send(&self, api: &api::Api, token: &str, ack: Ack) -> Result<(), ClientError> {
        match self {
            Self::Now => Ok(api.post::<()>("/v1/ack", Some(token), &ack)?),
            Self::Gathered(acker) => {
                acker.add(token, ack);
                Ok(())
            }
        }
    }
}

/// Unix milliseconds now.
fn now_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
}

impl Profile {
    /// Sends `text` to `room` as MIMI content (Markdown, or plain text with `plain`),
    /// answering the message `reply_to` names (as `mimi sync` shows it) when given,
    /// end-to-end encrypted; its place in the room's log and its message ID.
    ///
    /// In Markdown, `@name` of a user of the room becomes a mention (a link to the user's
    /// URI, as the draft shows); with `expires` (seconds), receivers delete the message that
    /// long after it was sent.
    pub fn send(
        &mut self,
        room: &RoomId,
        text: &str,
        plain: bool,
        reply_to: Option<&str>,
        expires: Option<u64>,
    ) -> Result<(u64, MessageId), ClientError> {
        let target = reply_to
            .map(|r| History::open(&self.dir)?.resolve(room, r))
            .transpose()?;
        let text = if plain {
            text.to_owned()
        } else {
            // Read only: who is in the room, as this device knows it.
            let policy = self.group(room)?.room()?;
            let known: Vec<mimi_policy::id::UserId> = policy
                .participants()
                .entries()
                .iter()
                .map(|e| e.user.clone())
                .chain(policy.clients().keys().cloned())
                .collect();
            content::with_mentions(text, &known, &self.domain()?)
        };
        let expires = expires
            .map(|seconds| {
                crate::unix_now()
                    .checked_add(seconds)
                    .and_then(|at| u32::try_from(at).ok())
                    .map(|time| mimi_content::Expiration {
                        relative: false,
                        time,
                    })
                    .ok_or_else(|| ClientError::Input("an expiry beyond the year 2106".into()))
            })
            .transpose()?;
        self.post_with(
            room,
            content::text_body(&text, plain),
            target,
            None,
            expires,
        )
    }

    /// Reacts to the message `target` names with `emoji`.
    pub fn react(
        &mut self,
        room: &RoomId,
        target: &str,
        emoji: &str,
    ) -> Result<(u64, MessageId), ClientError> {
        let target = History::open(&self.dir)?.resolve(room, target)?;
        self.post(room, content::reaction_body(emoji), Some(target), None)
    }

    /// Takes back this user's reaction `emoji` to the message `target` names.
    pub fn unreact(
        &mut self,
        room: &RoomId,
        target: &str,
        emoji: &str,
    ) -> Result<(u64, MessageId), ClientError> {
        let history = History::open(&self.dir)?;
        let target = history.resolve(room, target)?;
        let me = self.user()?;
        let mine = history
            .my_reaction(room, &target, emoji, me.as_str())?
            .ok_or_else(|| {
                ClientError::Input(format!(
                    "you have not reacted {emoji} to {} on this device",
                    content::short(&target)
                ))
            })?;
        self.post(
            room,
            content::null_body(Disposition::REACTION),
            Some(target),
            Some(mine),
        )
    }

    /// Replaces the text of this user's message `target` names.
    pub fn edit(
        &mut self,
        room: &RoomId,
        target: &str,
        text: &str,
    ) -> Result<(u64, MessageId), ClientError> {
        let (original, answers) = self.own_message(room, target, "edit")?;
        self.post(
            room,
            content::text_body(text, false),
            answers,
            Some(original),
        )
    }

    /// Deletes this user's message `target` names.
    pub fn delete(&mut self, room: &RoomId, target: &str) -> Result<(u64, MessageId), ClientError> {
        let (original, answers) = self.own_message(room, target, "delete")?;
        self.post(
            room,
            content::null_body(Disposition::RENDER),
            answers,
            Some(original),
        )
    }

    /// The last `limit` messages of `room` this device holds, as a person reads them; the
    /// room counts as read.
    pub fn history(&self, room: &RoomId, limit: usize) -> Result<Vec<Entry>, ClientError> {
        let history = History::open(&self.dir)?;
        let entries = history.timeline(room, limit)?;
        history.mark_read(room)?;
        Ok(entries)
    }

    /// The rooms this device is in (those it takes part in under a pseudonym included),
    /// each with how many messages arrived unread and its last message.
    pub fn my_rooms(&self) -> Result<Vec<RoomSummary>, ClientError> {
        let mut out = self.own_rooms()?;
        for dir in self.pseudonym_dirs() {
            out.extend(Profile::open(&dir)?.own_rooms()?);
        }
        Ok(out)
    }

    fn own_rooms(&self) -> Result<Vec<RoomSummary>, ClientError> {
        let history = History::open(&self.dir)?;
        let client = self.device()?.0;
        let user = self.user()?;
        let mut out = Vec::new();
        for text in &self.file.rooms {
            let Ok(room) = RoomId::parse(text) else {
                continue;
            };
            if !client.group(&room)?.is_some_and(|g| g.mls().is_active()) {
                continue;
            }
            let (unread, last) = history.summary(&room, user.as_str())?;
            out.push(RoomSummary {
                room: room.to_string(),
                user: user.to_string(),
                unread,
                last,
            });
        }
        Ok(out)
    }

    /// The message `given` names, which this user must have sent (only its sender changes
    /// a message), as the original it changes, and the message that one answers.
    fn own_message(
        &self,
        room: &RoomId,
        given: &str,
        what: &str,
    ) -> Result<(MessageId, Option<MessageId>), ClientError> {
        let history = History::open(&self.dir)?;
        let id = history.resolve(room, given)?;
        let me = self.user()?;
        let (found, user) = history.message(room, &id)?.ok_or_else(|| {
            ClientError::Input(format!("{} is not readable here", content::short(&id)))
        })?;
        if user != me.as_str() {
            return Err(ClientError::Input(format!(
                "only its sender may {what} {}: it is {}'s",
                content::short(&id),
                user
            )));
        }
        // An edit names the message it edits; a change of it changes that message.
        let original = found.replaces.unwrap_or(id);
        Ok((original, found.in_reply_to))
    }

    /// Sends `body` as a MIMI content message, recorded in this device's history.
    fn post(
        &mut self,
        room: &RoomId,
        body: mimi_content::NestedPart,
        in_reply_to: Option<MessageId>,
        replaces: Option<MessageId>,
    ) -> Result<(u64, MessageId), ClientError> {
        self.post_with(room, body, in_reply_to, replaces, None)
    }

    /// [`Profile::post`] of a message that expires.
    pub(crate) fn post_with(
        &mut self,
        room: &RoomId,
        body: mimi_content::NestedPart,
        in_reply_to: Option<MessageId>,
        replaces: Option<MessageId>,
        expires: Option<mimi_content::Expiration>,
    ) -> Result<(u64, MessageId), ClientError> {
        self.locked(|p| {
            let (client, token) = p.device()?;
            let mut group = p.ready_group(room)?;
            let mut content = content::compose(client, body, in_reply_to, replaces)?;
            content.expires = expires;
            let bytes = content
                .encode()
                .map_err(|e| ClientError::Input(format!("the message: {e}")))?;
            let id = content::id_of(&content, &bytes, client.id(), room)
                .ok_or_else(|| ClientError::Input("a URI too long for a message ID".into()))?;
            let ct = group.encrypt(client, &bytes)?;
            p.save()?;
            let sent: Sent = p.api.post(
                &format!("{}/messages", room_path(room)),
                Some(token),
                &Message {
                    message: Some(api::b64(&ct)),
                    messages: None,
                },
            )?;
            let seq = sent
                .seq
                .ok_or_else(|| bad_answer("seq", "missing for one message"))?;
            History::open(&p.dir)?.record(&Record {
                room,
                id: &id,
                sender: &client.id().to_string(),
                user: client.id().user().as_str(),
                at: now_ms(),
                seq,
                content: &bytes,
            })?;
            Ok((seq, id))
        })
    }

    /// Receives what arrived since the last sync: joins rooms from Welcomes, applies
    /// commits, decrypts messages, then acknowledges it all.
    pub fn sync(&mut self) -> Result<Vec<Event>, ClientError> {
        let mut events = self.locked(|p| {
            let (_, token) = p.device()?;
            let batch: SyncBatch = p.api.get("/v1/sync", Some(token))?;
            let events = p.apply(&batch, &Acks::Now)?;
            // KeyPackages claimed since the last sync are replaced. A failure here leaves
            // the received events applied; the next sync tries again.
            let _ = p.top_up();
            Ok(events)
        })?;
        events.extend(self.catch_up()?);
        events.extend(self.locked(Self::refresh_leaves)?);
        Ok(events)
    }

    /// Seconds between keep-alives an idle event stream should send so that
    /// [`Profile::refresh_leaves`] runs in time: a quarter of the shortest
    /// `update-max-interval` among this device's rooms; none when no room sets one.
    fn keepalive(&self) -> Option<u64> {
        let client = self.device().ok()?.0;
        self.file
            .rooms
            .iter()
            .filter_map(|r| RoomId::parse(r).ok())
            .filter_map(|r| client.group(&r).ok().flatten())
            .filter_map(|g| g.room().ok())
            .filter_map(|room| max_interval(&room))
            .min()
            .map(|max| (max / 4).max(1))
    }

    /// Refreshes this device's leaf (an empty commit with a path) in each of its rooms
    /// whose policy sets an `update-max-interval`, once half of it has passed since the last
    /// refresh, so that the provider never finds the device overdue. Best effort: a room
    /// where it fails is tried again at the next sync. The caller holds the lock.
    fn refresh_leaves(&mut self) -> Result<Vec<Event>, ClientError> {
        let now = crate::unix_now();
        let mut events = Vec::new();
        let rooms: Vec<String> = self.file.rooms.iter().cloned().collect();
        for text in rooms {
            let Ok(room) = RoomId::parse(&text) else {
                continue;
            };
            let Some(mut group) = self.device()?.0.group(&room)? else {
                continue;
            };
            if !group.mls().is_active() || group.mls().pending_commit().is_some() {
                continue;
            }
            let Some(max) = group.room().ok().as_ref().and_then(max_interval) else {
                continue;
            };
            let last = self.file.updated.get(&text).copied().unwrap_or(0);
            if now.saturating_sub(last) < max / 2 {
                continue;
            }
            if let Ok(Some(epoch)) = self.commit_proposals(&room, &mut group) {
                self.file.updated.insert(text.clone(), now);
                events.push(Event::Changed {
                    room: text,
                    epoch,
                    reason: None,
                });
            }
        }
        self.save_account()?;
        Ok(events)
    }

    /// A new device's first sync: joins, by external commit, every room of this provider
    /// where its user has a device and it has none (the room policy lets a user's new
    /// device in). Once done, never again: the user's later rooms bring all its devices.
    fn catch_up(&mut self) -> Result<Vec<Event>, ClientError> {
        if self.file.device.as_ref().is_none_or(|d| d.caught_up) {
            return Ok(Vec::new());
        }
        let rooms: mimi_api::AccountRooms =
            self.api.get("/v1/account/rooms", Some(self.device()?.1))?;
        let mut events = Vec::new();
        for text in rooms.rooms {
            let room = RoomId::parse(&text).map_err(|e| bad_answer("room", e))?;
            let client = self.device()?.0;
            if client.group(&room)?.is_some_and(|g| g.mls().is_active()) {
                continue;
            }
            match self.join_by_itself(&room, None, None, false) {
                Ok(_) => events.push(Event::Joined { room: text }),
                // The provider is away: the next sync tries again.
                Err(ClientError::Api(f)) if f.status == 0 || f.status >= 500 => {
                    return Err(ClientError::Api(f));
                }
                Err(why) => events.push(Event::JoinFailed {
                    room: text,
                    reason: why.to_string(),
                }),
            }
        }
        self.locked(|p| {
            if let Some(d) = p.file.device.as_mut() {
                d.caught_up = true;
            }
            p.save_account()
        })?;
        Ok(events)
    }

    /// Receives as things arrive, over the provider's event stream (`/v1/events`), handing
    /// each batch's events to `on` until it returns false. A dropped stream is opened again
    /// (nothing is lost: what was not acknowledged is sent again).
    ///
    /// What the device applied is acknowledged a moment later, several batches at once
    /// ([`crate::ACK_DELAY`]), and before the stream is opened again or this returns.
    pub fn follow(&mut self, mut on: impl FnMut(&[Event]) -> bool) -> Result<(), ClientError> {
        let mut pause = std::time::Duration::from_millis(250);
        let acker = Acker::start(self.api.clone(), crate::ACK_DELAY);
        loop {
            // What the last stream brought is acknowledged first: the new one starts after it.
            acker.flush();
            let token = self.device()?.1.to_owned();
            // As `sync` does; a failure here leaves it for the next time the stream opens.
            let _ = self.locked(Self::top_up);
            if let Ok(joined) = self.catch_up()
                && !joined.is_empty()
                && !on(&joined)
            {
                return Ok(());
            }
            // Woken at least this often, to refresh leaves while nothing arrives.
            let path = match self.keepalive() {
                Some(s) => format!("/v1/events?keepalive={s}"),
                None => "/v1/events".to_owned(),
            };
            match self.api.stream(&path, &token) {
                Ok(stream) => {
                    pause = std::time::Duration::from_millis(250);
                    for (event, data) in api::sse(stream) {
                        if event == api::KEEP_ALIVE {
                            match self.locked(Self::refresh_leaves) {
                                Ok(events) if !events.is_empty() && !on(&events) => {
                                    return Ok(());
                                }
                                // Best effort, as in `sync`: tried again at the next one.
                                _ => continue,
                            }
                        }
                        if event != "pending" {
                            continue;
                        }
                        let batch: SyncBatch = serde_json::from_str(&data)
                            .map_err(|e| bad_answer("pending event", e))?;
                        let applied = self.locked(|p| {
                            let mut events = p.apply(&batch, &Acks::Gathered(&acker))?;
                            events.extend(p.refresh_leaves()?);
                            Ok(events)
                        });
                        match applied {
                            Ok(events) if !on(&events) => return Ok(()),
                            Ok(_) => {}
                            // The provider went away mid-batch: reconnect, and the rest
                            // comes again.
                            Err(ClientError::Api(e)) if e.status == 0 || e.status >= 500 => {
                                break;
                            }
                            Err(e) => return Err(e),
                        }
                    }
                }
                // The provider is away: try again, less and less often.
                Err(e) if e.status == 0 || e.status >= 500 => {}
                Err(e) => return Err(e.into()),
            }
            std::thread::sleep(pause);
            pause = (pause * 2).min(std::time::Duration::from_secs(10));
        }
    }

    /// Applies a batch shaped like `/v1/sync`'s, then acknowledges it as `ack_with` says.
    pub(crate) fn apply(
        &mut self,
        batch: &SyncBatch,
        ack_with: &Acks<'_>,
    ) -> Result<Vec<Event>, ClientError> {
        let history = History::open(&self.dir)?;
        let client = self.device()?.0;
        let me = client.id().to_string();
        let mut events = Vec::new();
        let mut welcomes = Vec::new();
        let mut joined_rooms = Vec::new();
        for w in &batch.welcomes {
            // Every Welcome is acknowledged, used or not: one this device cannot use must not
            // block what comes after it.
            welcomes.push(w.id);
            let room = w.room.clone();
            // Used already (another process on this profile applied the same batch): the
            // device is in the room. A group it left stays inactive and does not count.
            let joined = RoomId::parse(&room)
                .ok()
                .map(|id| client.group(&id))
                .transpose()?
                .flatten()
                .is_some_and(|g| g.mls().is_active());
            if joined {
                continue;
            }
            match self.join(w) {
                Ok(()) => {
                    joined_rooms.extend(RoomId::parse(&room).ok());
                    events.push(Event::Joined { room });
                }
                // The provider did not answer (an older provider's tree fetch): left for
                // the next sync, not acknowledged.
                Err(ClientError::Api(e)) if e.status == 0 || e.status >= 500 => {
                    welcomes.pop();
                }
                Err(e) => events.push(Event::JoinFailed {
                    room,
                    reason: e.to_string(),
                }),
            }
        }
        for r in &batch.requests {
            welcomes.push(r.id);
            events.push(Event::ConsentRequested {
                user: r.user.clone(),
                room: r.room.clone(),
            });
        }
        for k in &batch.knocks {
            welcomes.push(k.id);
            events.push(Event::Knocked {
                user: k.user.clone(),
                room: k.room.clone(),
            });
        }
        for s in &batch.suggestions {
            welcomes.push(s.id);
            events.push(Event::Suggested {
                user: s.user.clone(),
                room: s.room.clone(),
            });
        }
        for room in &joined_rooms {
            self.remember_room(room);
        }
        self.save_account()?;
        let (client, token) = self.device()?;
        if !welcomes.is_empty() {
            // By ID, not "up to": IDs may become visible out of order.
            let ack = Ack {
                welcomes,
                ..Ack::default()
            };
            ack_with.send(&self.api, token, ack)?;
        }
        let mut acks: BTreeMap<String, u64> = BTreeMap::new();
        let mut proposed = Vec::new();
        // Rooms whose rejoin waits for the provider: their entries from the unprocessable
        // commit on stay unacknowledged, to come again.
        let mut held: Vec<String> = Vec::new();
        for e in &batch.entries {
            let room_text = e.room.clone();
            if held.contains(&room_text) {
                continue;
            }
            acks.insert(room_text.clone(), e.seq);
            let room = RoomId::parse(&room_text).map_err(|err| bad_answer("room", err))?;
            let Some(mut group) = client.group(&room)? else {
                continue;
            };
            let is_commit = e.kind == "commit";
            let pending = group.mls().pending_commit().is_some() && e.epoch == group.epoch();
            if e.sender == me {
                // This device's own entry. A commit it never heard back about is confirmed
                // now: the provider took one commit in that epoch, and it was this one.
                if is_commit && pending {
                    group.confirm(client)?;
                    events.push(Event::Changed {
                        room: room_text,
                        epoch: group.epoch(),
                        reason: None,
                    });
                }
                continue;
            }
            if is_commit && pending {
                // Another member's commit took the epoch: this device's was not stored.
                group.discard(client)?;
            }
            let message = api::unb64("message", &e.message)?;
            let epoch = group.epoch();
            match group.process(client, &message) {
                Ok(Incoming::Message { sender, plaintext }) => {
                    let original = |id: &MessageId| {
                        history
                            .message(&room, id)
                            .ok()
                            .flatten()
                            .map(|(_, user)| user)
                    };
                    let mut shown = content::show(&plaintext, &sender, &room, &original);
                    let received = now_ms();
                    // Gone already by its sender's wish: not kept, not shown.
                    if shown
                        .content
                        .as_ref()
                        .is_some_and(|c| content::expired(c, received, received / 1000))
                    {
                        shown.content = None;
                        shown.text = "(an expired message)".into();
                    }
                    if let (Some(id), Some(_)) = (&shown.id, &shown.content) {
                        history.record(&Record {
                            room: &room,
                            id,
                            sender: &sender.to_string(),
                            user: sender.user().as_str(),
                            at: received,
                            seq: e.seq,
                            content: &plaintext,
                        })?;
                    }
                    events.push(Event::Message {
                        room: room_text,
                        sender: sender.to_string(),
                        text: shown.text,
                        id: shown.id.map(|id| id.to_hex()),
                    });
                }
                Ok(Incoming::Commit { epoch, reason }) => {
                    if group.mls().is_active() {
                        events.push(Event::Changed {
                            room: room_text,
                            epoch,
                            reason,
                        });
                    } else {
                        events.push(Event::Left {
                            room: room_text,
                            reason,
                        });
                    }
                }
                Ok(Incoming::Proposal) => {
                    if !proposed.contains(&room) {
                        proposed.push(room);
                    }
                }
                // A commit of this device's epoch that the provider took and MLS here
                // cannot process (not one the room policy refuses): this device is cut off.
                Err(mimi_mls::MlsError::Openmls(why)) if is_commit && e.epoch == epoch => {
                    let reason = why.to_string();
                    match self.rejoin(&room) {
                        Ok(epoch) => {
                            // Best effort: the rejoin stands whether the report is taken.
                            let _ = self.report(
                                &room,
                                &e.sender,
                                "unreadable-commit",
                                &reason,
                                Some(e.seq),
                            );
                            events.push(Event::Rejoined {
                                room: room_text,
                                epoch,
                                committer: e.sender.clone(),
                                reason,
                            });
                        }
                        // The provider is away: the commit comes again, and so the rejoin.
                        Err(ClientError::Api(f)) if f.status == 0 || f.status >= 500 => {
                            match e.seq.checked_sub(1).filter(|s| *s > 0) {
                                Some(before) => acks.insert(room_text.clone(), before),
                                None => acks.remove(&room_text),
                            };
                            held.push(room_text);
                        }
                        Err(why) => events.push(Event::RejoinFailed {
                            room: room_text,
                            reason: why.to_string(),
                        }),
                    }
                }
                // A message this device cannot read (refused by the room policy, or from
                // an epoch it never had) is skipped, not fatal.
                Err(_) => {}
            }
        }
        self.save()?;
        if !acks.is_empty() {
            let ack = Ack {
                rooms: acks
                    .into_iter()
                    .map(|(room, seq)| RoomAck { room, seq })
                    .collect(),
                ..Ack::default()
            };
            ack_with.send(&self.api, token, ack)?;
        }
        // Proposals received (a member's leave, the provider's removal of a deleted
        // device) are committed by the first member that reads them and may: the room
        // moves on without waiting for someone's next change. One this device may not
        // commit, or whose epoch another member took first, waits.
        for room in proposed {
            let Some(mut group) = client.group(&room)? else {
                continue;
            };
            let waiting = group.mls().is_active()
                && group.mls().pending_commit().is_none()
                && group.mls().pending_proposals().next().is_some();
            if waiting && let Ok(Some(epoch)) = self.commit_proposals(&room, &mut group) {
                events.push(Event::Changed {
                    room: room.to_string(),
                    epoch,
                    reason: None,
                });
            }
        }
        Ok(events)
    }

    /// Joins a room from a Welcome of `/v1/sync`, with the ratchet tree stored beside it (or,
    /// from an older provider, the room's current one).
    pub(crate) fn join(&self, w: &Welcome) -> Result<(), ClientError> {
        let (client, token) = self.device()?;
        let room = RoomId::parse(&w.room).map_err(|e| bad_answer("room", e))?;
        let welcome = api::unb64("welcome", &w.welcome)?;
        let tree = match &w.ratchet_tree {
            Some(tree) => api::unb64("ratchet_tree", tree)?,
            None => {
                let info: GroupInfo = self
                    .api
                    .get(&format!("{}/group-info", room_path(&room)), Some(token))?;
                api::unb64("ratchet_tree", &info.ratchet_tree)?
            }
        };
        client.join(&welcome, &tree)?;
        Ok(())
    }
}

/// A room's `update-max-interval` in seconds (the seed's, or RP-04's operational
/// `leaf_node_update_time`), when it sets one.
fn max_interval(policy: &mimi_policy::Room) -> Option<u64> {
    let max = match policy.seed() {
        Some(seed) => seed.mls.update_max_interval,
        None => policy.components().operational.as_ref().map_or(0, |o| {
            i64::try_from(o.leaf_node_update_time.maximum_time).unwrap_or(i64::MAX)
        }),
    };
    u64::try_from(max).ok().filter(|m| *m > 0)
}
