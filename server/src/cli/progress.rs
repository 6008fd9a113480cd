//! Progress of a long command: a bar on a terminal, a line per tenth in logs; and
//! the flag that Ctrl-C or SIGTERM raise so the command stops between steps.

use pathfinder::{AppError, AppResult};
use std::sync::atomic::AtomicBool;
use std::sync::Arc;

pub struct Progress {
    name: &'static str,
    bar: indicatif::ProgressBar,
    terminal: bool,
    tenth: u64,
    started: std::time::Instant,
}

impl Progress {
    /// `units` names what is counted (shown after the counts).
    pub fn new(name: &'static str, units: &str) -> AppResult<Progress> {
        use std::io::IsTerminal;
        let bar = indicatif::ProgressBar::new(0);
        let terminal = std::io::stderr().is_terminal();
        if terminal {
            let template =
                format!("{{elapsed_precise}} [{{wide_bar}}] {{percent:>3}}% {{human_pos}}/{{human_len}} {units}  eta {{eta}}  {{msg}}");
            bar.set_style(indicatif::ProgressStyle::with_template(&template).map_err(AppError::internal)?);
        } else {
            bar.set_draw_target(indicatif::ProgressDrawTarget::hidden());
        }
        Ok(Progress { name, bar, terminal, tenth: 0, started: std::time::Instant::now() })
    }

    pub fn update(&mut self, done: u64, total: u64, message: &str) {
        self.bar.set_length(total);
        self.bar.set_position(done);
        self.bar.set_message(message.to_string());
        if !self.terminal && total > 0 && done * 10 / total > self.tenth {
            self.tenth = done * 10 / total;
            let secs = self.started.elapsed().as_secs_f64();
            eprintln!("{}: {}% ({done}/{total}) after {secs:.1} s", self.name, self.tenth * 10);
        }
    }

    /// Clears the bar; the seconds since it started.
    pub fn finish(self) -> f64 {
        self.bar.finish_and_clear();
        self.started.elapsed().as_secs_f64()
    }
}

/// A flag that Ctrl-C and SIGTERM set: the command stops at its next safe point.
/// A second one ends the process at once (exit 130), as a crash would: every step
/// is a transaction, so that loses only the step under way.
pub fn stop_on_signal() -> AppResult<Arc<AtomicBool>> {
    let stop = Arc::new(AtomicBool::new(false));
    for signal in [signal_hook::consts::SIGINT, signal_hook::consts::SIGTERM] {
        // Registered first, so the first signal finds the flag still down.
        signal_hook::flag::register_conditional_shutdown(signal, 130, Arc::clone(&stop)).map_err(AppError::internal)?;
        signal_hook::flag::register(signal, Arc::clone(&stop)).map_err(AppError::internal)?;
    }
    Ok(stop)
}
