//! A small stderr logger whose lines carry the rank: `[distarr 3/4] WARN message`.
//! Level from `DISTARR_LOG` (`error|warn|info|debug|trace`, default `warn`). Installed by
//! `Runtime::init` unless the program already installed a `log` logger.
use log::{LevelFilter, Log, Metadata, Record};
use std::io::Write;
use std::sync::atomic::{AtomicUsize, Ordering};

static RANK: AtomicUsize = AtomicUsize::new(usize::MAX);
static NRANKS: AtomicUsize = AtomicUsize::new(0);

struct RankLogger;

impl Log for RankLogger {
    fn enabled(&self, m: &Metadata<'_>) -> bool {
        m.level() <= log::max_level()
    }

    fn log(&self, r: &Record<'_>) {
        if !self.enabled(r.metadata()) || !r.target().starts_with("distarr") {
            return;
        }
        let rank = RANK.load(Ordering::Relaxed);
        let who = if rank == usize::MAX {
            "?".to_string()
        } else {
            format!("{rank}/{}", NRANKS.load(Ordering::Relaxed))
        };
        // One write per line, so that lines of different ranks do not interleave; logging
        // must never fail the caller: a closed stderr is ignored.
        let line = format!("[distarr {who}] {} {}\n", r.level(), r.args());
        let _ = std::io::stderr().lock().write_all(line.as_bytes());
    }

    fn flush(&self) {}
}

static LOGGER: RankLogger = RankLogger;

/// Installs the logger (once; a no-op if another logger is installed) and records the rank.
pub(crate) fn install(rank: usize, nranks: usize) {
    RANK.store(rank, Ordering::Relaxed);
    NRANKS.store(nranks, Ordering::Relaxed);
    let level = match std::env::var("DISTARR_LOG")
        .unwrap_or_default()
        .to_ascii_lowercase()
        .as_str()
    {
        "off" => LevelFilter::Off,
        "error" => LevelFilter::Error,
        "info" => LevelFilter::Info,
        "debug" => LevelFilter::Debug,
        "trace" => LevelFilter::Trace,
        _ => LevelFilter::Warn,
    };
    if log::set_logger(&LOGGER).is_ok() {
        log::set_max_level(level);
    }
}
