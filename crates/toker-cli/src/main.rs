//! The `toker` binary: argument parsing, output formatting and exit codes.
//!
//! It must not contain logic that a library user would need: that lives in the libraries.

fn main() {}
