//! Output: human-readable text on a terminal, JSON with `--json`, progress bars on stderr.
//!
//! Every write returns an `io::Result` so that a closed pipe ends the command quietly.

use std::io::{self, BufWriter, IsTerminal, Stdout, Write};

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use serde::Serialize;

/// Buffered standard output.
pub(crate) struct Out {
    inner: BufWriter<Stdout>,
}

impl Out {
    pub(crate) fn new() -> Self {
        Out {
            inner: BufWriter::new(io::stdout()),
        }
    }

    /// Writes one value as pretty JSON followed by a newline.
    pub(crate) fn json<T: Serialize + ?Sized>(&mut self, value: &T) -> io::Result<()> {
        serde_json::to_writer_pretty(&mut self.inner, value)?;
        self.inner.write_all(b"\n")
    }

    pub(crate) fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
}

impl Write for Out {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.inner.write(buf)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
}

/// A progress bar on stderr when it is a terminal and the user did not ask for quiet or
/// JSON output; otherwise a hidden one (the calls still work).
pub(crate) fn progress(len: Option<u64>, message: &str, enabled: bool) -> ProgressBar {
    if !enabled || !io::stderr().is_terminal() {
        return ProgressBar::hidden();
    }
    let bar = match len {
        Some(n) => ProgressBar::with_draw_target(Some(n), ProgressDrawTarget::stderr()),
        None => ProgressBar::with_draw_target(None, ProgressDrawTarget::stderr()),
    };
    let template = if len.is_some() {
        "{msg} [{bar:30}] {pos}/{len} ({per_sec}, eta {eta})"
    } else {
        "{spinner} {msg} {pos} ({per_sec})"
    };
    if let Ok(style) = ProgressStyle::with_template(template) {
        bar.set_style(style.progress_chars("=> "));
    }
    bar.set_message(message.to_owned());
    bar
}

/// A count that may be unknown: the number, or `unknown`.
pub(crate) fn count(value: Option<u64>) -> String {
    value.map_or_else(|| "unknown".to_owned(), |n| n.to_string())
}
