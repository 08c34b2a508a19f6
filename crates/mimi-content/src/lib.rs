//! MIMI content (draft-ietf-mimi-content-08): the container every application message of a
//! room carries. Pure: bytes in, values out, no I/O.
//!
//! - [`MimiContent`]: the message behaviour fields (salt, replaces, topic, expiry, reply,
//!   extensions) and the [`NestedPart`] tree of body parts (null, single, external, multi).
//! - [`MimiContent::decode`] reads the draft's deterministic CBOR (RFC 8949 §4.2.1) and
//!   refuses anything else: other encodings, wrong types or sizes, more than four levels of
//!   parts or extension depth, trailing bytes. [`MimiContent::encode`] writes it back byte
//!   for byte.
//! - [`message_id`]: the draft's message ID (SHA-256 over the sender and room URIs, the
//!   message and its salt).
//! - [`json`]: the same message as JSON in the draft's field names, for people and tools.
#![forbid(unsafe_code)]
#![warn(missing_docs)]

mod cbor;
mod error;
pub mod json;

use sha2::{Digest as _, Sha256};

pub use error::ContentError;

/// The draft's media type for rich text (GitHub-flavoured Markdown, MIMI variant).
pub const MARKDOWN: &str = "text/markdown;variant=GFM-MIMI";
/// Plain UTF-8 text.
pub const PLAIN: &str = "text/plain;charset=utf-8";

/// Extension key of the sender's user URI (`senderUri`).
pub const SENDER_URI: i64 = 1;
/// Extension key of the room's URI (`roomUri`).
pub const ROOM_URI: i64 = 2;

/// Most levels of nested parts, and of containers in the extensions map (draft §7.3).
pub const MAX_DEPTH: usize = 4;
/// Longest encoded extension value, in bytes.
pub const MAX_EXTENSION_VALUE: usize = 4095;
/// Longest text extension key, in bytes.
pub const MAX_EXTENSION_KEY: usize = 255;
/// Largest integer extension key, in absolute value (integers a double holds exactly).
pub const MAX_EXTENSION_INT: i64 = (1 << 53) - 1;
/// The hash algorithm octet of SHA-256 (IANA Named Information Hash Algorithm registry).
pub const SHA256: u8 = 1;

/// A message ID: the hash algorithm octet and 31 octets of the hash.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct MessageId(pub [u8; 32]);

impl MessageId {
    /// The ID as lowercase hex.
    pub fn to_hex(&self) -> String {
        hex(&self.0)
    }

    /// Reads 64 hex digits.
    pub fn from_hex(text: &str) -> Result<Self, ContentError> {
        let bytes = unhex(text)?;
        let id = <[u8; 32]>::try_from(bytes.as_slice()).map_err(|_| {
            ContentError::shape("messageId", "a message ID is 32 octets (64 hex digits)")
        })?;
        Ok(Self(id))
    }
}

impl std::fmt::Display for MessageId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.to_hex())
    }
}

/// The draft's message ID of `message` (its exact bytes) sent by `sender` (a user URI) in
/// `room` (a room URI): `0x01 || SHA-256(len(sender) || sender || len(room) || room ||
/// message || salt)[0..31]`, lengths as big-endian 16-bit integers.
pub fn message_id(
    message: &[u8],
    salt: &[u8; 16],
    sender: &str,
    room: &str,
) -> Result<MessageId, ContentError> {
    let len = |what: &str, uri: &str| {
        u16::try_from(uri.len())
            .map(u16::to_be_bytes)
            .map_err(|_| ContentError::shape(what, "a URI of a message ID is at most 65535 bytes"))
    };
    let mut hash = Sha256::new();
    hash.update(len("sender", sender)?);
    hash.update(sender.as_bytes());
    hash.update(len("room", room)?);
    hash.update(room.as_bytes());
    hash.update(message);
    hash.update(salt);
    let digest = hash.finalize();
    let mut id = [0u8; 32];
    id[0] = SHA256;
    id[1..].copy_from_slice(&digest[..31]);
    Ok(MessageId(id))
}

/// When a message should be deleted and disregarded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Expiration {
    /// `time` counts seconds from when the receiver reads the message; else it is a Unix
    /// time.
    pub relative: bool,
    /// Seconds.
    pub time: u32,
}

/// A CBOR value as the draft allows it inside extensions.
pub type Value = ciborium::Value;

/// An extension key: an integer (registered when positive) or a text string.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ExtensionKey {
    /// An integer key.
    Int(i64),
    /// A text key (private use).
    Text(String),
}

/// A body part's intended semantics (the draft's disposition registry; 9 to 255 are kept as
/// they are, unknown).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Disposition(pub u8);

impl Disposition {
    /// Unspecified.
    pub const UNSPECIFIED: Self = Self(0);
    /// Render by local policy.
    pub const RENDER: Self = Self(1);
    /// A reaction to another message.
    pub const REACTION: Self = Self(2);
    /// A profile.
    pub const PROFILE: Self = Self(3);
    /// Inline in the chat.
    pub const INLINE: Self = Self(4);
    /// An icon.
    pub const ICON: Self = Self(5);
    /// To download rather than render.
    pub const ATTACHMENT: Self = Self(6);
    /// A multimedia session.
    pub const SESSION: Self = Self(7);
    /// A sender-made preview.
    pub const PREVIEW: Self = Self(8);

    const NAMES: [&'static str; 9] = [
        "unspecified",
        "render",
        "reaction",
        "profile",
        "inline",
        "icon",
        "attachment",
        "session",
        "preview",
    ];

    /// The registered name, if it has one.
    pub fn name(self) -> Option<&'static str> {
        Self::NAMES.get(usize::from(self.0)).copied()
    }

    /// The disposition a registered name stands for.
    pub fn from_name(name: &str) -> Option<Self> {
        Self::NAMES
            .iter()
            .position(|n| *n == name)
            .and_then(|i| u8::try_from(i).ok())
            .map(Self)
    }
}

/// How the parts of a multipart relate.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PartSemantics {
    /// The receiver picks exactly one part.
    ChooseOne,
    /// All parts are one unit.
    SingleUnit,
    /// Each part is processed by itself.
    ProcessAll,
}

impl PartSemantics {
    const NAMES: [&'static str; 3] = ["chooseOne", "singleUnit", "processAll"];

    fn code(self) -> u8 {
        match self {
            Self::ChooseOne => 0,
            Self::SingleUnit => 1,
            Self::ProcessAll => 2,
        }
    }

    fn from_code(code: u64) -> Option<Self> {
        match code {
            0 => Some(Self::ChooseOne),
            1 => Some(Self::SingleUnit),
            2 => Some(Self::ProcessAll),
            _ => None,
        }
    }

    /// The draft's name.
    pub fn name(self) -> &'static str {
        Self::NAMES[usize::from(self.code())]
    }

    /// The semantics a name stands for.
    pub fn from_name(name: &str) -> Option<Self> {
        Self::NAMES
            .iter()
            .position(|n| *n == name)
            .and_then(|i| Self::from_code(i as u64))
    }
}

/// Content kept elsewhere (draft §4.5), usually encrypted by the sender.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExternalPart {
    /// Its media type.
    pub content_type: String,
    /// Where to fetch it.
    pub url: String,
    /// Unix seconds after which it is gone; 0: does not expire.
    pub expires: u32,
    /// Its size in octets; 0: not given.
    pub size: u64,
    /// The IANA AEAD algorithm it is encrypted with; 0: not encrypted.
    pub enc_alg: u16,
    /// The AEAD key.
    pub key: Vec<u8>,
    /// The AEAD nonce.
    pub nonce: Vec<u8>,
    /// The AEAD additional data.
    pub aad: Vec<u8>,
    /// The IANA Named Information hash algorithm of `content_hash`.
    pub hash_alg: u8,
    /// The hash of what the URL serves.
    pub content_hash: Vec<u8>,
    /// A description for people.
    pub description: String,
    /// A suggested file name.
    pub filename: String,
}

/// A part's content.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PartBody {
    /// No content (a deletion, an unlike).
    Null,
    /// One inline part.
    Single {
        /// Its media type.
        content_type: String,
        /// Its bytes.
        content: Vec<u8>,
    },
    /// One part kept elsewhere.
    External(Box<ExternalPart>),
    /// Two or more parts.
    Multi {
        /// How they relate.
        semantics: PartSemantics,
        /// The parts.
        parts: Vec<NestedPart>,
    },
}

/// A body part with its disposition and language.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NestedPart {
    /// What it is for.
    pub disposition: Disposition,
    /// Empty, or comma-separated language tags.
    pub language: String,
    /// The content.
    pub body: PartBody,
}

impl NestedPart {
    /// A single inline part.
    pub fn single(disposition: Disposition, content_type: &str, content: Vec<u8>) -> Self {
        Self {
            disposition,
            language: String::new(),
            body: PartBody::Single {
                content_type: content_type.to_owned(),
                content,
            },
        }
    }

    /// No content.
    pub fn null() -> Self {
        Self {
            disposition: Disposition::UNSPECIFIED,
            language: String::new(),
            body: PartBody::Null,
        }
    }

    /// Levels of parts, this one included.
    pub fn depth(&self) -> usize {
        match &self.body {
            PartBody::Multi { parts, .. } => 1 + parts.iter().map(Self::depth).max().unwrap_or(0),
            _ => 1,
        }
    }
}

/// A MIMI content message.
#[derive(Debug, Clone, PartialEq)]
pub struct MimiContent {
    /// 16 random octets, unique to the message.
    pub salt: [u8; 16],
    /// The message this one replaces (an edit, a delete, an unlike).
    pub replaces: Option<MessageId>,
    /// A topic the message belongs to; empty: none.
    pub topic_id: Vec<u8>,
    /// When it should be deleted.
    pub expires: Option<Expiration>,
    /// The message this one answers (a reply, a reaction).
    pub in_reply_to: Option<MessageId>,
    /// Extensions, in their (sorted) order.
    pub extensions: Vec<(ExtensionKey, Value)>,
    /// The body.
    pub nested_part: NestedPart,
}

impl MimiContent {
    /// A message with `salt` and `body`, and nothing else.
    pub fn new(salt: [u8; 16], body: NestedPart) -> Self {
        Self {
            salt,
            replaces: None,
            topic_id: Vec::new(),
            expires: None,
            in_reply_to: None,
            extensions: Vec::new(),
            nested_part: body,
        }
    }

    /// The text extension under integer key `key`, if there is one.
    pub fn text_extension(&self, key: i64) -> Option<&str> {
        self.extensions.iter().find_map(|(k, v)| match (k, v) {
            (ExtensionKey::Int(k), Value::Text(t)) if *k == key => Some(t.as_str()),
            _ => None,
        })
    }

    /// Reads a message: deterministic CBOR of the draft's shape, nothing after it.
    pub fn decode(bytes: &[u8]) -> Result<Self, ContentError> {
        cbor::decode(bytes)
    }

    /// The message's deterministic CBOR; refused if it breaks the draft's limits.
    pub fn encode(&self) -> Result<Vec<u8>, ContentError> {
        cbor::encode(self)
    }

    /// This message's ID, `bytes` being its encoding as sent or received.
    pub fn id(&self, bytes: &[u8], sender: &str, room: &str) -> Result<MessageId, ContentError> {
        message_id(bytes, &self.salt, sender, room)
    }
}

/// What a receiver knows of a message besides its content (the draft's
/// `MessageDerivedValues`, §4.6): its ID, when the hub accepted it, the MLS group, the
/// sender's leaf, client and user, and the room.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DerivedValues {
    /// The message ID.
    pub message_id: MessageId,
    /// When the hub accepted it, in milliseconds since the Unix epoch.
    pub hub_accepted_timestamp: u64,
    /// The MLS group ID.
    pub mls_group_id: Vec<u8>,
    /// The sender's leaf index.
    pub sender_leaf_index: u32,
    /// The sender's client URL.
    pub sender_client_url: String,
    /// The sender's user URL ("From").
    pub sender_user_url: String,
    /// The room's URL ("To").
    pub room_url: String,
}

impl DerivedValues {
    /// Reads them: deterministic CBOR of the draft's shape, nothing after it.
    pub fn decode(bytes: &[u8]) -> Result<Self, ContentError> {
        cbor::decode_derived(bytes)
    }

    /// Their deterministic CBOR.
    pub fn encode(&self) -> Result<Vec<u8>, ContentError> {
        cbor::encode_derived(self)
    }
}

/// Lowercase hex.
pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Bytes from hex digits (either case).
pub fn unhex(text: &str) -> Result<Vec<u8>, ContentError> {
    let digits = text.as_bytes();
    if !digits.len().is_multiple_of(2) {
        return Err(ContentError::shape("hex", "an odd number of hex digits"));
    }
    digits
        .chunks(2)
        .map(|pair| {
            std::str::from_utf8(pair)
                .ok()
                .filter(|p| p.bytes().all(|b| b.is_ascii_hexdigit()))
                .and_then(|p| u8::from_str_radix(p, 16).ok())
                .ok_or_else(|| ContentError::shape("hex", "not a hex digit"))
        })
        .collect()
}
