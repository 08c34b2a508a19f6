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
//! It also reports the provider's resident memory the room holds (`room_mib`, and
//! `mib_per_1000_members`): once the room has filled, the provider is started again on its
//! database, loads a room of one member (the owner's, made beside the large one), and is
//! measured before and after it loads the large room (the hub's state of the room in its
//! cache; its tail is empty then, since only new messages fill it). `first_load_mib` is what
//! loading the small room added: what any first request costs a fresh process (a database
//! connection and its page cache, an allocator arena), not the large room's. `fill_rss_mib` is
//! what filling the room added to the first process (allocator pages the fill's commits left
//! behind included), `fill_peak_mib` that process's peak (its sign-ups' password hashing
//! included); `server_peak_mib` is the second process's.
//!
//! `--fill adds` (the default) has the room's owner add everyone; `--fill joins` has everyone
//! join by external commit, one after another. The two leave different trees: a joiner's
//! commit fills its path's parent nodes, an add leaves them blank, and a newcomer encrypts
//! its path secrets to every member under a blank node.

use std::time::Instant;

use anyhow::{Context as _, anyhow};
use mimi_api as api;
use mimi_mls::member::RoomGroup;
use mimi_policy::id::UserId;
use serde_json::{Value, json};

use super::serve::{
    Http, KeyPackageKind, NONE, Person, Server, b64, claim_and_add, create_room, hub_key,
    one_provider, percentile, sign_up, unb64,
};
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
    /// How the room fills: its owner adds everyone (`adds`, in commits of a few hundred), or
    /// everyone joins it by external commit, one after another, as people find an open room
    /// (`joins`; each joiner's commit fills its path of the tree, as an add does not).
    #[arg(long, value_enum, default_value_t = Fill::Adds)]
    fill: Fill,
    /// The provider's database: SQLite in a scratch directory (the default), or PostgreSQL
    /// (`postgres://...`), in a schema of the run's own, dropped at its end.
    #[arg(long, value_name = "URL")]
    database: Option<String>,
    /// The `mimi` binary run as the provider (default: this one): another build's provider
    /// under this load generator (its joiners included), for figures side by side.
    #[arg(long, value_name = "PATH")]
    server_exe: Option<std::path::PathBuf>,
    /// A variable added to the provider's environment only (not the load generator's), as
    /// an operator would set it: `--server-env RUST_LOG=debug`. Repeatable; reported as
    /// `server_env`.
    #[arg(long, value_name = "KEY=VALUE", value_parser = super::serve::env_pair)]
    server_env: Vec<(String, String)>,
}

/// How `mimi bench join`'s room fills.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
enum Fill {
    /// Its owner adds everyone.
    Adds,
    /// Everyone joins by external commit.
    Joins,
}

/// Members added per commit while the room fills.
const ADDS_PER_COMMIT: usize = 250;

/// Sign-ups under way at once while the room fills.
const SIGNUPS_AT_ONCE: usize = 8;

const ROOM_PATH: &str = "/v1/rooms/bench.example/join";
/// The owner's room of one member, loaded first after the restart.
const WARMUP_PATH: &str = "/v1/rooms/bench.example/warmup";

pub fn run(args: Args) -> anyhow::Result<()> {
    if args.members < 1 || args.members > 100_000 || args.joins == 0 {
        return Err(InputError("--members between 1 and 100000, --joins at least 1".into()).into());
    }
    let exe = args.server_exe.as_deref();
    one_provider(
        "join",
        exe,
        args.database.as_deref(),
        &[],
        &args.server_env,
        |server, runtime| runtime.block_on(measure(server, &args)),
    )
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

/// The room's GroupInfo and ratchet tree, as the device `token` is served them.
async fn group_info(http: &Http, token: &str, room: &str) -> anyhow::Result<api::GroupInfo> {
    http.call(
        reqwest::Method::GET,
        &format!("{room}/group-info"),
        Some(token),
        NONE,
    )
    .await
}

/// `p` joins the room by external commit: fetches its GroupInfo and ratchet tree, builds the
/// commit, has the hub accept it. Returns the group and the three parts' times in ms.
async fn join_externally(http: &Http, p: &Person) -> anyhow::Result<(RoomGroup, [f64; 3])> {
    let t = Instant::now();
    let info = group_info(http, &p.token, ROOM_PATH).await?;
    let fetched = t.elapsed().as_secs_f64() * 1e3;
    let t = Instant::now();
    let (mut joined, out) =
        p.client
            .join_external(&unb64(&info.group_info)?, &unb64(&info.ratchet_tree)?, None)?;
    let body = api::Commit {
        commit: b64(&out.commit),
        group_info: b64(&out.group_info),
        welcome: None,
    };
    let built = t.elapsed().as_secs_f64() * 1e3;
    let t = Instant::now();
    let _: api::Handshake = http
        .call(
            reqwest::Method::POST,
            &format!("{ROOM_PATH}/commits"),
            Some(&p.token),
            Some(&body),
        )
        .await?;
    let accepted = t.elapsed().as_secs_f64() * 1e3;
    joined.confirm(&p.client)?;
    Ok((joined, [fetched, built, accepted]))
}

async fn measure(server: &mut Server, args: &Args) -> anyhow::Result<Value> {
    let http = Http {
        http: reqwest::Client::new(),
        base: server.url.clone(),
    };
    let setup = Instant::now();
    eprintln!("signing up {} members...", args.members);
    let owner = sign_up(&http, "owner", KeyPackageKind::OneTime, None).await?;
    let owner_name = owner.client.id().user().to_string();
    let mut people = Vec::with_capacity(args.members);
    let mut pending = tokio::task::JoinSet::new();
    for i in 1..args.members {
        if pending.len() >= SIGNUPS_AT_ONCE
            && let Some(done) = pending.join_next().await
        {
            people.push(done??);
        }
        let http = http.clone();
        let consent = (args.fill == Fill::Adds).then(|| owner_name.clone());
        pending.spawn(async move {
            let name = format!("member{i:05}");
            sign_up(&http, &name, KeyPackageKind::OneTime, consent.as_deref()).await
        });
    }
    while let Some(done) = pending.join_next().await {
        people.push(done??);
    }
    eprintln!("filling the room by {:?}...", args.fill);
    let fill_before = server.rss_mib();
    let hub = hub_key(&http).await?;
    let mut group = create_room(&http, &hub, &owner.token, &owner.client, "join", true).await?;
    // A room of its owner alone, loaded first by the restarted provider below, so that what
    // any first request costs a process (a database connection, its page cache, a worker
    // thread's allocator arena) is not counted as the large room's.
    create_room(&http, &hub, &owner.token, &owner.client, "warmup", false).await?;
    match args.fill {
        Fill::Adds => {
            let users: Vec<UserId> = people
                .iter()
                .map(|p| p.client.id().user().clone())
                .collect();
            for chunk in users.chunks(ADDS_PER_COMMIT) {
                add(&http, &owner, &mut group, chunk).await?;
            }
        }
        Fill::Joins => {
            for (i, p) in people.iter().enumerate() {
                join_externally(&http, p).await?;
                if (i + 1) % 100 == 0 {
                    eprintln!("{} joined", i + 1);
                }
            }
            catch_up(&http, &owner, &mut group).await?;
        }
    }
    drop(people);
    // The memory the room fills the provider with, allocator pages its commits left behind
    // included.
    let fill_after = server.rss_mib();
    let fill_peak = server.peak_mib();
    // The memory the room holds: a provider started again on its database, before and after
    // it serves the room's GroupInfo and tree once (which loads the room into its cache).
    server.restart()?;
    let http = Http {
        http: reqwest::Client::new(),
        base: server.url.clone(),
    };
    let started = server.rss_mib();
    group_info(&http, &owner.token, WARMUP_PATH).await?;
    let before = server.rss_mib();
    group_info(&http, &owner.token, ROOM_PATH).await?;
    let after = server.rss_mib();
    let setup_s = setup.elapsed().as_secs_f64();
    eprintln!("timing {} joins each way...", args.joins);
    let (mut external, mut sends, mut welcomed) = (Vec::new(), Vec::new(), Vec::new());
    // The external join's three parts: fetching, building (the client), accepting (the hub).
    let (mut fetch, mut build, mut accept) = (Vec::new(), Vec::new(), Vec::new());
    for j in 0..args.joins {
        // By external commit, then a first message.
        let name = format!("external{j:04}");
        let p = sign_up(&http, &name, KeyPackageKind::OneTime, None).await?;
        let t = Instant::now();
        let (mut joined, timed) = join_externally(&http, &p).await?;
        fetch.push(timed[0]);
        build.push(timed[1]);
        accept.push(timed[2]);
        external.push(t.elapsed().as_secs_f64() * 1e3);
        let t = Instant::now();
        send(&http, &p, &mut joined).await?;
        sends.push(t.elapsed().as_secs_f64() * 1e3);
        catch_up(&http, &owner, &mut group).await?;
        // By Welcome: the owner's claim and commit, then the newcomer's join.
        let name = format!("welcomed{j:04}");
        let q = sign_up(&http, &name, KeyPackageKind::OneTime, Some(&owner_name)).await?;
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
    let first_load_mib = started.zip(before).map(|(s, b)| (b - s).max(0.0));
    let fill_mib = fill_before.zip(fill_after).map(|(b, a)| (a - b).max(0.0));
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
        "first_load_mib": first_load_mib.map(|m| (m * 10.0).round() / 10.0),
        "mib_per_1000_members": room_mib.map(|m| (m / args.members as f64 * 1000.0 * 100.0).round() / 100.0),
        "fill_rss_mib": fill_mib.map(|m| (m * 10.0).round() / 10.0),
        "fill_peak_mib": fill_peak.map(|m| (m * 10.0).round() / 10.0),
        "fill": format!("{:?}", args.fill).to_lowercase(),
        "setup_seconds": (setup_s * 10.0).round() / 10.0,
    }))
}
