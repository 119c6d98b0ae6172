//! The runtime: initialisation, the symmetric heap's collective calls, epochs, collectives.
use crate::config::{Config, Progress, WindowKind};
use crate::elem::{Elem, ReduceOp};
use crate::error::{ensure, Error, ErrorKind, Result};
use crate::heap::{Allocation, Heap, HeapWindow, Seg};
use crate::poison;
use distarr_ffi::{self as ffi, Arrival, Arrivals, Comm, Equivalence, Flavor, Notice, ProgressComm, ThreadLevel, Win};
use std::cell::{Cell, RefCell};
use std::rc::{Rc, Weak};
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

static NEXT_ID: AtomicU64 = AtomicU64::new(1);
/// Live runtimes in this process; MPI is finalised when the last one that we initialised ends.
static LIVE: AtomicUsize = AtomicUsize::new(0);
/// Whether distarr (not the program) called `MPI_Init_thread`.
static WE_INITIALIZED_MPI: AtomicBool = AtomicBool::new(false);

thread_local! {
    static CURRENT: RefCell<Weak<Inner>> = const { RefCell::new(Weak::new()) };
}

/// Which communicator the runtime runs on.
#[derive(Debug)]
pub enum CommSource {
    /// `MPI_COMM_WORLD`.
    World,
    /// A communicator the caller owns (e.g. from C or Fortran); the runtime duplicates it.
    Borrowed(Comm),
}

/// Facts about a running runtime, for reports and benchmarks.
#[derive(Clone, Debug)]
pub struct RuntimeInfo {
    /// This rank.
    pub rank: usize,
    /// Number of ranks.
    pub nranks: usize,
    /// Ranks on this node (sharing memory with this one).
    pub node_size: usize,
    /// MPI implementation compiled against.
    pub flavor: Flavor,
    /// `MPI_Get_library_version`.
    pub mpi_version: String,
    /// Thread level MPI provides.
    pub thread_level: ThreadLevel,
    /// Heap window kind in use (never `Auto`).
    pub window: WindowKind,
    /// Whether node-local gets/puts use loads/stores.
    pub shm_fastpath: bool,
    /// Whether a progress thread runs.
    pub progress_thread: bool,
    /// Heap limit per rank, bytes.
    pub heap_limit: u64,
}

#[derive(Debug)]
struct ProgressThread {
    stop: Arc<AtomicBool>,
    handle: JoinHandle<ProgressComm>,
}

pub(crate) struct Inner {
    id: u64,
    finalized: Cell<bool>,
    comm: RefCell<Option<Comm>>,
    node: RefCell<Option<Comm>>,
    pub(crate) rank: usize,
    pub(crate) nranks: usize,
    node_size: usize,
    pub(crate) kind: WindowKind,
    pub(crate) fastpath: bool,
    thread_level: ThreadLevel,
    heap_limit: u64,
    segment_bytes: u64,
    pub(crate) heap: RefCell<Heap>,
    progress: RefCell<Option<ProgressThread>>,
    /// Number of completed [`Runtime::sync`] calls (see [`Runtime::sync_epoch`]).
    syncs: Cell<u64>,
    threads: usize,
    /// `DISTARR_TIMEOUT`: the arrival notices every synchronisation goes through, and the limit.
    arrivals: RefCell<Option<Arrivals>>,
    timeout: Option<Duration>,
    /// Synchronisations (collective calls) so far, counted only under a timeout.
    sync_seq: Cell<u64>,
    /// The most heap bytes allocated at once (see [`Runtime::heap_peak`]).
    heap_peak: Cell<u64>,
    /// Run before every synchronisation (see [`Runtime::set_flush_hook`]).
    flush_hook: RefCell<Option<FlushHook>>,
    /// Run before every collective communication (see [`Runtime::set_collective_hook`]), and
    /// whether it is running (it is not re-entered).
    collective_hook: RefCell<Option<FlushHook>>,
    in_collective_hook: Cell<bool>,
    /// See [`Runtime::set_lockstep`].
    lockstep: Cell<bool>,
}

/// The collective calls, as told in arrival notices (a rank in another kind of call than its
/// peers has diverged from them).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Coll {
    Barrier = 1,
    Allreduce = 2,
    Broadcast = 3,
    Allgather = 4,
}

impl Coll {
    fn from_code(c: u64) -> Option<Coll> {
        [Coll::Barrier, Coll::Allreduce, Coll::Broadcast, Coll::Allgather]
            .into_iter()
            .find(|k| *k as u64 == c)
    }

    fn name(self) -> &'static str {
        match self {
            Coll::Barrier => "a barrier (barrier, sync, fence, free or finalize)",
            Coll::Allreduce => "an all-reduce (agreement on arguments, reductions)",
            Coll::Broadcast => "a broadcast",
            Coll::Allgather => "an all-gather",
        }
    }
}

/// The reduction operations, by their code in arrival notices.
const OPS: [ffi::Op; 11] = [
    ffi::Op::Sum,
    ffi::Op::Prod,
    ffi::Op::Min,
    ffi::Op::Max,
    ffi::Op::Band,
    ffi::Op::Bor,
    ffi::Op::Bxor,
    ffi::Op::Land,
    ffi::Op::Lor,
    ffi::Op::Replace,
    ffi::Op::NoOp,
];

/// One collective call as its arrival notice tells it: every rank must make the same one (same
/// kind, payload and root or operation), else MPI would truncate, mix up or hang.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Call {
    kind: Coll,
    /// Bytes each rank contributes.
    bytes: u64,
    /// The root of a broadcast, the operation of an all-reduce (its index in [`OPS`]).
    arg: u64,
}

impl Call {
    const BARRIER: Call = Call {
        kind: Coll::Barrier,
        bytes: 0,
        arg: 0,
    };

    fn allreduce(bytes: usize, op: ffi::Op) -> Call {
        let arg = OPS.iter().position(|&o| o == op).unwrap_or(OPS.len());
        Call {
            kind: Coll::Allreduce,
            bytes: bytes as u64,
            arg: arg as u64,
        }
    }

    fn notice(self, seq: u64) -> Notice {
        [seq, self.kind as u64, self.bytes, self.arg]
    }

    /// What a notice says, for messages.
    fn describe(n: &Notice) -> String {
        match Coll::from_code(n[1]) {
            None => format!("an unknown call (code {})", n[1]),
            Some(Coll::Barrier) => Coll::Barrier.name().to_string(),
            Some(Coll::Allreduce) => {
                let op = usize::try_from(n[3]).ok().and_then(|k| OPS.get(k));
                let op = op.map_or_else(|| "?".to_string(), |o| format!("{o:?}").to_uppercase());
                format!("{} of {} bytes with MPI_{op}", Coll::Allreduce.name(), n[2])
            }
            Some(Coll::Broadcast) => format!("a broadcast of {} bytes from rank {}", n[2], n[3]),
            Some(Coll::Allgather) => format!("an all-gather of {} bytes per rank", n[2]),
        }
    }
}

impl Drop for Inner {
    /// A runtime that ends without [`Runtime::finalize`] — its process is exiting early, e.g. a
    /// C program returning from `main` after an error, or a thread's locals being destroyed —
    /// leaks its heap windows and communicators instead of freeing them: freeing them is
    /// collective, the other ranks are not in that call, and the process would hang at exit.
    /// The process is ending; MPI and the launcher reclaim them with it.
    fn drop(&mut self) {
        if !self.finalized.get() {
            std::mem::forget(std::mem::take(&mut self.heap.get_mut().windows));
            std::mem::forget(self.arrivals.get_mut().take());
            std::mem::forget(self.node.get_mut().take());
            std::mem::forget(self.comm.get_mut().take());
        }
    }
}

/// Work a layer above the runtime runs before every synchronisation: the array layer's
/// deferred operations (see [`Runtime::set_flush_hook`]); or before every collective
/// communication: sequential mode's batched commands (see [`Runtime::set_collective_hook`]).
pub type FlushHook = Rc<dyn Fn(&Runtime) -> Result<()>>;

/// A handle to the distarr runtime on this rank. Cloning is cheap (shared). Not `Send`: MPI
/// epochs and the heap belong to the thread that initialised the runtime.
///
/// Collective calls (made by every rank, in the same order): [`Runtime::init`],
/// [`Runtime::finalize`], [`Runtime::alloc`], [`Runtime::free`], [`Runtime::fence`],
/// [`Runtime::barrier`], [`Runtime::sync`], [`Runtime::broadcast`], [`Runtime::allreduce`],
/// [`Runtime::allgather`]. Everything else is one-sided or local.
#[derive(Clone)]
pub struct Runtime {
    pub(crate) inner: Rc<Inner>,
}

impl std::fmt::Debug for Runtime {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "Runtime(id={}, rank={}/{})",
            self.inner.id, self.inner.rank, self.inner.nranks
        )
    }
}

/// Whether `config` asks for a progress thread (which needs `MPI_THREAD_MULTIPLE`).
fn wants_progress_thread(config: &Config) -> bool {
    match config.progress {
        Progress::Thread => true,
        Progress::Auto => ffi::flavor() == Flavor::Mpich,
        Progress::Off => false,
    }
}

/// The error of every call on a finalized runtime (out of line: the check sits on hot paths).
#[cold]
#[inline(never)]
fn finalized_error() -> Error {
    Error::new(ErrorKind::NotInitialized, "the runtime was finalized")
}

fn mpi_fatal(what: &str, e: &Error) -> ! {
    log::error!(target: "distarr", "{what} failed inside a collective; aborting the job: {e}");
    abort(70)
}

/// Ends the whole job at once (`MPI_Abort` on `MPI_COMM_WORLD` with `code`; if MPI is not
/// running, the process exits with `code`). For deliberate aborts after the reason was printed:
/// distarr's fault reporting (see `DISTARR_FAULT_REPORT`) then stays quiet. Local; never
/// returns.
#[doc(alias = "MPI_Abort")]
pub fn abort(code: i32) -> ! {
    crate::fault::before_abort();
    ffi::abort(code)
}

/// Whether MPI is Open MPI older than 4.1.5, whose osc/rdma segfaults on a 64-bit
/// `MPI_Compare_and_swap` to the calling rank (`create`/`dynamic` windows use osc/rdma).
fn ompi_cas_self_bug() -> bool {
    ffi::flavor() == Flavor::OpenMpi
        && ffi::library_version()
            .ok()
            .and_then(|v| parse_ompi_version(&v))
            .is_some_and(|v| v < (4, 1, 5))
}

/// `(major, minor, release)` from an `MPI_Get_library_version` string like
/// `Open MPI v4.1.4, package: ...`.
fn parse_ompi_version(s: &str) -> Option<(u32, u32, u32)> {
    let rest = &s[s.find("Open MPI v")? + "Open MPI v".len()..];
    let mut it = rest.split(|c: char| !c.is_ascii_digit()).map(|x| x.parse::<u32>().ok());
    Some((it.next()??, it.next()??, it.next()??))
}

fn physical_memory() -> Option<u64> {
    let s = std::fs::read_to_string("/proc/meminfo").ok()?;
    let line = s.lines().find(|l| l.starts_with("MemTotal:"))?;
    let kb: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    kb.checked_mul(1024)
}

impl Runtime {
    /// Initialises the runtime on `MPI_COMM_WORLD` with [`Config::from_env`]. **Collective.**
    pub fn init() -> Result<Runtime> {
        Runtime::init_with(Config::from_env()?, CommSource::World)
    }

    /// Initialises the runtime. **Collective** over the communicator.
    ///
    /// Calls `MPI_Init_thread` if the program has not (and then `MPI_Finalize` when the last
    /// runtime finalises); otherwise uses the running MPI and leaves finalising to the program.
    /// On Open MPI, before initialising MPI it sets `OMPI_MCA_osc=sm,rdma,pt2pt` and
    /// `OMPI_MCA_osc_rdma_priority=50` when neither is set (`config.set_mca_defaults`), so
    /// `MPI_Win_allocate` windows use osc/sm (priority 100), which is correct for 64-bit
    /// compare-and-swap where osc/rdma 4.1.4 segfaults; `MPI_Win_create`/`create_dynamic`
    /// windows use osc/rdma, and osc/pt2pt (priority 10) where osc/rdma refuses (1 rank).
    pub fn init_with(config: Config, source: CommSource) -> Result<Runtime> {
        let finalized = ffi::finalized()?;
        ensure!(
            !finalized,
            NotInitialized,
            "MPI was already finalized; it cannot be initialized again"
        );
        let want_thread = wants_progress_thread(&config);
        if !ffi::initialized()? {
            ensure!(
                matches!(source, CommSource::World),
                NotInitialized,
                "a borrowed communicator was passed but MPI is not initialized"
            );
            Runtime::start_mpi(&config)?;
            WE_INITIALIZED_MPI.store(true, Ordering::SeqCst);
        }
        let thread_level = ffi::query_thread()?;
        let base = match source {
            CommSource::World => Comm::world(),
            CommSource::Borrowed(c) => c,
        };
        // Everything below is collective; an MPI failure here leaves ranks in different states,
        // so it aborts the job with a message.
        let comm = base.dup().unwrap_or_else(|e| mpi_fatal("MPI_Comm_dup", &e.into()));
        let rank = comm.rank()?;
        let nranks = comm.size()?;
        crate::logger::install(rank, nranks);
        let node = comm
            .split_shared(rank)
            .unwrap_or_else(|e| mpi_fatal("MPI_Comm_split_type", &e.into()));
        let node_size = node.size()?;
        if config.fault_report {
            crate::fault::install(rank, nranks, &node).unwrap_or_else(|e| mpi_fatal("fault reporting setup", &e));
        }
        // `Shared` on one node and on several: node-local ranks reach each other with loads and
        // stores; across nodes RMA goes through a second window over the same memory (see
        // `create_window`).
        let kind = match config.window {
            WindowKind::Auto => WindowKind::Shared,
            k => k,
        };
        let mut limit = [config
            .heap_limit
            .unwrap_or_else(|| physical_memory().map_or(4 << 30, |m| m / 4 * 3 / node_size.max(1) as u64))];
        comm.allreduce_in_place(&mut limit, ffi::Op::Min)
            .unwrap_or_else(|e| mpi_fatal("MPI_Allreduce", &e.into()));
        let progress_on = want_thread && thread_level == ThreadLevel::Multiple;
        if want_thread && !progress_on {
            log::warn!(target: "distarr", "progress thread requested but MPI provides {thread_level:?}, not MULTIPLE: running without it");
        }
        let progress = if progress_on {
            let pc = ProgressComm::new(&comm).unwrap_or_else(|e| mpi_fatal("progress communicator", &e.into()));
            let stop = Arc::new(AtomicBool::new(false));
            let s2 = stop.clone();
            let interval = std::time::Duration::from_micros(config.progress_interval_us);
            let handle = std::thread::Builder::new()
                .name("distarr-progress".into())
                .spawn(move || {
                    while !s2.load(Ordering::Acquire) {
                        if let Err(e) = pc.poke() {
                            log::error!(target: "distarr", "progress thread: {e}");
                            break;
                        }
                        std::thread::sleep(interval);
                    }
                    pc
                })
                .map_err(|e| Error::new(ErrorKind::Unsupported, format!("cannot start progress thread: {e}")))?;
            Some(ProgressThread { stop, handle })
        } else {
            None
        };
        let arrivals = config
            .timeout
            .map(|_| Arrivals::new(&comm).unwrap_or_else(|e| mpi_fatal("MPI_Comm_dup", &e.into())));
        let inner = Rc::new(Inner {
            id: NEXT_ID.fetch_add(1, Ordering::Relaxed),
            finalized: Cell::new(false),
            comm: RefCell::new(Some(comm)),
            node: RefCell::new(Some(node)),
            rank,
            nranks,
            node_size,
            kind,
            fastpath: config.shm_fastpath && kind == WindowKind::Shared,
            thread_level,
            heap_limit: limit[0],
            segment_bytes: config.segment_bytes,
            heap: RefCell::new(Heap::default()),
            progress: RefCell::new(progress),
            syncs: Cell::new(0),
            threads: config.threads,
            arrivals: RefCell::new(arrivals),
            timeout: config.timeout,
            sync_seq: Cell::new(0),
            heap_peak: Cell::new(0),
            flush_hook: RefCell::new(None),
            collective_hook: RefCell::new(None),
            in_collective_hook: Cell::new(false),
            lockstep: Cell::new(false),
        });
        LIVE.fetch_add(1, Ordering::SeqCst);
        CURRENT.with(|c| *c.borrow_mut() = Rc::downgrade(&inner));
        if let Ok(cpus) = std::thread::available_parallelism() {
            if config.threads > cpus.get() {
                log::warn!(
                    target: "distarr",
                    "DISTARR_THREADS={} but this rank may run on {cpus} CPU(s) (its affinity mask): the threads will share them; \
                     launch without binding ranks to single cores (Open MPI: mpirun --bind-to none)",
                    config.threads
                );
            }
        }
        log::info!(target: "distarr", "runtime up: {nranks} ranks, window {kind:?}, thread level {thread_level:?}");
        Ok(Runtime { inner })
    }

    /// Initialises MPI as [`Runtime::init_with`] would (thread level for `config`'s progress
    /// strategy; Open MPI's one-sided defaults), without starting a runtime; nothing happens if
    /// MPI is already initialised. **Collective** over all processes. The program then owns MPI:
    /// runtimes started afterwards leave `MPI_Finalize` to it (`distarr_ffi::finalize`), so it
    /// can run several runtimes one after the other (benchmarks of both execution modes in one
    /// job, for instance). Errors with `NotInitialized` if MPI was already finalized.
    pub fn init_mpi(config: &Config) -> Result<()> {
        ensure!(
            !ffi::finalized()?,
            NotInitialized,
            "MPI was already finalized; it cannot be initialized again"
        );
        if !ffi::initialized()? {
            Runtime::start_mpi(config)?;
        }
        Ok(())
    }

    /// `MPI_Init_thread` with the level and Open MPI settings `config` asks for (see
    /// [`Runtime::init_with`]). MPI is not initialised yet.
    fn start_mpi(config: &Config) -> Result<()> {
        if ffi::flavor() == Flavor::OpenMpi
            && config.set_mca_defaults
            && std::env::var_os("OMPI_MCA_osc").is_none()
            && std::env::var_os("OMPI_MCA_osc_rdma_priority").is_none()
        {
            // osc/sm (100) > osc/rdma (50) > osc/pt2pt (10): see `init_with`'s documentation.
            std::env::set_var("OMPI_MCA_osc", "sm,rdma,pt2pt");
            std::env::set_var("OMPI_MCA_osc_rdma_priority", "50");
        }
        let level = if wants_progress_thread(config) {
            ThreadLevel::Multiple
        } else {
            ThreadLevel::Serialized
        };
        ffi::init_thread(level)?;
        Ok(())
    }

    /// The runtime most recently initialised on this thread and not yet finalised.
    /// Errors with `NotInitialized` before init and after finalize.
    pub fn current() -> Result<Runtime> {
        CURRENT
            .with(|c| c.borrow().upgrade())
            .filter(|i| !i.finalized.get())
            .map(|inner| Runtime { inner })
            .ok_or_else(|| {
                Error::new(
                    ErrorKind::NotInitialized,
                    "distarr is not initialized (or was finalized)",
                )
            })
    }

    /// Checks that the runtime is still up.
    #[inline(always)]
    pub(crate) fn live(&self) -> Result<&Inner> {
        let i = &*self.inner;
        if i.finalized.get() {
            return Err(finalized_error());
        }
        Ok(i)
    }

    /// Unique id of this runtime in the process (to detect objects from another runtime).
    pub fn id(&self) -> u64 {
        self.inner.id
    }

    /// This rank (local).
    pub fn rank(&self) -> usize {
        self.inner.rank
    }

    /// Number of ranks (local).
    pub fn nranks(&self) -> usize {
        self.inner.nranks
    }

    /// Compute threads per rank for array operations (`Config::threads`, `DISTARR_THREADS`).
    pub fn threads(&self) -> usize {
        self.inner.threads
    }

    /// Declares that one program makes every rank's collective calls (sequential mode: rank 0
    /// runs the program and the other ranks replay its calls): the ranks cannot disagree about
    /// what they call, so layers above may skip the communication that only checks that they
    /// agree (the array engine's agreement at a flush of deferred operations). Set it on every
    /// rank alike, before any collective call. Local.
    pub fn set_lockstep(&self, on: bool) {
        self.inner.lockstep.set(on);
    }

    /// See [`Runtime::set_lockstep`]. Local.
    pub fn is_lockstep(&self) -> bool {
        self.inner.lockstep.get()
    }

    /// Whether every rank of this node can have a CPU of its own: at most as many ranks on
    /// the node as the node has CPUs online (not this rank's affinity mask, which a launcher
    /// may have narrowed to one core). Local.
    pub fn node_has_cpu_per_rank(&self) -> bool {
        // SAFETY: sysconf has no preconditions; it returns -1 when the value is unknown.
        let cpus = unsafe { libc::sysconf(libc::_SC_NPROCESSORS_ONLN) };
        usize::try_from(cpus).is_ok_and(|c| self.inner.node_size <= c)
    }

    /// Whether the runtime has been finalised.
    pub fn is_finalized(&self) -> bool {
        self.inner.finalized.get()
    }

    /// Facts about this runtime.
    pub fn info(&self) -> RuntimeInfo {
        let i = &self.inner;
        RuntimeInfo {
            rank: i.rank,
            nranks: i.nranks,
            node_size: i.node_size,
            flavor: ffi::flavor(),
            mpi_version: ffi::library_version().unwrap_or_default(),
            thread_level: i.thread_level,
            window: i.kind,
            shm_fastpath: i.fastpath,
            progress_thread: i.progress.borrow().is_some(),
            heap_limit: i.heap_limit,
        }
    }

    /// Runs `f` on the runtime's communicator, for a collective communication (every use is
    /// one): the collective hook runs first (see [`Runtime::set_collective_hook`]).
    pub(crate) fn with_comm<R>(&self, f: impl FnOnce(&Comm) -> Result<R>) -> Result<R> {
        self.collective_hook_first()?;
        self.with_comm_only(f)
    }

    /// Call before this rank's share of the work of a collective operation: runs the collective
    /// hook (see [`Runtime::set_collective_hook`]) as a collective communication would. In
    /// sequential mode that sends rank 0's batched commands now, so the other ranks compute
    /// their shares while rank 0 computes its own, rather than after it, when the operation's
    /// first communication (a reduction's all-reduce) would have sent them. Local by itself;
    /// nothing happens without a hook.
    #[inline]
    pub fn before_work(&self) -> Result<()> {
        self.collective_hook_first()
    }

    /// Runs the collective hook unless it is running (see [`Runtime::set_collective_hook`]).
    #[inline]
    fn collective_hook_first(&self) -> Result<()> {
        if !self.live()?.in_collective_hook.get() {
            self.run_collective_hook()?;
        }
        Ok(())
    }

    /// [`Runtime::with_comm`] without the collective hook (the caller ran it).
    fn with_comm_only<R>(&self, f: impl FnOnce(&Comm) -> Result<R>) -> Result<R> {
        let i = self.live()?;
        let c = i.comm.borrow();
        match c.as_ref() {
            Some(c) => f(c),
            None => Err(Error::new(ErrorKind::NotInitialized, "the runtime was finalized")),
        }
    }

    /// Runs the collective call `f` on the runtime's communicator: the collective hook first
    /// (sequential mode's rank 0 sends its batched commands, which bring the other ranks to
    /// this call), then, under `DISTARR_TIMEOUT`, every rank waits for every other rank's
    /// arrival (see [`Runtime::arrive`]).
    fn collective<R>(&self, call: Call, f: impl FnOnce(&Comm) -> Result<R>) -> Result<R> {
        self.collective_hook_first()?;
        self.arrive(call)?;
        self.with_comm_only(f)
    }

    /// `DISTARR_TIMEOUT`: sends this rank's arrival notice for the next synchronisation to every
    /// other rank and waits for theirs (a barrier); returns `true` when it did (false without a
    /// timeout: nothing happened). When the limit passes first, logs which ranks have not
    /// arrived and aborts the job (status 75); when a rank arrives in another collective call
    /// (another kind, payload size, root or operation), logs both and aborts (status 76).
    /// **Collective.**
    fn arrive(&self, call: Call) -> Result<bool> {
        let i = self.live()?;
        let Some(limit) = i.timeout else {
            return Ok(false);
        };
        let mut guard = i.arrivals.borrow_mut();
        let Some(a) = guard.as_mut() else {
            return Ok(false);
        };
        let seq = i.sync_seq.get() + 1;
        i.sync_seq.set(seq);
        let start = Instant::now();
        let mine = call.notice(seq);
        match a.arrive(mine, start + limit) {
            Ok(Arrival::All) => Ok(true),
            Ok(Arrival::TimedOut { missing }) => {
                let list = missing.iter().map(usize::to_string).collect::<Vec<_>>().join(", ");
                let who = if missing.len() == 1 {
                    format!("rank {list} has")
                } else {
                    format!("ranks {list} have")
                };
                log::error!(
                    target: "distarr",
                    "DISTARR_TIMEOUT={}s: rank {} waited {:.1} s in {} (synchronisation #{seq}) and {who} not arrived; aborting the job",
                    limit.as_secs_f64(),
                    i.rank,
                    start.elapsed().as_secs_f64(),
                    Call::describe(&mine)
                );
                abort(75)
            }
            Ok(Arrival::Mismatch { rank, theirs }) => {
                log::error!(
                    target: "distarr",
                    "rank {} is in {} (synchronisation #{seq}) but rank {rank} arrived in {} (its synchronisation #{}): the ranks' collective calls differ; aborting the job",
                    i.rank,
                    Call::describe(&mine),
                    Call::describe(&theirs),
                    theirs[0]
                );
                abort(76)
            }
            Err(e) => mpi_fatal("arrival notices (DISTARR_TIMEOUT)", &e.into()),
        }
    }

    /// Checks that every rank passed the same value (**collective**: one allreduce). A mismatch
    /// is reported on every rank as `CollectiveMismatch`.
    pub fn agree(&self, what: &str, value: u64) -> Result<()> {
        self.agree_all(what, &[value])
    }

    /// [`Runtime::agree`] on several values with one allreduce. **Collective.**
    pub fn agree_all(&self, what: &str, values: &[u64]) -> Result<()> {
        let mut v: Vec<u64> = values.iter().flat_map(|&x| [x, !x]).collect();
        let call = Call::allreduce(std::mem::size_of_val(&v[..]), ffi::Op::Max);
        self.collective(call, |c| Ok(c.allreduce_in_place(&mut v, ffi::Op::Max)?))?;
        let same = values
            .iter()
            .enumerate()
            .all(|(k, &x)| v[2 * k] == x && v[2 * k + 1] == !x);
        ensure!(
            same,
            CollectiveMismatch,
            "ranks passed different {what} to a collective call"
        );
        Ok(())
    }

    #[inline]
    pub(crate) fn check_rank(&self, rank: usize) -> Result<()> {
        ensure!(
            rank < self.inner.nranks,
            RankOutOfRange,
            "rank {rank} out of range 0..{}",
            self.inner.nranks
        );
        Ok(())
    }

    /// Allocates `bytes` on every rank of the symmetric heap. **Collective**: every rank passes
    /// the same size (checked); returns the same handle everywhere. Memory is zero-filled on a
    /// fresh window and uninitialised when reused. Out of heap space → `OutOfMemory` on every
    /// rank.
    pub fn alloc(&self, bytes: u64) -> Result<Seg> {
        self.alloc_keyed(bytes, 0)
    }

    /// [`Runtime::alloc`] that also checks, in the same allreduce, that every rank passed the
    /// same `key` (a caller's digest of what the memory is for, e.g. an array's shape and
    /// dtype). **Collective.**
    pub fn alloc_keyed(&self, bytes: u64, key: u64) -> Result<Seg> {
        let seg = self.alloc_segment(bytes, key)?;
        let used = self.heap_usage()?.0;
        self.inner.heap_peak.set(self.inner.heap_peak.get().max(used));
        Ok(seg)
    }

    /// [`Runtime::alloc_keyed`] without the high-water mark.
    fn alloc_segment(&self, bytes: u64, key: u64) -> Result<Seg> {
        let i = self.live()?;
        self.agree_all("allocation sizes or keys", &[bytes, key])?;
        let len = poison::unit(bytes).ok_or_else(|| Error::new(ErrorKind::OutOfMemory, format!("{bytes} bytes")))?;
        let mut heap = i.heap.borrow_mut();
        for (wi, w) in heap.windows.iter_mut().enumerate() {
            if let Some(off) = w.alloc.alloc(len) {
                return heap.insert(Allocation {
                    window: wi,
                    offset: off,
                    len: bytes,
                });
            }
        }
        let page = 1u64 << 21;
        let wsize = (len + 2 * poison::guard()).max(i.segment_bytes).div_ceil(page) * page;
        ensure!(
            heap.total_bytes.checked_add(wsize).is_some_and(|t| t <= i.heap_limit),
            OutOfMemory,
            "symmetric heap exhausted: {bytes} bytes per rank requested, {} of {} bytes per rank in use (DISTARR_HEAP_LIMIT)",
            heap.total_bytes,
            i.heap_limit
        );
        let size = usize::try_from(wsize)
            .map_err(|_| Error::new(ErrorKind::OutOfMemory, "window larger than the address space"))?;
        let mut w = self
            .create_window(size)
            .unwrap_or_else(|e| mpi_fatal("heap window creation", &e));
        let off = w
            .alloc
            .alloc(len)
            .ok_or_else(|| Error::new(ErrorKind::OutOfMemory, "fresh window too small"))?;
        heap.windows.push(w);
        heap.total_bytes += wsize;
        let wi = heap.windows.len() - 1;
        heap.insert(Allocation {
            window: wi,
            offset: off,
            len: bytes,
        })
    }

    fn create_window(&self, size: usize) -> Result<HeapWindow> {
        let i = &*self.inner;
        let comm = i.comm.borrow();
        let comm = comm
            .as_ref()
            .ok_or_else(|| Error::new(ErrorKind::NotInitialized, "finalized"))?;
        let mut peers = vec![std::ptr::null_mut(); i.nranks];
        let hw = match i.kind {
            WindowKind::Shared => {
                let node = i.node.borrow();
                let node = node
                    .as_ref()
                    .ok_or_else(|| Error::new(ErrorKind::NotInitialized, "finalized"))?;
                let shm = Win::allocate_shared(size, None, node)?;
                shm.lock_all(true)?;
                // Map node ranks to communicator ranks.
                let mut ranks = vec![0u64; i.node_size];
                node.allgather(&[i.rank as u64], &mut ranks)?;
                for (nr, &cr) in ranks.iter().enumerate() {
                    let (p, _) = shm.shared_query(nr)?;
                    if i.fastpath {
                        peers[cr as usize] = p;
                    }
                }
                let identity = i.node_size == i.nranks && ranks.iter().enumerate().all(|(a, &b)| a as u64 == b);
                if identity {
                    HeapWindow::new(None, Some(shm), size as u64, peers)
                } else if ffi::flavor() == Flavor::Mpich {
                    // Ranks on several nodes: an RMA window over all ranks exposes the same
                    // memory. On MPICH 4.0.2 (ch4:ucx) a dynamic window: with `MPI_Win_create`
                    // the array engine's tests read wrong values at 4 ranks (also with
                    // `DISTARR_WINDOW=create` on one node), with `MPI_Win_create_dynamic` not.
                    let base = shm.base();
                    let w = Win::create_dynamic(None, comm)?;
                    // SAFETY: `base` points to `size` bytes owned by the shared window, which
                    // lives in the same HeapWindow and is freed after this window is detached
                    // and freed (HeapWindow::free), so the memory outlives the attachment.
                    unsafe { w.attach(base, size)? };
                    let mut all = vec![0u64; i.nranks];
                    comm.allgather(&[Win::address(base)?], &mut all)?;
                    w.lock_all(true)?;
                    HeapWindow {
                        map_base: base,
                        base_disp: all,
                        ..HeapWindow::new(Some(w), Some(shm), size as u64, peers)
                    }
                } else {
                    // SAFETY:
                    // - `shm.base()` points to `size` bytes owned by the shared window, which
                    //   lives in the same HeapWindow and is freed after this window (see
                    //   HeapWindow::free), so the memory outlives the window;
                    // - concurrent load/store access is governed by the RMA rules the runtime
                    //   follows (flush + win_sync around local access).
                    let w = unsafe { Win::create(shm.base(), size, None, comm)? };
                    w.lock_all(true)?;
                    HeapWindow {
                        // Open MPI may serve this window with osc/rdma, whose 64-bit
                        // compare-and-swap to self crashes before 4.1.5 (see `cas_self_local`).
                        cas_self_local: ompi_cas_self_bug(),
                        ..HeapWindow::new(Some(w), Some(shm), size as u64, peers)
                    }
                }
            }
            WindowKind::Create | WindowKind::Dynamic => {
                let mut mapping = memmap2::MmapMut::map_anon(size)
                    .map_err(|e| Error::new(ErrorKind::OutOfMemory, format!("mmap of {size} bytes: {e}")))?;
                let base = mapping.as_mut_ptr();
                let (w, base_disp) = if i.kind == WindowKind::Create {
                    // SAFETY:
                    // - `base` points to the `size` bytes of `mapping`, which moves into the
                    //   same HeapWindow and is unmapped only after the window is freed
                    //   (HeapWindow::free frees the window; the mapping drops afterwards);
                    // - local access follows the runtime's RMA rules (flush + win_sync).
                    (unsafe { Win::create(base, size, None, comm)? }, Vec::new())
                } else {
                    let w = Win::create_dynamic(None, comm)?;
                    // SAFETY: as for `Win::create` above: the mapping outlives the attachment
                    // (HeapWindow::free detaches it before freeing the window).
                    unsafe { w.attach(base, size)? };
                    let mut all = vec![0u64; i.nranks];
                    comm.allgather(&[Win::address(base)?], &mut all)?;
                    (w, all)
                };
                w.lock_all(true)?;
                HeapWindow {
                    mapping: Some(mapping),
                    map_base: base,
                    base_disp,
                    cas_self_local: ompi_cas_self_bug(),
                    ..HeapWindow::new(Some(w), None, size as u64, peers)
                }
            }
            WindowKind::Allocate | WindowKind::Auto => {
                let w = Win::allocate(size, None, comm)?;
                w.lock_all(true)?;
                HeapWindow::new(Some(w), None, size as u64, peers)
            }
        };
        // Fresh windows read as zeros on every rank. Shared windows (MPI's shared-memory
        // segments) and the anonymous maps of create/dynamic windows are fresh pages, zero
        // already: writing them would only fault every page in twice. MPI_Win_allocate gives no
        // such promise.
        if matches!(i.kind, WindowKind::Allocate | WindowKind::Auto) {
            // SAFETY: local_base() points to `size` bytes of this rank's window memory, which
            // nobody else accesses before the barrier below.
            unsafe { std::ptr::write_bytes(hw.local_base(), 0, size) };
        } else {
            // Fault the pages in with one call (Linux ≥ 5.14) rather than one trap per page on
            // first touch: shared-memory faults are the dearest part of a new array.
            let page = 4096usize;
            let base = hw.local_base() as usize;
            let (start, end) = (base.next_multiple_of(page), (base + size) / page * page);
            if end > start {
                // SAFETY: madvise on whole pages of this rank's own mapping of the window;
                // MADV_POPULATE_WRITE only faults pages in (as writes of their current, zero,
                // contents would) and fails harmlessly on older kernels.
                let _ = unsafe {
                    libc::madvise(
                        start as *mut libc::c_void,
                        end - start,
                        23, /* MADV_POPULATE_WRITE */
                    )
                };
            }
        }
        let mut hw = hw;
        if poison::enabled() {
            let g = poison::GUARD;
            let reserved = hw.alloc.reserve(0, g) && hw.alloc.reserve(size as u64 - g, g);
            ensure!(
                reserved,
                OutOfMemory,
                "window of {size} bytes too small for the poison guards"
            );
            // SAFETY: local_base() points to `size` bytes of this rank's window memory, which
            // nobody else accesses before the barrier below.
            unsafe { poison::fill(hw.local_base(), 0, size as u64) };
        }
        hw.rma().sync()?;
        comm.barrier()?;
        Ok(hw)
    }

    /// Frees an allocation on every rank. **Collective**: every rank passes the same handle
    /// (checked). Completes this rank's outstanding operations on the segment's window first;
    /// the handle is stale afterwards (any use → `InvalidSegment`).
    pub fn free(&self, seg: Seg) -> Result<()> {
        let i = self.live()?;
        self.agree("segment handles", u64::from(seg.raw()))?;
        let mut heap = i.heap.borrow_mut();
        let a = heap.resolve(seg)?;
        heap.windows[a.window]
            .rma()
            .flush_all()
            .unwrap_or_else(|e| mpi_fatal("MPI_Win_flush_all", &e.into()));
        // Everybody's accesses to the segment are complete before anyone may reuse the memory.
        self.barrier_only().unwrap_or_else(|e| mpi_fatal("MPI_Barrier", &e));
        heap.remove(seg)?;
        let unit = poison::unit(a.len).unwrap_or(a.len);
        let w = &mut heap.windows[a.window];
        let freed = w.alloc.free(a.offset, unit);
        debug_assert!(freed, "allocator and slot table disagree");
        if poison::enabled() && freed {
            // SAFETY: the unit lies in this rank's window memory (allocator invariant) and is
            // free: every rank's accesses to the segment completed before the barrier above, and
            // no rank can allocate it again before this rank joins the next (collective) alloc.
            unsafe { poison::fill(w.local_base(), a.offset, unit) };
            w.rma().sync()?;
        }
        Ok(())
    }

    /// Heap usage on this rank: bytes allocated and bytes reserved in heap windows (local).
    pub fn heap_usage(&self) -> Result<(u64, u64)> {
        let heap = self.live()?.heap.borrow();
        let total: u64 = heap.windows.iter().map(|w| w.size).sum();
        let free: u64 = heap.windows.iter().map(|w| w.alloc.free_bytes()).sum();
        debug_assert_eq!(heap.windows.iter().map(|w| w.alloc.size()).sum::<u64>(), total);
        Ok((total - free, total))
    }

    /// The most heap bytes allocated on this rank at any time since initialisation or the last
    /// [`Runtime::reset_heap_peak`] (the high-water mark of [`Runtime::heap_usage`]'s first
    /// value). Local.
    pub fn heap_peak(&self) -> Result<u64> {
        Ok(self.live()?.heap_peak.get())
    }

    /// Restarts [`Runtime::heap_peak`] from the bytes allocated now. Local.
    pub fn reset_heap_peak(&self) -> Result<()> {
        let used = self.heap_usage()?.0;
        self.inner.heap_peak.set(used);
        Ok(())
    }

    /// Size in bytes of an allocation (local).
    pub fn seg_len(&self, seg: Seg) -> Result<u64> {
        Ok(self.live()?.heap.borrow().resolve(seg)?.len)
    }

    /// This rank's part of an allocation: base pointer and length (local). The memory may be
    /// written by other ranks' one-sided operations; read it after [`Runtime::sync`] or a
    /// matching flush + barrier.
    pub fn local_ptr(&self, seg: Seg) -> Result<(*mut u8, u64)> {
        let i = self.live()?;
        let heap = i.heap.borrow();
        let a = heap.resolve(seg)?;
        let w = &heap.windows[a.window];
        // SAFETY: the allocation lies inside this rank's window memory (allocator invariant:
        // a.offset + a.len <= window size), so the offset pointer stays in bounds.
        let p = unsafe { w.local_base().add(a.offset as usize) };
        Ok((p, a.len))
    }

    /// Load/store address and length of `rank`'s part of an allocation, when this rank can
    /// reach it with plain loads and stores: its own part always; another rank's part when both
    /// share a node, the heap is a shared window and the node-local fast path is on
    /// (`DISTARR_SHM_FASTPATH`). `None` otherwise (use one-sided gets). Local. Reads of another
    /// rank's memory follow the same ordering rules as gets (see [`Runtime::sync`]).
    #[inline]
    pub fn addr_of(&self, rank: usize, seg: Seg) -> Result<Option<(*mut u8, u64)>> {
        let i = self.live()?;
        self.check_rank(rank)?;
        let heap = i.heap.borrow();
        let a = heap.resolve(seg)?;
        let w = &heap.windows[a.window];
        let base = if rank == i.rank {
            w.local_base()
        } else {
            match w.peers.get(rank) {
                Some(p) if !p.is_null() => *p,
                _ => return Ok(None),
            }
        };
        // SAFETY: the allocation lies inside every rank's window memory (same offsets on every
        // rank: allocator invariant a.offset + a.len <= window size), so the pointer is in bounds.
        Ok(Some((unsafe { base.add(a.offset as usize) }, a.len)))
    }

    /// How many gets and puts (blocking, request-based and implicit-completion) this rank has
    /// made so far by loads and stores through the node's shared memory, and how many through
    /// MPI: `(load_store, mpi)`. Accumulates and atomics always go through MPI and are not
    /// counted. Local; for tests and reports (which path reaches which rank: see
    /// [`Runtime::addr_of`]).
    pub fn transfer_counts(&self) -> Result<(u64, u64)> {
        let heap = self.live()?.heap.borrow();
        Ok(heap
            .windows
            .iter()
            .fold((0, 0), |(l, m), w| (l + w.copies[0].get(), m + w.copies[1].get())))
    }

    /// Borrows this rank's part of an allocation as a byte slice.
    ///
    /// # Safety
    /// No other rank may write to this rank's part of `seg`, and no other reference to it may
    /// be used, while the slice lives (e.g. between two [`Runtime::sync`] calls in which only
    /// this rank touches its part).
    // The slice borrows MPI window memory, not `self`; exclusivity is this unsafe fn's contract.
    #[allow(clippy::mut_from_ref)]
    pub unsafe fn local_slice_mut(&self, seg: Seg) -> Result<&mut [u8]> {
        let (p, len) = self.local_ptr(seg)?;
        let len = usize::try_from(len).map_err(|_| Error::new(ErrorKind::OutOfBounds, "segment larger than memory"))?;
        // SAFETY: `p` is valid for `len` bytes (see local_ptr); exclusivity is the caller's.
        Ok(unsafe { std::slice::from_raw_parts_mut(p, len) })
    }

    fn each_window(&self, f: impl Fn(&Win) -> distarr_ffi::Result<()>) -> Result<()> {
        let i = self.live()?;
        for w in &i.heap.borrow().windows {
            f(w.rma())?;
        }
        Ok(())
    }

    /// Completes every operation this rank issued to `rank`, at origin and target
    /// (`MPI_Win_flush` on every heap window). One-sided.
    #[doc(alias = "MPI_Win_flush")]
    pub fn flush(&self, rank: usize) -> Result<()> {
        self.check_rank(rank)?;
        self.each_window(|w| w.flush(rank))
    }

    /// Completes every operation this rank issued to `rank` at the origin only: buffers may be
    /// reused, but puts may not be visible at the target yet (`MPI_Win_flush_local`). One-sided.
    #[doc(alias = "MPI_Win_flush_local")]
    pub fn flush_local(&self, rank: usize) -> Result<()> {
        self.check_rank(rank)?;
        self.each_window(|w| w.flush_local(rank))
    }

    /// Completes every operation this rank issued, to all ranks, at origin and target
    /// (`MPI_Win_flush_all`). One-sided.
    #[doc(alias = "MPI_Win_flush_all")]
    pub fn flush_all(&self) -> Result<()> {
        self.each_window(Win::flush_all)
    }

    /// Local completion of every operation this rank issued (`MPI_Win_flush_local_all`).
    #[doc(alias = "MPI_Win_flush_local_all")]
    pub fn flush_local_all(&self) -> Result<()> {
        self.each_window(Win::flush_local_all)
    }

    /// Local memory barrier between load/store and RMA views of this rank's heap memory
    /// (`MPI_Win_sync` on every window). Local.
    #[doc(alias = "MPI_Win_sync")]
    pub fn win_sync(&self) -> Result<()> {
        self.each_window(Win::sync)
    }

    /// Registers (or removes) the work to run at the start of every synchronisation —
    /// [`Runtime::sync`], [`Runtime::barrier`], [`Runtime::fence`] — and of
    /// [`Runtime::finalize`]: a layer above that defers collective work (the array engine's
    /// queue) makes it complete before any rank synchronises, so a synchronisation orders all
    /// of it. The hook is called on every rank at the same points (synchronisations are
    /// collective); it may synchronise itself (it is not re-entered). Local.
    pub fn set_flush_hook(&self, hook: Option<FlushHook>) {
        *self.inner.flush_hook.borrow_mut() = hook;
    }

    /// Runs the flush hook, if any.
    fn run_flush_hook(&self) -> Result<()> {
        let hook = self.inner.flush_hook.borrow().clone();
        match hook {
            Some(h) => h(self),
            None => Ok(()),
        }
    }

    /// Registers (or removes) the work to run on this rank before each of its collective
    /// communications on the runtime's communicator: every broadcast, all-reduce, all-gather and
    /// barrier, so also before those inside [`Runtime::sync`], [`Runtime::fence`],
    /// [`Runtime::alloc`], [`Runtime::free`], [`Runtime::agree`], [`Runtime::finalize`] and the
    /// messages of sequential mode ([`Runtime::seq_send`]). The hook is not re-entered: its
    /// own collective calls do not run it. Sequential mode's rank 0 uses it to send the
    /// commands it has batched, so the other ranks run them and meet it in the same collective
    /// call. Local.
    pub fn set_collective_hook(&self, hook: Option<FlushHook>) {
        *self.inner.collective_hook.borrow_mut() = hook;
    }

    /// Runs the collective hook, if any, marked as running while it does.
    #[inline]
    fn run_collective_hook(&self) -> Result<()> {
        let Some(hook) = self.inner.collective_hook.borrow().clone() else {
            return Ok(());
        };
        struct Running<'a>(&'a Cell<bool>);
        impl Drop for Running<'_> {
            fn drop(&mut self) {
                self.0.set(false);
            }
        }
        self.inner.in_collective_hook.set(true);
        let _running = Running(&self.inner.in_collective_hook);
        hook(self)
    }

    /// `MPI_Barrier` on the runtime's communicator. **Collective.** Orders nothing about RMA by
    /// itself: use [`Runtime::sync`] for that. Deferred work (see [`Runtime::set_flush_hook`])
    /// completes first.
    #[doc(alias = "MPI_Barrier")]
    pub fn barrier(&self) -> Result<()> {
        self.run_flush_hook()?;
        self.barrier_only()
    }

    /// The barrier of [`Runtime::barrier`] without the flush hook (under `DISTARR_TIMEOUT`,
    /// through the arrival notices). **Collective.**
    fn barrier_only(&self) -> Result<()> {
        self.collective_hook_first()?;
        // The arrival notices, when there are any, are a barrier themselves.
        if self.arrive(Call::BARRIER)? {
            return Ok(());
        }
        self.with_comm_only(|c| Ok(c.barrier()?))
    }

    /// A BSP fence, like `MPI_Win_fence` on every segment: **collective**; every one-sided
    /// operation any rank issued before it is complete at its target when it returns on any
    /// rank. (Implemented as `flush_all` + barrier, because the heap lives in one permanent
    /// `lock_all` epoch and MPI forbids mixing that with `MPI_Win_fence`.)
    #[doc(alias = "MPI_Win_fence")]
    pub fn fence(&self) -> Result<()> {
        self.run_flush_hook()?;
        self.flush_all()?;
        self.barrier()
    }

    /// `flush_all` + `win_sync` + barrier + `win_sync`: **collective**; afterwards every rank
    /// sees, through one-sided reads and through loads of its own memory, every write made
    /// before the call by any rank.
    pub fn sync(&self) -> Result<()> {
        self.run_flush_hook()?;
        self.flush_all()?;
        self.win_sync()?;
        self.barrier_only()?;
        self.win_sync()?;
        self.inner.syncs.set(self.inner.syncs.get() + 1);
        if poison::enabled() {
            self.abort_if_poisoned("sync");
        }
        Ok(())
    }

    /// Test hook `DISTARR_TEST_POISON=1` (see the `poison` module): verifies that the heap
    /// memory of this rank that no live segment addresses (guard zones, free blocks, the red zone
    /// after each segment) still holds the poison pattern; the error names the first byte that
    /// does not. Call it when no rank is writing (e.g. after [`Runtime::sync`], which runs it
    /// itself and aborts the job on a failure). Local. Without the hook: `Ok(())`, nothing read.
    #[doc(hidden)]
    pub fn check_heap_poison(&self) -> Result<()> {
        if !poison::enabled() {
            return Ok(());
        }
        let i = self.live()?;
        let heap = i.heap.borrow();
        let mut views: Vec<poison::WindowView<'_>> = heap
            .windows
            .iter()
            .map(|w| poison::WindowView {
                base: w.local_base(),
                size: w.size,
                alloc: &w.alloc,
                live: Vec::new(),
            })
            .collect();
        for a in heap.allocations() {
            if let Some(v) = views.get_mut(a.window) {
                v.live.push((a.offset, a.len));
            }
        }
        poison::check(&views).map_err(|msg| Error::new(ErrorKind::HeapCorrupted, format!("rank {}: {msg}", i.rank)))
    }

    /// [`Runtime::check_heap_poison`], aborting the job with its report on a failure.
    fn abort_if_poisoned(&self, at: &str) {
        if let Err(e) = self.check_heap_poison() {
            log::error!(target: "distarr", "DISTARR_TEST_POISON check at {at}: {}", e.message());
            eprintln!("distarr: DISTARR_TEST_POISON check at {at} failed: {}", e.message());
            ffi::abort(86);
        }
    }

    /// The synchronisation epoch: 1 + the number of [`Runtime::sync`] calls completed so far.
    /// Every rank sees the same value between the same two collective calls (syncs are
    /// collective), so layers above can record in replicated metadata *when* memory was last
    /// written or read by other ranks and decide without communication whether a sync must
    /// separate two operations. Local.
    pub fn sync_epoch(&self) -> u64 {
        self.inner.syncs.get() + 1
    }

    /// Whether every rank passed `ok == true`: one `MPI_Allreduce` (logical and). **Collective.**
    /// The one way a rank's local failure becomes a collective outcome, so that no rank goes on
    /// while another has given up (callers turn `false` into their own error on every rank).
    pub fn all_ok(&self, ok: bool) -> Result<bool> {
        let mut flag = [u8::from(ok)];
        self.collective(Call::allreduce(1, ffi::Op::Min), |c| {
            Ok(c.allreduce_in_place(&mut flag, ffi::Op::Min)?)
        })?;
        Ok(flag[0] != 0)
    }

    /// Broadcasts `buf` from `root` (`MPI_Bcast`). **Collective**; same length everywhere.
    #[doc(alias = "MPI_Bcast")]
    pub fn broadcast<T: Equivalence>(&self, buf: &mut [T], root: usize) -> Result<()> {
        self.check_rank(root)?;
        let call = Call {
            kind: Coll::Broadcast,
            bytes: std::mem::size_of_val(buf) as u64,
            arg: root as u64,
        };
        self.collective(call, |c| Ok(c.bcast(buf, root)?))
    }

    /// [`Runtime::broadcast`] without the arrival notices of `DISTARR_TIMEOUT`: for the command
    /// channel of sequential mode, whose workers wait for rank 0's program as long as it runs.
    pub(crate) fn broadcast_untimed<T: Equivalence>(&self, buf: &mut [T], root: usize) -> Result<()> {
        self.check_rank(root)?;
        self.with_comm(|c| Ok(c.bcast(buf, root)?))
    }

    /// In-place all-reduce of `buf` (`MPI_Allreduce`). **Collective**; same length everywhere.
    #[doc(alias = "MPI_Allreduce")]
    pub fn allreduce<T: Elem>(&self, buf: &mut [T], op: ReduceOp) -> Result<()> {
        op.check::<T>()?;
        self.collective(Call::allreduce(std::mem::size_of_val(buf), op.mpi()), |c| {
            Ok(c.allreduce_in_place(buf, op.mpi())?)
        })
    }

    /// Gathers `send` from every rank into `recv` in rank order (`MPI_Allgather`).
    /// **Collective**; `recv.len() == send.len() * nranks`, same `send.len()` everywhere.
    #[doc(alias = "MPI_Allgather")]
    pub fn allgather<T: Equivalence>(&self, send: &[T], recv: &mut [T]) -> Result<()> {
        ensure!(
            send.len().checked_mul(self.inner.nranks) == Some(recv.len()),
            InvalidArgument,
            "allgather: receive buffer has {} elements, needs {} x {}",
            recv.len(),
            send.len(),
            self.inner.nranks
        );
        let call = Call {
            kind: Coll::Allgather,
            bytes: std::mem::size_of_val(send) as u64,
            arg: 0,
        };
        self.collective(call, |c| Ok(c.allgather(send, recv)?))
    }

    /// Finalises the runtime. **Collective.** Frees every heap window (outstanding operations
    /// are completed first), stops the progress thread, frees the communicators, and calls
    /// `MPI_Finalize` if distarr initialised MPI and this is the last runtime. Afterwards
    /// every call on any clone of this runtime returns `NotInitialized`.
    #[doc(alias = "MPI_Finalize")]
    pub fn finalize(&self) -> Result<()> {
        self.live()?;
        self.run_flush_hook()?;
        self.set_flush_hook(None);
        let i = self.live()?;
        let live_segs = i.heap.borrow().live();
        if live_segs > 0 {
            log::debug!(target: "distarr", "finalize frees {live_segs} live segments");
        }
        self.flush_all()?;
        self.barrier()?;
        if poison::enabled() {
            self.win_sync()?;
            self.abort_if_poisoned("finalize");
        }
        self.set_collective_hook(None);
        if let Some(a) = i.arrivals.borrow_mut().take() {
            a.free()?;
        }
        let windows = std::mem::take(&mut i.heap.borrow_mut().windows);
        for w in windows {
            w.free().unwrap_or_else(|e| mpi_fatal("MPI_Win_free", &e));
        }
        if let Some(p) = i.progress.borrow_mut().take() {
            p.stop.store(true, Ordering::Release);
            match p.handle.join() {
                Ok(pc) => pc.free()?,
                Err(_) => return Err(Error::new(ErrorKind::Mpi, "progress thread panicked")),
            }
        }
        if let Some(n) = i.node.borrow_mut().take() {
            n.free()?;
        }
        if let Some(c) = i.comm.borrow_mut().take() {
            c.free()?;
        }
        i.finalized.set(true);
        CURRENT.with(|c| {
            let mut c = c.borrow_mut();
            if c.upgrade().is_some_and(|x| x.id == i.id) {
                *c = Weak::new();
            }
        });
        let left = LIVE.fetch_sub(1, Ordering::SeqCst) - 1;
        if left == 0 {
            crate::fault::finalized();
        }
        if left == 0 && WE_INITIALIZED_MPI.load(Ordering::SeqCst) {
            // A marker for the two-host script: MPICH 4.0.2 over TCP sometimes hangs inside
            // MPI_Finalize (README, "Several nodes").
            log::info!(target: "distarr", "calling MPI_Finalize");
            ffi::finalize()?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::parse_ompi_version;

    #[test]
    fn ompi_versions_parse() {
        assert_eq!(
            parse_ompi_version("Open MPI v4.1.4, package: Debian OpenMPI, ident: 4.1.4"),
            Some((4, 1, 4))
        );
        assert_eq!(parse_ompi_version("Open MPI v5.0.10rc1"), Some((5, 0, 10)));
        assert!(parse_ompi_version("Open MPI v4.1.4") < Some((4, 1, 5)));
        assert_eq!(parse_ompi_version("MPICH Version: 4.0.2"), None);
    }
}
