//! A `mimi serve` child process.

use std::io::{BufRead as _, BufReader};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

/// A running `mimi serve`.
pub struct Server {
    child: Child,
    pub addr: SocketAddr,
}

impl Server {
    /// Starts `mimi serve` on a free port with `args`, waiting until it listens.
    pub fn start(data_dir: &Path, extra: &[&str]) -> Self {
        Self::start_at(data_dir, "127.0.0.1:0", extra)
    }

    /// Like [`Server::start`] on a given address (to restart where clients expect it).
    pub fn start_at(data_dir: &Path, listen: &str, extra: &[&str]) -> Self {
        Self::start_for(data_dir, listen, "example.com", extra)
    }

    /// Like [`Server::start_at`] for another domain.
    pub fn start_for(data_dir: &Path, listen: &str, domain: &str, extra: &[&str]) -> Self {
        let child = Command::new(env!("CARGO_BIN_EXE_mimi"))
            .args(["serve", "--listen", listen, "--domain", domain])
            .arg("--data-dir")
            .arg(data_dir)
            .args(extra)
            .env("RUST_LOG", "warn")
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("start mimi serve");
        Self::adopt(child)
    }

    /// A started `mimi serve` whose stdout is piped: waits until it listens.
    pub fn adopt(mut child: Child) -> Self {
        let stdout = child.stdout.take().unwrap();
        let mut line = String::new();
        BufReader::new(stdout).read_line(&mut line).unwrap();
        let addr = line
            .trim()
            .rsplit("://")
            .next()
            .and_then(|a| a.parse().ok())
            .unwrap_or_else(|| panic!("unexpected first line: {line:?}"));
        Self { child, addr }
    }

    /// SIGKILL, and wait for it to be gone.
    pub fn kill9(mut self) {
        self.child.kill().unwrap();
        self.child.wait().unwrap();
    }

    /// SIGTERM; returns the exit code.
    pub fn terminate(mut self) -> Option<i32> {
        Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status()
            .unwrap();
        self.child.wait().unwrap().code()
    }
}

impl Drop for Server {
    /// A test that fails midway leaves no server behind.
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A fresh directory for a server's data.
pub fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("mimi_serve_{name}_{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}
