//! `cargo xtask demo-platforms`: a local replay of the platforms' consent pages, token
//! endpoints and data APIs (toker-api's `demo_platforms` example), to try the connect flow
//! of the README against `toker serve` without the real TikTok, X or Instagram.

use crate::util::{cargo, run, target_dir};

/// Builds the replay (cargo's progress on stderr), then becomes it: the process keeps its
/// id, so stopping it (ctrl-c, `kill %1`, `kill PID`) stops the replay and frees its port.
/// Arguments go to the example (`--bind ADDR`, `--public-url URL`, `--print-env`).
pub(crate) fn run_demo(args: &[String]) -> Result<(), String> {
    run(cargo().args(["build", "-p", "toker-api", "--example", "demo_platforms"]))?;
    let binary = target_dir().join("debug/examples/demo_platforms");
    let mut cmd = std::process::Command::new(&binary);
    cmd.args(args);
    exec(cmd, &binary)
}

#[cfg(unix)]
fn exec(mut cmd: std::process::Command, binary: &std::path::Path) -> Result<(), String> {
    use std::os::unix::process::CommandExt;
    // Only returns on failure.
    let e = cmd.exec();
    Err(format!("could not start {}: {e}", binary.display()))
}

#[cfg(not(unix))]
fn exec(mut cmd: std::process::Command, _binary: &std::path::Path) -> Result<(), String> {
    run(&mut cmd)
}
