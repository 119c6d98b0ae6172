//! Runtime configuration, from code or from `DISTARR_*` environment variables.
use crate::error::{Error, ErrorKind, Result};

/// Which MPI window kind backs the symmetric heap.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum WindowKind {
    /// `Shared`, on one node and on several (node-local ranks then still reach each other's
    /// memory with loads and stores).
    Auto,
    /// One `MPI_Win_allocate` window per heap segment over all ranks. No load/store path:
    /// MPI refuses `MPI_Win_shared_query` on such windows (measured: `MPI_ERR_RMA_FLAVOR` on
    /// Open MPI 4.1.4, an error on MPICH 4.0.2).
    Allocate,
    /// Segment memory from `MPI_Win_allocate_shared` on each node's communicator, so node-local
    /// ranks reach it with loads/stores. When the node is the whole job this window also
    /// serves all RMA; otherwise a window over all ranks exposes the same memory for RMA
    /// (`MPI_Win_create`; on MPICH `MPI_Win_create_dynamic`, see the runtime's
    /// `create_window`).
    Shared,
    /// `MPI_Win_create` over an anonymous memory mapping per segment (Open MPI: osc/rdma, not
    /// osc/sm). No load/store path. Mostly for benchmarks and for testing the other path.
    Create,
    /// `MPI_Win_create_dynamic` with an anonymous memory mapping attached per segment;
    /// displacements are the target's attached base address plus the offset (the base
    /// addresses are gathered when the window is created). No load/store path.
    Dynamic,
}

/// How remote operations make progress when the target computes without calling MPI.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Progress {
    /// A progress thread on MPICH (which needs one), none on Open MPI's osc/sm (truly one-sided).
    Auto,
    /// A thread that calls `MPI_Iprobe` every `progress_interval_us` (needs
    /// `MPI_THREAD_MULTIPLE`, which the runtime then requests).
    Thread,
    /// No help: remote operations progress when the target calls MPI.
    Off,
}

/// Runtime settings. [`Config::from_env`] reads the `DISTARR_*` variables.
#[derive(Clone, Debug)]
pub struct Config {
    /// Heap window kind (`DISTARR_WINDOW=auto|allocate|shared|create|dynamic`).
    pub window: WindowKind,
    /// Serve node-local gets/puts with memcpy (`DISTARR_SHM_FASTPATH=1|0`, default 1).
    pub shm_fastpath: bool,
    /// Progress strategy (`DISTARR_PROGRESS=auto|thread|off`).
    pub progress: Progress,
    /// Sleep between progress pokes, microseconds (`DISTARR_PROGRESS_INTERVAL_US`, default 100).
    pub progress_interval_us: u64,
    /// Bytes per rank of each heap segment window (`DISTARR_HEAP_SEGMENT`, default 32 MiB;
    /// larger requests get a window of their own size).
    pub segment_bytes: u64,
    /// Most heap bytes per rank, all windows together (`DISTARR_HEAP_LIMIT`; default: 3/4 of
    /// physical memory divided among the node's ranks).
    pub heap_limit: Option<u64>,
    /// Set Open MPI's `OMPI_MCA_osc=sm,rdma,pt2pt` and `OMPI_MCA_osc_rdma_priority=50` before
    /// `MPI_Init` when the user has set neither (`DISTARR_SET_MCA=1|0`, default 1).
    pub set_mca_defaults: bool,
    /// Compute threads per rank for array operations (`DISTARR_THREADS`, default 1, at most
    /// 256). The runtime only carries the setting; the array engine runs the threads, which
    /// never call MPI.
    pub threads: usize,
    /// How long a rank may wait in a synchronisation (barrier, sync, fence, collective call)
    /// before it reports which ranks have not arrived and aborts the job (`DISTARR_TIMEOUT`,
    /// seconds; default: no limit). With a limit every synchronisation is made of
    /// point-to-point arrival notices (`2 (nranks - 1)` small messages per rank).
    pub timeout: Option<std::time::Duration>,
    /// Name the rank when a process of the job dies (`DISTARR_FAULT_REPORT=1|0`, default 1):
    /// handlers for fatal signals and, with several ranks, a guardian process per rank (see
    /// the runtime's `fault` module).
    pub fault_report: bool,
}

impl Default for Config {
    fn default() -> Config {
        Config {
            window: WindowKind::Auto,
            shm_fastpath: true,
            progress: Progress::Auto,
            progress_interval_us: 100,
            segment_bytes: 32 << 20,
            heap_limit: None,
            set_mca_defaults: true,
            threads: 1,
            timeout: None,
            fault_report: true,
        }
    }
}

fn var(name: &str) -> Option<String> {
    std::env::var(name)
        .ok()
        .map(|v| v.trim().to_ascii_lowercase())
        .filter(|v| !v.is_empty())
}

fn bad(name: &str, v: &str, allowed: &str) -> Error {
    Error::new(ErrorKind::InvalidArgument, format!("{name}={v}: expected {allowed}"))
}

fn parse_bool(name: &str, v: &str) -> Result<bool> {
    match v {
        "1" | "true" | "yes" | "on" => Ok(true),
        "0" | "false" | "no" | "off" => Ok(false),
        _ => Err(bad(name, v, "1 or 0")),
    }
}

/// Parses a byte size: a number with an optional `k`, `m`, `g` suffix (powers of 1024).
pub fn parse_bytes(s: &str) -> Option<u64> {
    let s = s.trim().to_ascii_lowercase();
    let s = s.strip_suffix("ib").or_else(|| s.strip_suffix('b')).unwrap_or(&s);
    let (num, mul) = match s.chars().last()? {
        'k' => (&s[..s.len() - 1], 1u64 << 10),
        'm' => (&s[..s.len() - 1], 1 << 20),
        'g' => (&s[..s.len() - 1], 1 << 30),
        't' => (&s[..s.len() - 1], 1 << 40),
        _ => (s, 1),
    };
    num.trim().parse::<u64>().ok()?.checked_mul(mul)
}

impl Config {
    /// Defaults overridden by the `DISTARR_*` environment variables. A malformed value is an
    /// error (the same on every rank, since all ranks see the same environment).
    pub fn from_env() -> Result<Config> {
        let mut c = Config::default();
        if let Some(v) = var("DISTARR_WINDOW") {
            c.window = match v.as_str() {
                "auto" => WindowKind::Auto,
                "allocate" => WindowKind::Allocate,
                "shared" => WindowKind::Shared,
                "create" => WindowKind::Create,
                "dynamic" => WindowKind::Dynamic,
                _ => return Err(bad("DISTARR_WINDOW", &v, "auto, allocate, shared, create or dynamic")),
            };
        }
        if let Some(v) = var("DISTARR_SHM_FASTPATH") {
            c.shm_fastpath = parse_bool("DISTARR_SHM_FASTPATH", &v)?;
        }
        if let Some(v) = var("DISTARR_PROGRESS") {
            c.progress = match v.as_str() {
                "auto" => Progress::Auto,
                "thread" => Progress::Thread,
                "off" | "none" => Progress::Off,
                _ => return Err(bad("DISTARR_PROGRESS", &v, "auto, thread or off")),
            };
        }
        if let Some(v) = var("DISTARR_PROGRESS_INTERVAL_US") {
            c.progress_interval_us = v
                .parse()
                .map_err(|_| bad("DISTARR_PROGRESS_INTERVAL_US", &v, "microseconds"))?;
        }
        if let Some(v) = var("DISTARR_HEAP_SEGMENT") {
            c.segment_bytes = parse_bytes(&v)
                .filter(|&b| b > 0)
                .ok_or_else(|| bad("DISTARR_HEAP_SEGMENT", &v, "a size like 64M"))?;
        }
        if let Some(v) = var("DISTARR_HEAP_LIMIT") {
            c.heap_limit = Some(parse_bytes(&v).ok_or_else(|| bad("DISTARR_HEAP_LIMIT", &v, "a size like 4G"))?);
        }
        if let Some(v) = var("DISTARR_SET_MCA") {
            c.set_mca_defaults = parse_bool("DISTARR_SET_MCA", &v)?;
        }
        if let Some(v) = var("DISTARR_THREADS") {
            c.threads = v
                .parse()
                .ok()
                .filter(|t| (1..=256).contains(t))
                .ok_or_else(|| bad("DISTARR_THREADS", &v, "a thread count from 1 to 256"))?;
        }
        if let Some(v) = var("DISTARR_TIMEOUT") {
            c.timeout = parse_timeout(&v)
                .ok_or_else(|| bad("DISTARR_TIMEOUT", &v, "seconds (e.g. 30 or 2.5; 0 for no limit)"))?;
        }
        if let Some(v) = var("DISTARR_FAULT_REPORT") {
            c.fault_report = parse_bool("DISTARR_FAULT_REPORT", &v)?;
        }
        Ok(c)
    }
}

/// Parses `DISTARR_TIMEOUT`: seconds, a non-negative finite number; 0 (or `off`) means none.
fn parse_timeout(v: &str) -> Option<Option<std::time::Duration>> {
    if v == "off" || v == "none" {
        return Some(None);
    }
    let secs: f64 = v.trim_end_matches('s').parse().ok()?;
    if !(0.0..=1e9).contains(&secs) {
        return None;
    }
    Some((secs > 0.0).then(|| std::time::Duration::from_secs_f64(secs)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bytes_parse() {
        assert_eq!(parse_bytes("64M"), Some(64 << 20));
        assert_eq!(parse_bytes("2g"), Some(2 << 30));
        assert_eq!(parse_bytes("4096"), Some(4096));
        assert_eq!(parse_bytes("1KiB"), Some(1024));
        assert_eq!(parse_bytes("x"), None);
        assert_eq!(parse_bytes(""), None);
        assert_eq!(parse_bytes("99999999999999999999T"), None);
    }

    #[test]
    fn timeouts_parse() {
        use std::time::Duration;
        assert_eq!(parse_timeout("30"), Some(Some(Duration::from_secs(30))));
        assert_eq!(parse_timeout("2.5"), Some(Some(Duration::from_millis(2500))));
        assert_eq!(parse_timeout("10s"), Some(Some(Duration::from_secs(10))));
        assert_eq!(parse_timeout("0"), Some(None));
        assert_eq!(parse_timeout("off"), Some(None));
        for bad in ["-1", "x", "", "nan", "inf", "1e20"] {
            assert_eq!(parse_timeout(bad), None, "{bad}");
        }
    }
}
