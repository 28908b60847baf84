//! `cargo xtask schemathesis [--max-examples N]`: checks that the served OpenAPI document
//! tells the truth, with [Schemathesis](https://schemathesis.readthedocs.io) and every one
//! of its checks (`--checks all`) against a real `toker serve`.
//!
//! The already-built dev binary (`<target dir>/debug/toker`; built here if missing) serves
//! a fresh SQLite database on a free port, with connect enabled for every platform (fake
//! app credentials: nothing leaves the machine) and no rate limit; an admin key made with
//! `toker apikey create` is sent as the `Authorization` header. Schemathesis runs from a
//! virtualenv under the target dir, installed at [`VERSION`] when missing. Its settings
//! are `xtask/schemathesis.toml` and `xtask/schemathesis_hooks.py` (each says why).
//!
//! Any failure fails the command. Without Python, the pass is skipped with a loud warning,
//! unless `CI=true`.

use std::fs;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::util::{cargo, in_ci, python, run as sh, target_dir, venv, workspace_root};

/// The Schemathesis release the pass is pinned to.
const VERSION: &str = "4.32.5";
/// Test cases per operation and phase when `--max-examples` is not given: about a minute
/// on two cores.
const DEFAULT_MAX_EXAMPLES: u32 = 10;
/// How long the server may take to start listening.
const START_TIMEOUT: Duration = Duration::from_secs(30);

/// Runs the pass (`cargo xtask schemathesis [--max-examples N]`).
pub(crate) fn run(args: &[String]) -> Result<(), String> {
    let max_examples = match args {
        [] => DEFAULT_MAX_EXAMPLES,
        [flag, n] if flag == "--max-examples" => n
            .parse()
            .ok()
            .filter(|n| *n > 0)
            .ok_or_else(|| format!("--max-examples takes a whole number above 0, got {n:?}"))?,
        other => {
            return Err(format!(
                "usage: cargo xtask schemathesis [--max-examples N], got {other:?}"
            ));
        }
    };
    let Some(python) = python() else {
        let why = "no python3 on the PATH (set PYTHON to one), so Schemathesis cannot run";
        if in_ci() {
            return Err(format!("{why}; CI=true requires the OpenAPI pass"));
        }
        eprintln!(
            "\n!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!\n\
             WARNING: {why}.\n\
             The OpenAPI document is NOT checked against the server in this run.\n\
             !!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!\n"
        );
        return Ok(());
    };
    let started = Instant::now();
    let schemathesis = install(&python)?;
    let toker = target_dir().join("debug/toker");
    if !toker.exists() {
        sh(cargo().args(["build", "-p", "toker-cli", "--bin", "toker"]))?;
    }
    let scratch = Scratch::new()?;
    let server = Server::start(&toker, &scratch.0)?;
    let root = workspace_root();
    let status = Command::new(&schemathesis)
        .arg("--config-file")
        .arg(root.join("xtask/schemathesis.toml"))
        .args(["run", &format!("{}/openapi.json", server.url)])
        .args(["--checks", "all", "--no-shrink"])
        // A refit of the corpus the run itself generated takes seconds on a dev build.
        .args(["--request-timeout", "60"])
        .args(["--max-examples", &max_examples.to_string()])
        .args(["--header", &format!("Authorization: Bearer {}", server.key)])
        .env(
            "SCHEMATHESIS_HOOKS",
            root.join("xtask/schemathesis_hooks.py"),
        )
        // Its example database and reports go to the scratch directory, not the tree.
        .current_dir(&scratch.0)
        .status()
        .map_err(|e| format!("cannot run {}: {e}", schemathesis.display()))?;
    drop(server);
    eprintln!(
        "schemathesis: {max_examples} examples per operation, {:.0} s",
        started.elapsed().as_secs_f64()
    );
    if status.success() {
        Ok(())
    } else {
        Err(format!(
            "Schemathesis reported failures or errors ({status}): the report above names each \
             operation and a curl line that reproduces it"
        ))
    }
}

/// The `schemathesis` of the virtualenv under the target dir, at [`VERSION`].
fn install(python: &Path) -> Result<PathBuf, String> {
    let version_of = |venv: &Path| {
        Command::new(venv.join("bin/schemathesis"))
            .arg("--version")
            .output()
            .is_ok_and(|o| String::from_utf8_lossy(&o.stdout).contains(VERSION))
    };
    let requirement = format!("schemathesis=={VERSION}");
    let venv = venv(python, "schemathesis-venv", &[&requirement], version_of)?;
    Ok(venv.join("bin/schemathesis"))
}

/// A temporary directory, removed when dropped.
struct Scratch(PathBuf);

impl Scratch {
    fn new() -> Result<Self, String> {
        let dir = std::env::temp_dir().join(format!("toker-schemathesis-{}", std::process::id()));
        let _ = fs::remove_dir_all(&dir);
        fs::create_dir_all(&dir).map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
        Ok(Scratch(dir))
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = fs::remove_dir_all(&self.0);
    }
}

/// A running `toker serve`, stopped when dropped.
struct Server {
    child: Child,
    url: String,
    key: String,
}

impl Server {
    fn start(toker: &Path, scratch: &Path) -> Result<Self, String> {
        let database = scratch.join("toker.db");
        let toker_cmd = || {
            let mut cmd = Command::new(toker);
            cmd.arg("--database").arg(&database);
            cmd
        };
        let created = toker_cmd()
            .args(["--quiet", "apikey", "create", "--role", "admin"])
            .output()
            .map_err(|e| format!("cannot run {}: {e}", toker.display()))?;
        let key = String::from_utf8_lossy(&created.stdout).trim().to_owned();
        if !created.status.success() || key.is_empty() {
            return Err(format!(
                "`toker apikey create` failed: {}",
                String::from_utf8_lossy(&created.stderr).trim()
            ));
        }
        let log = scratch.join("serve.log");
        let log_file = fs::File::create(&log).map_err(|e| format!("{}: {e}", log.display()))?;
        let mut serve = toker_cmd();
        serve
            // The pass itself is one client sending thousands of requests, many without
            // credentials on purpose: the per-key, failed-sign-in and connect limits
            // (tested on their own) would answer 429 where the document promises 401.
            .args(["serve", "--bind", "127.0.0.1:0", "--rate-limit", "0"])
            .args(["--auth-failure-limit", "0"])
            .env("TOKER_CONNECT_RATE_LIMIT", "0")
            .env("TOKER_CONNECT_UPLOAD_RATE_LIMIT", "0")
            .env("TOKER_SECRET_KEY", random_hex(32)?)
            .env("TOKER_COOKIE_SECURE", "false")
            .env("TOKER_CONNECT_EXPORT_LIMIT", "1048576")
            .stdout(Stdio::null())
            .stderr(log_file);
        for platform in ["TIKTOK", "INSTAGRAM", "X"] {
            serve
                .env(
                    format!("TOKER_CONNECT_{platform}_CLIENT_ID"),
                    "schemathesis",
                )
                .env(
                    format!("TOKER_CONNECT_{platform}_CLIENT_SECRET"),
                    "schemathesis",
                )
                // A code exchange would fail at once: nothing leaves the machine.
                .env(
                    format!("TOKER_CONNECT_{platform}_TOKEN_URL"),
                    "http://127.0.0.1:9/token",
                );
        }
        let child = serve
            .spawn()
            .map_err(|e| format!("cannot start {} serve: {e}", toker.display()))?;
        let mut server = Server {
            child,
            url: String::new(),
            key,
        };
        let deadline = Instant::now() + START_TIMEOUT;
        loop {
            let text = fs::read_to_string(&log).unwrap_or_default();
            if let Some(url) = text
                .lines()
                .find_map(|l| l.split_once("serving the REST API on ").map(|(_, u)| u))
            {
                server.url = url.trim().to_owned();
                return Ok(server);
            }
            if let Ok(Some(status)) = server.child.try_wait() {
                return Err(format!("toker serve exited ({status}): {}", text.trim()));
            }
            if Instant::now() > deadline {
                return Err(format!(
                    "toker serve did not listen within {START_TIMEOUT:?}: {}",
                    text.trim()
                ));
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// `bytes` random bytes from the OS, as hex (a throwaway server key).
fn random_hex(bytes: usize) -> Result<String, String> {
    let mut buf = vec![0u8; bytes];
    fs::File::open("/dev/urandom")
        .and_then(|mut f| f.read_exact(&mut buf))
        .map_err(|e| format!("cannot read /dev/urandom: {e}"))?;
    Ok(buf.iter().map(|b| format!("{b:02x}")).collect())
}
