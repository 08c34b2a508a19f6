//! The device's history of each room: every message it sent or received, as MIMI content,
//! in `history.db` (SQLite, private to the profile's owner), and the timeline a person reads
//! from it: edits applied, deletions shown as such, reactions counted per emoji, replies
//! pointing at what they answer. Only a message's sender may edit or delete it, or take
//! back its reaction: anyone else's attempt is shown as refused and changes nothing.

use std::collections::BTreeMap;
use std::path::Path;

use mimi_content::{Disposition, MessageId, MimiContent, NestedPart, PartBody};
use mimi_policy::id::RoomId;
use rusqlite::{Connection, OptionalExtension as _, params};
use serde::Serialize;

use crate::ClientError;

/// The file, in the profile directory.
pub(crate) const FILE: &str = "history.db";

fn db(e: rusqlite::Error) -> ClientError {
    ClientError::Profile(format!("{FILE}: {e}"))
}

/// One message as recorded.
pub(crate) struct Record<'a> {
    pub(crate) room: &'a RoomId,
    pub(crate) id: &'a MessageId,
    /// The sending client's URI.
    pub(crate) sender: &'a str,
    /// Its user's URI (who may edit or delete it).
    pub(crate) user: &'a str,
    /// Unix milliseconds when this device sent or received it.
    pub(crate) at: u64,
    /// Its place in the room's log (the hub's order).
    pub(crate) seq: u64,
    /// Its MIMI content, as sent.
    pub(crate) content: &'a [u8],
}

/// A room's history, open.
pub(crate) struct History {
    conn: Connection,
}

impl History {
    /// Opens (or creates, readable by its owner alone) the history of the profile in `dir`.
    pub(crate) fn open(dir: &Path) -> Result<Self, ClientError> {
        let path = dir.join(FILE);
        if !path.exists() {
            crate::files::create_private(&path)?;
        }
        let conn = Connection::open(&path).map_err(db)?;
        conn.execute_batch(
            "CREATE TABLE IF NOT EXISTS messages (
                 room    TEXT NOT NULL,
                 id      TEXT NOT NULL,
                 sender  TEXT NOT NULL,
                 user    TEXT NOT NULL,
                 at      INTEGER NOT NULL,
                 seq     INTEGER NOT NULL,
                 content BLOB NOT NULL,
                 PRIMARY KEY (room, id)
             );
             CREATE TABLE IF NOT EXISTS read_marks (
                 room TEXT PRIMARY KEY,
                 seen INTEGER NOT NULL
             );",
        )
        .map_err(db)?;
        Ok(Self { conn })
    }

    /// Records a message; one already recorded stays as it is.
    pub(crate) fn record(&self, r: &Record<'_>) -> Result<(), ClientError> {
        self.conn
            .execute(
                "INSERT OR IGNORE INTO messages (room, id, sender, user, at, seq, content) \
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
                params![
                    r.room.as_str(),
                    r.id.to_hex(),
                    r.sender,
                    r.user,
                    i64::try_from(r.at).unwrap_or(i64::MAX),
                    i64::try_from(r.seq).unwrap_or(i64::MAX),
                    r.content
                ],
            )
            .map_err(db)?;
        Ok(())
    }

    /// The message of `room` that `given` names: its full ID, or the start of its hash (the
    /// hex digits after the algorithm octet, with or without `#`), as `mimi sync` shows it.
    pub(crate) fn resolve(&self, room: &RoomId, given: &str) -> Result<MessageId, ClientError> {
        let digits = given.trim().trim_start_matches('#').to_ascii_lowercase();
        if digits.len() < 4 || !digits.chars().all(|c| c.is_ascii_hexdigit()) {
            return Err(ClientError::Input(format!(
                "{given:?} is not a message ID: give the `#` and hex digits `mimi sync` shows"
            )));
        }
        let pattern = if digits.len() == 64 {
            digits.clone()
        } else {
            format!("01{digits}%")
        };
        let mut stmt = self
            .conn
            .prepare("SELECT id, at, content FROM messages WHERE room = ?1 AND id LIKE ?2")
            .map_err(db)?;
        // Past their time, messages are gone: none of them is named.
        let now = crate::unix_now();
        let ids: Vec<String> = stmt
            .query_map(params![room.as_str(), pattern], |r| {
                Ok((
                    r.get::<_, String>(0)?,
                    r.get::<_, i64>(1)?,
                    r.get::<_, Vec<u8>>(2)?,
                ))
            })
            .map_err(db)?
            .collect::<Result<Vec<_>, _>>()
            .map_err(db)?
            .into_iter()
            .filter(|(_, at, bytes)| !expired_bytes(bytes, *at, now))
            .map(|(id, _, _)| id)
            .collect();
        match ids.as_slice() {
            [one] => {
                MessageId::from_hex(one).map_err(|e| ClientError::Profile(format!("{FILE}: {e}")))
            }
            [] => Err(ClientError::Input(format!(
                "no message #{digits} in {room} on this device (`mimi history {room}` lists them)"
            ))),
            _ => Err(ClientError::Input(format!(
                "#{digits} names several messages of {room}: give more digits"
            ))),
        }
    }

    /// The message `id` of `room`: its content and its sender's user.
    pub(crate) fn message(
        &self,
        room: &RoomId,
        id: &MessageId,
    ) -> Result<Option<(MimiContent, String)>, ClientError> {
        let row: Option<(Vec<u8>, String, i64)> = self
            .conn
            .query_row(
                "SELECT content, user, at FROM messages WHERE room = ?1 AND id = ?2",
                params![room.as_str(), id.to_hex()],
                |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
            )
            .optional()
            .map_err(db)?;
        let now = crate::unix_now();
        Ok(row.and_then(|(bytes, user, at)| {
            let content = MimiContent::decode(&bytes).ok()?;
            let at = u64::try_from(at).unwrap_or(0);
            // Past its time a message is gone, whether or not it was deleted yet.
            (!crate::content::expired(&content, at, now)).then_some((content, user))
        }))
    }

    /// Every message of `room`, in the room's order.
    fn all(&self, room: &RoomId) -> Result<Vec<Stored>, ClientError> {
        let mut stmt = self
            .conn
            .prepare(
                "SELECT id, sender, user, at, content FROM messages WHERE room = ?1 \
                 ORDER BY seq, rowid",
            )
            .map_err(db)?;
        let rows = stmt
            .query_map(params![room.as_str()], |r| {
                Ok((
                    r.get::<_, String>(0)?,
                    r.get::<_, String>(1)?,
                    r.get::<_, String>(2)?,
                    r.get::<_, i64>(3)?,
                    r.get::<_, Vec<u8>>(4)?,
                ))
            })
            .map_err(db)?
            .collect::<Result<Vec<_>, _>>()
            .map_err(db)?;
        Ok(rows
            .into_iter()
            .filter_map(|(id, sender, user, at, bytes)| {
                Some(Stored {
                    id: MessageId::from_hex(&id).ok()?,
                    sender,
                    user,
                    at: u64::try_from(at).unwrap_or(0),
                    content: MimiContent::decode(&bytes).ok()?,
                })
            })
            .collect())
    }

    /// This user's (`user`'s) reaction `emoji` to `target` in `room`, not taken back.
    pub(crate) fn my_reaction(
        &self,
        room: &RoomId,
        target: &MessageId,
        emoji: &str,
        user: &str,
    ) -> Result<Option<MessageId>, ClientError> {
        let all = self.all(room)?;
        let taken_back: Vec<MessageId> = all
            .iter()
            .filter(|m| m.user == user && m.content.nested_part.body == PartBody::Null)
            .filter_map(|m| m.content.replaces)
            .collect();
        Ok(all
            .iter()
            .filter(|m| {
                m.user == user
                    && m.content.in_reply_to.as_ref() == Some(target)
                    && m.content.replaces.is_none()
                    && m.content.nested_part.disposition == Disposition::REACTION
                    && text(&m.content.nested_part).as_deref() == Some(emoji)
                    && !taken_back.contains(&m.id)
            })
            .map(|m| m.id)
            .next_back())
    }

    /// Everything of `room` recorded so far counts as read.
    pub(crate) fn mark_read(&self, room: &RoomId) -> Result<(), ClientError> {
        self.conn
            .execute(
                "INSERT INTO read_marks (room, seen) \
                 SELECT ?1, COALESCE(MAX(seq), 0) FROM messages WHERE room = ?1 \
                 ON CONFLICT (room) DO UPDATE SET seen = excluded.seen",
                params![room.as_str()],
            )
            .map_err(db)?;
        Ok(())
    }

    /// How many messages of others in `room` arrived since it was last read (`user` is this
    /// device's), and the room's last message as a person reads it.
    pub(crate) fn summary(
        &self,
        room: &RoomId,
        user: &str,
    ) -> Result<(u32, Option<Entry>), ClientError> {
        let seen: i64 = self
            .conn
            .query_row(
                "SELECT seen FROM read_marks WHERE room = ?1",
                params![room.as_str()],
                |r| r.get(0),
            )
            .optional()
            .map_err(db)?
            .unwrap_or(0);
        self.purge(room)?;
        let mut stmt = self
            .conn
            .prepare("SELECT user, content FROM messages WHERE room = ?1 AND seq > ?2")
            .map_err(db)?;
        let unread = stmt
            .query_map(params![room.as_str(), seen], |r| {
                Ok((r.get::<_, String>(0)?, r.get::<_, Vec<u8>>(1)?))
            })
            .map_err(db)?
            .filter_map(Result::ok)
            .filter(|(sender, bytes)| {
                sender != user
                    && MimiContent::decode(bytes).is_ok_and(|c| {
                        c.replaces.is_none() && c.nested_part.disposition != Disposition::REACTION
                    })
            })
            .count();
        let last = self.timeline(room, 1)?.pop();
        Ok((u32::try_from(unread).unwrap_or(u32::MAX), last))
    }

    /// The last `limit` messages of `room` as a person reads them; messages whose sender
    /// asked them deleted by now are deleted here first.
    pub(crate) fn timeline(&self, room: &RoomId, limit: usize) -> Result<Vec<Entry>, ClientError> {
        self.purge(room)?;
        Ok(timeline(self.all(room)?, limit))
    }

    /// Deletes the messages of `room` whose sender asked them deleted by now: nothing reads
    /// them after their time (not a reply, an edit or an attachment fetch either).
    fn purge(&self, room: &RoomId) -> Result<(), ClientError> {
        let now = crate::unix_now();
        for m in self.all(room)? {
            if crate::content::expired(&m.content, m.at, now) {
                self.conn
                    .execute(
                        "DELETE FROM messages WHERE room = ?1 AND id = ?2",
                        params![room.as_str(), m.id.to_hex()],
                    )
                    .map_err(db)?;
            }
        }
        Ok(())
    }
}

struct Stored {
    id: MessageId,
    sender: String,
    user: String,
    at: u64,
    content: MimiContent,
}

/// One message of a timeline.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Entry {
    /// Its message ID (hex).
    pub id: String,
    /// The sending client.
    pub sender: String,
    /// Unix milliseconds when this device sent or received it.
    pub at: u64,
    /// Its text as last edited by its sender; empty when deleted.
    pub text: String,
    /// Its sender edited it.
    pub edited: bool,
    /// Its sender deleted it.
    pub deleted: bool,
    /// The message it answers (hex), if any.
    #[serde(rename = "inReplyTo", skip_serializing_if = "Option::is_none")]
    pub in_reply_to: Option<String>,
    /// Reactions to it, by emoji: how many.
    pub reactions: BTreeMap<String, u32>,
    /// Edits, deletions or take-backs of it by someone other than its sender, refused.
    pub refused: u32,
}

/// Whether the stored message `bytes`, recorded at `at`, has expired at `now`.
fn expired_bytes(bytes: &[u8], at: i64, now: u64) -> bool {
    MimiContent::decode(bytes)
        .is_ok_and(|c| crate::content::expired(&c, u64::try_from(at).unwrap_or(0), now))
}

/// A text part's text.
fn text(part: &NestedPart) -> Option<String> {
    match &part.body {
        PartBody::Single {
            content_type,
            content,
        } if content_type.starts_with("text/") => {
            Some(String::from_utf8_lossy(content).into_owned())
        }
        PartBody::Multi { parts, .. } => parts.iter().find_map(text),
        PartBody::External(e) => Some(format!(
            "(attachment {}, {}, {} bytes{})",
            e.filename,
            e.content_type,
            e.size,
            if e.description.is_empty() {
                String::new()
            } else {
                format!(": {}", e.description)
            }
        )),
        _ => None,
    }
}

fn timeline(all: Vec<Stored>, limit: usize) -> Vec<Entry> {
    let by_id: BTreeMap<MessageId, &Stored> = all.iter().map(|m| (m.id, m)).collect();
    // Messages that are neither reactions nor changes of another message.
    let mut entries: Vec<Entry> = Vec::new();
    let mut at: BTreeMap<MessageId, usize> = BTreeMap::new();
    for m in &all {
        let c = &m.content;
        if c.replaces.is_some() || c.nested_part.disposition == Disposition::REACTION {
            continue;
        }
        at.insert(m.id, entries.len());
        entries.push(Entry {
            id: m.id.to_hex(),
            sender: m.sender.clone(),
            at: m.at,
            text: text(&c.nested_part).unwrap_or_else(|| "(unsupported content)".into()),
            edited: false,
            deleted: false,
            in_reply_to: c.in_reply_to.map(|i| i.to_hex()),
            reactions: BTreeMap::new(),
            refused: 0,
        });
    }
    // Changes, in order: each applies only when its sender's user is the changed message's.
    let mut taken_back: Vec<MessageId> = Vec::new();
    for m in &all {
        let Some(target) = m.content.replaces else {
            continue;
        };
        let Some(original) = by_id.get(&target) else {
            continue;
        };
        let allowed = original.user == m.user;
        let reaction = original.content.nested_part.disposition == Disposition::REACTION;
        let index = if reaction {
            original
                .content
                .in_reply_to
                .and_then(|t| at.get(&t).copied())
        } else {
            at.get(&target).copied()
        };
        let Some(index) = index else { continue };
        if !allowed {
            entries[index].refused += 1;
            continue;
        }
        match (&m.content.nested_part.body, reaction) {
            (PartBody::Null, true) => taken_back.push(target),
            (PartBody::Null, false) => {
                entries[index].deleted = true;
                entries[index].text.clear();
            }
            (_, false) if !entries[index].deleted => {
                entries[index].text =
                    text(&m.content.nested_part).unwrap_or_else(|| "(unsupported content)".into());
                entries[index].edited = true;
            }
            _ => {}
        }
    }
    for m in &all {
        let c = &m.content;
        if c.replaces.is_some()
            || c.nested_part.disposition != Disposition::REACTION
            || taken_back.contains(&m.id)
        {
            continue;
        }
        let (Some(target), Some(emoji)) = (c.in_reply_to, text(&c.nested_part)) else {
            continue;
        };
        if let Some(&index) = at.get(&target) {
            *entries[index].reactions.entry(emoji).or_default() += 1;
        }
    }
    let skip = entries.len().saturating_sub(limit);
    entries.into_iter().skip(skip).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use mimi_content::NestedPart;

    fn id(n: u8) -> MessageId {
        let mut id = [0u8; 32];
        id[0] = 1;
        id[1] = n;
        MessageId(id)
    }

    fn stored(
        n: u8,
        user: &str,
        body: NestedPart,
        in_reply_to: Option<u8>,
        replaces: Option<u8>,
    ) -> Stored {
        let mut content = MimiContent::new([n; 16], body);
        content.in_reply_to = in_reply_to.map(id);
        content.replaces = replaces.map(id);
        Stored {
            id: id(n),
            sender: format!("mimi://example.com/d/{user}/cli"),
            user: format!("mimi://example.com/u/{user}"),
            at: u64::from(n),
            content,
        }
    }

    fn text(t: &str) -> NestedPart {
        crate::content::text_body(t, false)
    }

    #[test]
    fn edits_deletes_and_take_backs_apply_only_when_their_sender_sent_the_original() {
        let all = vec![
            stored(1, "alice", text("hello"), None, None),
            stored(2, "bob", text("hi"), Some(1), None),
            stored(3, "bob", crate::content::reaction_body("❤"), Some(1), None),
            stored(
                4,
                "carol",
                crate::content::reaction_body("❤"),
                Some(1),
                None,
            ),
            stored(5, "bob", crate::content::reaction_body("👍"), Some(1), None),
            // bob takes back his 👍; carol's take-back of bob's ❤ is refused.
            stored(
                6,
                "bob",
                crate::content::null_body(Disposition::REACTION),
                Some(1),
                Some(5),
            ),
            stored(
                7,
                "carol",
                crate::content::null_body(Disposition::REACTION),
                Some(1),
                Some(3),
            ),
            // alice edits her message; bob's forged edit of it is refused.
            stored(8, "alice", text("hello all"), None, Some(1)),
            stored(9, "bob", text("alice is wrong"), None, Some(1)),
            // bob deletes his reply; carol's forged delete of alice's is refused.
            stored(
                10,
                "bob",
                crate::content::null_body(Disposition::RENDER),
                Some(1),
                Some(2),
            ),
            stored(
                11,
                "carol",
                crate::content::null_body(Disposition::RENDER),
                None,
                Some(1),
            ),
        ];
        let t = timeline(all, 10);
        assert_eq!(t.len(), 2);
        let (hello, reply) = (&t[0], &t[1]);
        assert_eq!(hello.text, "hello all");
        assert!(hello.edited && !hello.deleted);
        assert_eq!(
            hello.reactions,
            BTreeMap::from([("❤".to_owned(), 2)]),
            "bob's and carol's hearts; bob's thumb taken back"
        );
        assert_eq!(hello.refused, 3);
        assert!(reply.deleted && reply.text.is_empty());
        assert_eq!(reply.in_reply_to, Some(id(1).to_hex()));
    }

    #[test]
    fn a_short_id_finds_its_message_and_refuses_an_ambiguous_or_unknown_one() {
        let dir = std::env::temp_dir().join(format!("mimi-history-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let history = History::open(&dir).unwrap();
        let room = RoomId::parse("mimi://example.com/r/team").unwrap();
        for (n, byte) in [(1u8, 0xabu8), (2, 0xac)] {
            let mut full = id(n).0;
            full[1] = byte;
            full[2] = 0x12;
            let bytes = MimiContent::new([n; 16], text("x")).encode().unwrap();
            history
                .record(&Record {
                    room: &room,
                    id: &MessageId(full),
                    sender: "mimi://example.com/d/alice/cli",
                    user: "mimi://example.com/u/alice",
                    at: 1,
                    seq: u64::from(n),
                    content: &bytes,
                })
                .unwrap();
        }
        assert_eq!(history.resolve(&room, "#ab12").unwrap().0[1], 0xab);
        assert_eq!(history.resolve(&room, "ac12").unwrap().0[1], 0xac);
        assert!(history.resolve(&room, "#a").is_err(), "too short");
        assert!(history.resolve(&room, "#ffff").is_err(), "unknown");
        assert!(history.resolve(&room, "#zz12").is_err(), "not hex");
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt as _;
            let mode = std::fs::metadata(dir.join(FILE))
                .unwrap()
                .permissions()
                .mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        let _ = std::fs::remove_dir_all(dir);
    }
}
