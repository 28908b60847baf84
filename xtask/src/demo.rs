//! `cargo xtask demo-platforms`: a local replay of the platforms' consent pages, token
//! endpoints and data APIs (toker-api's `demo_platforms` example), to try the connect flow
//! of the README against `toker serve` without the real TikTok, X or Instagram.

use crate::util::{cargo, run};

/// Runs the replay in the foreground (ctrl-c stops it); arguments go to the example
/// (`--bind ADDR`, `--public-url URL`).
pub(crate) fn run_demo(args: &[String]) -> Result<(), String> {
    let mut cmd = cargo();
    cmd.args([
        "run",
        "--quiet",
        "-p",
        "toker-api",
        "--example",
        "demo_platforms",
        "--",
    ])
    .args(args);
    run(&mut cmd)
}
