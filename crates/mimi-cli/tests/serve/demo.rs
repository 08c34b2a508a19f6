//! `mimi demo`: two providers and the narrated tour, every step as narrated.

use std::process::Command;

#[test]
fn the_demo_tours_two_providers_and_every_step_behaves_as_narrated() {
    let out = Command::new(env!("CARGO_BIN_EXE_mimi"))
        .args(["demo", "--json"])
        .output()
        .unwrap();
    let stdout = String::from_utf8(out.stdout).unwrap();
    assert!(
        out.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let steps: Vec<serde_json::Value> = stdout
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert!(steps.len() >= 50, "{stdout}");
    assert!(steps.iter().all(|s| s["passed"] == true), "{stdout}");
    // Across providers, and refusals named with the rule that decided them.
    let titled = |t: &str| {
        steps
            .iter()
            .find(|s| s["title"].as_str().unwrap().contains(t))
    };
    let add = titled("adds bob@b.example").unwrap();
    assert_eq!(add["actor"], "alice@a.example");
    let banned = titled("may not come back").unwrap();
    assert_eq!(banned["code"], "banned");
    assert!(
        banned["rule"].as_str().unwrap().starts_with("SEED-"),
        "{banned}"
    );
    for preset in [
        "administrated",
        "open room",
        "semi-open",
        "moderated",
        "one-on-one",
        "logging",
    ] {
        assert!(titled(preset).is_some(), "no step for the {preset} preset");
    }
}

#[test]
fn the_demo_for_a_person_is_one_plain_line_per_step_when_piped() {
    let out = Command::new(env!("CARGO_BIN_EXE_mimi"))
        .arg("demo")
        .output()
        .unwrap();
    let stdout = String::from_utf8(out.stdout).unwrap();
    assert!(out.status.success(), "{stdout}");
    // Not a terminal: no colour, no control characters.
    assert!(!stdout.contains('\x1b'), "{stdout}");
    assert!(
        stdout.lines().any(|l| l.contains("✓ bob@b.example")),
        "{stdout}"
    );
    assert!(
        stdout.contains("(refused: no-voice, rule SEED-SEND-2)"),
        "{stdout}"
    );
    assert!(stdout.trim_end().ends_with(" s)"), "{stdout}");
}
