//! The seed's fixed-membership room with logging, end to end: `mimi serve --logger` runs
//! the provider's logger, which joins the room that pre-authorizes it; the room carries no
//! message until it is in, then every message is in the log.

use crate::client::{account, create_from, ok, people};
use crate::moderation::refusal;
use crate::server::{Server, scratch};

#[test]
fn a_logging_room_carries_messages_once_the_providers_logger_is_in_and_logs_them() {
    let dir = scratch("logger");
    let server = Server::start(&dir, &["--logger", "archiver"]);
    let url = format!("http://{}", server.addr);
    let [alice, bob] = people(&dir, &url, ["alice", "bob"]);
    ok(&bob, &["consent", "grant", "alice"]);
    // The seed's fixed-membership room with logging: alice and bob, and the logger.
    let doc = serde_json::json!({
        "policy": {"membership": "members-only", "fixed-membership": true,
                   "multi-device": false, "logging": true},
        "preauth-member": [{"system": "archiver@example.com"}],
        "owning-system": ["system@example.com"],
        "user-affiliations": {"owner": ["alice@example.com"], "admin": ["bob@example.com"]},
    });
    let created = create_from(&alice, &dir, "ledger", &doc);
    let room = created[0]["room"].as_str().unwrap().to_owned();

    // The logger hears of the room and joins it by itself.
    let mut logger_in = false;
    for _ in 0..100 {
        ok(&alice, &["sync"]);
        let shown: serde_json::Value =
            serde_json::from_str(&ok(&alice, &["room", "show", &room, "--json"])).unwrap();
        if shown["clients"]
            .get("mimi://example.com/u/archiver")
            .is_some()
        {
            logger_in = true;
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    assert!(logger_in, "the logger never joined");
    ok(&alice, &["sync"]);
    ok(&alice, &["send", &room, "for the record"]);
    // bob, an occupant, is brought in; carol, who is not one, never.
    ok(&alice, &["sync"]);
    ok(&alice, &["room", "add", &room, "bob"]);
    let carol = dir.join("carol");
    account(&carol, &url, "carol");
    ok(&carol, &["consent", "grant", "alice"]);
    let refused = refusal(&alice, &["room", "add", &room, "carol"]);
    assert_eq!(refused["code"], "fixed-membership", "{refused}");

    let log = dir.join("logs").join(format!(
        "{}.jsonl",
        room.chars()
            .map(|c| if c.is_ascii_alphanumeric() { c } else { '_' })
            .collect::<String>()
    ));
    let mut logged = String::new();
    for _ in 0..100 {
        logged = std::fs::read_to_string(&log).unwrap_or_default();
        if logged.contains("for the record") {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    assert!(logged.contains("for the record"), "{logged:?}");
    assert!(
        logged.contains("mimi://example.com/d/alice/cli"),
        "{logged}"
    );
    // What was said is the provider's user's alone.
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        let mode = |p: &std::path::Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode(&log), 0o600);
        assert_eq!(mode(&dir.join("logs")), 0o700);
    }
    assert_eq!(server.terminate(), Some(0));
    let _ = std::fs::remove_dir_all(dir);
}
