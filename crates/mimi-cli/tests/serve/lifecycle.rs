//! Starting with no configuration, answering, stopping on SIGTERM.

use crate::http::request;
use crate::server::{Server, scratch};

#[test]
fn serve_starts_without_configuration_answers_healthz_and_stops_on_sigterm() {
    let dir = scratch("lifecycle");
    let server = Server::start(&dir, &[]);
    let (status, body) = request(server.addr, "GET", "/healthz", None, None).unwrap();
    assert_eq!((status, body.as_str()), (200, Some("ok")));
    let (status, body) = request(server.addr, "GET", "/v1/devices", None, None).unwrap();
    assert_eq!(status, 401);
    assert_eq!(body["code"], "unauthorized");
    assert_eq!(server.terminate(), Some(0));
    assert!(dir.join("mimi.db").exists(), "SQLite under --data-dir");
    let _ = std::fs::remove_dir_all(dir);
}

#[test]
fn serve_reads_a_config_file_and_flags_override_it() {
    let dir = scratch("config");
    let config = dir.join("mimi.toml");
    std::fs::write(
        &config,
        format!(
            "domain = \"chat.example\"\nlisten = \"127.0.0.1:1\"\ndata_dir = \"{}\"\n",
            dir.join("from-config").display()
        ),
    )
    .unwrap();
    // --listen on the command line wins over the file's unusable port.
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_mimi"))
        .args(["serve", "--config"])
        .arg(&config)
        .args(["--listen", "127.0.0.1:0"])
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let server = crate::server::Server::adopt(out);
    let (status, v) = request(server.addr, "GET", "/v1/provider", None, None).unwrap();
    assert_eq!((status, v["domain"].as_str()), (200, Some("chat.example")));
    assert_eq!(server.terminate(), Some(0));
    assert!(dir.join("from-config/mimi.db").exists());

    std::fs::write(&config, "domian = \"typo.example\"\n").unwrap();
    let bad = std::process::Command::new(env!("CARGO_BIN_EXE_mimi"))
        .args(["serve", "--config"])
        .arg(&config)
        .output()
        .unwrap();
    assert_eq!(bad.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&bad.stderr).contains("domian"));
    let _ = std::fs::remove_dir_all(dir);
}

#[test]
fn the_load_generator_runs_against_a_provider_it_starts() {
    let report = bench(&[
        "serve",
        "--members",
        "3",
        "--messages",
        "30",
        "--senders",
        "2",
    ]);
    assert_eq!(report["messages"], 30);
    assert!(
        report["deliveries_per_s"].as_f64().unwrap() > 0.0,
        "{report}"
    );
    // Timed on the data directory's disk (near 0 on a RAM disk): one flush after another,
    // and each after a pause, as paced messages find the disk.
    for key in ["disk_flush_ms", "disk_flush_paced_ms"] {
        assert!(
            report[key].as_f64().is_some_and(|ms| ms >= 0.0),
            "{key}: {report}"
        );
    }
    // And the machine's CPU (a sort, threads waking each other), which take time anywhere.
    for key in ["cpu_probe_ms", "wake_rtt_us", "wake_rtt_paced_us"] {
        assert!(
            report[key].as_f64().is_some_and(|t| t > 0.0),
            "{key}: {report}"
        );
    }
}

#[test]
fn the_load_generator_times_each_delivery_on_the_event_stream_at_a_paced_rate() {
    let report = bench(&[
        "serve",
        "--members",
        "3",
        "--messages",
        "20",
        "--senders",
        "2",
        "--rate",
        "100",
        "--receive",
        "events",
    ]);
    assert_eq!(report["receive"], "events");
    assert_eq!(report["rate"], 100.0);
    // Every delivery to every member timed, from the submit's start to its arrival.
    for key in ["delivery_p50_ms", "delivery_p99_ms", "delivery_max_ms"] {
        assert!(
            report[key].as_f64().is_some_and(|ms| ms > 0.0),
            "{key}: {report}"
        );
    }
    assert!(report["delivery_p50_ms"].as_f64() <= report["delivery_max_ms"].as_f64());
    // Each message's first delivery, and how long its last receiver waited after the first.
    let first = report["first_delivery_p50_ms"].as_f64().unwrap();
    assert!(
        first > 0.0 && Some(first) <= report["delivery_p50_ms"].as_f64(),
        "{report}"
    );
    assert!(
        report["spread_p50_ms"].as_f64().is_some_and(|ms| ms >= 0.0)
            && report["spread_p50_ms"].as_f64() <= report["spread_p99_ms"].as_f64()
            && report["first_delivery_p99_ms"].as_f64() <= report["delivery_max_ms"].as_f64(),
        "{report}"
    );
    // One receiver decrypts what it gets, timed apart.
    assert!(
        report["decrypt_mean_ms"]
            .as_f64()
            .is_some_and(|ms| ms > 0.0),
        "{report}"
    );
}

#[test]
fn when_every_member_sends_the_decrypting_receiver_skips_its_own_messages() {
    // The decrypting receiver (the last member) is a sender too: MLS gives it no key for
    // its own messages, which come back to it in the room's log.
    let report = bench(&[
        "serve",
        "--members",
        "3",
        "--senders",
        "3",
        "--messages",
        "12",
        "--receive",
        "events",
    ]);
    assert!(
        report["decrypt_mean_ms"]
            .as_f64()
            .is_some_and(|ms| ms > 0.0),
        "{report}"
    );
}

/// `mimi bench ARGS`, which must succeed; its JSON line.
fn bench(args: &[&str]) -> serde_json::Value {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_mimi"))
        .arg("bench")
        .args(args)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

/// `mimi bench serve` with `extra` arguments on a tiny room, receiving on the event stream;
/// its JSON line.
fn tiny_bench(extra: &[&str]) -> serde_json::Value {
    let mut args = vec![
        "serve",
        "--members",
        "3",
        "--messages",
        "10",
        "--senders",
        "1",
        "--receive",
        "events",
    ];
    args.extend_from_slice(extra);
    bench(&args)
}

#[test]
fn the_hub_commit_benchmark_gives_the_machines_cpu_figures_beside_its_own() {
    let report = bench(&["hub-commit", "--members", "3", "--iterations", "1"]);
    assert_eq!(report["members"], 3);
    for key in [
        "openmls_ms",
        "mimi_ms",
        "cpu_probe_ms",
        "wake_rtt_us",
        "wake_rtt_paced_us",
    ] {
        assert!(
            report[key].as_f64().is_some_and(|t| t > 0.0),
            "{key}: {report}"
        );
    }
}

#[test]
fn the_join_benchmark_times_external_and_welcome_joins_and_the_rooms_memory() {
    // The room filled by its owner's adds, then by its members' own external joins.
    for fill in ["adds", "joins"] {
        let report = bench(&["join", "--members", "4", "--joins", "1", "--fill", fill]);
        assert_eq!(report["members"], 4);
        assert_eq!(report["fill"], fill);
        for key in [
            "join_external_p50_ms",
            "join_welcome_p50_ms",
            "send_after_join_p50_ms",
        ] {
            assert!(
                report[key].as_f64().is_some_and(|ms| ms > 0.0),
                "{key}: {report}"
            );
        }
        assert!(report["mib_per_1000_members"].is_number(), "{report}");
        assert!(report["first_load_mib"].is_number(), "{report}");
        assert!(report["fill_rss_mib"].is_number(), "{report}");
    }
}

#[test]
fn the_join_benchmark_runs_the_provider_it_is_given() {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_mimi"))
        .args(["bench", "join", "--members", "2", "--joins", "1"])
        .args(["--server-exe", "/nonexistent/mimi"])
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("starting mimi serve"), "{err}");
}

#[test]
fn the_join_benchmark_adds_the_server_env_to_the_providers_environment() {
    use std::os::unix::fs::PermissionsExt as _;
    let dir = scratch("server-env");
    std::fs::create_dir_all(&dir).unwrap();
    // A provider that writes down its environment, then is the real one.
    let seen = dir.join("env.txt");
    let wrapper = dir.join("provider.sh");
    std::fs::write(
        &wrapper,
        format!(
            "#!/bin/sh\nenv > '{}'\nexec '{}' \"$@\"\n",
            seen.display(),
            env!("CARGO_BIN_EXE_mimi")
        ),
    )
    .unwrap();
    std::fs::set_permissions(&wrapper, std::fs::Permissions::from_mode(0o755)).unwrap();
    let report = bench(&[
        "join",
        "--members",
        "2",
        "--joins",
        "1",
        "--server-exe",
        wrapper.to_str().unwrap(),
        "--server-env",
        "MIMI_BENCH_PROBE=a=b",
    ]);
    assert_eq!(
        report["server_env"],
        serde_json::json!(["MIMI_BENCH_PROBE=a=b"])
    );
    let env = std::fs::read_to_string(&seen).unwrap();
    assert!(env.lines().any(|l| l == "MIMI_BENCH_PROBE=a=b"), "{env}");
    // Not KEY=VALUE: refused before anything runs.
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_mimi"))
        .args(["bench", "join", "--server-env", "NOEQUALS"])
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("KEY=VALUE"));
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn the_rooms_benchmark_sends_over_more_rooms_than_the_provider_keeps_in_memory() {
    let report = bench(&[
        "rooms",
        "--rooms",
        "5",
        "--members",
        "2",
        "--users",
        "4",
        "--messages",
        "10",
        "--cached-rooms",
        "2",
    ]);
    assert_eq!(
        (report["rooms"].as_u64(), report["cached_rooms"].as_u64()),
        (Some(5), Some(2))
    );
    for key in ["messages_per_s", "cold_submit_p50_ms", "warm_submit_p50_ms"] {
        assert!(
            report[key].as_f64().is_some_and(|v| v > 0.0),
            "{key}: {report}"
        );
    }
}

#[test]
fn the_load_generator_measures_the_providers_cpu_with_idle_devices_connected() {
    let report = tiny_bench(&["--idle-devices", "30", "--idle-seconds", "0.5"]);
    assert_eq!(report["idle_devices"], 30);
    assert!(
        report["idle_cpu_percent"]
            .as_f64()
            .is_some_and(|p| p >= 0.0),
        "{report}"
    );
    assert_eq!(report["database"], "sqlite");
}

#[test]
fn the_load_generator_runs_two_processes_on_a_postgres_schema_of_its_own() {
    let Ok(base) = std::env::var("MIMI_TEST_POSTGRES_URL") else {
        eprintln!("skipped: MIMI_TEST_POSTGRES_URL is not set");
        return;
    };
    let report = tiny_bench(&["--processes", "2", "--database", &base]);
    assert_eq!(report["database"], "postgres");
    assert_eq!(report["processes"], 2);
    assert!(report["delivery_p50_ms"].as_f64().is_some(), "{report}");
    // Two processes on SQLite are refused with the reason.
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_mimi"))
        .args(["bench", "serve", "--processes", "2"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2), "an input error");
    assert!(String::from_utf8_lossy(&out.stderr).contains("PostgreSQL"));
}

/// Whether the server closes `stream` within `limit` while `trickle` bytes go out one at a
/// time, every 200 ms (none: the connection sits idle).
fn closed_within(
    mut stream: std::net::TcpStream,
    trickle: &[u8],
    limit: std::time::Duration,
) -> bool {
    use std::io::{Read as _, Write as _};
    stream
        .set_read_timeout(Some(std::time::Duration::from_millis(200)))
        .unwrap();
    let start = std::time::Instant::now();
    let mut bytes = trickle.iter().cycle();
    let mut buf = [0u8; 512];
    while start.elapsed() < limit {
        match stream.read(&mut buf) {
            // Closed, or an answer (408) before closing: either way it was cut off.
            Ok(_) => return true,
            Err(e)
                if e.kind() == std::io::ErrorKind::WouldBlock
                    || e.kind() == std::io::ErrorKind::TimedOut => {}
            Err(_) => return true,
        }
        if !trickle.is_empty()
            && let Some(b) = bytes.next()
            && stream.write_all(&[*b]).is_err()
        {
            return true;
        }
    }
    false
}

#[test]
fn a_client_that_trickles_its_headers_or_sits_idle_is_cut_off() {
    let dir = crate::server::scratch("slowloris");
    let server = crate::server::Server::start(&dir, &["--header-read-timeout", "1"]);
    let limit = std::time::Duration::from_secs(20);
    let trickling = std::net::TcpStream::connect(server.addr).unwrap();
    assert!(closed_within(
        trickling,
        b"GET /healthz HTTP/1.1\r\nX-Slow: aaaaaaaa",
        limit
    ));
    let idle = std::net::TcpStream::connect(server.addr).unwrap();
    assert!(closed_within(idle, b"", limit));
    // A client that sends its request at once is answered.
    let (status, _) = crate::http::request(server.addr, "GET", "/healthz", None, None).unwrap();
    assert_eq!(status, 200);
}
