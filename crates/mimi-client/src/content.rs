//! Messages as MIMI content (draft-ietf-mimi-content): what `send` puts in an application
//! message, and what a received one shows. A message that is not MIMI content, or whose
//! content this client cannot show, is shown as unsupported, with its type: it never stops
//! a sync.

use mimi_content::{MessageId, MimiContent, NestedPart, PartBody, PartSemantics};
use mimi_mls::member::Client;
use mimi_policy::id::{ClientId, RoomId};
use openmls_traits::OpenMlsProvider as _;
use openmls_traits::random::OpenMlsRand as _;

use crate::ClientError;

/// A text message: Markdown (GitHub-flavoured, MIMI variant), or plain text. The sender and
/// room are not written into it: every receiver knows them from MLS and the room, and
/// computes the message ID with them.
pub(crate) fn compose(
    client: &Client,
    text: &str,
    plain: bool,
) -> Result<MimiContent, ClientError> {
    let salt: [u8; 16] =
        client.provider().rand().random_array().map_err(|e| {
            ClientError::Input(format!("no randomness for a message's salt: {e:?}"))
        })?;
    let content_type = if plain {
        mimi_content::PLAIN
    } else {
        mimi_content::MARKDOWN
    };
    Ok(MimiContent::new(
        salt,
        NestedPart::single(
            mimi_content::Disposition::RENDER,
            content_type,
            text.as_bytes().to_vec(),
        ),
    ))
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

/// A received message as a person sees it: its ID, if it is MIMI content, and its text.
pub(crate) struct Shown {
    pub(crate) id: Option<MessageId>,
    pub(crate) text: String,
}

/// What `plaintext`, received from `sender` in `room`, shows.
pub(crate) fn show(plaintext: &[u8], sender: &ClientId, room: &RoomId) -> Shown {
    match MimiContent::decode(plaintext) {
        Ok(content) => Shown {
            id: id_of(&content, plaintext, sender, room),
            text: text_of(&content.nested_part).unwrap_or_else(|| {
                format!("(unsupported content: {})", kind(&content.nested_part))
            }),
        },
        Err(e) => Shown {
            id: None,
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
        let content = compose(&alice, "hello *bob*", false).unwrap();
        let bytes = content.encode().unwrap();
        let shown = show(&bytes, alice.id(), &room());
        assert_eq!(shown.text, "hello *bob*");
        let id = shown.id.unwrap();
        assert_eq!(show(&bytes, alice.id(), &room()).id, Some(id));
        // Another room or sender: another ID.
        let other = RoomId::parse("mimi://example.com/r/other").unwrap();
        assert_ne!(show(&bytes, alice.id(), &other).id, Some(id));
        // Two sends of the same text: two salts, two IDs.
        let again = compose(&alice, "hello *bob*", false)
            .unwrap()
            .encode()
            .unwrap();
        assert_ne!(show(&again, alice.id(), &room()).id, Some(id));
    }

    #[test]
    fn what_cannot_be_shown_is_named_not_an_error() {
        let alice = client();
        let shown = show(b"plain bytes, not CBOR", alice.id(), &room());
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
        let shown = show(&image.encode().unwrap(), alice.id(), &room());
        assert_eq!(shown.text, "(unsupported content: image/png)");
        assert!(shown.id.is_some());
    }
}
