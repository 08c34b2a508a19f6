//! `mimi bench join`: joining a large room. Starts `mimi serve` as a child process, fills an
//! open room with `--members` users (one device each, added by its owner in commits of a
//! few hundred), then has `--joins` newcomers come in, each timed end to end from the
//! client's side:
//!
//! - by external commit: the GroupInfo and ratchet tree fetched, the commit built and
//!   accepted (`join_external_*_ms`), then a first message sent at once
//!   (`send_after_join_*_ms`);
//! - by Welcome: the owner claims the newcomer's KeyPackage and commits its add, and the
//!   newcomer fetches its Welcome and joins (`join_welcome_*_ms`).
//!
//! It also reports the provider's resident memory the room added (`room_mib`, and
//! `mib_per_1000_members`): the hub's state of the room, its cache and tail.

use std::time::Instant;

use anyhow::{Context as _, anyhow};
use mimi_api as api;
use mimi_mls::member::{Client, RoomGroup};
use mimi_policy::document::{Affiliations, SeedDocument, SeedPolicyDoc};
use mimi_policy::id::{ClientId, RoomId, UserId};
use openmls::prelude::ExternalSender;
use serde_json::{Value, json};
use tls_codec::Deserialize as _;

use super::serve::{Http, NONE, Server, b64, claim_and_add, one_provider, percentile, unb64};
use crate::InputError;

/// Arguments of `mimi bench join`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Members in the room before the newcomers come (one device each).
    #[arg(long, default_value_t = 1_000)]
    members: usize,
    /// Newcomers timed, each way.
    #[arg(long, default_value_t = 20)]
    joins: usize,
    /// The provider's database: SQLite in a scratch directory (the default), or PostgreSQL
    /// (`postgres://...`), in a schema of the run's own, dropped at its end.
    #[arg(long, value_name = "URL")]
    database: Option<String>,
}

/// Members added per commit while the room fills.
const ADDS_PER_COMMIT: usize = 250;

/// Sign-ups under way at once while the room fills.
const SIGNUPS_AT_ONCE: usize = 8;

const DOMAIN: &str = "bench.example";
const ROOM_PATH: &str = "/v1/rooms/bench.example/join";

pub fn run(args: Args) -> anyhow::Result<()> {
    if args.members < 1 || args.members > 100_000 || args.joins == 0 {
        return Err(InputError("--members between 1 and 100000, --joins at least 1".into()).into());
    }
    one_provider("join", args.database.as_deref(), &[], |server, runtime| {
        runtime.block_on(measure(server, &args))
    })
}

/// A user with one device.
struct Person {
    token: String,
    client: Client,
}

/// Signs `name` up with one device, its KeyPackage uploaded and, if `consent_to` names a
/// user, consent to that user's adds.
async fn person(http: &Http, name: &str, consent_to: Option<&str>) -> anyhow::Result<Person> {
    let post = reqwest::Method::POST;
    let credentials = api::Credentials {
        user: name.to_owned(),
        password: "bench password".into(),
    };
    let session: api::Session = http
        .call(post.clone(), "/v1/accounts", None, Some(&credentials))
        .await?;
    let device: api::Device = http
        .call(
            post.clone(),
            "/v1/devices",
            Some(&session.token),
            Some(&api::NewDevice { name: "d".into() }),
        )
        .await?;
    let client = Client::new(ClientId::parse(&device.client)?)?;
    let upload = api::Upload {
        key_packages: vec![b64(&client.key_package()?)],
        last_resort: None,
    };
    let _: api::Stored = http
        .call(
            post.clone(),
            "/v1/key-packages",
            Some(&device.token),
            Some(&upload),
        )
        .await?;
    if let Some(owner) = consent_to {
        let grant = api::ConsentBody {
            user: owner.into(),
            room: None,
        };
        let (): () = http
            .call(
                post,
                "/v1/consent/grant",
                Some(&session.token),
                Some(&grant),
            )
            .await?;
    }
    Ok(Person {
        token: device.token,
        client,
    })
}

/// `owner` claims a KeyPackage of each of `users` and commits their add; `group` moves on.
async fn add(
    http: &Http,
    owner: &Person,
    group: &mut RoomGroup,
    users: &[UserId],
) -> anyhow::Result<()> {
    claim_and_add(
        http,
        &owner.token,
        &owner.client,
        group,
        users,
        ROOM_PATH,
        None,
    )
    .await
}

/// `owner` takes in what the room's log holds for it (newcomers' commits and messages),
/// answer after answer until none is left (an answer holds at most a few MiB, and the
/// owner's own large commits come first).
async fn catch_up(http: &Http, owner: &Person, group: &mut RoomGroup) -> anyhow::Result<()> {
    let me = owner.client.id().to_string();
    loop {
        let batch: api::SyncBatch = http
            .call(reqwest::Method::GET, "/v1/sync", Some(&owner.token), NONE)
            .await?;
        let Some(last) = batch.entries.last() else {
            return Ok(());
        };
        for e in batch.entries.iter().filter(|e| e.sender != me) {
            group
                .process(&owner.client, &unb64(&e.message)?)
                .map_err(|err| anyhow!("the owner reading entry {}: {err}", e.seq))?;
        }
        let ack = api::Ack {
            rooms: vec![api::RoomAck {
                room: last.room.clone(),
                seq: last.seq,
            }],
            ..api::Ack::default()
        };
        let (): () = http
            .call(
                reqwest::Method::POST,
                "/v1/ack",
                Some(&owner.token),
                Some(&ack),
            )
            .await?;
    }
}

/// Sends one message as `p` in `group`.
async fn send(http: &Http, p: &Person, group: &mut RoomGroup) -> anyhow::Result<()> {
    let body = api::Message {
        message: Some(b64(&group.encrypt(&p.client, &[b'x'; 100])?)),
        messages: None,
    };
    let _: api::Sent = http
        .call(
            reqwest::Method::POST,
            &format!("{ROOM_PATH}/messages"),
            Some(&p.token),
            Some(&body),
        )
        .await?;
    Ok(())
}

async fn measure(server: &Server, args: &Args) -> anyhow::Result<Value> {
    let http = Http {
        http: reqwest::Client::new(),
        base: server.url.clone(),
    };
    let setup = Instant::now();
    eprintln!("signing up {} members...", args.members);
    let owner = person(&http, "owner", None).await?;
    let owner_name = owner.client.id().user().to_string();
    let mut users = Vec::with_capacity(args.members);
    let mut pending = tokio::task::JoinSet::new();
    for i in 1..args.members {
        if pending.len() >= SIGNUPS_AT_ONCE
            && let Some(done) = pending.join_next().await
        {
            users.push(done??);
        }
        let (http, owner_name) = (http.clone(), owner_name.clone());
        pending.spawn(async move {
            let p = person(&http, &format!("member{i:05}"), Some(&owner_name)).await?;
            anyhow::Ok(p.client.id().user().clone())
        });
    }
    while let Some(done) = pending.join_next().await {
        users.push(done??);
    }
    // The room's memory: the provider's resident memory before and after it fills.
    let before = server.rss_mib();
    eprintln!("filling the room...");
    let provider: api::Provider = http
        .call(reqwest::Method::GET, "/v1/provider", None, NONE)
        .await?;
    let hub = ExternalSender::tls_deserialize_exact(unb64(&provider.external_sender)?)?;
    let owner_user = owner.client.id().user().clone();
    let doc = SeedDocument {
        id: Some(RoomId::new(DOMAIN, "join")?),
        policy: SeedPolicyDoc {
            open: Some(true),
            ..Default::default()
        },
        user_affiliations: Affiliations {
            owner: vec![owner_user.clone()],
            ..Default::default()
        },
        clients: [(owner_user, vec!["d".to_owned()])].into(),
        owning_system: vec![UserId::new(DOMAIN, "system")?],
        ..Default::default()
    };
    let room = doc.into_room().map_err(|e| anyhow!("{e}"))?;
    let mut group = owner.client.create_room(&room, &hub)?;
    let body = api::CreateRoom {
        group_info: b64(&owner.client.group_info(&group)?),
        ratchet_tree: b64(&group.ratchet_tree()?),
        refound: None,
    };
    let _: api::RoomCreated = http
        .call(
            reqwest::Method::POST,
            "/v1/rooms",
            Some(&owner.token),
            Some(&body),
        )
        .await?;
    for chunk in users.chunks(ADDS_PER_COMMIT) {
        add(&http, &owner, &mut group, chunk).await?;
    }
    let after = server.rss_mib();
    let setup_s = setup.elapsed().as_secs_f64();
    eprintln!("timing {} joins each way...", args.joins);
    let (mut external, mut sends, mut welcomed) = (Vec::new(), Vec::new(), Vec::new());
    // The external join's three parts: fetching, building (the client), accepting (the hub).
    let (mut fetch, mut build, mut accept) = (Vec::new(), Vec::new(), Vec::new());
    for j in 0..args.joins {
        // By external commit, then a first message.
        let p = person(&http, &format!("external{j:04}"), None).await?;
        let t = Instant::now();
        let info: api::GroupInfo = http
            .call(
                reqwest::Method::GET,
                &format!("{ROOM_PATH}/group-info"),
                Some(&p.token),
                NONE,
            )
            .await?;
        fetch.push(t.elapsed().as_secs_f64() * 1e3);
        let built = Instant::now();
        let (mut joined, out) =
            p.client
                .join_external(&unb64(&info.group_info)?, &unb64(&info.ratchet_tree)?, None)?;
        let body = api::Commit {
            commit: b64(&out.commit),
            group_info: b64(&out.group_info),
            welcome: None,
        };
        build.push(built.elapsed().as_secs_f64() * 1e3);
        let accepted = Instant::now();
        let _: api::Handshake = http
            .call(
                reqwest::Method::POST,
                &format!("{ROOM_PATH}/commits"),
                Some(&p.token),
                Some(&body),
            )
            .await?;
        accept.push(accepted.elapsed().as_secs_f64() * 1e3);
        joined.confirm(&p.client)?;
        external.push(t.elapsed().as_secs_f64() * 1e3);
        let t = Instant::now();
        send(&http, &p, &mut joined).await?;
        sends.push(t.elapsed().as_secs_f64() * 1e3);
        catch_up(&http, &owner, &mut group).await?;
        // By Welcome: the owner's claim and commit, then the newcomer's join.
        let q = person(&http, &format!("welcomed{j:04}"), Some(&owner_name)).await?;
        let t = Instant::now();
        add(&http, &owner, &mut group, &[q.client.id().user().clone()]).await?;
        let batch: api::SyncBatch = http
            .call(reqwest::Method::GET, "/v1/sync", Some(&q.token), NONE)
            .await?;
        let w = batch.welcomes.first().context("no Welcome")?;
        let tree = w.ratchet_tree.as_deref().context("no ratchet tree")?;
        let _joined = q.client.join(&unb64(&w.welcome)?, &unb64(tree)?)?;
        welcomed.push(t.elapsed().as_secs_f64() * 1e3);
    }
    for v in [
        &mut external,
        &mut sends,
        &mut welcomed,
        &mut fetch,
        &mut build,
        &mut accept,
    ] {
        v.sort_by(f64::total_cmp);
    }
    let ms = |x: f64| (x * 100.0).round() / 100.0;
    let room_mib = before.zip(after).map(|(b, a)| (a - b).max(0.0));
    Ok(json!({
        "members": args.members,
        "joins": args.joins,
        "join_external_p50_ms": ms(percentile(&external, 0.50)),
        "join_external_p90_ms": ms(percentile(&external, 0.90)),
        "join_external_max_ms": ms(external.last().copied().unwrap_or_default()),
        "join_external_fetch_p50_ms": ms(percentile(&fetch, 0.50)),
        "join_external_build_p50_ms": ms(percentile(&build, 0.50)),
        "join_external_accept_p50_ms": ms(percentile(&accept, 0.50)),
        "send_after_join_p50_ms": ms(percentile(&sends, 0.50)),
        "join_welcome_p50_ms": ms(percentile(&welcomed, 0.50)),
        "join_welcome_p90_ms": ms(percentile(&welcomed, 0.90)),
        "join_welcome_max_ms": ms(welcomed.last().copied().unwrap_or_default()),
        "room_mib": room_mib.map(|m| (m * 10.0).round() / 10.0),
        "mib_per_1000_members": room_mib.map(|m| (m / args.members as f64 * 1000.0 * 100.0).round() / 100.0),
        "setup_seconds": (setup_s * 10.0).round() / 10.0,
    }))
}
