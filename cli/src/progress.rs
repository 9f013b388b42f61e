//! A progress bar on stderr for a long single-threaded job: drawn only on a terminal, and only
//! once the job has run for a moment (a quick run prints nothing).

use std::{
    cell::Cell,
    io::IsTerminal,
    time::{Duration, Instant},
};

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

/// The bar appears only when the job takes longer than this.
const DELAY: Duration = Duration::from_millis(300);

pub struct DelayedBar {
    bar: ProgressBar,
    interactive: bool,
    started: Instant,
    shown: Cell<bool>,
}

impl DelayedBar {
    /// A hidden bar of `total` steps with indicatif `template`.
    pub fn new(total: u64, template: &str) -> DelayedBar {
        let bar = ProgressBar::with_draw_target(Some(total), ProgressDrawTarget::hidden());
        let style = ProgressStyle::with_template(template).unwrap_or_else(|_| ProgressStyle::default_bar());
        bar.set_style(style.progress_chars("=> "));
        DelayedBar {
            bar,
            interactive: std::io::stderr().is_terminal(),
            started: Instant::now(),
            shown: Cell::new(false),
        }
    }

    /// Moves the bar to `position`, with `message`.
    pub fn set(&self, (position, message): (u64, String)) {
        if self.interactive && !self.shown.get() && self.started.elapsed() >= DELAY {
            self.shown.set(true);
            self.bar.set_draw_target(ProgressDrawTarget::stderr());
        }
        self.bar.set_position(position);
        self.bar.set_message(message);
    }

    /// Clears the bar.
    pub fn finish(&self) {
        self.bar.finish_and_clear();
    }
}
