//! A message as JSON, in the draft's field names, for people and tools; it converts back to
//! exactly the same message (`mimi content decode --json` and `mimi content encode`).
//!
//! Octet strings are hex (`salt`, `replaces`, `topicId`, `inReplyTo`, an external part's
//! `key`, `nonce`, `aad` and `contentHash`). A part's `content` is a JSON string when it is
//! UTF-8, else `{"hex": "..."}`. Extensions are `[key, value]` pairs, a value being
//! JSON where CBOR and JSON agree (null, booleans, integers, text, arrays) and
//! `{"hex": ...}`, `{"float": "<its 64 bits in hex>"}`, `{"int": "..."}` (beyond 64 bits), `{"map": [[k, v],
//! ...]}` or `{"tag": n, "value": v}` where they do not.

use ciborium::value::Integer;
use serde_json::{Map, Value as Json, json};

use crate::{
    ContentError, Disposition, Expiration, ExtensionKey, ExternalPart, MessageId, MimiContent,
    NestedPart, PartBody, PartSemantics, Value, hex, unhex,
};

fn bad(path: &str, message: &str) -> ContentError {
    ContentError::shape(path, message)
}

/// The message as JSON; with `id`, its `messageId` first.
pub fn to_json(c: &MimiContent, id: Option<&MessageId>) -> Json {
    let mut out = Map::new();
    if let Some(id) = id {
        out.insert("messageId".into(), json!(id.to_hex()));
    }
    let id = |i: &Option<MessageId>| i.map_or(Json::Null, |i| json!(i.to_hex()));
    out.insert("salt".into(), json!(hex(&c.salt)));
    out.insert("replaces".into(), id(&c.replaces));
    out.insert("topicId".into(), json!(hex(&c.topic_id)));
    out.insert(
        "expires".into(),
        c.expires.map_or(
            Json::Null,
            |e| json!({"relative": e.relative, "time": e.time}),
        ),
    );
    out.insert("inReplyTo".into(), id(&c.in_reply_to));
    out.insert(
        "mimiExtensions".into(),
        Json::Array(
            c.extensions
                .iter()
                .map(|(k, v)| {
                    let key = match k {
                        ExtensionKey::Int(n) => json!(n),
                        ExtensionKey::Text(t) => json!(t),
                    };
                    json!([key, value_to_json(v)])
                })
                .collect(),
        ),
    );
    out.insert("nestedPart".into(), part_to_json(&c.nested_part));
    Json::Object(out)
}

/// The `content` of a part: a string when it is UTF-8.
fn content_json(bytes: &[u8]) -> Json {
    match std::str::from_utf8(bytes) {
        Ok(text) => json!(text),
        Err(_) => json!({"hex": hex(bytes)}),
    }
}

fn part_to_json(p: &NestedPart) -> Json {
    let mut out = Map::new();
    out.insert(
        "disposition".into(),
        p.disposition
            .name()
            .map_or_else(|| json!(p.disposition.0), |n| json!(n)),
    );
    out.insert("language".into(), json!(p.language));
    match &p.body {
        PartBody::Null => {
            out.insert("cardinality".into(), json!("nullpart"));
        }
        PartBody::Single {
            content_type,
            content,
        } => {
            out.insert("cardinality".into(), json!("single"));
            out.insert("contentType".into(), json!(content_type));
            out.insert("content".into(), content_json(content));
        }
        PartBody::External(e) => {
            out.insert("cardinality".into(), json!("external"));
            for (k, v) in [
                ("contentType", json!(e.content_type)),
                ("url", json!(e.url)),
                ("expires", json!(e.expires)),
                ("size", json!(e.size)),
                ("encAlg", json!(e.enc_alg)),
                ("key", json!(hex(&e.key))),
                ("nonce", json!(hex(&e.nonce))),
                ("aad", json!(hex(&e.aad))),
                ("hashAlg", json!(e.hash_alg)),
                ("contentHash", json!(hex(&e.content_hash))),
                ("description", json!(e.description)),
                ("filename", json!(e.filename)),
            ] {
                out.insert(k.into(), v);
            }
        }
        PartBody::Multi { semantics, parts } => {
            out.insert("cardinality".into(), json!("multi"));
            out.insert("partSemantics".into(), json!(semantics.name()));
            out.insert(
                "parts".into(),
                Json::Array(parts.iter().map(part_to_json).collect()),
            );
        }
    }
    Json::Object(out)
}

/// A CBOR value inside extensions as JSON (see the module's notes).
pub fn value_to_json(v: &Value) -> Json {
    match v {
        Value::Null => Json::Null,
        Value::Bool(b) => json!(b),
        Value::Text(t) => json!(t),
        Value::Integer(i) => {
            let n = i128::from(*i);
            match (i64::try_from(n), u64::try_from(n)) {
                (Ok(n), _) => json!(n),
                (_, Ok(n)) => json!(n),
                _ => json!({"int": n.to_string()}),
            }
        }
        Value::Bytes(b) => json!({"hex": hex(b)}),
        // By its bits: a decimal form may not come back as the same number.
        Value::Float(f) => json!({"float": format!("{:016x}", f.to_bits())}),
        Value::Array(items) => Json::Array(items.iter().map(value_to_json).collect()),
        Value::Map(pairs) => json!({
            "map": pairs
                .iter()
                .map(|(k, v)| json!([value_to_json(k), value_to_json(v)]))
                .collect::<Vec<_>>()
        }),
        Value::Tag(tag, inner) => json!({"tag": tag, "value": value_to_json(inner)}),
        // Newer ciborium value kinds, if any: shown, not converted back.
        _ => json!({"unsupported": format!("{v:?}")}),
    }
}

/// A value written by [`value_to_json`], back.
pub fn value_from_json(j: &Json, path: &str) -> Result<Value, ContentError> {
    Ok(match j {
        Json::Null => Value::Null,
        Json::Bool(b) => Value::Bool(*b),
        Json::String(s) => Value::Text(s.clone()),
        Json::Number(n) => match (n.as_i64(), n.as_u64()) {
            (Some(i), _) => Value::Integer(Integer::from(i)),
            (_, Some(u)) => Value::Integer(Integer::from(u)),
            _ => return Err(bad(path, "a float is written {\"float\": x}")),
        },
        Json::Array(items) => Value::Array(
            items
                .iter()
                .enumerate()
                .map(|(i, v)| value_from_json(v, &format!("{path}[{i}]")))
                .collect::<Result<_, _>>()?,
        ),
        Json::Object(o) => {
            let only = |key: &str| o.len() == 1 && o.contains_key(key);
            if only("hex") {
                Value::Bytes(unhex(o["hex"].as_str().unwrap_or("?"))?)
            } else if only("float") {
                let bits = o["float"]
                    .as_str()
                    .filter(|s| s.len() == 16)
                    .and_then(|s| unhex(s).ok())
                    .and_then(|b| <[u8; 8]>::try_from(b.as_slice()).ok())
                    .ok_or_else(|| bad(path, "a float is its 64 bits, 16 hex digits"))?;
                Value::Float(f64::from_bits(u64::from_be_bytes(bits)))
            } else if only("int") {
                let n: i128 = o["int"]
                    .as_str()
                    .and_then(|s| s.parse().ok())
                    .ok_or_else(|| bad(path, "{\"int\": \"decimal digits\"}"))?;
                Value::Integer(
                    Integer::try_from(n).map_err(|_| bad(path, "an integer CBOR can hold"))?,
                )
            } else if only("map") {
                let Json::Array(pairs) = &o["map"] else {
                    return Err(bad(path, "{\"map\": [[key, value], ...]}"));
                };
                Value::Map(
                    pairs
                        .iter()
                        .map(|pair| match pair.as_array().map(Vec::as_slice) {
                            Some([k, v]) => {
                                Ok((value_from_json(k, path)?, value_from_json(v, path)?))
                            }
                            _ => Err(bad(path, "{\"map\": [[key, value], ...]}")),
                        })
                        .collect::<Result<_, _>>()?,
                )
            } else if o.len() == 2 && o.contains_key("tag") && o.contains_key("value") {
                let tag = o["tag"]
                    .as_u64()
                    .ok_or_else(|| bad(path, "a tag is an unsigned integer"))?;
                Value::Tag(tag, Box::new(value_from_json(&o["value"], path)?))
            } else {
                return Err(bad(
                    path,
                    "an object stands for hex, float, int, map or tag only",
                ));
            }
        }
    })
}

/// Reads the fields of an object, refusing any it does not name.
struct Fields<'a> {
    object: &'a Map<String, Json>,
    path: String,
    used: Vec<&'static str>,
}

impl<'a> Fields<'a> {
    fn of(j: &'a Json, path: &str) -> Result<Self, ContentError> {
        let object = j.as_object().ok_or_else(|| bad(path, "an object"))?;
        Ok(Self {
            object,
            path: path.to_owned(),
            used: Vec::new(),
        })
    }

    fn path(&self, key: &str) -> String {
        format!("{}.{key}", self.path)
    }

    fn get(&mut self, key: &'static str) -> Result<&'a Json, ContentError> {
        self.used.push(key);
        self.object
            .get(key)
            .ok_or_else(|| bad(&self.path(key), "missing"))
    }

    fn optional(&mut self, key: &'static str) -> Option<&'a Json> {
        self.used.push(key);
        self.object.get(key)
    }

    fn text(&mut self, key: &'static str) -> Result<String, ContentError> {
        let path = self.path(key);
        self.get(key)?
            .as_str()
            .map(str::to_owned)
            .ok_or_else(|| bad(&path, "a string"))
    }

    fn hex(&mut self, key: &'static str) -> Result<Vec<u8>, ContentError> {
        let path = self.path(key);
        let text = self
            .get(key)?
            .as_str()
            .ok_or_else(|| bad(&path, "hex digits"))?;
        unhex(text).map_err(|_| bad(&path, "hex digits"))
    }

    fn uint(&mut self, key: &'static str, max: u64) -> Result<u64, ContentError> {
        let path = self.path(key);
        self.get(key)?
            .as_u64()
            .filter(|n| *n <= max)
            .ok_or_else(|| bad(&path, &format!("an unsigned integer up to {max}")))
    }

    fn id(&mut self, key: &'static str) -> Result<Option<MessageId>, ContentError> {
        let path = self.path(key);
        match self.get(key)? {
            Json::Null => Ok(None),
            Json::String(s) => MessageId::from_hex(s)
                .map(Some)
                .map_err(|_| bad(&path, "null or 64 hex digits")),
            _ => Err(bad(&path, "null or 64 hex digits")),
        }
    }

    /// Refuses the fields it was not asked for.
    fn done(self) -> Result<(), ContentError> {
        match self
            .object
            .keys()
            .find(|k| !self.used.contains(&k.as_str()))
        {
            Some(k) => Err(bad(&self.path, &format!("unknown field `{k}`"))),
            None => Ok(()),
        }
    }
}

/// A message written by [`to_json`] (its `messageId`, if any, is ignored: it follows from
/// the message).
pub fn from_json(j: &Json) -> Result<MimiContent, ContentError> {
    let mut f = Fields::of(j, "mimiContent")?;
    f.optional("messageId");
    let salt = <[u8; 16]>::try_from(f.hex("salt")?.as_slice())
        .map_err(|_| bad("salt", "16 octets (32 hex digits)"))?;
    let replaces = f.id("replaces")?;
    let topic_id = f.hex("topicId")?;
    let expires = match f.get("expires")? {
        Json::Null => None,
        e => {
            let mut e = Fields::of(e, "expires")?;
            let relative = e
                .get("relative")?
                .as_bool()
                .ok_or_else(|| bad("expires.relative", "a boolean"))?;
            let time = e.uint("time", u32::MAX.into())?;
            e.done()?;
            Some(Expiration {
                relative,
                time: u32::try_from(time).unwrap_or(u32::MAX),
            })
        }
    };
    let in_reply_to = f.id("inReplyTo")?;
    let Json::Array(pairs) = f.get("mimiExtensions")? else {
        return Err(bad("mimiExtensions", "an array of [key, value] pairs"));
    };
    let extensions = pairs
        .iter()
        .map(|pair| match pair.as_array().map(Vec::as_slice) {
            Some([Json::Number(n), v]) => {
                let n = n
                    .as_i64()
                    .ok_or_else(|| bad("mimiExtensions", "an integer key"))?;
                Ok((ExtensionKey::Int(n), value_from_json(v, "mimiExtensions")?))
            }
            Some([Json::String(k), v]) => Ok((
                ExtensionKey::Text(k.clone()),
                value_from_json(v, "mimiExtensions")?,
            )),
            _ => Err(bad("mimiExtensions", "an array of [key, value] pairs")),
        })
        .collect::<Result<Vec<_>, _>>()?;
    let nested_part = part_from_json(f.get("nestedPart")?, "nestedPart")?;
    f.done()?;
    Ok(MimiContent {
        salt,
        replaces,
        topic_id,
        expires,
        in_reply_to,
        extensions,
        nested_part,
    })
}

fn part_from_json(j: &Json, path: &str) -> Result<NestedPart, ContentError> {
    let mut f = Fields::of(j, path)?;
    let disposition = match f.get("disposition")? {
        Json::String(name) => Disposition::from_name(name).ok_or_else(|| {
            bad(
                &format!("{path}.disposition"),
                "a registered name or 0 to 255",
            )
        })?,
        Json::Number(n) => n
            .as_u64()
            .and_then(|n| u8::try_from(n).ok())
            .map(Disposition)
            .ok_or_else(|| {
                bad(
                    &format!("{path}.disposition"),
                    "a registered name or 0 to 255",
                )
            })?,
        _ => return Err(bad(&format!("{path}.disposition"), "a name or a number")),
    };
    let language = f.text("language")?;
    let cardinality = f.text("cardinality")?;
    let body = match cardinality.as_str() {
        "nullpart" => PartBody::Null,
        "single" => {
            let content_type = f.text("contentType")?;
            let content = match f.get("content")? {
                Json::String(s) => s.as_bytes().to_vec(),
                other => {
                    let mut c = Fields::of(other, &format!("{path}.content"))?;
                    let bytes = c.hex("hex")?;
                    c.done()?;
                    bytes
                }
            };
            PartBody::Single {
                content_type,
                content,
            }
        }
        "external" => PartBody::External(Box::new(ExternalPart {
            content_type: f.text("contentType")?,
            url: f.text("url")?,
            expires: u32::try_from(f.uint("expires", u32::MAX.into())?).unwrap_or(u32::MAX),
            size: f.uint("size", u64::MAX)?,
            enc_alg: u16::try_from(f.uint("encAlg", u16::MAX.into())?).unwrap_or(u16::MAX),
            key: f.hex("key")?,
            nonce: f.hex("nonce")?,
            aad: f.hex("aad")?,
            hash_alg: u8::try_from(f.uint("hashAlg", 255)?).unwrap_or(u8::MAX),
            content_hash: f.hex("contentHash")?,
            description: f.text("description")?,
            filename: f.text("filename")?,
        })),
        "multi" => {
            let name = f.text("partSemantics")?;
            let semantics = PartSemantics::from_name(&name).ok_or_else(|| {
                bad(
                    &format!("{path}.partSemantics"),
                    "chooseOne, singleUnit or processAll",
                )
            })?;
            let Json::Array(parts) = f.get("parts")? else {
                return Err(bad(&format!("{path}.parts"), "an array of parts"));
            };
            let parts = parts
                .iter()
                .enumerate()
                .map(|(i, p)| part_from_json(p, &format!("{path}.parts[{i}]")))
                .collect::<Result<Vec<_>, _>>()?;
            PartBody::Multi { semantics, parts }
        }
        _ => {
            return Err(bad(
                &format!("{path}.cardinality"),
                "nullpart, single, external or multi",
            ));
        }
    };
    f.done()?;
    Ok(NestedPart {
        disposition,
        language,
        body,
    })
}
