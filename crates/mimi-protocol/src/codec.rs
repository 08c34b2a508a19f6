//! The pieces every message is made of: URIs and strings (`opaque<V>` holding UTF-8), the
//! protocol enum, the MLS structures the draft embeds (kept as their bytes, checked by
//! openmls while they are read), and the `select` bodies written by hand.

use std::io::Write;
use std::marker::PhantomData;

use openmls::prelude::{ContentType, MlsMessageBodyIn, MlsMessageIn};
use tls_codec::{DeserializeBytes, Error, Serialize, Size, VLBytes};

/// A whole message from `bytes`: nothing may follow it.
pub fn decode_exact<T: DeserializeBytes>(bytes: &[u8]) -> Result<T, Error> {
    let (value, rest) = T::tls_deserialize_bytes(bytes)?;
    if rest.is_empty() {
        Ok(value)
    } else {
        Err(Error::TrailingData)
    }
}

/// `value` encoded.
pub fn encode<T: Serialize>(value: &T) -> Result<Vec<u8>, Error> {
    value.tls_serialize_detached()
}

/// A value whose encoding depends on one of its own fields (the draft's `select`): written
/// by hand, once, and given the tls_codec traits by [`select_codec!`].
pub(crate) trait Select: Sized {
    fn put(&self, out: &mut Vec<u8>) -> Result<(), Error>;
    fn take(bytes: &[u8]) -> Result<(Self, &[u8]), Error>;
}

/// The tls_codec traits of a [`Select`] type.
macro_rules! select_codec {
    ($($t:ty),* $(,)?) => {$(
        impl tls_codec::Size for $t {
            fn tls_serialized_len(&self) -> usize {
                let mut out = Vec::new();
                match $crate::codec::Select::put(self, &mut out) {
                    Ok(()) => out.len(),
                    Err(_) => 0,
                }
            }
        }
        impl tls_codec::Serialize for $t {
            fn tls_serialize<W: std::io::Write>(&self, writer: &mut W) -> Result<usize, tls_codec::Error> {
                let mut out = Vec::new();
                $crate::codec::Select::put(self, &mut out)?;
                $crate::codec::write_all(writer, &out)
            }
        }
        impl tls_codec::DeserializeBytes for $t {
            fn tls_deserialize_bytes(bytes: &[u8]) -> Result<(Self, &[u8]), tls_codec::Error> {
                <$t as $crate::codec::Select>::take(bytes)
            }
        }
    )*};
}
pub(crate) use select_codec;

/// Writes `bytes` to `writer`, counting them.
pub(crate) fn write_all<W: Write>(writer: &mut W, bytes: &[u8]) -> Result<usize, Error> {
    writer
        .write_all(bytes)
        .map_err(|e| Error::EncodingError(e.to_string()))?;
    Ok(bytes.len())
}

/// Appends `value`'s encoding to `out`.
pub(crate) fn put<T: Serialize>(out: &mut Vec<u8>, value: &T) -> Result<(), Error> {
    value.tls_serialize(out).map(|_| ())
}

/// Reads one `T` from the front of `bytes`.
pub(crate) fn take<T: DeserializeBytes>(bytes: &[u8]) -> Result<(T, &[u8]), Error> {
    T::tls_deserialize_bytes(bytes)
}

/// `enum { reserved(0), mls10(1), (255) } Protocol;`. Only mls10 is defined: anything else
/// is refused where it is read.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Protocol {
    /// MLS 1.0 (RFC 9420).
    Mls10,
}

impl Size for Protocol {
    fn tls_serialized_len(&self) -> usize {
        1
    }
}

impl Serialize for Protocol {
    fn tls_serialize<W: Write>(&self, writer: &mut W) -> Result<usize, Error> {
        write_all(writer, &[1])
    }
}

impl DeserializeBytes for Protocol {
    fn tls_deserialize_bytes(bytes: &[u8]) -> Result<(Self, &[u8]), Error> {
        let (value, rest) = u8::tls_deserialize_bytes(bytes)?;
        match value {
            1 => Ok((Self::Mls10, rest)),
            other => Err(Error::UnknownValue(other.into())),
        }
    }
}

/// `opaque<V>` holding UTF-8 text: the draft's `IdentifierUri`, `Uri`, `UTF8String` and
/// `string`. Text that is not UTF-8 or holds a control character is refused where it is
/// read (decision 0015).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
pub struct Text(String);

impl Text {
    /// `text`, if it holds no control character.
    pub fn new(text: impl Into<String>) -> Result<Self, Error> {
        let text = text.into();
        if text.chars().any(char::is_control) {
            return Err(Error::DecodingError(
                "text holds a control character".into(),
            ));
        }
        Ok(Self(text))
    }

    /// The text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Display for Text {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl Size for Text {
    fn tls_serialized_len(&self) -> usize {
        VLBytes::new(self.0.as_bytes().to_vec()).tls_serialized_len()
    }
}

impl Serialize for Text {
    fn tls_serialize<W: Write>(&self, writer: &mut W) -> Result<usize, Error> {
        tls_codec::VLByteSlice(self.0.as_bytes()).tls_serialize(writer)
    }
}

impl DeserializeBytes for Text {
    fn tls_deserialize_bytes(bytes: &[u8]) -> Result<(Self, &[u8]), Error> {
        let (raw, rest) = VLBytes::tls_deserialize_bytes(bytes)?;
        let text = String::from_utf8(raw.into())
            .map_err(|_| Error::DecodingError("text is not UTF-8".into()))?;
        Ok((Self::new(text)?, rest))
    }
}

/// The draft's `struct { opaque uri<V>; } IdentifierUri;`: a URI, as text.
pub type IdentifierUri = Text;

/// An MLS structure the draft embeds: kept as the bytes it came in (so it is written back
/// byte for byte), checked by openmls' own decoder while it is read.
pub struct Mls<K> {
    bytes: Vec<u8>,
    kind: PhantomData<fn() -> K>,
}

impl<K> Mls<K> {
    /// The structure's encoding.
    pub fn as_bytes(&self) -> &[u8] {
        &self.bytes
    }

    /// The structure's encoding, taken.
    pub fn into_bytes(self) -> Vec<u8> {
        self.bytes
    }
}

impl<K: MlsKind> Mls<K> {
    /// `bytes`, which must hold exactly one such structure.
    pub fn new(bytes: Vec<u8>) -> Result<Self, Error> {
        let (value, rest) = Self::tls_deserialize_bytes(&bytes)?;
        if rest.is_empty() {
            Ok(value)
        } else {
            Err(Error::TrailingData)
        }
    }
}

impl<K> Clone for Mls<K> {
    fn clone(&self) -> Self {
        Self {
            bytes: self.bytes.clone(),
            kind: PhantomData,
        }
    }
}

impl<K> PartialEq for Mls<K> {
    fn eq(&self, other: &Self) -> bool {
        self.bytes == other.bytes
    }
}

impl<K> Eq for Mls<K> {}

impl<K: MlsKind> std::fmt::Debug for Mls<K> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}({} bytes)", K::NAME, self.bytes.len())
    }
}

impl<K> Size for Mls<K> {
    fn tls_serialized_len(&self) -> usize {
        self.bytes.len()
    }
}

impl<K> Serialize for Mls<K> {
    fn tls_serialize<W: Write>(&self, writer: &mut W) -> Result<usize, Error> {
        write_all(writer, &self.bytes)
    }
}

impl<K: MlsKind> DeserializeBytes for Mls<K> {
    fn tls_deserialize_bytes(bytes: &[u8]) -> Result<(Self, &[u8]), Error> {
        let mut reader = bytes;
        K::check(&mut reader)?;
        let used = bytes.len() - reader.len();
        Ok((
            Self {
                bytes: bytes[..used].to_vec(),
                kind: PhantomData,
            },
            reader,
        ))
    }
}

/// One kind of embedded MLS structure: its name and the openmls decoder that checks it.
pub trait MlsKind {
    /// The draft's name for it.
    const NAME: &'static str;
    /// Reads one from the front of `reader` (advancing it), or says why it cannot.
    fn check(reader: &mut &[u8]) -> Result<(), Error>;
}

macro_rules! mls_kinds {
    ($($(#[$doc:meta])* $kind:ident = $name:literal => $ty:ty;)*) => {$(
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq)]
        pub enum $kind {}
        impl MlsKind for $kind {
            const NAME: &'static str = $name;
            fn check(reader: &mut &[u8]) -> Result<(), Error> {
                <$ty as tls_codec::Deserialize>::tls_deserialize(reader).map(|_| ())
            }
        }
    )*};
}

mls_kinds! {
    /// `MLSMessage` (RFC 9420 §6).
    MlsMessage = "MLSMessage" => MlsMessageIn;
    /// `KeyPackage` (RFC 9420 §10).
    KeyPackage = "KeyPackage" => openmls::prelude::KeyPackageIn;
    /// `GroupInfo` (RFC 9420 §12.4.3), without an MLSMessage around it.
    GroupInfo = "GroupInfo" => openmls::prelude::group_info::VerifiableGroupInfo;
    /// `Welcome` (RFC 9420 §12.4.3.1), without an MLSMessage around it.
    Welcome = "Welcome" => openmls::prelude::Welcome;
    /// `Credential` (RFC 9420 §5.3).
    Credential = "Credential" => openmls::prelude::Credential;
    /// `Capabilities` (RFC 9420 §7.2).
    Capabilities = "Capabilities" => openmls::prelude::Capabilities;
    /// `RequiredCapabilities` (RFC 9420 §11.1).
    RequiredCapabilities = "RequiredCapabilities" => openmls::prelude::RequiredCapabilitiesExtension;
    /// `ExternalSender` (RFC 9420 §12.1.8.1).
    ExternalSender = "ExternalSender" => openmls::prelude::ExternalSender;
    /// `HPKECiphertext` (RFC 9420 §7.6).
    HpkeCiphertext = "HPKECiphertext" => openmls::prelude::HpkeCiphertext;
    /// `optional<Node> ratchet_tree<V>` (RFC 9420 §12.4.3.3).
    RatchetTree = "ratchet_tree" => openmls::prelude::RatchetTreeIn;
    /// `AppDataDictionary` (draft-ietf-mls-extensions).
    AppDataDictionary = "AppDataDictionary" => openmls::prelude::AppDataDictionary;
}

/// What an embedded `MLSMessage` is, as far as the draft's `select`s ask.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MessageKind {
    /// A PublicMessage or PrivateMessage carrying an application message.
    Application,
    /// A PublicMessage or PrivateMessage carrying a proposal.
    Proposal,
    /// A PublicMessage or PrivateMessage carrying a commit.
    Commit,
    /// A Welcome.
    Welcome,
    /// A GroupInfo or KeyPackage, which no `select` of the draft names.
    Other,
}

impl Mls<MlsMessage> {
    /// What the message is.
    pub fn kind(&self) -> MessageKind {
        let Ok(message) =
            <MlsMessageIn as tls_codec::Deserialize>::tls_deserialize(&mut self.bytes.as_slice())
        else {
            return MessageKind::Other;
        };
        let content_type = match message.extract() {
            MlsMessageBodyIn::PublicMessage(m) => m.content_type(),
            MlsMessageBodyIn::PrivateMessage(m) => m.content_type(),
            MlsMessageBodyIn::Welcome(_) => return MessageKind::Welcome,
            _ => return MessageKind::Other,
        };
        match content_type {
            ContentType::Application => MessageKind::Application,
            ContentType::Proposal => MessageKind::Proposal,
            ContentType::Commit => MessageKind::Commit,
        }
    }
}

impl Mls<MlsMessage> {
    /// The epoch of a PublicMessage or PrivateMessage (in the clear in both).
    pub fn epoch(&self) -> Option<u64> {
        let message =
            <MlsMessageIn as tls_codec::Deserialize>::tls_deserialize(&mut self.bytes.as_slice())
                .ok()?;
        match message.extract() {
            MlsMessageBodyIn::PublicMessage(m) => Some(m.epoch().as_u64()),
            MlsMessageBodyIn::PrivateMessage(m) => Some(m.epoch().as_u64()),
            _ => None,
        }
    }
}

/// `opaque<V>` as plain bytes.
pub type Opaque = VLBytes;

/// A one-byte code whose values `TryFrom<u8>` names; unknown values are refused.
pub(crate) fn code<T: TryFrom<u8>>(bytes: &[u8]) -> Result<(T, &[u8]), Error> {
    let (value, rest) = u8::tls_deserialize_bytes(bytes)?;
    let code = T::try_from(value).map_err(|_| Error::UnknownValue(value.into()))?;
    Ok((code, rest))
}

/// One-byte enumerations: their values, both ways.
macro_rules! byte_enum {
    ($(#[$doc:meta])* $name:ident { $($(#[$vdoc:meta])* $variant:ident = $value:literal,)* }) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub enum $name {
            $($(#[$vdoc])* $variant = $value,)*
        }
        impl TryFrom<u8> for $name {
            type Error = u8;
            fn try_from(value: u8) -> Result<Self, u8> {
                match value {
                    $($value => Ok(Self::$variant),)*
                    other => Err(other),
                }
            }
        }
        impl tls_codec::Size for $name {
            fn tls_serialized_len(&self) -> usize { 1 }
        }
        impl tls_codec::Serialize for $name {
            fn tls_serialize<W: std::io::Write>(&self, writer: &mut W) -> Result<usize, tls_codec::Error> {
                $crate::codec::write_all(writer, &[*self as u8])
            }
        }
        impl tls_codec::DeserializeBytes for $name {
            fn tls_deserialize_bytes(bytes: &[u8]) -> Result<(Self, &[u8]), tls_codec::Error> {
                $crate::codec::code(bytes)
            }
        }
    };
}
pub(crate) use byte_enum;

/// `SignWithLabel`'s signed content (RFC 9420 §5.1.2): `struct { opaque label<V> = "MLS 1.0
/// " + label; opaque content<V>; } SignContent;`.
pub fn sign_content(label: &str, content: &[u8]) -> Result<Vec<u8>, Error> {
    let mut out = Vec::new();
    put(
        &mut out,
        &tls_codec::VLByteSlice(format!("MLS 1.0 {label}").as_bytes()),
    )?;
    put(&mut out, &tls_codec::VLByteSlice(content))?;
    Ok(out)
}

/// The embedded structures an `MLSMessage` can also carry, with its wire format: the draft
/// embeds them bare, while clients and the store keep them inside an `MLSMessage`.
pub trait Wrapped: MlsKind {
    /// The `WireFormat` value (RFC 9420 §6).
    const WIRE_FORMAT: u16;
}

impl Wrapped for Welcome {
    const WIRE_FORMAT: u16 = 3;
}

impl Wrapped for GroupInfo {
    const WIRE_FORMAT: u16 = 4;
}

impl Wrapped for KeyPackage {
    const WIRE_FORMAT: u16 = 5;
}

impl<K: Wrapped> Mls<K> {
    /// The structure inside `message`, an `MLSMessage` (mls10) of its wire format.
    pub fn from_message(message: &[u8]) -> Result<Self, Error> {
        let [0, 1, hi, lo, body @ ..] = message else {
            return Err(Error::DecodingError(format!(
                "not an MLS 1.0 message holding a {}",
                K::NAME
            )));
        };
        if u16::from_be_bytes([*hi, *lo]) != K::WIRE_FORMAT {
            return Err(Error::DecodingError(format!(
                "the MLS message does not hold a {}",
                K::NAME
            )));
        }
        Self::new(body.to_vec())
    }

    /// The structure inside an `MLSMessage` (mls10).
    pub fn to_message(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(self.bytes.len() + 4);
        out.extend_from_slice(&[0, 1]);
        out.extend_from_slice(&K::WIRE_FORMAT.to_be_bytes());
        out.extend_from_slice(&self.bytes);
        out
    }
}
