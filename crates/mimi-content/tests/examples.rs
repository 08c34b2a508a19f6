//! The draft's examples (draft-ietf-mimi-content, `examples/`, copied under `tests/examples`):
//! each decodes, re-encodes byte for byte, survives JSON and back, and has the message ID
//! its `.edn` states; and malformed input is refused with an error, never a panic.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::PathBuf;

use mimi_content::{
    ContentError, DerivedValues, Disposition, ExtensionKey, MimiContent, NestedPart, PartBody,
    ROOM_URI, SENDER_URI, Value, json,
};
use proptest::prelude::*;

fn dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/examples")
}

/// Every example but `implied-original` (which holds a message's derived values): its name,
/// its CBOR and its `.edn`.
fn examples() -> Vec<(String, Vec<u8>, String)> {
    let mut out: Vec<_> = std::fs::read_dir(dir())
        .unwrap()
        .filter_map(|e| {
            let path = e.unwrap().path();
            let name = path.file_stem()?.to_str()?.to_owned();
            (path.extension()? == "cbor" && name != "implied-original").then(|| {
                let edn = std::fs::read_to_string(path.with_extension("edn")).unwrap();
                (name, std::fs::read(&path).unwrap(), edn)
            })
        })
        .collect();
    out.sort();
    out
}

/// The message ID an `.edn` states (`# message ID = h'...` over two comment lines).
fn stated_id(edn: &str) -> Option<String> {
    let start = edn.find("message ID = h'")? + "message ID = h'".len();
    let rest = &edn[start..];
    let end = rest.find('\'')?;
    Some(
        rest[..end]
            .chars()
            .filter(char::is_ascii_hexdigit)
            .collect(),
    )
}

#[test]
fn every_example_decodes_and_re_encodes_byte_for_byte() {
    let all = examples();
    assert_eq!(all.len(), 14);
    for (name, bytes, _) in &all {
        let content = MimiContent::decode(bytes).unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(&content.encode().unwrap(), bytes, "{name}");
    }
}

#[test]
fn every_example_has_the_message_id_its_edn_states() {
    for (name, bytes, edn) in examples() {
        let content = MimiContent::decode(&bytes).unwrap();
        let sender = content.text_extension(SENDER_URI).unwrap();
        let room = content.text_extension(ROOM_URI).unwrap();
        let id = content.id(&bytes, sender, room).unwrap();
        assert_eq!(Some(id.to_hex()), stated_id(&edn), "{name}");
    }
}

#[test]
fn every_example_goes_to_json_and_back_to_the_same_bytes() {
    for (name, bytes, _) in examples() {
        let content = MimiContent::decode(&bytes).unwrap();
        let j = json::to_json(&content, None);
        let back = json::from_json(&j).unwrap_or_else(|e| panic!("{name}: {e}: {j}"));
        assert_eq!(back.encode().unwrap(), bytes, "{name}");
    }
}

#[test]
fn the_examples_read_as_the_draft_describes_them() {
    let read = |name: &str| {
        MimiContent::decode(&std::fs::read(dir().join(format!("{name}.cbor"))).unwrap()).unwrap()
    };
    let original = read("original");
    let PartBody::Single {
        content_type,
        content,
    } = &original.nested_part.body
    else {
        panic!("original: {:?}", original.nested_part);
    };
    assert_eq!(content_type, "text/markdown;variant=GFM-MIMI");
    assert!(String::from_utf8_lossy(content).contains("release 2.0"));
    let reaction = read("reaction");
    assert_eq!(reaction.nested_part.disposition, Disposition::REACTION);
    assert_eq!(
        reaction.in_reply_to.unwrap().to_hex(),
        "017ce54837404c3696e0c747b985cb172716d0ed0a3d249ca63ace7d82a096f4"
    );
    let delete = read("delete");
    assert!(delete.replaces.is_some());
    assert_eq!(delete.nested_part.body, PartBody::Null);
    let expiring = read("expiring");
    assert!(expiring.expires.is_some());
    let PartBody::External(attachment) = read("attachment").nested_part.body else {
        panic!("attachment");
    };
    assert_eq!(
        (
            attachment.size,
            attachment.enc_alg,
            attachment.filename.as_str()
        ),
        (708_234_961, 1, "bigfile.mp4")
    );
    assert_eq!(read("multipart-3").nested_part.depth(), 4);
}

/// The draft's implied fields example is a message's derived values, not a message. Its
/// `messageId` (`01b008...`) is not the ID its `.edn` states (the original's, `017ce5...`):
/// an erratum of the draft's data (docs/decisions/0014).
#[test]
fn the_implied_fields_example_reads_as_derived_values() {
    let bytes = std::fs::read(dir().join("implied-original.cbor")).unwrap();
    assert_eq!(
        MimiContent::decode(&bytes).unwrap_err().code(),
        "bad-content"
    );
    let derived = DerivedValues::decode(&bytes).unwrap();
    assert_eq!(derived.encode().unwrap(), bytes);
    assert_eq!(derived.hub_accepted_timestamp, 1_644_387_225_019);
    assert_eq!(derived.sender_leaf_index, 4);
    assert_eq!(derived.sender_user_url, "mimi://example.com/u/alice-smith");
    assert!(derived.message_id.to_hex().starts_with("01b008"));
}

fn original() -> Vec<u8> {
    std::fs::read(dir().join("original.cbor")).unwrap()
}

#[test]
fn a_truncated_message_is_refused_at_every_length() {
    for (name, bytes, _) in examples() {
        for cut in 0..bytes.len() {
            assert!(
                MimiContent::decode(&bytes[..cut]).is_err(),
                "{name} cut at {cut}"
            );
        }
    }
}

#[test]
fn trailing_bytes_are_refused() {
    let mut bytes = original();
    bytes.push(0);
    assert_eq!(MimiContent::decode(&bytes).unwrap_err().code(), "bad-cbor");
}

#[test]
fn an_encoding_that_is_not_the_shortest_is_refused() {
    // The salt's length written in one more byte than needed (0x58 0x10 for 0x50).
    let bytes = original();
    assert_eq!(bytes[1], 0x50);
    let mut longer = vec![bytes[0], 0x58, 0x10];
    longer.extend_from_slice(&bytes[2..]);
    let err = MimiContent::decode(&longer).unwrap_err();
    assert_eq!(err.code(), "not-deterministic", "{err}");
}

#[test]
fn extension_keys_out_of_order_or_twice_are_refused() {
    let mut content = MimiContent::decode(&original()).unwrap();
    // Encoding sorts them...
    content.extensions.reverse();
    assert_eq!(content.encode().unwrap(), original());
    // ...and a decoder refuses them unsorted: swap the two entries in the bytes.
    let bytes = original();
    let sender = content.text_extension(SENDER_URI).unwrap().to_owned();
    let room = content.text_extension(ROOM_URI).unwrap().to_owned();
    let entry = |key: u8, text: &str| {
        let mut out = vec![key];
        let mut t = Vec::new();
        ciborium::ser::into_writer(&Value::Text(text.to_owned()), &mut t).unwrap();
        out.extend(t);
        out
    };
    let (a, b) = (entry(1, &sender), entry(2, &room));
    let sorted = [a.clone(), b.clone()].concat();
    let swapped = [b, a].concat();
    let at = bytes
        .windows(sorted.len())
        .position(|w| w == sorted.as_slice())
        .unwrap();
    let mut unsorted = bytes.clone();
    unsorted[at..at + sorted.len()].copy_from_slice(&swapped);
    assert_eq!(
        MimiContent::decode(&unsorted).unwrap_err().code(),
        "not-deterministic"
    );
    content
        .extensions
        .push((ExtensionKey::Int(1), Value::Text("again".into())));
    assert_eq!(content.encode().unwrap_err().code(), "bad-content");
}

fn nested(levels: usize) -> NestedPart {
    let leaf = || NestedPart::single(Disposition::RENDER, "text/plain", b"x".to_vec());
    if levels == 1 {
        return leaf();
    }
    NestedPart {
        disposition: Disposition::RENDER,
        language: String::new(),
        body: PartBody::Multi {
            semantics: mimi_content::PartSemantics::ProcessAll,
            parts: vec![nested(levels - 1), leaf()],
        },
    }
}

#[test]
fn parts_nested_more_than_four_levels_are_refused_both_ways() {
    let ok = MimiContent::new([7; 16], nested(4));
    let bytes = ok.encode().unwrap();
    assert_eq!(MimiContent::decode(&bytes).unwrap(), ok);
    let deep = MimiContent::new([7; 16], nested(5));
    assert_eq!(deep.encode().unwrap_err().code(), "too-deep");
    // Written by hand, deeper still: refused when read.
    let mut value = Value::Array(vec![
        Value::Integer(1.into()),
        Value::Text(String::new()),
        Value::Integer(1.into()),
        Value::Text("text/plain".into()),
        Value::Bytes(b"x".to_vec()),
    ]);
    for _ in 0..5 {
        value = Value::Array(vec![
            Value::Integer(1.into()),
            Value::Text(String::new()),
            Value::Integer(3.into()),
            Value::Integer(2.into()),
            Value::Array(vec![value.clone(), value]),
        ]);
    }
    let message = Value::Array(vec![
        Value::Bytes(vec![7; 16]),
        Value::Null,
        Value::Bytes(Vec::new()),
        Value::Null,
        Value::Null,
        Value::Map(Vec::new()),
        value,
    ]);
    let mut bytes = Vec::new();
    ciborium::ser::into_writer(&message, &mut bytes).unwrap();
    assert_eq!(MimiContent::decode(&bytes).unwrap_err().code(), "too-deep");
}

#[test]
fn a_nesting_bomb_is_refused_without_exhausting_the_stack() {
    // 100,000 nested arrays: 0x81 repeated, then a null.
    let mut bomb = vec![0x81; 100_000];
    bomb.push(0xf6);
    assert!(MimiContent::decode(&bomb).is_err());
    // A byte string that says it is 2^60 bytes long, with nothing after.
    let huge = [0x87, 0x5b, 0x10, 0, 0, 0, 0, 0, 0, 0];
    assert!(MimiContent::decode(&huge).is_err());
}

#[test]
fn extensions_deeper_than_four_levels_or_too_large_are_refused() {
    let mut content = MimiContent::decode(&original()).unwrap();
    let deep = Value::Array(vec![Value::Array(vec![Value::Array(vec![Value::Array(
        vec![],
    )])])]);
    content.extensions.push((ExtensionKey::Int(300), deep));
    assert_eq!(content.encode().unwrap_err().code(), "too-deep");
    content.extensions.pop();
    content
        .extensions
        .push((ExtensionKey::Int(300), Value::Bytes(vec![0; 5000])));
    assert_eq!(content.encode().unwrap_err().code(), "bad-content");
    content.extensions.pop();
    content
        .extensions
        .push((ExtensionKey::Text(String::new()), Value::Null));
    assert_eq!(content.encode().unwrap_err().code(), "bad-content");
}

/// A change to a message's top-level fields.
type Edit = dyn Fn(&mut Vec<Value>);

#[test]
fn wrong_types_sizes_cardinalities_and_dispositions_are_refused() {
    let good = MimiContent::decode(&original()).unwrap();
    let encode_with = |edit: &dyn Fn(&mut Vec<Value>)| {
        let mut v: Value = ciborium::de::from_reader(original().as_slice()).unwrap();
        let Value::Array(items) = &mut v else {
            unreachable!()
        };
        edit(items);
        let mut out = Vec::new();
        ciborium::ser::into_writer(&v, &mut out).unwrap();
        MimiContent::decode(&out).map(|_| ())
    };
    let cases: Vec<(&str, Box<Edit>)> = vec![
        ("short salt", Box::new(|i| i[0] = Value::Bytes(vec![1; 15]))),
        ("text salt", Box::new(|i| i[0] = Value::Text("salt".into()))),
        (
            "short reply ID",
            Box::new(|i| i[4] = Value::Bytes(vec![1; 31])),
        ),
        (
            "expiry of three",
            Box::new(|i| i[3] = Value::Array(vec![Value::Bool(true); 3])),
        ),
        (
            "extensions as array",
            Box::new(|i| i[5] = Value::Array(vec![])),
        ),
        (
            "six fields",
            Box::new(|i| {
                i.pop();
            }),
        ),
        (
            "cardinality 4",
            Box::new(|i| {
                if let Value::Array(p) = &mut i[6] {
                    p[2] = Value::Integer(4.into());
                }
            }),
        ),
        (
            "disposition 256",
            Box::new(|i| {
                if let Value::Array(p) = &mut i[6] {
                    p[0] = Value::Integer(256.into());
                }
            }),
        ),
        (
            "negative disposition",
            Box::new(|i| {
                if let Value::Array(p) = &mut i[6] {
                    p[0] = Value::Integer((-1).into());
                }
            }),
        ),
        (
            "text content",
            Box::new(|i| {
                if let Value::Array(p) = &mut i[6] {
                    p[4] = Value::Text("hi".into());
                }
            }),
        ),
    ];
    for (what, edit) in cases {
        let err = encode_with(&*edit).unwrap_err();
        assert!(matches!(err, ContentError::Shape { .. }), "{what}: {err:?}");
    }
    // An unregistered disposition in range is kept as it is.
    assert!(
        encode_with(&|i| {
            if let Value::Array(p) = &mut i[6] {
                p[0] = Value::Integer(200.into());
            }
        })
        .is_ok()
    );
    assert_eq!(good.nested_part.disposition, Disposition::RENDER);
}

proptest! {
    #[test]
    fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..512)) {
        let _ = MimiContent::decode(&bytes);
        let _ = DerivedValues::decode(&bytes);
    }

    #[test]
    fn a_changed_byte_of_an_example_never_panics(at in 0usize..4096, to in any::<u8>()) {
        for (_, bytes, _) in examples() {
            let mut bytes = bytes;
            let i = at % bytes.len();
            bytes[i] = to;
            if let Ok(c) = MimiContent::decode(&bytes) {
                // Whatever is read writes back as it was.
                prop_assert_eq!(c.encode().unwrap(), bytes);
            }
        }
    }
}

#[test]
fn an_extreme_integer_key_is_refused_not_a_panic() {
    let mut content = MimiContent::decode(&original()).unwrap();
    content
        .extensions
        .push((ExtensionKey::Int(i64::MIN), Value::Null));
    assert_eq!(content.encode().unwrap_err().code(), "bad-content");
    // The same key in a message's bytes.
    let message = Value::Array(vec![
        Value::Bytes(vec![7; 16]),
        Value::Null,
        Value::Bytes(Vec::new()),
        Value::Null,
        Value::Null,
        Value::Map(vec![(Value::Integer(i64::MIN.into()), Value::Null)]),
        Value::Array(vec![
            Value::Integer(0.into()),
            Value::Text(String::new()),
            Value::Integer(0.into()),
        ]),
    ]);
    let mut bytes = Vec::new();
    ciborium::ser::into_writer(&message, &mut bytes).unwrap();
    assert_eq!(
        MimiContent::decode(&bytes).unwrap_err().code(),
        "bad-content"
    );
}

#[test]
fn floats_in_extensions_survive_json_to_the_same_bytes() {
    let mut content = MimiContent::decode(&original()).unwrap();
    content.extensions.push((
        ExtensionKey::Int(300),
        Value::Array(vec![
            Value::Float(0.1),
            Value::Float(-f64::NAN),
            Value::Float(f64::INFINITY),
            Value::Float(1.5),
        ]),
    ));
    let bytes = content.encode().unwrap();
    let read = MimiContent::decode(&bytes).unwrap();
    let back = json::from_json(&json::to_json(&read, None)).unwrap();
    assert_eq!(back.encode().unwrap(), bytes);
}
