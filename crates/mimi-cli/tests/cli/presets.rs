//! The seed's specific examples, as presets, decide as the seed says.

use super::*;

pub(crate) const ALICE: &str = "alice@example.com";
pub(crate) const BOB: &str = "bob@example.com";
pub(crate) const CAROL: &str = "carol@example.com";
pub(crate) const ZED: &str = "zed@example.org";

fn by(user: &str, client: &str, action: &str) -> Value {
    json!({ "actor": { "user": user, "client": client }, "action": action })
}

fn on(mut op: Value, user: &str, client: Option<&str>) -> Value {
    op["target"] = match client {
        Some(c) => json!({ "user": user, "client": c }),
        None => json!({ "user": user }),
    };
    op
}

#[track_caller]
fn assert_preset_decides(preset: &str, cases: &[(Value, [&str; 3])]) {
    let room = scratch(&preset_doc(preset));
    for (op, expected) in cases {
        assert_decision(&decide(&room, op), *expected, &format!("{preset}: {op}"));
    }
}

#[test]
fn one_on_one_keeps_its_two_occupants() {
    assert_preset_decides(
        "one-on-one",
        &[
            (
                on(by(ALICE, "phone", "add-client"), BOB, Some("tablet")),
                ["allow", "ok", "SEED-ADD-1"],
            ),
            (
                on(by(ALICE, "phone", "add-client"), ZED, Some("laptop")),
                ["deny", "fixed-membership", "SEED-ADD-FIXED"],
            ),
            (
                by(BOB, "phone", "leave"),
                ["deny", "fixed-membership", "SEED-LEAVE-FIXED"],
            ),
        ],
    );
}

#[test]
fn administrated_room_lets_admins_add_and_members_not() {
    assert_preset_decides(
        "administrated",
        &[
            (
                on(by(CAROL, "desktop", "add-client"), ZED, Some("laptop")),
                ["allow", "ok", "SEED-ADD-3"],
            ),
            (
                on(by(BOB, "phone", "add-client"), ZED, Some("laptop")),
                ["deny", "not-allowed", "SEED-ADD-4"],
            ),
            (
                by(ZED, "laptop", "external-join"),
                ["deny", "knock-required", "SEED-JOIN-KNOCK"],
            ),
        ],
    );
}

#[test]
fn open_room_takes_strangers_but_not_outcasts() {
    assert_preset_decides(
        "open",
        &[
            (
                by(ZED, "laptop", "external-join"),
                ["allow", "ok", "SEED-JOIN-2"],
            ),
            (
                by("mallory@example.net", "laptop", "external-join"),
                ["deny", "banned", "SEED-OUTCAST"],
            ),
        ],
    );
}

#[test]
fn semi_open_room_admits_preauthorized_domains_only() {
    assert_preset_decides(
        "semi-open",
        &[
            (
                by("yuri@example.net", "phone", "external-join"),
                ["allow", "ok", "SEED-JOIN-1"],
            ),
            (
                by(ZED, "laptop", "external-join"),
                ["deny", "registration-required", "SEED-JOIN-5"],
            ),
        ],
    );
}

#[test]
fn moderated_room_needs_voice_to_send() {
    assert_preset_decides(
        "moderated",
        &[
            (
                by("erin@example.org", "phone", "send-message"),
                ["allow", "ok", "SEED-SEND-2"],
            ),
            (
                by("dave@example.org", "laptop", "send-message"),
                ["deny", "no-voice", "SEED-SEND-2"],
            ),
            (
                on(by(CAROL, "desktop", "revoke-voice"), ALICE, None),
                ["deny", "cannot-revoke-moderator-voice", "MUC-VOICE-ADMIN"],
            ),
        ],
    );
}

#[test]
fn fixed_membership_logging_room_protects_its_logger() {
    let logger = "financial_transactions_chat_logger@example.com";
    assert_preset_decides(
        "fixed-membership-logging",
        &[
            (
                by(BOB, "desktop", "send-message"),
                ["allow", "ok", "SEED-SEND-1"],
            ),
            (
                on(
                    by(ALICE, "phone", "remove-client"),
                    logger,
                    Some("archiver"),
                ),
                ["deny", "system-user-protected", "SEED-REMOVE-SYSTEM"],
            ),
            (
                on(by(ALICE, "phone", "add-client"), BOB, Some("laptop")),
                ["deny", "single-device", "SEED-MULTI-DEVICE"],
            ),
        ],
    );
}

// ---------------------------------------------------------------------------------------------
// Bad input: exit 2 and a message naming the problem, never a panic.
