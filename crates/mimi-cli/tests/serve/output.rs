//! What `mimi sync` prints of what peers wrote cannot trick the reader's terminal: no
//! forged lines, no escape sequences, and suggested commands that run only themselves.

use crate::client::{alice_adds_bob_to_team, ok};
use crate::server::scratch;

#[test]
fn a_peer_cannot_forge_a_line_or_send_escape_sequences_to_the_reader() {
    let dir = scratch("forge");
    let (_server, alice, bob) = alice_adds_bob_to_team(&dir);
    ok(&bob, &["sync"]);
    let forged = "hi\nmimi://example.com/d/carol/cli: pay me\u{1b}]0;pwned\u{7}\u{202e}";
    ok(&alice, &["send", "team", forged]);
    let got = ok(&bob, &["sync"]);
    let lines: Vec<&str> = got.lines().collect();
    assert_eq!(lines.len(), 1, "one message, one line: {got:?}");
    assert!(lines[0].starts_with("[mimi://example.com/r/team] mimi://example.com/d/alice/"));
    // The text, escaped, then the message ID the client adds: ` (#` and 8 hex digits.
    let (text, id) = lines[0].rsplit_once(" (#").unwrap();
    assert!(
        text.ends_with("hi\\nmimi://example.com/d/carol/cli: pay me\\u{1b}]0;pwned\\u{7}\\u{202e}"),
        "{got:?}"
    );
    assert!(id.len() == 9 && id.ends_with(')'), "{got:?}");
    assert!(!got.contains('\u{1b}') && !got.contains('\u{202e}'));
}

#[test]
fn a_suggested_command_runs_only_itself_when_pasted() {
    let dir = scratch("inject");
    let (_server, alice, bob) = alice_adds_bob_to_team(&dir);
    let room = "x;touch${IFS}pwned;#";
    ok(&alice, &["consent", "request", "bob", "--room", room]);
    let got = ok(&bob, &["sync"]);
    let line = got
        .lines()
        .find(|l| l.contains("asks to add you"))
        .unwrap_or_else(|| panic!("{got}"));
    let suggested = line.split('`').nth(1).unwrap_or_else(|| panic!("{line}"));
    // Read as a shell reads it: the room is one word, nothing runs after it.
    let words = shlex::split(suggested).unwrap();
    assert_eq!(
        words,
        [
            "mimi",
            "consent",
            "grant",
            "mimi://example.com/u/alice",
            "--room",
            "mimi://example.com/r/x;touch${IFS}pwned;#"
        ]
    );
}
