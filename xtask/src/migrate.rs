//! `cargo xtask migrate run|revert|redo|status|new NAME`.

/// Runs the migrate command.
pub(crate) fn run(_args: &[String]) -> Result<(), String> {
    Err("migrate is not implemented yet".to_owned())
}
