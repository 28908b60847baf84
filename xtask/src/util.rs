//! Small helpers shared by the xtask commands: running cargo, finding the workspace.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

/// The workspace root (the parent of the xtask crate).
pub(crate) fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .map_or_else(|| PathBuf::from("."), Path::to_path_buf)
}

/// Where cargo puts what it builds: `CARGO_TARGET_DIR` when set (relative to the
/// workspace root), else `<workspace>/target`.
pub(crate) fn target_dir() -> PathBuf {
    match std::env::var_os("CARGO_TARGET_DIR") {
        Some(dir) if !dir.is_empty() => workspace_root().join(dir),
        _ => workspace_root().join("target"),
    }
}

/// The admin URL the store, CLI and API tests create their own databases from.
pub(crate) const PG_TEST_URL: &str = "postgres://postgres@127.0.0.1:5432/test";

/// The cargo that runs us (falls back to `cargo` on the PATH), in the workspace root,
/// with the test database URL exported unless the caller set one.
pub(crate) fn cargo() -> Command {
    let mut cmd = Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_owned()));
    cmd.current_dir(workspace_root());
    if std::env::var_os("TOKER_TEST_POSTGRES_URL").is_none() {
        cmd.env("TOKER_TEST_POSTGRES_URL", PG_TEST_URL);
    }
    cmd
}

/// Runs a command, echoing it first; fails with the command line when it fails.
pub(crate) fn run(cmd: &mut Command) -> Result<(), String> {
    let line = describe(cmd);
    eprintln!("\n$ {line}");
    let status = cmd
        .status()
        .map_err(|e| format!("could not start `{line}`: {e}"))?;
    if status.success() {
        Ok(())
    } else {
        Err(format!("`{line}` failed ({status})"))
    }
}

/// Runs a command and returns its standard output, or why it failed.
pub(crate) fn output(cmd: &mut Command) -> Result<String, String> {
    let line = describe(cmd);
    let out = cmd
        .output()
        .map_err(|e| format!("could not start `{line}`: {e}"))?;
    if out.status.success() {
        Ok(String::from_utf8_lossy(&out.stdout).into_owned())
    } else {
        Err(format!(
            "`{line}` failed ({}): {}",
            out.status,
            String::from_utf8_lossy(&out.stderr).trim()
        ))
    }
}

fn describe(cmd: &Command) -> String {
    let mut parts = vec![cmd.get_program().to_string_lossy().into_owned()];
    parts.extend(cmd.get_args().map(|a| a.to_string_lossy().into_owned()));
    parts.join(" ")
}

/// Whether `CI=true` (or `1`) is set: then nothing may be skipped.
pub(crate) fn in_ci() -> bool {
    matches!(
        std::env::var("CI").as_deref(),
        Ok("true" | "1" | "TRUE" | "True")
    )
}

/// `$PYTHON`, else `python3`, if it runs.
pub(crate) fn python() -> Option<PathBuf> {
    let python = std::env::var_os("PYTHON").map_or_else(|| PathBuf::from("python3"), PathBuf::from);
    Command::new(&python)
        .arg("--version")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
        .then_some(python)
}

/// A virtualenv `<target>/<name>` made by `python`, holding `requirement` (`pkg==version`)
/// once `installed` (the venv's path → whether it is there) says it is not: the Python tools
/// xtask runs (Schemathesis, the benchmark's Python baseline) never touch the system's
/// packages, and a second run reuses the venv.
pub(crate) fn venv(
    python: &Path,
    name: &str,
    requirements: &[&str],
    installed: impl Fn(&Path) -> bool,
) -> Result<PathBuf, String> {
    let venv = target_dir().join(name);
    if !installed(&venv) {
        if !venv.join("bin/pip").exists() {
            run(Command::new(python).args(["-m", "venv"]).arg(&venv))?;
        }
        run(Command::new(venv.join("bin/pip"))
            .args(["install", "--quiet", "--disable-pip-version-check"])
            .args(requirements))?;
    }
    Ok(venv)
}
