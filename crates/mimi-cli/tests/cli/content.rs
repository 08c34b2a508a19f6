//! `mimi content decode|encode` on the draft's examples: the message ID, the draft's field
//! names, a round trip through JSON to the same bytes, and a clear refusal of garbage.

use super::*;

fn example(name: &str) -> PathBuf {
    root().join(format!("crates/mimi-content/tests/examples/{name}.cbor"))
}

#[test]
fn decode_prints_the_message_id_and_the_drafts_fields() {
    let run = mimi(&["content", "decode", path_str(&example("reply"))]);
    assert_eq!(run.status, 0, "{}", run.stderr);
    assert!(run.stdout.starts_with("messageId  01"), "{}", run.stdout);
    assert!(run.stdout.contains("inReplyTo  017ce548"), "{}", run.stdout);
    assert!(
        run.stdout.contains("text/markdown;variant=GFM-MIMI"),
        "{}",
        run.stdout
    );
    let run = mimi(&[
        "content",
        "decode",
        path_str(&example("original")),
        "--json",
    ]);
    let v: Value = serde_json::from_str(&run.stdout).unwrap();
    assert_eq!(
        v["messageId"],
        "017ce54837404c3696e0c747b985cb172716d0ed0a3d249ca63ace7d82a096f4"
    );
    assert_eq!(v["nestedPart"]["disposition"], "render");
    assert_eq!(
        v["mimiExtensions"][0],
        json!([1, "mimi://example.com/u/alice-smith"])
    );
    // Another sender or room: another ID.
    let run = mimi(&[
        "content",
        "decode",
        path_str(&example("original")),
        "--sender",
        "mimi://example.com/u/bob",
        "--room",
        "mimi://example.com/r/engineering_team",
        "--json",
    ]);
    let other: Value = serde_json::from_str(&run.stdout).unwrap();
    assert_ne!(other["messageId"], v["messageId"]);
}

#[test]
fn encode_writes_back_the_bytes_decode_read() {
    for name in [
        "original",
        "attachment",
        "multipart-3",
        "expiring",
        "mention",
    ] {
        let run = mimi(&["content", "decode", path_str(&example(name)), "--json"]);
        assert_eq!(run.status, 0, "{name}: {}", run.stderr);
        let json_file = scratch(&run.stdout);
        let out = json_file.with_extension("cbor");
        let run = mimi(&[
            "content",
            "encode",
            path_str(&json_file),
            "--out",
            path_str(&out),
        ]);
        assert_eq!(run.status, 0, "{name}: {}", run.stderr);
        assert_eq!(
            std::fs::read(&out).unwrap(),
            std::fs::read(example(name)).unwrap(),
            "{name}"
        );
    }
}

#[test]
fn garbage_is_refused_with_its_reason_and_exit_status_2() {
    let bad = scratch("not cbor at all");
    let run = mimi(&["content", "decode", path_str(&bad)]);
    assert_eq!(run.status, 2, "{}", run.stderr);
    assert!(
        run.stderr.contains("bad-cbor") || run.stderr.contains("bad-content"),
        "{}",
        run.stderr
    );
    let wrong = scratch(r#"{"salt": "00", "nestedPart": {}}"#);
    let run = mimi(&["content", "encode", path_str(&wrong)]);
    assert_eq!(run.status, 2, "{}", run.stderr);
    assert!(run.stderr.contains("salt"), "{}", run.stderr);
}
