//! Progress bars for long work, drawn on stderr only when it is a terminal.

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use std::io::IsTerminal;

/// A progress bar of `len` steps titled `what`; hidden when stderr is not a terminal
/// (CI logs, notebook kernels) or when the work is too small to be worth one.
pub fn bar(len: u64, what: &str) -> ProgressBar {
    bar_min(len, what, 5_000)
}

/// [`bar`] drawn from `min_len` steps up (for work whose steps are slow).
pub fn bar_min(len: u64, what: &str, min_len: u64) -> ProgressBar {
    let pb = ProgressBar::with_draw_target(Some(len), ProgressDrawTarget::stderr());
    if !std::io::stderr().is_terminal() || len < min_len {
        pb.set_draw_target(ProgressDrawTarget::hidden());
    }
    let style =
        ProgressStyle::with_template("{msg:>12} [{bar:40}] {pos}/{len} ({per_sec}, eta {eta})")
            .unwrap_or_else(|_| ProgressStyle::default_bar())
            .progress_chars("=> ");
    pb.set_style(style);
    pb.set_message(what.to_string());
    pb
}
