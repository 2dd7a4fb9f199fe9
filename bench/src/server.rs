//! A `talo serve` process under test: started on a data directory, timed until it answers,
//! measured (resident memory), and stopped gracefully so it writes its snapshots.

use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context, bail};

pub struct Server {
    child: Child,
    pub addr: SocketAddr,
    /// From spawning the process to its listening (it listens once every read model caught up).
    pub startup: Duration,
}

/// The `talo` binary built beside this one (`make bench` builds both in release).
pub fn talo_binary() -> anyhow::Result<PathBuf> {
    if let Ok(path) = std::env::var("TALO_BIN") {
        return Ok(PathBuf::from(path));
    }
    let me = std::env::current_exe()?;
    let beside = me.with_file_name("talo");
    if beside.exists() {
        return Ok(beside);
    }
    bail!(
        "no `talo` binary next to {}: build it with `cargo build --release -p talo-api --bin talo` or set TALO_BIN",
        me.display()
    )
}

/// A token for `person` of `organisation`, minted by `talo token` with the secret in `data`
/// (the one the server there was started with).
pub fn mint_token(data: &Path, organisation: &str, person: &str) -> anyhow::Result<String> {
    let output = Command::new(talo_binary()?)
        .arg("token")
        .arg("--data")
        .arg(data)
        .arg("--organisation")
        .arg(organisation)
        .arg("--person")
        .arg(person)
        .output()
        .context("running talo token")?;
    if !output.status.success() {
        bail!(
            "talo token failed: {}",
            String::from_utf8_lossy(&output.stderr).trim()
        );
    }
    Ok(String::from_utf8(output.stdout)?.trim().to_owned())
}

impl Server {
    /// Starts `talo serve` on `data`: with the demo seeded, or on an existing (generated)
    /// store with notifications off, so five years of history are not notified again.
    pub fn start(data: &Path, demo: bool) -> anyhow::Result<Server> {
        let mut command = Command::new(talo_binary()?);
        command
            .arg("serve")
            .arg("--data")
            .arg(data)
            .arg("--listen")
            .arg("127.0.0.1:0")
            .env("RUST_LOG", "warn")
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit());
        if demo {
            command.arg("--demo");
        } else {
            command.arg("--no-notifications");
        }
        let started = Instant::now();
        let mut child = command.spawn().context("starting talo serve")?;
        let stdout = child.stdout.take().context("talo's stdout")?;
        let mut lines = BufReader::new(stdout).lines();
        let addr = loop {
            let Some(line) = lines.next() else {
                bail!("talo serve exited before listening");
            };
            let line = line?;
            if let Some(rest) = line.trim().strip_prefix("GraphiQL: http://") {
                let addr = rest.split('/').next().unwrap_or_default();
                break addr.parse::<SocketAddr>().context("talo's address")?;
            }
        };
        let startup = started.elapsed();
        // Keep draining stdout so the server never blocks on a full pipe.
        std::thread::spawn(move || for _ in lines {});
        Ok(Server {
            child,
            addr,
            startup,
        })
    }

    /// The server's resident set size and its peak, in bytes (from /proc).
    pub fn memory(&self) -> (u64, u64) {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.child.id()))
            .unwrap_or_default();
        let field = |name: &str| {
            status
                .lines()
                .find(|l| l.starts_with(name))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|kb| kb.parse::<u64>().ok())
                .map_or(0, |kb| kb * 1024)
        };
        (field("VmRSS:"), field("VmHWM:"))
    }

    /// SIGTERM, then wait: the server finishes requests and writes its snapshots.
    pub fn stop(mut self) -> anyhow::Result<()> {
        Command::new("kill")
            .arg("-TERM")
            .arg(self.child.id().to_string())
            .status()
            .context("sending SIGTERM")?;
        self.child.wait()?;
        Ok(())
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
    }
}
