//! `mimi serve` with nothing configured: domain `localhost`, 127.0.0.1:8470, SQLite under
//! `./mimi-data`; and the `MIMI_*` environment variables, which flags override.

use std::io::{BufRead as _, BufReader};
use std::net::SocketAddr;
use std::path::Path;
use std::process::{Child, Command, Stdio};

use crate::http::request;
use crate::server::scratch;

/// A `mimi serve` started in a working directory with no `MIMI_*` variable but `env`.
struct Running {
    child: Child,
    /// Its first line of output.
    line: String,
    addr: SocketAddr,
}

impl Running {
    fn start(cwd: &Path, args: &[&str], env: &[(&str, &str)]) -> Self {
        let mut command = Command::new(env!("CARGO_BIN_EXE_mimi"));
        command
            .arg("serve")
            .args(args)
            .current_dir(cwd)
            .env("RUST_LOG", "warn")
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit());
        for (key, _) in std::env::vars_os() {
            if key.to_string_lossy().starts_with("MIMI_") {
                command.env_remove(key);
            }
        }
        command.env_remove("MALLOC_MMAP_THRESHOLD_");
        command.envs(env.iter().copied());
        let mut child = command.spawn().expect("start mimi serve");
        let mut line = String::new();
        BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut line)
            .unwrap();
        let line = line.trim().to_owned();
        let addr = line
            .strip_prefix("mimi serve listening on http://")
            .and_then(|a| a.parse().ok())
            .unwrap_or_else(|| panic!("unexpected first line: {line:?}"));
        Self { child, line, addr }
    }

    fn domain(&self) -> String {
        let (status, v) = request(self.addr, "GET", "/v1/provider", None, None).unwrap();
        assert_eq!(status, 200, "{v}");
        v["domain"].as_str().unwrap().to_owned()
    }

    /// SIGTERM; the exit code.
    fn terminate(mut self) -> Option<i32> {
        Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status()
            .unwrap();
        self.child.wait().unwrap().code()
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// `mimi account ...` for a profile; whether it succeeded, and its output.
fn account(profile: &Path, args: &[&str]) -> (bool, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_mimi"))
        .arg("account")
        .args(args)
        .arg("--profile")
        .arg(profile)
        .arg("--json")
        .env("MIMI_PASSWORD", "correct horse battery")
        .output()
        .unwrap();
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.success(), text)
}

/// The names in a directory, sorted.
fn names(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

#[test]
fn serve_with_nothing_configured_is_localhost_on_8470_with_its_data_in_mimi_data() {
    let cwd = scratch("defaults");
    let profiles = scratch("defaults_profiles");
    // The default port, when this machine has it free.
    let free = std::net::TcpListener::bind("127.0.0.1:8470").is_ok();
    let listen: &[&str] = if free {
        &[]
    } else {
        eprintln!("127.0.0.1:8470 is taken: checking the defaults with --listen 127.0.0.1:0");
        &["--listen", "127.0.0.1:0"]
    };
    let server = Running::start(&cwd, listen, &[]);
    if free {
        assert_eq!(server.line, "mimi serve listening on http://127.0.0.1:8470");
    }
    assert_eq!(server.addr.ip().to_string(), "127.0.0.1");
    assert_eq!(server.domain(), "localhost");
    let url = format!("http://{}", server.addr);
    let (created, out) = account(
        &profiles.join("alice"),
        &["create", "--server", &url, "--user", "alice"],
    );
    assert!(created, "{out}");
    assert!(out.contains("\"mimi://localhost/u/alice\""), "{out}");
    assert!(
        cwd.join("mimi-data/mimi.db").is_file(),
        "SQLite in ./mimi-data"
    );
    assert_eq!(server.terminate(), Some(0));
    // Nothing else is left in the working directory.
    assert_eq!(names(&cwd), ["mimi-data"]);

    // The data is that directory's: started there again, the provider knows alice...
    let again = Running::start(&cwd, &["--listen", "127.0.0.1:0"], &[]);
    let url = format!("http://{}", again.addr);
    let login = ["login", "--server", url.as_str(), "--user", "alice"];
    let (known, out) = account(&profiles.join("alice2"), &login);
    assert!(known, "{out}");
    assert_eq!(again.terminate(), Some(0));
    // ...and with ./mimi-data moved away, it starts empty (and makes ./mimi-data again).
    std::fs::rename(cwd.join("mimi-data"), cwd.join("moved")).unwrap();
    let empty = Running::start(&cwd, &["--listen", "127.0.0.1:0"], &[]);
    let url = format!("http://{}", empty.addr);
    let login = ["login", "--server", url.as_str(), "--user", "alice"];
    let (known, out) = account(&profiles.join("alice3"), &login);
    assert!(!known, "a fresh ./mimi-data has no alice: {out}");
    assert!(out.contains("unauthorized"), "{out}");
    assert!(cwd.join("mimi-data/mimi.db").is_file());
    assert_eq!(empty.terminate(), Some(0));
    let _ = std::fs::remove_dir_all(cwd);
    let _ = std::fs::remove_dir_all(profiles);
}

#[test]
fn serve_takes_its_settings_from_mimi_variables_and_flags_override_them() {
    let cwd = scratch("env");
    let env = [
        ("MIMI_DOMAIN", "chat.example"),
        ("MIMI_DATA_DIR", "from-env"),
        ("MIMI_LISTEN", "127.0.0.1:0"),
    ];
    // No flag at all: every setting from the environment.
    let server = Running::start(&cwd, &[], &env);
    assert_eq!(server.addr.ip().to_string(), "127.0.0.1");
    assert_ne!(
        server.addr.port(),
        8470,
        "MIMI_LISTEN's port 0, not the default"
    );
    assert_eq!(server.domain(), "chat.example");
    assert!(cwd.join("from-env/mimi.db").is_file());
    assert_eq!(server.terminate(), Some(0));
    assert_eq!(names(&cwd), ["from-env"], "no ./mimi-data");

    // Flags win over the same variables (MIMI_LISTEN now names a port no one may use).
    let env = [
        ("MIMI_DOMAIN", "chat.example"),
        ("MIMI_DATA_DIR", "from-env"),
        ("MIMI_LISTEN", "127.0.0.1:1"),
    ];
    let flags = [
        "--domain",
        "flag.example",
        "--data-dir",
        "from-flag",
        "--listen",
        "127.0.0.1:0",
    ];
    let server = Running::start(&cwd, &flags, &env);
    assert_eq!(server.domain(), "flag.example");
    assert!(cwd.join("from-flag/mimi.db").is_file());
    assert_eq!(server.terminate(), Some(0));
    assert_eq!(names(&cwd), ["from-env", "from-flag"]);

    // MIMI_DATABASE names the database itself; no data directory is made.
    let env = [
        ("MIMI_DATABASE", "sqlite://by-env.db"),
        ("MIMI_LISTEN", "127.0.0.1:0"),
    ];
    std::fs::remove_dir_all(cwd.join("from-env")).unwrap();
    std::fs::remove_dir_all(cwd.join("from-flag")).unwrap();
    let server = Running::start(&cwd, &[], &env);
    assert_eq!(server.domain(), "localhost");
    assert!(cwd.join("by-env.db").is_file());
    assert_eq!(server.terminate(), Some(0));
    assert!(!cwd.join("mimi-data").exists());
    let _ = std::fs::remove_dir_all(cwd);
}

/// The provider's environment as the system sees it.
#[cfg(all(target_os = "linux", target_env = "gnu"))]
fn environment(server: &Running) -> Vec<String> {
    std::fs::read(format!("/proc/{}/environ", server.child.id()))
        .unwrap()
        .split(|b| *b == 0)
        .map(|v| String::from_utf8_lossy(v).into_owned())
        .collect()
}

#[cfg(all(target_os = "linux", target_env = "gnu"))]
#[test]
fn serve_fixes_glibcs_mmap_threshold_unless_its_environment_sets_one() {
    let cwd = scratch("mmap");
    let server = Running::start(&cwd, &["--listen", "127.0.0.1:0"], &[]);
    let env = environment(&server);
    assert!(
        env.iter().any(|v| v == "MALLOC_MMAP_THRESHOLD_=131072"),
        "{env:?}"
    );
    assert!(server.line.starts_with("mimi serve listening on"));
    assert_eq!(
        server.terminate(),
        Some(0),
        "the same process, stopped as usual"
    );
    let server = Running::start(
        &cwd,
        &["--listen", "127.0.0.1:0"],
        &[("MALLOC_MMAP_THRESHOLD_", "65536")],
    );
    let env = environment(&server);
    let set: Vec<&String> = env
        .iter()
        .filter(|v| v.starts_with("MALLOC_MMAP_THRESHOLD_="))
        .collect();
    assert_eq!(set, ["MALLOC_MMAP_THRESHOLD_=65536"], "the operator's own");
    assert_eq!(server.terminate(), Some(0));
    let _ = std::fs::remove_dir_all(cwd);
}
