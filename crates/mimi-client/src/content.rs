//! Messages as MIMI content (draft-ietf-mimi-content): what `send` puts in an application
//! message, and what a received one shows. A message that is not MIMI content, or whose
//! content this client cannot show, is shown as unsupported, with its type: it never stops
//! a sync.

use mimi_content::{Disposition, MessageId, MimiContent, NestedPart, PartBody, PartSemantics};
use mimi_mls::member::Client;
use mimi_policy::id::{ClientId, RoomId, UserId};
use openmls_traits::OpenMlsProvider as _;
use openmls_traits::random::OpenMlsRand as _;

use crate::ClientError;

/// A message with `body`, answering `in_reply_to` and replacing `replaces` when given. The
/// sender and room are not written into it: every receiver knows them from MLS and the
/// room, and computes the message ID with them.
pub(crate) fn compose(
    client: &Client,
    body: NestedPart,
    in_reply_to: Option<MessageId>,
    replaces: Option<MessageId>,
) -> Result<MimiContent, ClientError> {
    let salt: [u8; 16] =
        client.provider().rand().random_array().map_err(|e| {
            ClientError::Input(format!("no randomness for a message's salt: {e:?}"))
        })?;
    let mut content = MimiContent::new(salt, body);
    content.in_reply_to = in_reply_to;
    content.replaces = replaces;
    Ok(content)
}

/// A text body: Markdown (GitHub-flavoured, MIMI variant), or plain text.
pub(crate) fn text_body(text: &str, plain: bool) -> NestedPart {
    let content_type = if plain {
        mimi_content::PLAIN
    } else {
        mimi_content::MARKDOWN
    };
    NestedPart::single(Disposition::RENDER, content_type, text.as_bytes().to_vec())
}

/// `text` (Markdown) with each `@name` or `@name@domain` that names one of `known` written
/// as the draft's mention, a Markdown link to the user's URI:
/// `[@name](mimi://domain/u/name)`. Anything else stays as it is.
pub(crate) fn with_mentions(text: &str, known: &[UserId], domain: &str) -> String {
    let chars: Vec<char> = text.chars().collect();
    let name_char = |c: char| c.is_alphanumeric() || "._-~".contains(c);
    let mut out = String::with_capacity(text.len());
    let mut i = 0;
    while i < chars.len() {
        let starts = i == 0 || !(chars[i - 1].is_alphanumeric() || "[@/".contains(chars[i - 1]));
        if chars[i] == '@' && starts {
            let mut end = i + 1;
            while end < chars.len() && name_char(chars[end]) {
                end += 1;
            }
            // `@name@domain`.
            if end < chars.len() && chars[end] == '@' {
                let mut d = end + 1;
                while d < chars.len() && (chars[d].is_alphanumeric() || ".-:".contains(chars[d])) {
                    d += 1;
                }
                if d > end + 1 {
                    end = d;
                }
            }
            // A sentence's full stop is not part of the name.
            while end > i + 1 && ".-".contains(chars[end - 1]) {
                end -= 1;
            }
            let token: String = chars[i + 1..end].iter().collect();
            let user = (!token.is_empty())
                .then(|| UserId::parse_with_default(&token, domain).ok())
                .flatten()
                .filter(|u| known.contains(u));
            if let Some(user) = user {
                out.push_str(&format!("[@{token}]({user})"));
                i = end;
                continue;
            }
        }
        out.push(chars[i]);
        i += 1;
    }
    out
}

/// Whether `content`, recorded at `at` (Unix milliseconds), has expired at `now` (Unix
/// seconds): its sender asked receivers to delete it then.
pub(crate) fn expired(content: &MimiContent, at: u64, now: u64) -> bool {
    match content.expires {
        None => false,
        Some(e) if e.relative => now >= at / 1000 + u64::from(e.time),
        Some(e) => now >= u64::from(e.time),
    }
}

/// A reaction's body: one emoji (or any short text), as the draft's reaction example.
pub(crate) fn reaction_body(emoji: &str) -> NestedPart {
    NestedPart::single(
        Disposition::REACTION,
        mimi_content::PLAIN,
        emoji.as_bytes().to_vec(),
    )
}

/// No content, with `disposition`: a deletion (render) or a reaction taken back (reaction).
pub(crate) fn null_body(disposition: Disposition) -> NestedPart {
    NestedPart {
        disposition,
        ..NestedPart::null()
    }
}

/// `#` and the first 8 hex digits of an ID's hash, as people see it.
pub(crate) fn short(id: &MessageId) -> String {
    let hex = id.to_hex();
    format!("#{}", hex.get(2..10).unwrap_or(&hex))
}

/// What a received message says, for a line of `mimi sync`: its text, or what it does to
/// another message. `original` gives the user who sent a message of the room, if known: an
/// edit, deletion or take-back by anyone else is shown as refused.
pub(crate) fn describe(
    content: &MimiContent,
    sender_user: &str,
    original: &dyn Fn(&MessageId) -> Option<String>,
) -> String {
    let body = text_of(&content.nested_part);
    let reaction = content.nested_part.disposition == Disposition::REACTION;
    if let Some(target) = &content.replaces {
        match original(target) {
            Some(u) if u != sender_user => {
                return format!(
                    "(refused: a change of {} by another than its sender)",
                    short(target)
                );
            }
            None => {
                return format!(
                    "(a change of {}, which this device does not hold: not checked, not applied)",
                    short(target)
                );
            }
            Some(_) => {}
        }
        return match (&content.nested_part.body, reaction) {
            (PartBody::Null, true) => format!("took back a reaction ({})", short(target)),
            (PartBody::Null, false) => format!("deleted {}", short(target)),
            _ => format!(
                "edited {}: {}",
                short(target),
                body.unwrap_or_else(|| format!(
                    "(unsupported content: {})",
                    kind(&content.nested_part)
                ))
            ),
        };
    }
    if let PartBody::External(e) = &content.nested_part.body {
        let about = if e.description.is_empty() {
            String::new()
        } else {
            format!(": {}", e.description)
        };
        return format!(
            "(attachment {}, {}, {} bytes{about})",
            e.filename, e.content_type, e.size
        );
    }
    match (&content.in_reply_to, reaction, body) {
        (Some(target), true, Some(emoji)) => format!("reacted {emoji} to {}", short(target)),
        (Some(target), false, Some(text)) => format!("(reply to {}) {text}", short(target)),
        (_, _, Some(text)) => text,
        (_, _, None) => format!("(unsupported content: {})", kind(&content.nested_part)),
    }
}

/// The message ID of `bytes`, a message `sender` sent to `room`: the draft's hash over the
/// sender's user URI and the room's URI.
pub(crate) fn id_of(
    content: &MimiContent,
    bytes: &[u8],
    sender: &ClientId,
    room: &RoomId,
) -> Option<MessageId> {
    content
        .id(bytes, sender.user().as_str(), room.as_str())
        .ok()
}

/// A received message as a person sees it: its ID and content, if it is MIMI content, and
/// what it says.
pub(crate) struct Shown {
    pub(crate) id: Option<MessageId>,
    pub(crate) content: Option<MimiContent>,
    pub(crate) text: String,
}

/// What `plaintext`, received from `sender` in `room`, shows; `original` gives the user who
/// sent an earlier message of the room (see [`describe`]).
pub(crate) fn show(
    plaintext: &[u8],
    sender: &ClientId,
    room: &RoomId,
    original: &dyn Fn(&MessageId) -> Option<String>,
) -> Shown {
    match MimiContent::decode(plaintext) {
        Ok(content) => Shown {
            id: id_of(&content, plaintext, sender, room),
            text: describe(&content, sender.user().as_str(), original),
            content: Some(content),
        },
        Err(e) => Shown {
            id: None,
            content: None,
            text: format!("(unsupported content: not MIMI content, {})", e.code()),
        },
    }
}

/// The text a part shows: a text part's, the first shown of alternatives, every shown one
/// of parts taken together.
fn text_of(part: &NestedPart) -> Option<String> {
    match &part.body {
        PartBody::Single {
            content_type,
            content,
        } if is_text(content_type) => Some(String::from_utf8_lossy(content).into_owned()),
        PartBody::Multi {
            semantics: PartSemantics::ChooseOne,
            parts,
        } => parts.iter().find_map(text_of),
        PartBody::Multi { parts, .. } => {
            let texts: Vec<String> = parts.iter().filter_map(text_of).collect();
            (!texts.is_empty()).then(|| texts.join("\n"))
        }
        PartBody::Null => Some("(no content)".into()),
        _ => None,
    }
}

fn is_text(content_type: &str) -> bool {
    let base = content_type
        .split(';')
        .next()
        .unwrap_or_default()
        .trim()
        .to_ascii_lowercase();
    base == "text/plain" || base == "text/markdown"
}

/// What kind of content a part is, for a message this client cannot show.
fn kind(part: &NestedPart) -> String {
    match &part.body {
        PartBody::Single { content_type, .. } => content_type.clone(),
        PartBody::External(e) => format!("external {}", e.content_type),
        PartBody::Multi { parts, .. } => parts.iter().map(kind).collect::<Vec<_>>().join(", "),
        PartBody::Null => "nothing".into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn client() -> Client {
        Client::new(ClientId::parse("mimi://example.com/d/alice/phone").unwrap()).unwrap()
    }

    fn room() -> RoomId {
        RoomId::parse("mimi://example.com/r/team").unwrap()
    }

    #[test]
    fn a_composed_message_shows_its_text_and_an_id_every_receiver_computes_alike() {
        let alice = client();
        let content = compose(&alice, text_body("hello *bob*", false), None, None).unwrap();
        let bytes = content.encode().unwrap();
        let shown = show(&bytes, alice.id(), &room(), &|_| None);
        assert_eq!(shown.text, "hello *bob*");
        let id = shown.id.unwrap();
        assert_eq!(show(&bytes, alice.id(), &room(), &|_| None).id, Some(id));
        // Another room or sender: another ID.
        let other = RoomId::parse("mimi://example.com/r/other").unwrap();
        assert_ne!(show(&bytes, alice.id(), &other, &|_| None).id, Some(id));
        // Two sends of the same text: two salts, two IDs.
        let again = compose(&alice, text_body("hello *bob*", false), None, None)
            .unwrap()
            .encode()
            .unwrap();
        assert_ne!(show(&again, alice.id(), &room(), &|_| None).id, Some(id));
    }

    #[test]
    fn a_mention_of_a_known_user_becomes_a_link_to_its_uri_and_nothing_else_does() {
        let known = [
            UserId::parse("bob@example.com").unwrap(),
            UserId::parse("carol@other.example").unwrap(),
        ];
        let out = with_mentions(
            "thanks @bob and @carol@other.example, not @dave nor mail@bob. @bob.",
            &known,
            "example.com",
        );
        assert_eq!(
            out,
            "thanks [@bob](mimi://example.com/u/bob) and \
             [@carol@other.example](mimi://other.example/u/carol), not @dave nor mail@bob. \
             [@bob](mimi://example.com/u/bob)."
        );
        assert_eq!(with_mentions("no one @", &known, "example.com"), "no one @");
    }

    #[test]
    fn a_message_expires_at_its_time_or_so_long_after_it_was_received() {
        let mut c = MimiContent::new([1; 16], text_body("soon gone", false));
        assert!(!expired(&c, 0, u64::MAX));
        c.expires = Some(mimi_content::Expiration {
            relative: false,
            time: 1000,
        });
        assert!(!expired(&c, 0, 999) && expired(&c, 0, 1000));
        c.expires = Some(mimi_content::Expiration {
            relative: true,
            time: 60,
        });
        assert!(!expired(&c, 500_000, 559) && expired(&c, 500_000, 560));
    }

    /// Messages built by another implementation: the draft's own examples, shown as
    /// people expect, none an error.
    #[test]
    fn the_drafts_examples_show_as_their_authors_meant() {
        let dir =
            std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../mimi-content/tests/examples");
        let read = |name: &str| {
            let bytes = std::fs::read(dir.join(format!("{name}.cbor"))).unwrap();
            let sender = ClientId::parse("mimi://example.com/d/someone/phone").unwrap();
            // Their changes are of messages the same sender sent.
            show(&bytes, &sender, &room(), &|_| {
                Some(sender.user().to_string())
            })
            .text
        };
        assert!(read("original").starts_with("Hi everyone, we just shipped release 2.0."));
        assert_eq!(read("reaction"), "reacted \u{2764} to #7ce54837");
        assert!(read("reply").starts_with("(reply to #7ce54837) Right on!"));
        assert!(read("edit").starts_with("edited #5354973c: Right on!"));
        assert_eq!(read("delete"), "deleted #5354973c");
        assert_eq!(read("unlike"), "took back a reaction (#58c42889)");
        assert!(read("mention").contains("[@Alice Smith](mimi://example.com/u/alice-smith)"));
        assert!(
            read("attachment").starts_with("(attachment bigfile.mp4, video/mp4, 708234961 bytes")
        );
        for name in [
            "multipart-1",
            "multipart-2",
            "multipart-3",
            "expiring",
            "conferencing",
            "mention-html",
        ] {
            let text = read(name);
            assert!(
                !text.is_empty() && !text.contains("not MIMI content"),
                "{name}: {text}"
            );
        }
    }

    #[test]
    fn a_change_of_a_message_by_another_than_its_sender_is_shown_as_refused() {
        let alice = client();
        let original = compose(&alice, text_body("mine", false), None, None).unwrap();
        let target = id_of(&original, &original.encode().unwrap(), alice.id(), &room()).unwrap();
        let forged = compose(&alice, text_body("not yours", false), None, Some(target)).unwrap();
        let whose = |_: &MessageId| Some("mimi://example.com/u/alice".to_owned());
        assert_eq!(
            describe(&forged, "mimi://example.com/u/mallory", &whose),
            format!(
                "(refused: a change of {} by another than its sender)",
                short(&target)
            )
        );
        assert_eq!(
            describe(&forged, "mimi://example.com/u/alice", &whose),
            format!("edited {}: not yours", short(&target))
        );
        // A change of a message this device does not hold cannot be checked.
        assert!(describe(&forged, "mimi://example.com/u/alice", &|_| None).contains("not checked"),);
    }

    #[test]
    fn what_cannot_be_shown_is_named_not_an_error() {
        let alice = client();
        let shown = show(b"plain bytes, not CBOR", alice.id(), &room(), &|_| None);
        assert!(
            shown
                .text
                .starts_with("(unsupported content: not MIMI content"),
            "{}",
            shown.text
        );
        assert_eq!(shown.id, None);
        let image = MimiContent::new(
            [1; 16],
            NestedPart::single(
                mimi_content::Disposition::INLINE,
                "image/png",
                vec![1, 2, 3],
            ),
        );
        let shown = show(&image.encode().unwrap(), alice.id(), &room(), &|_| None);
        assert_eq!(shown.text, "(unsupported content: image/png)");
        assert!(shown.id.is_some());
    }
}
