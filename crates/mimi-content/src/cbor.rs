//! The draft's CBOR: a message as a `ciborium::Value` tree, checked field by field, and
//! back. Decoding re-encodes what it read and refuses input that differs: the draft requires
//! deterministic encoding (RFC 8949 §4.2.1), so there is exactly one encoding of a message,
//! the one its message ID is computed over.

use ciborium::value::Integer;

use crate::{
    ContentError, DerivedValues, Disposition, Expiration, ExtensionKey, ExternalPart, MAX_DEPTH,
    MAX_EXTENSION_INT, MAX_EXTENSION_KEY, MAX_EXTENSION_VALUE, MessageId, MimiContent, NestedPart,
    PartBody, PartSemantics, Value,
};

/// How deep the CBOR reader follows nested items before giving up (a nesting bomb stops
/// here, long before the stack is at risk); the draft's own limits are checked after.
const READ_DEPTH: usize = 16;

/// The longest topic ID, language or media type accepted, in bytes.
const MAX_SHORT: usize = 4096;

pub(crate) fn decode(bytes: &[u8]) -> Result<MimiContent, ContentError> {
    let mut rest = bytes;
    let value: Value = ciborium::de::from_reader_with_recursion_limit(&mut rest, READ_DEPTH)
        .map_err(|e| ContentError::Cbor(format!("{e:?}")))?;
    if !rest.is_empty() {
        return Err(ContentError::Cbor(format!(
            "{} bytes follow the message",
            rest.len()
        )));
    }
    let content = content_of(value)?;
    if encode(&content)? != bytes {
        return Err(ContentError::NotDeterministic(
            "a length, an integer or a map order is not in its shortest or sorted form".into(),
        ));
    }
    Ok(content)
}

pub(crate) fn encode(content: &MimiContent) -> Result<Vec<u8>, ContentError> {
    let value = value_of(content)?;
    to_bytes(&value)
}

pub(crate) fn decode_derived(input: &[u8]) -> Result<DerivedValues, ContentError> {
    let mut rest = input;
    let value: Value = ciborium::de::from_reader_with_recursion_limit(&mut rest, READ_DEPTH)
        .map_err(|e| ContentError::Cbor(format!("{e:?}")))?;
    if !rest.is_empty() {
        return Err(ContentError::Cbor(format!(
            "{} bytes follow the values",
            rest.len()
        )));
    }
    let Value::Array(items) = value else {
        return Err(shape("messageDerivedValues", "an array of 7 fields"));
    };
    let [id, accepted, group, leaf, client, user, room]: [Value; 7] = items
        .try_into()
        .map_err(|_| shape("messageDerivedValues", "an array of 7 fields"))?;
    let derived = DerivedValues {
        message_id: message_id(id, "messageId")?
            .ok_or_else(|| shape("messageId", "a 32-octet message ID"))?,
        hub_accepted_timestamp: uint(accepted, "hubAcceptedTimestamp", u64::MAX)?,
        mls_group_id: bytes(group, "mlsGroupId", MAX_SHORT)?,
        sender_leaf_index: u32::try_from(uint(leaf, "senderLeafIndex", u32::MAX.into())?)
            .unwrap_or(u32::MAX),
        sender_client_url: text(client, "senderClientUrl", MAX_SHORT)?,
        sender_user_url: text(user, "senderUserUrl", MAX_SHORT)?,
        room_url: text(room, "roomUrl", MAX_SHORT)?,
    };
    if encode_derived(&derived)? != input {
        return Err(ContentError::NotDeterministic(
            "a length or an integer is not in its shortest form".into(),
        ));
    }
    Ok(derived)
}

pub(crate) fn encode_derived(d: &DerivedValues) -> Result<Vec<u8>, ContentError> {
    to_bytes(&Value::Array(vec![
        Value::Bytes(d.message_id.0.to_vec()),
        uint_value(d.hub_accepted_timestamp),
        Value::Bytes(d.mls_group_id.clone()),
        uint_value(d.sender_leaf_index),
        Value::Text(d.sender_client_url.clone()),
        Value::Text(d.sender_user_url.clone()),
        Value::Text(d.room_url.clone()),
    ]))
}

fn to_bytes(value: &Value) -> Result<Vec<u8>, ContentError> {
    let mut out = Vec::new();
    ciborium::ser::into_writer(value, &mut out)
        .map_err(|e| ContentError::Cbor(format!("{e:?}")))?;
    Ok(out)
}

// ---- reading ----

fn shape(path: &str, message: &str) -> ContentError {
    ContentError::shape(path, message)
}

fn bytes(v: Value, path: &str, max: usize) -> Result<Vec<u8>, ContentError> {
    match v {
        Value::Bytes(b) if b.len() <= max => Ok(b),
        Value::Bytes(_) => Err(shape(path, &format!("at most {max} octets"))),
        _ => Err(shape(path, "a byte string")),
    }
}

fn text(v: Value, path: &str, max: usize) -> Result<String, ContentError> {
    match v {
        Value::Text(t) if t.len() <= max => Ok(t),
        Value::Text(_) => Err(shape(path, &format!("at most {max} bytes"))),
        _ => Err(shape(path, "a text string")),
    }
}

fn uint(v: Value, path: &str, max: u64) -> Result<u64, ContentError> {
    match v {
        Value::Integer(i) => match u64::try_from(i) {
            Ok(n) if n <= max => Ok(n),
            _ => Err(shape(path, &format!("an unsigned integer up to {max}"))),
        },
        _ => Err(shape(path, "an unsigned integer")),
    }
}

fn message_id(v: Value, path: &str) -> Result<Option<MessageId>, ContentError> {
    match v {
        Value::Null => Ok(None),
        Value::Bytes(b) => <[u8; 32]>::try_from(b.as_slice())
            .map(|id| Some(MessageId(id)))
            .map_err(|_| shape(path, "null or a 32-octet message ID")),
        _ => Err(shape(path, "null or a 32-octet message ID")),
    }
}

fn expiration(v: Value) -> Result<Option<Expiration>, ContentError> {
    let Value::Array(items) = v else {
        return match v {
            Value::Null => Ok(None),
            _ => Err(shape("expires", "null or [relative, time]")),
        };
    };
    let [relative, time]: [Value; 2] = items
        .try_into()
        .map_err(|_| shape("expires", "null or [relative, time]"))?;
    let Value::Bool(relative) = relative else {
        return Err(shape("expires.relative", "a boolean"));
    };
    let time = uint(time, "expires.time", u64::from(u32::MAX))?;
    Ok(Some(Expiration {
        relative,
        time: u32::try_from(time).unwrap_or(u32::MAX),
    }))
}

fn content_of(value: Value) -> Result<MimiContent, ContentError> {
    let Value::Array(items) = value else {
        return Err(shape("mimiContent", "an array of 7 fields"));
    };
    let [salt, replaces, topic, expires, reply, extensions, body]: [Value; 7] = items
        .try_into()
        .map_err(|_| shape("mimiContent", "an array of 7 fields"))?;
    let salt = <[u8; 16]>::try_from(bytes(salt, "salt", 16)?.as_slice())
        .map_err(|_| shape("salt", "16 octets"))?;
    Ok(MimiContent {
        salt,
        replaces: message_id(replaces, "replaces")?,
        topic_id: bytes(topic, "topicId", MAX_SHORT)?,
        expires: expiration(expires)?,
        in_reply_to: message_id(reply, "inReplyTo")?,
        extensions: extensions_of(extensions)?,
        nested_part: part_of(body, "nestedPart", 1)?,
    })
}

fn extension_key(key: Value) -> Result<ExtensionKey, ContentError> {
    match key {
        Value::Integer(i) => i64::try_from(i)
            .ok()
            .filter(|n| n.unsigned_abs() <= MAX_EXTENSION_INT.unsigned_abs())
            .map(ExtensionKey::Int)
            .ok_or_else(|| shape("mimiExtensions", "an integer key beyond 2^53 - 1")),
        Value::Text(t) if !t.is_empty() && t.len() <= MAX_EXTENSION_KEY => {
            Ok(ExtensionKey::Text(t))
        }
        _ => Err(shape(
            "mimiExtensions",
            "keys are integers or text strings of 1 to 255 bytes",
        )),
    }
}

fn extensions_of(v: Value) -> Result<Vec<(ExtensionKey, Value)>, ContentError> {
    let Value::Map(pairs) = v else {
        return Err(shape("mimiExtensions", "a map"));
    };
    let mut out = Vec::with_capacity(pairs.len());
    for (key, value) in pairs {
        out.push((extension_key(key)?, value));
    }
    check_extensions(&out)?;
    Ok(out)
}

/// The draft's limits on extensions: sorted keys, each once; values of at most 4095
/// encoded bytes; the map and what is in it at most 4 levels of containers deep; maps
/// inside keyed by integers, text or bytes only.
fn check_extensions(extensions: &[(ExtensionKey, Value)]) -> Result<(), ContentError> {
    let keys = extensions
        .iter()
        .map(|(k, _)| to_bytes(&key_value(k)))
        .collect::<Result<Vec<_>, _>>()?;
    if keys.windows(2).any(|w| w[0] >= w[1]) {
        return Err(ContentError::NotDeterministic(
            "extension keys must be sorted, each once".into(),
        ));
    }
    for (key, value) in extensions {
        if 1 + depth(value)? > MAX_DEPTH {
            return Err(ContentError::TooDeep("extensions"));
        }
        if to_bytes(value)?.len() > MAX_EXTENSION_VALUE {
            return Err(shape(
                &format!("mimiExtensions.{}", key_name(key)),
                "a value of at most 4095 encoded bytes",
            ));
        }
    }
    Ok(())
}

fn key_name(key: &ExtensionKey) -> String {
    match key {
        ExtensionKey::Int(n) => n.to_string(),
        ExtensionKey::Text(t) => t.clone(),
    }
}

/// Levels of containers (arrays, maps, tags) in `v`; checks the maps inside on the way.
fn depth(v: &Value) -> Result<usize, ContentError> {
    let inner = match v {
        Value::Array(items) => items
            .iter()
            .map(depth)
            .try_fold(0, |m, d| d.map(|d| m.max(d)))?,
        Value::Tag(_, inner) => depth(inner)?,
        Value::Map(pairs) => {
            let keys = pairs
                .iter()
                .map(|(k, _)| match k {
                    Value::Integer(_) | Value::Text(_) | Value::Bytes(_) => to_bytes(k),
                    _ => Err(shape(
                        "mimiExtensions",
                        "map keys inside extensions are integers, text or bytes",
                    )),
                })
                .collect::<Result<Vec<_>, _>>()?;
            if keys.windows(2).any(|w| w[0] >= w[1]) {
                return Err(ContentError::NotDeterministic(
                    "map keys inside extensions must be sorted, each once".into(),
                ));
            }
            pairs
                .iter()
                .map(|(_, v)| depth(v))
                .try_fold(0, |m, d| d.map(|d| m.max(d)))?
        }
        _ => return Ok(0),
    };
    Ok(1 + inner)
}

fn part_of(v: Value, path: &str, level: usize) -> Result<NestedPart, ContentError> {
    if level > MAX_DEPTH {
        return Err(ContentError::TooDeep("parts"));
    }
    let Value::Array(items) = v else {
        return Err(shape(
            path,
            "a part: [disposition, language, cardinality, ...]",
        ));
    };
    let n = items.len();
    let mut it = items.into_iter();
    let mut next = |field: &str| {
        it.next()
            .ok_or_else(|| shape(&format!("{path}.{field}"), "missing"))
    };
    let disposition = u8::try_from(uint(
        next("disposition")?,
        &format!("{path}.disposition"),
        255,
    )?)
    .unwrap_or(u8::MAX);
    let language = text(next("language")?, &format!("{path}.language"), MAX_SHORT)?;
    let cardinality = uint(next("cardinality")?, &format!("{path}.cardinality"), 3)?;
    let want = match cardinality {
        0 => 3,
        1 | 3 => 5,
        _ => 15,
    };
    if n != want {
        return Err(shape(
            path,
            &format!("a part of cardinality {cardinality} has {want} fields, not {n}"),
        ));
    }
    let field = |name: &str| format!("{path}.{name}");
    let body = match cardinality {
        0 => PartBody::Null,
        1 => PartBody::Single {
            content_type: text(next("contentType")?, &field("contentType"), MAX_SHORT)?,
            content: match next("content")? {
                Value::Bytes(b) => b,
                _ => return Err(shape(&field("content"), "a byte string")),
            },
        },
        2 => PartBody::External(Box::new(ExternalPart {
            content_type: text(next("contentType")?, &field("contentType"), MAX_SHORT)?,
            url: text(next("url")?, &field("url"), MAX_SHORT)?,
            expires: u32::try_from(uint(next("expires")?, &field("expires"), u32::MAX.into())?)
                .unwrap_or(u32::MAX),
            size: uint(next("size")?, &field("size"), u64::MAX)?,
            enc_alg: u16::try_from(uint(next("encAlg")?, &field("encAlg"), u16::MAX.into())?)
                .unwrap_or(u16::MAX),
            key: bytes(next("key")?, &field("key"), MAX_SHORT)?,
            nonce: bytes(next("nonce")?, &field("nonce"), MAX_SHORT)?,
            aad: bytes(next("aad")?, &field("aad"), MAX_SHORT)?,
            hash_alg: u8::try_from(uint(next("hashAlg")?, &field("hashAlg"), 255)?)
                .unwrap_or(u8::MAX),
            content_hash: bytes(next("contentHash")?, &field("contentHash"), MAX_SHORT)?,
            description: text(next("description")?, &field("description"), MAX_SHORT)?,
            filename: text(next("filename")?, &field("filename"), MAX_SHORT)?,
        })),
        _ => {
            let semantics = uint(next("partSemantics")?, &field("partSemantics"), 2)?;
            let semantics = PartSemantics::from_code(semantics)
                .ok_or_else(|| shape(&field("partSemantics"), "0, 1 or 2"))?;
            let Value::Array(parts) = next("parts")? else {
                return Err(shape(&field("parts"), "an array of parts"));
            };
            if parts.len() < 2 {
                return Err(shape(&field("parts"), "at least 2 parts"));
            }
            let parts = parts
                .into_iter()
                .enumerate()
                .map(|(i, p)| part_of(p, &format!("{path}.parts[{i}]"), level + 1))
                .collect::<Result<Vec<_>, _>>()?;
            PartBody::Multi { semantics, parts }
        }
    };
    Ok(NestedPart {
        disposition: Disposition(disposition),
        language,
        body,
    })
}

// ---- writing ----

fn key_value(key: &ExtensionKey) -> Value {
    match key {
        ExtensionKey::Int(n) => Value::Integer(Integer::from(*n)),
        ExtensionKey::Text(t) => Value::Text(t.clone()),
    }
}

fn id_value(id: &Option<MessageId>) -> Value {
    id.map_or(Value::Null, |id| Value::Bytes(id.0.to_vec()))
}

fn uint_value(n: impl Into<u64>) -> Value {
    Value::Integer(Integer::from(n.into()))
}

fn value_of(c: &MimiContent) -> Result<Value, ContentError> {
    for (key, _) in &c.extensions {
        match key {
            ExtensionKey::Int(n) if n.unsigned_abs() > MAX_EXTENSION_INT.unsigned_abs() => {
                return Err(shape("mimiExtensions", "an integer key beyond 2^53 - 1"));
            }
            ExtensionKey::Text(t) if t.is_empty() || t.len() > MAX_EXTENSION_KEY => {
                return Err(shape("mimiExtensions", "a text key of 1 to 255 bytes"));
            }
            _ => {}
        }
    }
    // Written in the deterministic order, whatever order they were given in.
    let mut keyed = c
        .extensions
        .iter()
        .map(|(k, v)| Ok((to_bytes(&key_value(k))?, k.clone(), sorted(v)?)))
        .collect::<Result<Vec<_>, ContentError>>()?;
    keyed.sort_by(|a, b| a.0.cmp(&b.0));
    if keyed.windows(2).any(|w| w[0].0 == w[1].0) {
        return Err(shape("mimiExtensions", "a key appears twice"));
    }
    let extensions: Vec<(ExtensionKey, Value)> =
        keyed.into_iter().map(|(_, k, v)| (k, v)).collect();
    check_extensions(&extensions)?;
    if c.nested_part.depth() > MAX_DEPTH {
        return Err(ContentError::TooDeep("parts"));
    }
    Ok(Value::Array(vec![
        Value::Bytes(c.salt.to_vec()),
        id_value(&c.replaces),
        Value::Bytes(c.topic_id.clone()),
        c.expires.map_or(Value::Null, |e| {
            Value::Array(vec![Value::Bool(e.relative), uint_value(e.time)])
        }),
        id_value(&c.in_reply_to),
        Value::Map(
            extensions
                .iter()
                .map(|(k, v)| (key_value(k), v.clone()))
                .collect(),
        ),
        part_value(&c.nested_part)?,
    ]))
}

/// `v` with every map inside in the deterministic key order.
fn sorted(v: &Value) -> Result<Value, ContentError> {
    Ok(match v {
        Value::Array(items) => Value::Array(items.iter().map(sorted).collect::<Result<_, _>>()?),
        Value::Tag(tag, inner) => Value::Tag(*tag, Box::new(sorted(inner)?)),
        Value::Map(pairs) => {
            let mut keyed = pairs
                .iter()
                .map(|(k, v)| Ok((to_bytes(k)?, k.clone(), sorted(v)?)))
                .collect::<Result<Vec<_>, ContentError>>()?;
            keyed.sort_by(|a, b| a.0.cmp(&b.0));
            Value::Map(keyed.into_iter().map(|(_, k, v)| (k, v)).collect())
        }
        other => other.clone(),
    })
}

fn part_value(p: &NestedPart) -> Result<Value, ContentError> {
    let mut out = vec![uint_value(p.disposition.0), Value::Text(p.language.clone())];
    match &p.body {
        PartBody::Null => out.push(uint_value(0u8)),
        PartBody::Single {
            content_type,
            content,
        } => out.extend([
            uint_value(1u8),
            Value::Text(content_type.clone()),
            Value::Bytes(content.clone()),
        ]),
        PartBody::External(e) => out.extend([
            uint_value(2u8),
            Value::Text(e.content_type.clone()),
            Value::Text(e.url.clone()),
            uint_value(e.expires),
            uint_value(e.size),
            uint_value(e.enc_alg),
            Value::Bytes(e.key.clone()),
            Value::Bytes(e.nonce.clone()),
            Value::Bytes(e.aad.clone()),
            uint_value(e.hash_alg),
            Value::Bytes(e.content_hash.clone()),
            Value::Text(e.description.clone()),
            Value::Text(e.filename.clone()),
        ]),
        PartBody::Multi { semantics, parts } => {
            if parts.len() < 2 {
                return Err(shape("parts", "at least 2 parts"));
            }
            out.extend([
                uint_value(3u8),
                uint_value(semantics.code()),
                Value::Array(parts.iter().map(part_value).collect::<Result<_, _>>()?),
            ]);
        }
    }
    Ok(Value::Array(out))
}
