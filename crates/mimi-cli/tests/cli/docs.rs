//! The README's and docs/policy.md's examples decide as documented.

use super::*;

#[test]
fn readme_policy_command_prints_the_documented_decision() {
    let readme = std::fs::read_to_string(root().join("README.md")).expect("README.md");
    let command = first_block(&readme, "sh", "policy check").replace("\\\n", " ");
    let args: Vec<&str> = command
        .split_whitespace()
        .skip_while(|w| *w != "--")
        .skip(1)
        .collect();
    assert_eq!(args[..2], ["policy", "check"], "{command}");
    let documented: Value =
        serde_json::from_str(first_block(&readme, "json", "decision")).expect("json");

    let run = mimi(&args);
    assert_eq!(run.status, 0, "{}", run.stderr);
    let got: Value = serde_json::from_str(&run.stdout).expect("decision is JSON");
    for key in ["decision", "code", "rule"] {
        assert_eq!(got[key], documented[key], "{key}");
    }
    let reason = documented["reason"].as_str().expect("reason");
    let prefix = reason.trim_end_matches("...").trim_end();
    assert!(got["reason"].as_str().expect("reason").starts_with(prefix));
    assert_decision(&got, ["deny", "not-allowed", "SEED-ADD-4"], "README");
}

#[test]
fn every_example_in_the_docs_decides_as_documented() {
    let docs = std::fs::read_to_string(root().join("docs/policy.md")).expect("docs/policy.md");
    let table = docs
        .split("<!-- examples-table")
        .nth(1)
        .expect("the examples table");
    let rows: Vec<Vec<String>> = table
        .lines()
        .filter(|l| l.starts_with("| `ops/"))
        .map(|l| {
            l.trim_matches('|')
                .split('|')
                .map(|c| c.trim().trim_matches('`').to_owned())
                .collect()
        })
        .collect();
    assert!(rows.len() >= ACTIONS.len(), "only {} examples", rows.len());
    let examples = root().join("examples");
    let mut shown: Vec<String> = Vec::new();
    for row in &rows {
        let [op_file, room_file, action, decision, code, rule] = &row[..] else {
            panic!("malformed row {row:?}");
        };
        let op: Value = serde_json::from_str(
            &std::fs::read_to_string(examples.join(op_file)).expect("example op"),
        )
        .expect("example op is JSON");
        assert_eq!(op["action"], action.as_str(), "{op_file}");
        let d = decide(&examples.join(room_file), &op);
        assert_decision(
            &d,
            [decision.as_str(), code.as_str(), rule.as_str()],
            op_file,
        );
        shown.push(action.clone());
    }
    for action in ACTIONS {
        assert!(
            shown.iter().any(|a| a == action),
            "no example for `{action}`"
        );
    }
    let files = std::fs::read_dir(examples.join("ops"))
        .expect("examples/ops")
        .count();
    assert_eq!(
        files,
        rows.len(),
        "every examples/ops file has a row in the docs"
    );
}

#[test]
fn example_rooms_named_after_presets_are_the_preset_output() {
    for name in preset::names() {
        let file = root().join(format!("examples/rooms/{name}.json"));
        let text = std::fs::read_to_string(&file).expect("example room");
        assert_eq!(text, preset_doc(name), "{}", file.display());
    }
}

// ---------------------------------------------------------------------------------------------
// Every action in every room.
