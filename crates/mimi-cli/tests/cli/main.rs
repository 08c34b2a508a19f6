//! `mimi policy` run as a user runs it: the built binary, real files, stdout, stderr and the
//! exit status.

// Test code: a failed unwrap is a failed test.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicUsize, Ordering};

use mimi_policy::operation::ACTIONS;
use mimi_policy::preset;
use serde_json::{Value, json};

mod actions;
mod content;
mod docs;
mod input;
mod presets;

/// The workspace root: README, docs and examples are read from here, and commands run here.
fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// What one run of the binary produced.
struct Run {
    status: i32,
    stdout: String,
    stderr: String,
}

fn mimi(args: &[&str]) -> Run {
    let out = Command::new(env!("CARGO_BIN_EXE_mimi"))
        .args(args)
        .current_dir(root())
        .output()
        .expect("run mimi");
    Run {
        status: out.status.code().expect("exit status"),
        stdout: String::from_utf8(out.stdout).expect("utf-8 stdout"),
        stderr: String::from_utf8(out.stderr).expect("utf-8 stderr"),
    }
}

/// Writes `contents` to a fresh file under the test scratch directory.
fn scratch(contents: &str) -> PathBuf {
    static NEXT: AtomicUsize = AtomicUsize::new(0);
    let n = NEXT.fetch_add(1, Ordering::Relaxed);
    let path =
        Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("cli-{}-{n}.json", std::process::id()));
    std::fs::write(&path, contents).expect("write scratch file");
    path
}

fn path_str(p: &Path) -> &str {
    p.to_str().expect("utf-8 path")
}

/// `mimi policy preset NAME`, which must succeed.
fn preset_doc(name: &str) -> String {
    let run = mimi(&["policy", "preset", name]);
    assert_eq!(run.status, 0, "preset {name}: {}", run.stderr);
    run.stdout
}

/// `mimi policy check` on two files.
fn check(room: &Path, op: &Path) -> Run {
    mimi(&[
        "policy",
        "check",
        "--room",
        path_str(room),
        "--op",
        path_str(op),
    ])
}

/// Decides `op` in `room`, asserting a clean exit and a well-formed decision object.
fn decide(room: &Path, op: &Value) -> Value {
    let run = check(room, &scratch(&op.to_string()));
    assert_eq!(run.status, 0, "{op}: {}", run.stderr);
    assert!(run.stderr.is_empty(), "{op}: {}", run.stderr);
    let decision: Value = serde_json::from_str(&run.stdout).expect("decision is JSON");
    assert_well_formed(&decision, op);
    decision
}

fn assert_well_formed(d: &Value, op: &Value) {
    let obj = d.as_object().expect("decision is an object");
    let mut keys: Vec<&str> = obj.keys().map(String::as_str).collect();
    keys.sort_unstable();
    assert_eq!(keys, ["code", "decision", "reason", "rule"], "{op}: {d}");
    let text = |k: &str| d[k].as_str().unwrap_or_default();
    assert!(matches!(text("decision"), "allow" | "deny"), "{op}: {d}");
    assert_eq!(
        text("code") == "ok",
        text("decision") == "allow",
        "{op}: {d}"
    );
    for k in ["code", "rule", "reason"] {
        assert!(!text(k).is_empty(), "{op}: empty {k} in {d}");
    }
}

/// Asserts `d` is `decision`/`code`/`rule`.
#[track_caller]
fn assert_decision(d: &Value, expected: [&str; 3], what: &str) {
    let got = [&d["decision"], &d["code"], &d["rule"]].map(|v| v.as_str().unwrap_or_default());
    assert_eq!(got, expected, "{what}: {d}");
}

/// Asserts a refused input: exit 2, nothing on stdout, `needles` on stderr, no panic.
#[track_caller]
fn assert_input_error(run: &Run, needles: &[&str]) {
    assert_eq!(
        run.status, 2,
        "stdout {:?}, stderr {:?}",
        run.stdout, run.stderr
    );
    assert!(run.stdout.is_empty(), "stdout: {}", run.stdout);
    assert!(!run.stderr.contains("panicked"), "{}", run.stderr);
    for needle in needles {
        assert!(
            run.stderr.contains(needle),
            "expected {needle:?} in {:?}",
            run.stderr
        );
    }
}

// ---------------------------------------------------------------------------------------------
// The README and the documented examples.

/// The first ```LANG block of `text` that contains `needle`.
fn first_block<'a>(text: &'a str, lang: &str, needle: &str) -> &'a str {
    let fence = format!("```{lang}\n");
    let mut rest = text;
    loop {
        let start = rest.find(&fence).expect("block") + fence.len();
        let len = rest[start..].find("```").expect("block end");
        let block = &rest[start..start + len];
        if block.contains(needle) {
            return block;
        }
        rest = &rest[start + len + 3..];
    }
}
