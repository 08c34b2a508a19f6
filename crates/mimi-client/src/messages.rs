//! Messages: sending, and receiving what arrived (Welcomes, commits, messages, consent
//! requests, knocks), by sync or by following the provider's event stream.

use std::collections::BTreeMap;

use mimi_mls::member::Incoming;
use mimi_policy::id::RoomId;
use serde_json::{Value, json};

use crate::{ClientError, Event, Profile, api, room_path};

impl Profile {
    /// Sends `text` to `room`, end-to-end encrypted.
    pub fn send(&mut self, room: &RoomId, text: &str) -> Result<u64, ClientError> {
        self.locked(|p| {
            let (client, token) = p.device()?;
            let mut group = p.ready_group(room)?;
            let ct = group.encrypt(client, text.as_bytes())?;
            p.save()?;
            let v = p.api.post(
                &format!("{}/messages", room_path(room)),
                Some(token),
                &json!({"message": api::b64(&ct)}),
            )?;
            Ok(v["seq"].as_u64().unwrap_or_default())
        })
    }

    /// Receives what arrived since the last sync: joins rooms from Welcomes, applies
    /// commits, decrypts messages, then acknowledges it all.
    pub fn sync(&mut self) -> Result<Vec<Event>, ClientError> {
        self.locked(|p| {
            let (_, token) = p.device()?;
            let v = p.api.get("/v1/sync", Some(token))?;
            p.apply(&v)
        })
    }

    /// Receives as things arrive, over the provider's event stream (`/v1/events`), handing
    /// each batch's events to `on` until it returns false. A dropped stream is opened again
    /// (nothing is lost: what was not acknowledged is sent again).
    pub fn follow(&mut self, mut on: impl FnMut(&[Event]) -> bool) -> Result<(), ClientError> {
        let mut pause = std::time::Duration::from_millis(250);
        loop {
            let token = self.device()?.1.to_owned();
            match self.api.stream("/v1/events", &token) {
                Ok(stream) => {
                    pause = std::time::Duration::from_millis(250);
                    for (event, data) in api::sse(stream) {
                        if event != "pending" {
                            continue;
                        }
                        let v: Value = serde_json::from_str(&data).map_err(|e| {
                            ClientError::Profile(format!("the provider's event: {e}"))
                        })?;
                        match self.locked(|p| p.apply(&v)) {
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

    /// Applies a batch shaped like `/v1/sync`'s, then acknowledges it.
    pub(crate) fn apply(&mut self, v: &Value) -> Result<Vec<Event>, ClientError> {
        let (client, token) = self.device()?;
        let me = client.id().to_string();
        let mut events = Vec::new();
        let mut welcomes = Vec::new();
        for w in v["welcomes"].as_array().into_iter().flatten() {
            // Every Welcome is acknowledged, used or not: one this device cannot use must not
            // block what comes after it.
            welcomes.extend(w["id"].as_u64());
            let room = w["room"].as_str().unwrap_or_default().to_owned();
            match self.join(&room, w) {
                Ok(()) => events.push(Event::Joined { room }),
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
        for r in v["requests"].as_array().into_iter().flatten() {
            welcomes.extend(r["id"].as_u64());
            events.push(Event::ConsentRequested {
                user: r["user"].as_str().unwrap_or_default().to_owned(),
                room: r["room"].as_str().map(str::to_owned),
            });
        }
        for k in v["knocks"].as_array().into_iter().flatten() {
            welcomes.extend(k["id"].as_u64());
            events.push(Event::Knocked {
                user: k["user"].as_str().unwrap_or_default().to_owned(),
                room: k["room"].as_str().unwrap_or_default().to_owned(),
            });
        }
        self.save()?;
        if !welcomes.is_empty() {
            // By ID, not "up to": IDs may become visible out of order.
            self.api
                .post("/v1/ack", Some(token), &json!({"welcomes": welcomes}))?;
        }
        let mut acks: BTreeMap<String, u64> = BTreeMap::new();
        let mut proposed = Vec::new();
        for e in v["entries"].as_array().into_iter().flatten() {
            let room_text = e["room"].as_str().unwrap_or_default().to_owned();
            let seq = e["seq"].as_u64().unwrap_or_default();
            acks.insert(room_text.clone(), seq);
            let room =
                RoomId::parse(&room_text).map_err(|err| ClientError::Profile(err.to_string()))?;
            let Some(mut group) = client.group(&room)? else {
                continue;
            };
            let is_commit = e["kind"].as_str() == Some("commit");
            let pending = group.mls().pending_commit().is_some()
                && e["epoch"].as_u64() == Some(group.epoch());
            if e["sender"].as_str() == Some(me.as_str()) {
                // This device's own entry. A commit it never heard back about is confirmed
                // now: the provider took one commit in that epoch, and it was this one.
                if is_commit && pending {
                    group.confirm(client)?;
                    events.push(Event::Changed {
                        room: room_text,
                        epoch: group.epoch(),
                    });
                }
                continue;
            }
            if is_commit && pending {
                // Another member's commit took the epoch: this device's was not stored.
                group.discard(client)?;
            }
            let message = api::unb64("message", &e["message"])?;
            match group.process(client, &message) {
                Ok(Incoming::Message { sender, plaintext }) => events.push(Event::Message {
                    room: room_text,
                    sender: sender.to_string(),
                    text: String::from_utf8_lossy(&plaintext).into_owned(),
                }),
                Ok(Incoming::Commit { epoch }) => {
                    if group.mls().is_active() {
                        events.push(Event::Changed {
                            room: room_text,
                            epoch,
                        });
                    } else {
                        events.push(Event::Left { room: room_text });
                    }
                }
                Ok(Incoming::Proposal) => {
                    if !proposed.contains(&room) {
                        proposed.push(room);
                    }
                }
                // A message this device cannot read (refused by the room policy, or from
                // an epoch it never had) is skipped, not fatal.
                Err(_) => {}
            }
        }
        self.save()?;
        if !acks.is_empty() {
            let rooms: Vec<Value> = acks
                .iter()
                .map(|(room, seq)| json!({"room": room, "seq": seq}))
                .collect();
            self.api
                .post("/v1/ack", Some(token), &json!({"rooms": rooms}))?;
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
                });
            }
        }
        Ok(events)
    }

    /// Joins a room from a Welcome of `/v1/sync`, with the ratchet tree stored beside it (or,
    /// from an older provider, the room's current one).
    pub(crate) fn join(&self, room: &str, w: &Value) -> Result<(), ClientError> {
        let (client, token) = self.device()?;
        let room = RoomId::parse(room).map_err(|e| ClientError::Profile(e.to_string()))?;
        let welcome = api::unb64("welcome", &w["welcome"])?;
        let tree = if w["ratchet_tree"].is_string() {
            api::unb64("ratchet_tree", &w["ratchet_tree"])?
        } else {
            let gi = self
                .api
                .get(&format!("{}/group-info", room_path(&room)), Some(token))?;
            api::unb64("ratchet_tree", &gi["ratchet_tree"])?
        };
        client.join(&welcome, &tree)?;
        Ok(())
    }
}
