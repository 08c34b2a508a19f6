//! `mimi demo`: two providers (`a.example`, `b.example`) on loopback ports, with a throwaway
//! certificate authority and SQLite in a temporary directory, and a narrated tour of the
//! mission driven through this same `mimi` binary, as a person would type it: each of the
//! seed's presets, consent and adds across providers, every way into a room, moderation, a
//! refusal and the rule behind it, leave and destroy. One line per step (`--json`: one JSON
//! object per step); the exit status is 1 if any step does not behave as narrated.

use std::collections::BTreeMap;
use std::io::{BufRead as _, BufReader, IsTerminal as _, Write as _};
use std::path::PathBuf;
use std::process::{Child, Command, ExitCode, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context as _, bail};

use crate::safe::visible;

/// Arguments of `mimi demo`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Keep the providers' data, logs and the people's profiles in this directory (made if
    /// missing) instead of a temporary one removed at the end.
    #[arg(long, value_name = "DIR")]
    keep: Option<PathBuf>,
}

/// The domains of the two providers.
const DOMAINS: [&str; 2] = ["a.example", "b.example"];

/// The password every demo account gets.
const PASSWORD: &str = "correct horse battery";

/// How long a step waits for something to arrive.
const PATIENCE: Duration = Duration::from_secs(15);

/// What a step expects of its command.
enum Expect<'a> {
    /// Success, its output holding this text ("" for any).
    Ok(&'a str),
    /// A refusal with this stable code.
    Refused(&'a str),
    /// `sync` until its output holds this text.
    Receives(&'a str),
    /// The command, again and again until its output holds this text.
    Eventually(&'a str),
    /// `sync`, then the command, until the command succeeds (what the device waits for may
    /// still be on its way from another provider).
    AfterSync,
}

/// A step that did not behave as narrated.
#[derive(Debug)]
struct Failed(String);

/// What one step did, for `--json`.
#[derive(serde::Serialize)]
struct StepReport<'a> {
    step: usize,
    title: &'a str,
    actor: &'a str,
    command: Vec<String>,
    expected: &'a str,
    passed: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    code: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    rule: Option<String>,
    ms: u128,
    #[serde(skip_serializing_if = "Option::is_none")]
    problem: Option<String>,
}

/// The two providers and the people of the tour.
struct Tour {
    exe: PathBuf,
    dir: PathBuf,
    keep: bool,
    ca: PathBuf,
    servers: Vec<Child>,
    /// Each provider's URL for its clients, by domain.
    urls: BTreeMap<&'static str, String>,
    /// Each person's provider, by profile name.
    homes: BTreeMap<String, &'static str>,
    json: bool,
    colour: bool,
    step: usize,
}

impl Drop for Tour {
    fn drop(&mut self) {
        for child in &mut self.servers {
            let _ = child.kill();
            let _ = child.wait();
        }
        if !self.keep {
            let _ = std::fs::remove_dir_all(&self.dir);
        }
    }
}

/// A port free now, for a provider its peer must know before it starts.
fn free_port() -> anyhow::Result<u16> {
    Ok(std::net::TcpListener::bind("127.0.0.1:0")?
        .local_addr()?
        .port())
}

impl Tour {
    fn new(args: &Args, json: bool) -> anyhow::Result<Self> {
        let exe = std::env::current_exe().context("finding the mimi binary")?;
        let (dir, keep) = match &args.keep {
            Some(dir) => (dir.clone(), true),
            None => {
                let unique = format!(
                    "mimi-demo-{}-{}",
                    std::process::id(),
                    std::time::SystemTime::now()
                        .duration_since(std::time::UNIX_EPOCH)
                        .map_or(0, |d| d.as_nanos())
                );
                (std::env::temp_dir().join(unique), false)
            }
        };
        std::fs::create_dir_all(&dir).with_context(|| format!("{}", dir.display()))?;
        let out = std::io::stdout();
        Ok(Self {
            exe,
            ca: dir.join("ca").join("ca.pem"),
            dir,
            keep,
            servers: Vec::new(),
            urls: BTreeMap::new(),
            homes: BTreeMap::new(),
            json,
            colour: !json && out.is_terminal() && std::env::var_os("NO_COLOR").is_none(),
            step: 0,
        })
    }

    fn tool(&self, args: &[&str]) -> anyhow::Result<()> {
        let out = Command::new(&self.exe)
            .args(args)
            .output()
            .with_context(|| format!("running mimi {}", args.join(" ")))?;
        if !out.status.success() {
            bail!(
                "mimi {}: {}",
                args.join(" "),
                visible(String::from_utf8_lossy(&out.stderr).trim())
            );
        }
        Ok(())
    }

    /// The authority, the two providers' certificates, and the providers themselves.
    fn start_providers(&mut self) -> anyhow::Result<()> {
        let ca_dir = self.dir.join("ca");
        self.tool(&["tls", "dev-ca", &ca_dir.display().to_string()])?;
        let ports = [free_port()?, free_port()?];
        for (i, domain) in DOMAINS.iter().enumerate() {
            let tls = self.dir.join(format!("{domain}-tls"));
            self.tool(&[
                "tls",
                "dev-cert",
                "--ca",
                &ca_dir.display().to_string(),
                "--domain",
                domain,
                "--out",
                &tls.display().to_string(),
            ])?;
            let other = 1 - i;
            let log = std::fs::File::create(self.dir.join(format!("{domain}.log")))?;
            let mut child = Command::new(&self.exe)
                .args(["serve", "--domain", domain, "--listen"])
                .arg(format!("127.0.0.1:{}", ports[i]))
                .arg("--data-dir")
                .arg(self.dir.join(format!("{domain}-data")))
                .arg("--tls-cert")
                .arg(tls.join("cert.pem"))
                .arg("--tls-key")
                .arg(tls.join("key.pem"))
                .arg("--peer-ca")
                .arg(&self.ca)
                .arg("--peer")
                .arg(format!(
                    "{}=https://127.0.0.1:{}",
                    DOMAINS[other], ports[other]
                ))
                // a.example runs the provider's logger, for the logging room.
                .args(if i == 0 {
                    &["--logger", "archiver"][..]
                } else {
                    &[][..]
                })
                .env("MIMI_CA_CERT", &self.ca)
                .env("RUST_LOG", "warn")
                .stdout(Stdio::piped())
                .stderr(log)
                .spawn()
                .context("starting mimi serve")?;
            let mut line = String::new();
            if let Some(stdout) = child.stdout.take() {
                BufReader::new(stdout).read_line(&mut line)?;
            }
            self.servers.push(child);
            if !line.contains("listening") {
                bail!(
                    "{domain} did not start (see {})",
                    self.dir.join(format!("{domain}.log")).display()
                );
            }
            self.urls
                .insert(domain, format!("https://localhost:{}", ports[i]));
        }
        Ok(())
    }

    /// `who`'s profile directory.
    fn profile(&self, who: &str) -> PathBuf {
        self.dir.join("people").join(who)
    }

    /// `who` as a person reads it: `alice@a.example`.
    fn name(&self, who: &str) -> String {
        let user = who.split('-').next().unwrap_or(who);
        match self.homes.get(who) {
            Some(home) => format!("{user}@{home}"),
            None => user.to_owned(),
        }
    }

    /// Runs `mimi ARGS --profile who` (with `--json` when `json`).
    fn run(&self, who: &str, args: &[&str], json: bool) -> anyhow::Result<(bool, String, String)> {
        let mut cmd = Command::new(&self.exe);
        cmd.args(args);
        if json {
            cmd.arg("--json");
        }
        let out = cmd
            .arg("--profile")
            .arg(self.profile(who))
            .env("MIMI_PASSWORD", PASSWORD)
            .env("MIMI_CA_CERT", &self.ca)
            .stdin(Stdio::null())
            .output()
            .context("running mimi")?;
        Ok((
            out.status.success(),
            String::from_utf8_lossy(&out.stdout).into_owned(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        ))
    }

    /// One step of the tour: `who` runs `mimi ARGS`, which must do what `expect` says.
    /// Returns what the command printed.
    fn step(
        &mut self,
        title: &str,
        who: &str,
        args: &[&str],
        expect: Expect,
    ) -> Result<String, Failed> {
        self.step += 1;
        let started = Instant::now();
        let (expected, outcome) = match expect {
            Expect::Ok(text) => ("ok", self.expect_ok(who, args, text)),
            Expect::Refused(code) => ("refused", self.expect_refused(who, args, code)),
            Expect::Receives(text) => ("receives", self.expect_eventually(who, &["sync"], text)),
            Expect::Eventually(text) => ("eventually", self.expect_eventually(who, args, text)),
            Expect::AfterSync => ("ok", self.expect_after_sync(who, args)),
        };
        let ms = started.elapsed().as_millis();
        let command: Vec<String> = if let Expect::Receives(_) = expect {
            vec!["sync".into()]
        } else {
            args.iter().map(|a| (*a).to_owned()).collect()
        };
        let (passed, code, rule, problem, output) = match outcome {
            Ok(Outcome { output, code, rule }) => (true, code, rule, None, output),
            Err(Failed(why)) => (false, None, None, Some(why), String::new()),
        };
        let actor = self.name(who);
        if self.json {
            let report = StepReport {
                step: self.step,
                title,
                actor: &actor,
                command,
                expected,
                passed,
                code: code.clone(),
                rule: rule.clone(),
                ms,
                problem: problem.clone(),
            };
            emit(&serde_json::to_string(&report).unwrap_or_default())?;
        } else {
            let (mark, paint) = if passed { ("✓", "32") } else { ("✗", "31") };
            let mark = if self.colour {
                format!("\x1b[{paint}m{mark}\x1b[0m")
            } else {
                mark.to_owned()
            };
            let mut line = format!("{:>3} {mark} {actor:<16} {title}", self.step);
            if let Some(code) = &code {
                let why = match &rule {
                    Some(rule) => format!("refused: {code}, rule {rule}"),
                    None => format!("refused: {code}"),
                };
                if self.colour {
                    line.push_str(&format!("  \x1b[2m({why})\x1b[0m"));
                } else {
                    line.push_str(&format!("  ({why})"));
                }
            }
            emit(&line)?;
            if let Some(problem) = &problem {
                emit(&format!("      {}", visible(problem)))?;
            }
        }
        match problem {
            None => Ok(output),
            Some(why) => Err(Failed(why)),
        }
    }

    fn expect_ok(&self, who: &str, args: &[&str], text: &str) -> Result<Outcome, Failed> {
        let (ok, stdout, stderr) = self
            .run(who, args, false)
            .map_err(|e| Failed(format!("{e:#}")))?;
        if !ok {
            return Err(Failed(format!(
                "`mimi {}` failed: {}",
                args.join(" "),
                stderr.trim()
            )));
        }
        if !stdout.contains(text) {
            return Err(Failed(format!(
                "`mimi {}` did not say {text:?}: {}",
                args.join(" "),
                stdout.trim()
            )));
        }
        Ok(Outcome {
            output: stdout,
            code: None,
            rule: None,
        })
    }

    fn expect_refused(&self, who: &str, args: &[&str], code: &str) -> Result<Outcome, Failed> {
        let (ok, stdout, stderr) = self
            .run(who, args, true)
            .map_err(|e| Failed(format!("{e:#}")))?;
        if ok {
            return Err(Failed(format!("`mimi {}` was not refused", args.join(" "))));
        }
        let refusal: serde_json::Value = serde_json::from_str(stdout.trim()).map_err(|_| {
            Failed(format!(
                "`mimi {}` failed without a refusal: {}",
                args.join(" "),
                stderr.trim()
            ))
        })?;
        let got = refusal["code"].as_str().unwrap_or_default().to_owned();
        if got != code {
            return Err(Failed(format!(
                "`mimi {}` was refused with {got}, not {code}: {}",
                args.join(" "),
                refusal["message"].as_str().unwrap_or_default()
            )));
        }
        Ok(Outcome {
            output: stdout,
            code: Some(got),
            rule: refusal["rule"].as_str().map(str::to_owned),
        })
    }

    fn expect_after_sync(&self, who: &str, args: &[&str]) -> Result<Outcome, Failed> {
        let deadline = Instant::now() + PATIENCE;
        loop {
            self.run(who, &["sync"], false)
                .map_err(|e| Failed(format!("{e:#}")))?;
            let (ok, stdout, stderr) = self
                .run(who, args, false)
                .map_err(|e| Failed(format!("{e:#}")))?;
            if ok {
                return Ok(Outcome {
                    output: stdout,
                    code: None,
                    rule: None,
                });
            }
            if Instant::now() >= deadline {
                return Err(Failed(format!(
                    "`mimi {}` failed: {}",
                    args.join(" "),
                    stderr.trim()
                )));
            }
            std::thread::sleep(Duration::from_millis(150));
        }
    }

    fn expect_eventually(&self, who: &str, args: &[&str], text: &str) -> Result<Outcome, Failed> {
        let deadline = Instant::now() + PATIENCE;
        let mut seen = String::new();
        loop {
            let (ok, stdout, stderr) = self
                .run(who, args, false)
                .map_err(|e| Failed(format!("{e:#}")))?;
            if !ok {
                return Err(Failed(format!(
                    "`mimi {}` failed: {}",
                    args.join(" "),
                    stderr.trim()
                )));
            }
            seen.push_str(&stdout);
            if seen.contains(text) {
                return Ok(Outcome {
                    output: seen,
                    code: None,
                    rule: None,
                });
            }
            if Instant::now() >= deadline {
                return Err(Failed(format!(
                    "never received {text:?}; got: {}",
                    seen.trim()
                )));
            }
            std::thread::sleep(Duration::from_millis(150));
        }
    }

    /// A step that is no command: `holds` must come true within the tour's patience.
    fn check(&mut self, title: &str, who: &str, holds: impl Fn() -> bool) -> Result<(), Failed> {
        self.step += 1;
        let started = Instant::now();
        let mut passed = holds();
        while !passed && started.elapsed() < PATIENCE {
            std::thread::sleep(Duration::from_millis(150));
            passed = holds();
        }
        let actor = who.to_owned();
        if self.json {
            let report = StepReport {
                step: self.step,
                title,
                actor: &actor,
                command: Vec::new(),
                expected: "holds",
                passed,
                code: None,
                rule: None,
                ms: started.elapsed().as_millis(),
                problem: (!passed).then(|| "it did not happen".to_owned()),
            };
            emit(&serde_json::to_string(&report).unwrap_or_default())?;
        } else {
            let mark = match (passed, self.colour) {
                (true, true) => "\x1b[32m✓\x1b[0m",
                (false, true) => "\x1b[31m✗\x1b[0m",
                (true, false) => "✓",
                (false, false) => "✗",
            };
            emit(&format!("{:>3} {mark} {actor:<16} {title}", self.step))?;
        }
        if passed {
            Ok(())
        } else {
            Err(Failed(format!("{title}: it did not happen")))
        }
    }

    /// An account for `who` on `domain`.
    fn account(&mut self, who: &str, domain: &'static str) -> Result<(), Failed> {
        self.homes.insert(who.to_owned(), domain);
        let url = self.urls.get(domain).cloned().unwrap_or_default();
        let user = who.split('-').next().unwrap_or(who).to_owned();
        self.step(
            &format!("opens an account on {domain}"),
            who,
            &["account", "create", "--server", &url, "--user", &user],
            Expect::Ok(""),
        )
        .map(|_| ())
    }
}

/// Prints one line; a closed output (`mimi demo | head`) ends the tour.
fn emit(line: &str) -> Result<(), Failed> {
    let mut out = std::io::stdout().lock();
    writeln!(out, "{line}")
        .and_then(|()| out.flush())
        .map_err(|e| Failed(format!("writing the tour: {e}")))
}

/// What a step's command printed, and its refusal.
struct Outcome {
    output: String,
    code: Option<String>,
    rule: Option<String>,
}

/// The room a `room create --json` printed.
fn created_room(output: &str) -> Result<String, Failed> {
    output
        .lines()
        .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
        .find_map(|v| v["room"].as_str().map(str::to_owned))
        .ok_or_else(|| Failed(format!("no room in {output:?}")))
}

/// The join link `room link create` printed.
fn printed_link(output: &str) -> Result<String, Failed> {
    output
        .split_whitespace()
        .find(|w| w.contains("?link="))
        .map(str::to_owned)
        .ok_or_else(|| Failed(format!("no link in {output:?}")))
}

/// The tour itself.
fn tour(t: &mut Tour) -> Result<(), Failed> {
    for (who, domain) in [
        ("alice", "a.example"),
        ("carol", "a.example"),
        ("bob", "b.example"),
        ("dave", "b.example"),
        ("erin", "b.example"),
    ] {
        t.account(who, domain)?;
    }

    // The seed's presets.
    t.step(
        "creates #team, the seed's administrated room",
        "alice",
        &["room", "create", "team", "--preset", "administrated"],
        Expect::Ok("created"),
    )?;
    t.step(
        "creates #lobby, the seed's open room",
        "alice",
        &["room", "create", "lobby", "--preset", "open"],
        Expect::Ok("created"),
    )?;
    let plans = t.step(
        "creates #plans, semi-open: hidden, a.example's users may join",
        "alice",
        &["room", "create", "plans", "--preset", "semi-open", "--json"],
        Expect::Ok("plans"),
    )?;
    let plans = created_room(&plans)?;
    t.step(
        "creates #stage, the seed's moderated room",
        "alice",
        &["room", "create", "stage", "--preset", "moderated"],
        Expect::Ok("created"),
    )?;

    // Consent and a direct add, across providers.
    t.step(
        "asks bob@b.example for consent to add him to #team",
        "alice",
        &["consent", "request", "bob@b.example", "--room", "team"],
        Expect::Ok(""),
    )?;
    t.step(
        "hears of it through b.example",
        "bob",
        &[],
        Expect::Receives("asks to add you"),
    )?;
    t.step(
        "grants it",
        "bob",
        &[
            "consent",
            "grant",
            "alice@a.example",
            "--room",
            "mimi://a.example/r/team",
        ],
        Expect::Ok(""),
    )?;
    t.step(
        "adds bob@b.example to #team (KeyPackages from b.example)",
        "alice",
        &["room", "add", "team", "bob@b.example"],
        Expect::Ok(""),
    )?;
    t.step(
        "joins #team by the Welcome a.example fanned out",
        "bob",
        &[],
        Expect::Receives("joined"),
    )?;
    t.step(
        "says hello in #team",
        "alice",
        &["send", "team", "hello bob, from a.example"],
        Expect::Ok("sent"),
    )?;
    t.step(
        "reads it",
        "bob",
        &[],
        Expect::Receives("hello bob, from a.example"),
    )?;
    t.step(
        "answers from b.example",
        "bob",
        &[
            "send",
            "mimi://a.example/r/team",
            "hi alice, from b.example",
        ],
        Expect::Ok("sent"),
    )?;
    t.step(
        "reads it",
        "alice",
        &[],
        Expect::Receives("hi alice, from b.example"),
    )?;

    // Ways in by oneself.
    t.step(
        "joins #lobby, an open room on a.example",
        "dave",
        &["room", "join", "mimi://a.example/r/lobby"],
        Expect::Ok("joined"),
    )?;
    t.step(
        "joins #plans: her domain is pre-authorized",
        "carol",
        &["room", "join", &plans],
        Expect::Ok("joined"),
    )?;
    t.step(
        "may not join #plans: b.example is not",
        "dave",
        &["room", "join", &plans],
        Expect::Refused("not-found"),
    )?;
    t.step(
        "may not join #team by himself: it is members-only",
        "dave",
        &["room", "join", "mimi://a.example/r/team"],
        Expect::Refused("knock-required"),
    )?;
    t.step(
        "sees dave's join of #lobby",
        "alice",
        &[],
        Expect::Receives("lobby"),
    )?;
    t.step(
        "creates #forum, administrated too",
        "alice",
        &["room", "create", "forum", "--preset", "administrated"],
        Expect::Ok("created"),
    )?;
    t.step(
        "pre-authorizes b.example's users as members of #forum",
        "alice",
        &[
            "room",
            "preauth",
            "add",
            "forum",
            "--role",
            "member",
            "domain:b.example",
        ],
        Expect::Ok(""),
    )?;
    t.step(
        "joins #forum by himself, pre-authorized",
        "dave",
        &["room", "join", "mimi://a.example/r/forum"],
        Expect::Ok("joined"),
    )?;
    let link = t.step(
        "makes a join link of #team with a password",
        "alice",
        &[
            "room",
            "link",
            "create",
            "team",
            "--uses",
            "3",
            "--expires",
            "1d",
            "--password",
            "sesame",
        ],
        Expect::Ok("?link="),
    )?;
    let link = printed_link(&link)?;
    t.step(
        "may not use it without the password",
        "dave",
        &["room", "join", "mimi://a.example/r/team", "--link", &link],
        Expect::Refused("bad-password"),
    )?;
    t.step(
        "joins #team with the link and its password",
        "dave",
        &[
            "room",
            "join",
            "mimi://a.example/r/team",
            "--link",
            &link,
            "--password",
            "sesame",
        ],
        Expect::Ok("joined"),
    )?;

    // A moderated room: voice, kick, ban.
    t.step(
        "joins #stage, a moderated room, as a visitor",
        "bob",
        &["room", "join", "mimi://a.example/r/stage"],
        Expect::Ok("joined"),
    )?;
    t.step(
        "may not speak there without voice",
        "bob",
        &["send", "mimi://a.example/r/stage", "can you hear me?"],
        Expect::Refused("no-voice"),
    )?;
    t.step("sees them come in", "alice", &[], Expect::Receives("stage"))?;
    t.step(
        "gives bob@b.example voice",
        "alice",
        &["room", "voice", "stage", "bob@b.example"],
        Expect::Ok(""),
    )?;
    t.step("is told", "bob", &[], Expect::Receives("stage"))?;
    t.step(
        "speaks",
        "bob",
        &["send", "mimi://a.example/r/stage", "thanks for the voice"],
        Expect::Ok("sent"),
    )?;
    t.step(
        "may not kick alice from #team: he is no moderator",
        "bob",
        &["room", "kick", "mimi://a.example/r/team", "alice@a.example"],
        Expect::Refused("not-allowed"),
    )?;
    t.step(
        "kicks bob@b.example from #stage",
        "alice",
        &[
            "room",
            "kick",
            "stage",
            "bob@b.example",
            "--reason",
            "cool off",
        ],
        Expect::Ok(""),
    )?;
    t.step("is told why", "bob", &[], Expect::Receives("cool off"))?;
    t.step(
        "bans dave@b.example from #lobby",
        "alice",
        &["room", "ban", "lobby", "dave@b.example", "--reason", "spam"],
        Expect::Ok(""),
    )?;
    t.step("is told", "dave", &[], Expect::Receives("no longer in"))?;
    t.step(
        "may not come back by any way in",
        "dave",
        &["room", "join", "mimi://a.example/r/lobby"],
        Expect::Refused("banned"),
    )?;

    // A knock and a one-on-one room across providers; a logging room on a.example.
    t.step(
        "knocks on #team, through b.example",
        "erin",
        &["room", "knock", "mimi://a.example/r/team"],
        Expect::Ok(""),
    )?;
    t.step("hears erin's knock", "alice", &[], Expect::Receives("erin"))?;
    t.step(
        "lets erin@b.example in (b.example hands over her KeyPackages)",
        "alice",
        &["room", "add", "team", "erin@b.example"],
        Expect::Ok(""),
    )?;
    t.step("joins #team", "erin", &[], Expect::Receives("joined"))?;
    t.step(
        "opens the one-on-one room of alice and bob@b.example (named by the seed's hash)",
        "alice",
        &["dm", "bob@b.example"],
        Expect::Ok("im:mimi="),
    )?;
    t.step(
        "hears of it through b.example",
        "bob",
        &[],
        Expect::Receives("fixed room"),
    )?;
    t.step(
        "joins it by naming the same people",
        "bob",
        &["dm", "alice@a.example"],
        Expect::Ok("joined"),
    )?;
    let ledger = std::fs::write(
        t.dir.join("ledger.json"),
        serde_json::json!({
            "policy": {"membership": "members-only", "fixed-membership": true,
                       "multi-device": false, "logging": true},
            "preauth-member": [{"system": "archiver@a.example"}],
            "owning-system": ["system@a.example"],
            "user-affiliations": {"owner": ["alice@a.example"]},
        })
        .to_string(),
    );
    ledger.map_err(|e| Failed(e.to_string()))?;
    let ledger_path = t.dir.join("ledger.json").display().to_string();
    let ledger = t.step(
        "creates the seed's fixed-membership room with logging (named by its occupants)",
        "alice",
        &[
            "room",
            "create",
            "ledger",
            "--policy",
            &ledger_path,
            "--json",
        ],
        Expect::Ok("im:mimi="),
    )?;
    let ledger = created_room(&ledger)?;
    t.step(
        "sees a.example's logger join it by itself",
        "alice",
        &["room", "show", &ledger, "--json"],
        Expect::Eventually("\"logger\""),
    )?;
    t.step(
        "takes the logger's join",
        "alice",
        &["sync"],
        Expect::Ok(""),
    )?;
    t.step(
        "speaks there, for the record",
        "alice",
        &["send", &ledger, "minutes: all agreed"],
        Expect::Ok("sent"),
    )?;
    let log = t.dir.join("a.example-data").join("logs").join(format!(
        "{}.jsonl",
        ledger
            .chars()
            .map(|c| if c.is_ascii_alphanumeric() { c } else { '_' })
            .collect::<String>()
    ));
    t.check(
        "writes it to a.example's log of the room",
        "archiver@a.example",
        || std::fs::read_to_string(&log).is_ok_and(|l| l.contains("minutes: all agreed")),
    )?;

    // A new device joins its user's rooms by itself, on the other provider too.
    t.homes.insert("bob-phone".into(), "b.example");
    let b_url = t.urls.get("b.example").cloned().unwrap_or_default();
    t.step(
        "logs in on a second device",
        "bob-phone",
        &["account", "login", "--server", &b_url, "--user", "bob"],
        Expect::Ok(""),
    )?;
    t.step(
        "registers it as his phone",
        "bob-phone",
        &["device", "add", "phone"],
        Expect::Ok(""),
    )?;
    t.step(
        "joins bob's rooms on a.example on its first sync",
        "bob-phone",
        &["sync"],
        Expect::Ok("joined mimi://a.example/r/team"),
    )?;

    // Leave and destroy.
    t.step(
        "leaves #team, on a.example (once his phone's join reached him)",
        "bob",
        &["room", "leave", "mimi://a.example/r/team"],
        Expect::AfterSync,
    )?;
    t.step(
        "commits bob's departure",
        "alice",
        &["sync"],
        Expect::Ok("team"),
    )?;
    t.step(
        "leaves #plans",
        "carol",
        &["room", "leave", &plans],
        Expect::Ok(""),
    )?;
    t.step(
        "commits carol's departure",
        "alice",
        &[],
        Expect::Receives("plans"),
    )?;
    t.step(
        "destroys #plans, its last member",
        "alice",
        &["room", "destroy", &plans],
        Expect::Ok(""),
    )?;
    Ok(())
}

/// Runs the tour; `json`: one JSON object per step.
pub fn run(args: Args, json: bool) -> anyhow::Result<ExitCode> {
    let mut t = Tour::new(&args, json)?;
    let started = Instant::now();
    if !json
        && emit(&format!(
            "mimi demo: two providers, a.example and b.example, on loopback (data in {})",
            t.dir.display()
        ))
        .is_err()
    {
        return Ok(ExitCode::from(1));
    }
    t.start_providers()?;
    let result = tour(&mut t);
    let seconds = started.elapsed().as_secs_f64();
    match result {
        Ok(()) => {
            if !json {
                let _ = emit(&format!(
                    "every step behaved as narrated ({} steps, {seconds:.1} s)",
                    t.step
                ));
            }
            Ok(ExitCode::SUCCESS)
        }
        Err(Failed(_)) => {
            if !json {
                let _ = emit(&format!(
                    "step {} did not behave as narrated (run with --keep DIR to keep the \
                     providers' logs and data)",
                    t.step
                ));
            }
            Ok(ExitCode::from(1))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_created_room_and_a_printed_link_are_found_in_the_output() {
        assert_eq!(
            created_room("{\"event\":\"created\",\"room\":\"mimi://a.example/r/x~k\"}\n").unwrap(),
            "mimi://a.example/r/x~k"
        );
        assert!(created_room("nothing").is_err());
        assert_eq!(
            printed_link("created a join link:\nmimi://a/r/t?link=K&uses=3\n").unwrap(),
            "mimi://a/r/t?link=K&uses=3"
        );
    }
}
