//! SIGKILL under load (two members sending, one of them committing, a third reading and
//! acknowledging, all at once): whatever the provider acknowledged is there after a
//! restart, at the position it was acknowledged with, and no commit is half-applied (the
//! room goes on accepting commits that every member can process).

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use base64::Engine as _;
use mimi_mls::key_package::validate_key_package;
use mimi_mls::member::{Client, Incoming, RoomGroup};
use mimi_policy::document::{Affiliations, SeedDocument};
use mimi_policy::id::{ClientId, RoomId};
use openmls::prelude::ExternalSender;
use openmls_traits::OpenMlsProvider as _;
use serde_json::{Value, json};
use tls_codec::Deserialize as _;

use crate::http::request;
use crate::server::{Server, scratch};

const ROOM: &str = "/v1/rooms/example.com/team";

fn b64(bytes: &[u8]) -> String {
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

fn unb64(v: &Value) -> Vec<u8> {
    base64::engine::general_purpose::STANDARD
        .decode(v.as_str().unwrap())
        .unwrap()
}

pub(crate) struct Person {
    token: String,
    client: Client,
}

pub(crate) fn call(addr: SocketAddr, method: &str, path: &str, token: &str, body: Value) -> Value {
    let body = (!body.is_null()).then_some(&body);
    let (status, v) = request(addr, method, path, Some(token), body).unwrap();
    assert!(
        (200..300).contains(&status),
        "{method} {path}: {status} {v}"
    );
    v
}

pub(crate) fn person(addr: SocketAddr, name: &str) -> Person {
    let body = json!({"user": name, "password": "correct horse"});
    let (status, v) = request(addr, "POST", "/v1/accounts", None, Some(&body)).unwrap();
    assert_eq!(status, 201, "{v}");
    let account = v["token"].as_str().unwrap().to_owned();
    let v = call(
        addr,
        "POST",
        "/v1/devices",
        &account,
        json!({"name": "phone"}),
    );
    Person {
        token: v["token"].as_str().unwrap().to_owned(),
        client: Client::new(ClientId::parse(v["client"].as_str().unwrap()).unwrap()).unwrap(),
    }
}

/// `owner`'s new room `name` (hidden, administrated), with only the owner's device in it.
pub(crate) fn create_room(addr: SocketAddr, owner: &Person, name: &str) -> RoomGroup {
    let (_, provider) = request(addr, "GET", "/v1/provider", None, None).unwrap();
    let hub = ExternalSender::tls_deserialize_exact(unb64(&provider["external_sender"])).unwrap();
    let me = owner.client.id();
    let doc = SeedDocument {
        id: Some(RoomId::new("example.com", name).unwrap()),
        user_affiliations: Affiliations {
            owner: vec![me.user().clone()],
            ..Default::default()
        },
        clients: BTreeMap::from([(me.user().clone(), vec![me.name().to_owned()])]),
        owning_system: vec![mimi_policy::id::UserId::new("example.com", "system").unwrap()],
        ..Default::default()
    };
    let group = owner
        .client
        .create_room(&doc.into_room().unwrap(), &hub)
        .unwrap();
    let body = json!({
        "group_info": b64(&owner.client.group_info(&group).unwrap()),
        "ratchet_tree": b64(&group.ratchet_tree().unwrap()),
    });
    call(addr, "POST", "/v1/rooms", &owner.token, body);
    group
}

/// `adder` adds `user`'s device to room `name`, sending `welcome` in place of the real
/// Welcome when given.
pub(crate) fn add(
    addr: SocketAddr,
    adder: &Person,
    group: &mut RoomGroup,
    name: &str,
    user: &str,
    welcome: Option<&[u8]>,
) {
    let v = call(
        addr,
        "POST",
        "/v1/key-packages/claim",
        &adder.token,
        json!({"user": user}),
    );
    let target = mimi_policy::id::UserId::new("example.com", user).unwrap();
    let kp = validate_key_package(
        adder.client.provider().crypto(),
        &unb64(&v["key_packages"][0]["key_package"]),
        &target,
    )
    .unwrap();
    let out = group.add(&adder.client, vec![kp]).unwrap();
    let welcome = welcome.map(<[u8]>::to_vec).or(out.welcome);
    let body = json!({
        "commit": b64(&out.commit),
        "group_info": b64(&out.group_info),
        "welcome": welcome.as_deref().map(b64),
    });
    call(
        addr,
        "POST",
        &format!("/v1/rooms/example.com/{name}/commits"),
        &adder.token,
        body,
    );
    group.confirm(&adder.client).unwrap();
}

/// `name`'s device, added to alice's room by alice, with its group.
fn member(addr: SocketAddr, alice: &Person, ag: &mut RoomGroup, name: &str) -> (Person, RoomGroup) {
    let p = person(addr, name);
    let kp = b64(&p.client.key_package().unwrap());
    call(
        addr,
        "POST",
        "/v1/key-packages",
        &p.token,
        json!({"key_packages": [kp]}),
    );
    call(
        addr,
        "POST",
        "/v1/consent/grant",
        &p.token,
        json!({"user": "alice"}),
    );
    add(addr, alice, ag, "team", name, None);
    let sync = call(addr, "GET", "/v1/sync", &p.token, Value::Null);
    let welcome = &sync["welcomes"][0];
    let g = p
        .client
        .join(
            &unb64(&welcome["welcome"]),
            &unb64(&welcome["ratchet_tree"]),
        )
        .unwrap();
    call(
        addr,
        "POST",
        "/v1/ack",
        &p.token,
        json!({"welcomes": [welcome["id"]]}),
    );
    (p, g)
}

/// A member device reading the room: its group, and the last position it processed (what
/// it has processed is never processed again, even if its acknowledgement was lost).
struct Reader {
    person: Person,
    group: RoomGroup,
    seen: u64,
}

/// alice sends messages, with an empty commit every tenth, until the server goes away.
/// Returns the acknowledged messages and whether a commit's outcome is unknown.
fn load(
    addr: SocketAddr,
    alice: &Person,
    ag: &mut RoomGroup,
    round: u32,
    made: &std::sync::atomic::AtomicU32,
) -> (Vec<(u64, String)>, bool) {
    let mut acked = Vec::new();
    for i in 1u32.. {
        made.store(i - 1, Ordering::SeqCst);
        if i % 10 == 0 {
            let out = ag.commit_pending(&alice.client).unwrap();
            let body = json!({"commit": b64(&out.commit), "group_info": b64(&out.group_info)});
            match request(
                addr,
                "POST",
                &format!("{ROOM}/commits"),
                Some(&alice.token),
                Some(&body),
            ) {
                Ok((200, _)) => ag.confirm(&alice.client).unwrap(),
                Ok((status, v)) => panic!("commit refused: {status} {v}"),
                Err(_) => return (acked, true),
            }
        } else {
            let text = format!("round {round} message {i}");
            let ct = ag.encrypt(&alice.client, text.as_bytes()).unwrap();
            let body = json!({"message": b64(&ct)});
            match request(
                addr,
                "POST",
                &format!("{ROOM}/messages"),
                Some(&alice.token),
                Some(&body),
            ) {
                Ok((200, v)) => acked.push((v["seq"].as_u64().unwrap(), text)),
                Ok((status, v)) => panic!("message refused: {status} {v}"),
                Err(_) => return (acked, false),
            }
        }
    }
    unreachable!()
}

/// One read of what `r` has not acknowledged: messages decrypted, with their positions,
/// commits applied; then acknowledged. Also whether there was nothing to read; `Err`
/// when the provider is gone.
fn read_once(addr: SocketAddr, r: &mut Reader) -> std::io::Result<(Vec<(u64, String)>, bool)> {
    let (status, v) = request(
        addr,
        "GET",
        "/v1/sync?limit=200",
        Some(&r.person.token),
        None,
    )?;
    assert_eq!(status, 200, "{v}");
    let mut got = Vec::new();
    let entries = v["entries"].as_array().unwrap().clone();
    for e in &entries {
        let seq = e["seq"].as_u64().unwrap();
        if seq <= r.seen {
            continue;
        }
        r.seen = seq;
        if e["sender"] == r.person.client.id().to_string().as_str() {
            continue;
        }
        if let Incoming::Message { plaintext, .. } = r
            .group
            .process(&r.person.client, &unb64(&e["message"]))
            .unwrap()
        {
            got.push((seq, String::from_utf8(plaintext).unwrap()));
        }
    }
    if let Some(last) = entries.last() {
        let body = json!({"rooms": [{"room": last["room"], "seq": last["seq"]}]});
        // What was processed is returned even if the acknowledgement fails: the device
        // has it, and the next read skips it.
        let _ = request(addr, "POST", "/v1/ack", Some(&r.person.token), Some(&body));
    }
    Ok((got, entries.is_empty()))
}

/// Everything `r` has not acknowledged, until nothing is left.
fn drain(addr: SocketAddr, r: &mut Reader) -> Vec<(u64, String)> {
    let mut got = Vec::new();
    loop {
        let (more, empty) = read_once(addr, r).unwrap();
        if empty {
            return got;
        }
        got.extend(more);
    }
}

/// carol sends messages until the server goes away; when alice's commit moved the room
/// on, she reads it and sends again. Returns the acknowledged messages.
fn chatter(addr: SocketAddr, carol: &mut Reader, round: u32) -> Vec<(u64, String)> {
    let mut acked = Vec::new();
    for i in 1u32.. {
        let text = format!("round {round} carol {i}");
        loop {
            let ct = carol
                .group
                .encrypt(&carol.person.client, text.as_bytes())
                .unwrap();
            let body = json!({"message": b64(&ct)});
            match request(
                addr,
                "POST",
                &format!("{ROOM}/messages"),
                Some(&carol.person.token),
                Some(&body),
            ) {
                Ok((200, v)) => {
                    acked.push((v["seq"].as_u64().unwrap(), text));
                    break;
                }
                // The room moved on: read up to its new epoch, then send again.
                Ok((409, _)) => loop {
                    match read_once(addr, carol) {
                        Ok((_, true)) => break,
                        Ok((_, false)) => {}
                        Err(_) => return acked,
                    }
                },
                Ok((status, v)) => panic!("carol's message refused: {status} {v}"),
                Err(_) => return acked,
            }
        }
    }
    unreachable!()
}

#[test]
fn sigkill_under_load_loses_nothing_acknowledged_and_half_applies_nothing() {
    let dir = scratch("crash");
    let mut server = Server::start(&dir, &[]);
    let alice = person(server.addr, "alice");
    let mut ag = create_room(server.addr, &alice, "team");
    let (bob, bg) = member(server.addr, &alice, &mut ag, "bob");
    let (carol, cg) = member(server.addr, &alice, &mut ag, "carol");
    let mut bob = Reader {
        person: bob,
        group: bg,
        seen: 0,
    };
    let mut carol = Reader {
        person: carol,
        group: cg,
        seen: 0,
    };
    // bob reads everything up to carol's add, so that he processes it before her messages.
    drain(server.addr, &mut bob);
    let mut acked = Vec::new();
    let mut received = BTreeMap::new();
    let mut from_carol = 0;
    for round in 0..5 {
        let addr = server.addr;
        let done = AtomicBool::new(false);
        let made = std::sync::atomic::AtomicU32::new(0);
        // Under load: alice sends with a commit every tenth request, carol sends at the
        // same time (reading alice's commits when they move the room on), bob reads and
        // acknowledges, so batches of messages and acknowledgements are in flight when
        // the provider is killed.
        let unknown_commit = std::thread::scope(|s| {
            let sender = s.spawn(|| load(addr, &alice, &mut ag, round, &made));
            let other = s.spawn(|| chatter(addr, &mut carol, round));
            let reader = s.spawn(|| {
                let mut got = Vec::new();
                while !done.load(Ordering::SeqCst) {
                    match read_once(addr, &mut bob) {
                        Ok((more, _)) => got.extend(more),
                        Err(_) => break,
                    }
                }
                got
            });
            // Not before alice's first commit of the round is in (her tenth request): on a
            // busy machine a short round would otherwise carry no commit at all.
            let started = std::time::Instant::now();
            while made.load(Ordering::SeqCst) < 11 && started.elapsed() < Duration::from_secs(30) {
                std::thread::sleep(Duration::from_millis(5));
            }
            let nanos = SystemTime::now()
                .duration_since(UNIX_EPOCH)
                .unwrap()
                .subsec_nanos();
            std::thread::sleep(Duration::from_millis(150 + u64::from(nanos % 400)));
            server.kill9();
            done.store(true, Ordering::SeqCst);
            received.extend(reader.join().unwrap());
            let theirs = other.join().unwrap();
            let (got, unknown) = sender.join().unwrap();
            assert!(!got.is_empty(), "round {round}: the load ran");
            from_carol += theirs.len();
            acked.extend(got.into_iter().chain(theirs));
            unknown
        });
        server = Server::start(&dir, &[]);
        if unknown_commit {
            // Was the commit in flight applied? The room's epoch tells.
            let gi = call(
                server.addr,
                "GET",
                &format!("{ROOM}/group-info"),
                &alice.token,
                Value::Null,
            );
            if gi["epoch"].as_u64() == Some(ag.epoch() + 1) {
                ag.confirm(&alice.client).unwrap();
            } else {
                ag.discard(&alice.client).unwrap();
            }
        }
    }
    assert!(ag.epoch() > 3, "commits ran under load");
    assert!(from_carol > 0, "carol's messages were acknowledged too");
    eprintln!(
        "{} messages acknowledged over 5 kills; room at epoch {}",
        acked.len(),
        ag.epoch()
    );
    // Every acknowledged message reaches bob, once, at the position it was acknowledged
    // with.
    received.extend(drain(server.addr, &mut bob));
    for (seq, text) in &acked {
        assert_eq!(
            received.get(seq),
            Some(text),
            "acknowledged message {seq} lost"
        );
    }
    // The room is whole: one more commit is accepted and bob and carol can process it.
    let out = ag.commit_pending(&alice.client).unwrap();
    let body = json!({"commit": b64(&out.commit), "group_info": b64(&out.group_info)});
    call(
        server.addr,
        "POST",
        &format!("{ROOM}/commits"),
        &alice.token,
        body,
    );
    ag.confirm(&alice.client).unwrap();
    for r in [&mut bob, &mut carol] {
        drain(server.addr, r);
        assert_eq!(r.group.epoch(), ag.epoch());
    }
    assert_eq!(server.terminate(), Some(0));
    let _ = std::fs::remove_dir_all(dir);
}
