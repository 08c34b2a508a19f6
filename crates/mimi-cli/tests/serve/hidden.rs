//! A hidden room cannot be found by trying names: the client gives a hidden room it names
//! an unguessable tag (docs/decisions/0009), so creating a room of the same chosen name
//! neither fails nor tells anything.

use crate::client::{account, events, mimi, ok};
use crate::server::{Server, scratch};

#[test]
fn creating_a_room_does_not_tell_whether_a_hidden_room_of_that_name_exists() {
    let dir = scratch("hidden-names");
    let server = Server::start(&dir, &[]);
    let url = format!("http://{}", server.addr);
    let (alice, mallory) = (dir.join("alice"), dir.join("mallory"));
    account(&alice, &url, "alice");
    account(&mallory, &url, "mallory");
    let create = |who, args: &[&str]| -> String {
        let mut all = vec!["room", "create"];
        all.extend_from_slice(args);
        all.push("--json");
        events(&ok(who, &all))[0]["room"]
            .as_str()
            .unwrap()
            .to_owned()
    };
    // Hidden, members only, and nothing that lets mallory in (the semi-open example
    // pre-authorizes other providers' users).
    let example = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../examples/rooms/semi-open.json"
    );
    let secret = create(&alice, &["layoffs", "--policy", example]);
    assert!(
        secret.starts_with("mimi://example.com/r/layoffs~"),
        "{secret}"
    );
    // mallory's tries succeed as they would for a name nobody uses.
    let hers = create(&mallory, &["layoffs", "--preset", "semi-open"]);
    assert!(hers.starts_with("mimi://example.com/r/layoffs~"), "{hers}");
    assert_ne!(hers, secret);
    let listed = create(&mallory, &["layoffs", "--preset", "open"]);
    assert_eq!(listed, "mimi://example.com/r/layoffs");
    // Each finds its own room by the chosen name; alice's stays hidden from mallory.
    let shown = ok(&alice, &["room", "show", "layoffs", "--json"]);
    assert!(shown.contains(&secret), "{shown}");
    let probe = mimi(&mallory, &["room", "show", &secret]);
    assert!(!probe.ok);
    assert!(
        probe.stderr.contains("not-found") || probe.stderr.contains("does not exist"),
        "{}",
        probe.stderr
    );
    // A listed room's name is taken for everyone, as its existence is public anyway.
    let taken = mimi(&alice, &["room", "create", "layoffs", "--preset", "open"]);
    assert!(!taken.ok);
    assert!(taken.stderr.contains("exists"), "{}", taken.stderr);
    assert_eq!(server.terminate(), Some(0));
    let _ = std::fs::remove_dir_all(dir);
}
