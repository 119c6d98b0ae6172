//! Naming the rank when a process of the job dies (`DISTARR_FAULT_REPORT`, default on).
//!
//! The launchers end the job when a rank dies (Open MPI's `mpirun` within a second, MPICH's
//! `mpiexec` at once), but MPICH's names only the dead process's PID and host. distarr says
//! which rank it was, in two ways:
//!
//! * **Fatal signals it can catch** (`SIGSEGV`, `SIGBUS`, `SIGILL`, `SIGFPE`, `SIGABRT`, so also
//!   `abort()`): a handler prints `[distarr R/N] FATAL: rank R (pid P on host H) received signal
//!   SIGABRT`, then hands the signal to the handler that was there before (Open MPI's backtrace,
//!   Rust's stack-overflow check, or the default action).
//! * **Deaths it cannot catch** (`SIGKILL`, the out-of-memory killer, `_exit` without
//!   finalizing): each rank of a job of several ranks starts a *guardian*, a tiny child process
//!   (no MPI, no allocation, only system calls) that waits on a pidfd of its rank. When the rank
//!   ends without having finalized, the guardian prints `... ended without finalizing: killed by
//!   signal 9 (SIGKILL)`, unless the job was already ending: another rank of the node had died
//!   before (the launcher's clean-up kills), a fatal signal or a deliberate abort was reported
//!   already (a flag in a page the node's ranks share), the rank finalized (it tells its
//!   guardian through a pipe; a rank that calls `exit` without finalizing tells it first, from
//!   an `atexit` handler, and is then reported whatever happens to the others meanwhile), or it
//!   ended on a termination request (`SIGTERM`, `SIGINT`,
//!   `SIGHUP`: how Open MPI's launcher ends the other ranks; it names the failed rank itself).
//!   A guardian exits as soon as its rank ends. Guardians see only their own node: when the
//!   launcher kills the ranks of *other* nodes with `SIGKILL` (MPICH), the first of those on each
//!   node may be reported too; the launcher's message (MPICH: the PID and host of the process
//!   that failed) tells which report is the cause.
//!
//! The in-process part only does async-signal-safe work: messages are formatted when the
//! runtime starts.
use distarr_ffi::Comm;
use std::ffi::{c_int, CString};
use std::sync::atomic::{AtomicBool, AtomicI32, AtomicPtr, AtomicU32, Ordering};
use std::sync::OnceLock;

/// Bytes a rank sends its guardian (the last one written counts).
const MSG_FINALIZED: u8 = b'F';
const MSG_RUNNING: u8 = b'R';
const MSG_ABORT: u8 = b'A';
/// The rank calls `exit` without having finalized, and it is the first of its node to end: the
/// guardian reports it whatever the other ranks do meanwhile (the launcher ends them).
const MSG_EXITING: u8 = b'X';

/// Write end of the guardian's pipe (-1: no guardian).
static GUARDIAN_FD: AtomicI32 = AtomicI32::new(-1);
/// The node's shared "the job is ending and it was reported" flag (null: none).
static NODE_FLAG: AtomicPtr<AtomicU32> = AtomicPtr::new(std::ptr::null_mut());
/// Set once the fault reporting of this process is installed (once per process).
static INSTALLED: AtomicBool = AtomicBool::new(false);
/// Set by the first fatal signal this process reports.
static SIGNALLED: AtomicBool = AtomicBool::new(false);
/// Set while the process has no running runtime (after the last finalize), and after a
/// deliberate abort: an `exit` then is no fault.
static QUIET_EXIT: AtomicBool = AtomicBool::new(false);

/// The signals with a handler, and what was installed before ours.
const SIGNALS: [c_int; 5] = [libc::SIGSEGV, libc::SIGBUS, libc::SIGILL, libc::SIGFPE, libc::SIGABRT];
static OLD_ACTIONS: [OnceLock<libc::sigaction>; 5] = [const { OnceLock::new() }; 5];
/// The complete message for each signal of [`SIGNALS`], formatted at install.
static SIGNAL_MESSAGES: OnceLock<Vec<Vec<u8>>> = OnceLock::new();

/// The name of a signal, for messages.
pub(crate) fn signal_name(sig: c_int) -> &'static str {
    match sig {
        libc::SIGHUP => "SIGHUP",
        libc::SIGINT => "SIGINT",
        libc::SIGQUIT => "SIGQUIT",
        libc::SIGILL => "SIGILL",
        libc::SIGTRAP => "SIGTRAP",
        libc::SIGABRT => "SIGABRT",
        libc::SIGBUS => "SIGBUS",
        libc::SIGFPE => "SIGFPE",
        libc::SIGKILL => "SIGKILL",
        libc::SIGUSR1 => "SIGUSR1",
        libc::SIGSEGV => "SIGSEGV",
        libc::SIGUSR2 => "SIGUSR2",
        libc::SIGPIPE => "SIGPIPE",
        libc::SIGALRM => "SIGALRM",
        libc::SIGTERM => "SIGTERM",
        libc::SIGXCPU => "SIGXCPU",
        libc::SIGXFSZ => "SIGXFSZ",
        libc::SIGSYS => "SIGSYS",
        _ => "a signal",
    }
}

/// `write(2)` of all of `buf` to `fd`, ignoring errors (async-signal-safe).
fn write_all(fd: c_int, mut buf: &[u8]) {
    while !buf.is_empty() {
        // SAFETY: `buf` is valid for `buf.len()` bytes; write(2) is async-signal-safe.
        let n = unsafe { libc::write(fd, buf.as_ptr().cast(), buf.len()) };
        if n <= 0 {
            return;
        }
        buf = &buf[n as usize..];
    }
}

/// Tells this rank's guardian `msg` (async-signal-safe).
fn tell_guardian(msg: u8) {
    let fd = GUARDIAN_FD.load(Ordering::Acquire);
    if fd >= 0 {
        write_all(fd, &[msg]);
    }
}

/// Marks the node's job as ending with its cause reported; true if this call set it first.
fn claim_node_flag() -> bool {
    let p = NODE_FLAG.load(Ordering::Acquire);
    if p.is_null() {
        return true;
    }
    // SAFETY: a non-null flag points into a shared mapping made at install and never unmapped.
    unsafe { &*p }
        .compare_exchange(0, 1, Ordering::SeqCst, Ordering::SeqCst)
        .is_ok()
}

extern "C" fn on_fatal_signal(sig: c_int) {
    if !SIGNALLED.swap(true, Ordering::SeqCst) {
        claim_node_flag();
        if let (Some(k), Some(msgs)) = (SIGNALS.iter().position(|&s| s == sig), SIGNAL_MESSAGES.get()) {
            write_all(2, &msgs[k]);
        }
        tell_guardian(MSG_ABORT);
    }
    if let Some(k) = SIGNALS.iter().position(|&s| s == sig) {
        if let Some(old) = OLD_ACTIONS[k].get() {
            // SAFETY: restores the action saved at install (a valid sigaction); raise(3) and
            // sigaction(2) are async-signal-safe. The signal is blocked while this handler runs,
            // so the raised one is delivered, to the previous action, when it returns (a fault
            // that recurs after the return reaches the same action).
            unsafe {
                libc::sigaction(sig, old, std::ptr::null_mut());
                libc::raise(sig);
            }
        }
    }
}

/// The rank's last words before a deliberate abort (`MPI_Abort` by distarr or the program):
/// the message is printed already, so the guardians stay quiet.
pub(crate) fn before_abort() {
    QUIET_EXIT.store(true, Ordering::SeqCst);
    claim_node_flag();
    tell_guardian(MSG_ABORT);
}

/// `atexit` handler: an `exit` without finalizing (a C program returning from `main` after an
/// error, `std::process::exit`) names this rank before the launcher's clean-up can make it look
/// like a consequence: the first such rank of the node claims the node's flag and tells its
/// guardian to report it.
extern "C" fn at_exit() {
    if QUIET_EXIT.load(Ordering::SeqCst) || SIGNALLED.load(Ordering::SeqCst) {
        return;
    }
    if claim_node_flag() {
        tell_guardian(MSG_EXITING);
    } else {
        tell_guardian(MSG_ABORT);
    }
}

/// Called when the last runtime of the process finalizes (the guardian will stay quiet).
pub(crate) fn finalized() {
    QUIET_EXIT.store(true, Ordering::SeqCst);
    tell_guardian(MSG_FINALIZED);
}

/// Called when a runtime starts again after a finalize in the same process.
pub(crate) fn running() {
    QUIET_EXIT.store(false, Ordering::SeqCst);
    tell_guardian(MSG_RUNNING);
}

fn hostname() -> String {
    let mut buf = [0u8; 256];
    // SAFETY: `buf` is valid for 256 bytes; gethostname NUL-terminates within that length (or
    // truncates, which the search for NUL below handles).
    let rc = unsafe { libc::gethostname(buf.as_mut_ptr().cast(), buf.len()) };
    if rc != 0 {
        return "?".into();
    }
    let n = buf.iter().position(|&b| b == 0).unwrap_or(buf.len());
    String::from_utf8_lossy(&buf[..n]).into_owned()
}

/// Installs the fault reporting (once per process). **Collective** over the node's
/// communicator `node` (two small collectives: the node's PIDs, the shared page's name). Local
/// failures (no pidfd support, no shared memory) leave parts of it off, quietly.
pub(crate) fn install(rank: usize, nranks: usize, node: &Comm) -> crate::Result<()> {
    if INSTALLED.swap(true, Ordering::SeqCst) {
        running();
        return Ok(());
    }
    let pid = std::process::id();
    let host = hostname();
    let who = format!("[distarr {rank}/{nranks}] FATAL: rank {rank} (pid {pid} on host {host})");
    let msgs = SIGNALS
        .iter()
        .map(|&s| format!("{who} received signal {s} ({})\n", signal_name(s)).into_bytes())
        .collect();
    let _ = SIGNAL_MESSAGES.set(msgs);
    install_signal_handlers();
    // SAFETY: registers a function with C linkage and no arguments, which only touches atomics
    // and writes to a pipe; it stays valid for the life of the process.
    unsafe { libc::atexit(at_exit) };

    let node_size = node.size()?;
    let node_rank = node.rank()?;
    let mut pids = vec![0u64; node_size];
    node.allgather(&[u64::from(pid)], &mut pids)?;
    node_flag(node, node_rank)?;
    if nranks > 1 {
        let peers: Vec<u64> = pids
            .iter()
            .enumerate()
            .filter(|&(k, _)| k != node_rank)
            .map(|(_, &p)| p)
            .collect();
        if let Err(e) = start_guardian(pid, &peers, &who) {
            log::debug!(target: "distarr", "no fault guardian: {e}");
        }
    }
    Ok(())
}

fn install_signal_handlers() {
    for (k, &sig) in SIGNALS.iter().enumerate() {
        // SAFETY: a zeroed sigaction is a valid value (no flags, empty mask, SIG_DFL).
        let mut act: libc::sigaction = unsafe { std::mem::zeroed() };
        act.sa_sigaction = on_fatal_signal as extern "C" fn(c_int) as libc::sighandler_t;
        // SA_ONSTACK: a stack overflow is handled on the alternate stack when the thread has one
        // (Rust's main thread does).
        act.sa_flags = libc::SA_ONSTACK;
        // SAFETY: `act.sa_mask` is a valid sigset_t to initialise.
        unsafe { libc::sigemptyset(&mut act.sa_mask) };
        // SAFETY: zeroed as above; filled by sigaction below.
        let mut old: libc::sigaction = unsafe { std::mem::zeroed() };
        // SAFETY: `act` and `old` are valid; the handler only does async-signal-safe work.
        if unsafe { libc::sigaction(sig, &act, &mut old) } == 0 {
            let _ = OLD_ACTIONS[k].set(old);
        }
    }
}

/// Maps the node's shared flag page: node rank 0 creates a POSIX shared memory object with a
/// unique name and broadcasts the name; everyone maps it; after a node barrier rank 0 unlinks
/// the name (the mappings stay). **Collective** over `node`.
fn node_flag(node: &Comm, node_rank: usize) -> crate::Result<()> {
    let mut name = [0u8; 64];
    let mut fd = -1;
    if node_rank == 0 {
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.subsec_nanos());
        let s = format!("/distarr-fault-{}-{nanos}", std::process::id());
        let c = CString::new(s.clone()).unwrap_or_default();
        // SAFETY: `c` is a valid NUL-terminated name; the flags create a new object.
        fd = unsafe { libc::shm_open(c.as_ptr(), libc::O_CREAT | libc::O_EXCL | libc::O_RDWR, 0o600) };
        // SAFETY: `fd` is the object just created (checked non-negative first).
        if fd >= 0 && unsafe { libc::ftruncate(fd, 4096) } == 0 {
            name[..s.len()].copy_from_slice(s.as_bytes());
        }
    }
    node.bcast(&mut name, 0)?;
    let len = name.iter().position(|&b| b == 0).unwrap_or(0);
    if len > 0 && node_rank != 0 {
        let c = CString::new(&name[..len]).unwrap_or_default();
        // SAFETY: `c` is a valid NUL-terminated name.
        fd = unsafe { libc::shm_open(c.as_ptr(), libc::O_RDWR, 0) };
    }
    if len > 0 && fd >= 0 {
        // SAFETY: maps 4096 bytes of the shared object (its size) read/write, shared; the result
        // is checked for MAP_FAILED.
        let p = unsafe {
            libc::mmap(
                std::ptr::null_mut(),
                4096,
                libc::PROT_READ | libc::PROT_WRITE,
                libc::MAP_SHARED,
                fd,
                0,
            )
        };
        if p != libc::MAP_FAILED {
            // The mapping lives as long as the process (never unmapped): the flag outlives every
            // reader, including the signal handler and the guardian.
            NODE_FLAG.store(p.cast(), Ordering::Release);
        }
    }
    if fd >= 0 {
        // SAFETY: `fd` is an open descriptor this function owns; the mapping keeps the object.
        unsafe { libc::close(fd) };
    }
    node.barrier()?;
    if node_rank == 0 && len > 0 {
        let c = CString::new(&name[..len]).unwrap_or_default();
        // SAFETY: `c` is the valid name created above.
        unsafe { libc::shm_unlink(c.as_ptr()) };
    }
    Ok(())
}

fn pidfd_open(pid: u64) -> std::io::Result<c_int> {
    let pid = libc::pid_t::try_from(pid).map_err(|_| std::io::Error::from_raw_os_error(libc::ESRCH))?;
    // SAFETY: pidfd_open(pid, 0) takes plain integers and returns a new descriptor or -1.
    let fd = unsafe { libc::syscall(libc::SYS_pidfd_open, pid, 0) };
    if fd < 0 {
        Err(std::io::Error::last_os_error())
    } else {
        Ok(fd as c_int)
    }
}

/// What the guardian needs, prepared before it starts (it must not allocate).
struct Guard {
    read_fd: c_int,
    rank_fd: c_int,
    peer_fds: Vec<libc::pollfd>,
    stat_path: CString,
    who: Vec<u8>,
}

fn start_guardian(pid: u32, peers: &[u64], who: &str) -> std::io::Result<()> {
    let rank_fd = pidfd_open(u64::from(pid))?;
    let mut peer_fds = Vec::with_capacity(peers.len());
    for &p in peers {
        // A peer already gone (or a PID of another namespace) is simply not watched.
        if let Ok(fd) = pidfd_open(p) {
            peer_fds.push(libc::pollfd {
                fd,
                events: libc::POLLIN,
                revents: 0,
            });
        }
    }
    let mut fds = [0 as c_int; 2];
    // SAFETY: `fds` has room for the two descriptors pipe2 writes.
    if unsafe { libc::pipe2(fds.as_mut_ptr(), libc::O_CLOEXEC) } != 0 {
        return Err(std::io::Error::last_os_error());
    }
    let guard = Guard {
        read_fd: fds[0],
        rank_fd,
        peer_fds,
        stat_path: CString::new(format!("/proc/{pid}/stat")).unwrap_or_default(),
        who: format!("{who} ended without finalizing").into_bytes(),
    };
    // A raw clone (fork without the atfork handlers MPI libraries register, which the child,
    // running only system calls, must not run).
    // SAFETY: clone with only SIGCHLD as flags duplicates the process like fork(2); the child
    // runs `guardian` (async-signal-safe calls only, no allocation) and never returns.
    let child = unsafe {
        libc::syscall(
            libc::SYS_clone,
            libc::SIGCHLD as libc::c_ulong,
            0usize,
            0usize,
            0usize,
            0usize,
        )
    };
    if child == 0 {
        guardian(&guard);
    }
    // SAFETY: the parent closes its copies of descriptors only the guardian uses.
    unsafe {
        libc::close(guard.read_fd);
        libc::close(guard.rank_fd);
        for p in &guard.peer_fds {
            libc::close(p.fd);
        }
    }
    if child < 0 {
        // SAFETY: the write end is ours and unused.
        unsafe { libc::close(fds[1]) };
        return Err(std::io::Error::last_os_error());
    }
    GUARDIAN_FD.store(fds[1], Ordering::Release);
    Ok(())
}

/// Appends the decimal digits of `v` to `out` at `*at` (no allocation).
fn put_num(out: &mut [u8], at: &mut usize, v: u64) {
    let mut digits = [0u8; 20];
    let mut n = 0;
    let mut x = v;
    loop {
        digits[n] = b'0' + (x % 10) as u8;
        n += 1;
        x /= 10;
        if x == 0 {
            break;
        }
    }
    for k in (0..n).rev() {
        put(out, at, &[digits[k]]);
    }
}

fn put(out: &mut [u8], at: &mut usize, s: &[u8]) {
    let n = s.len().min(out.len() - *at);
    out[*at..*at + n].copy_from_slice(&s[..n]);
    *at += n;
}

/// The exit status (`waitpid` form) of a finished process that was not reaped yet: the last
/// field of `/proc/PID/stat` (Linux 3.5+); `None` once it is gone.
fn zombie_status(path: &CString) -> Option<u64> {
    let mut buf = [0u8; 1024];
    // SAFETY: `path` is NUL-terminated; open/read/close are async-signal-safe; `buf` is valid
    // for its length.
    let n = unsafe {
        let fd = libc::open(path.as_ptr(), libc::O_RDONLY | libc::O_CLOEXEC);
        if fd < 0 {
            return None;
        }
        let n = libc::read(fd, buf.as_mut_ptr().cast(), buf.len());
        libc::close(fd);
        n
    };
    let text = &buf[..usize::try_from(n).ok()?];
    let text = text.strip_suffix(b"\n").unwrap_or(text);
    let last = text.rsplit(|&b| b == b' ').next()?;
    let mut v = 0u64;
    for &d in last {
        if !d.is_ascii_digit() {
            return None;
        }
        v = v * 10 + u64::from(d - b'0');
    }
    Some(v)
}

/// The guardian process: waits for its rank to end and reports an unexpected end (see the
/// module documentation). Only async-signal-safe calls; never returns.
fn guardian(g: &Guard) -> ! {
    // SAFETY: plain system calls on descriptors this process holds and buffers on the stack;
    // the process ends with _exit, running no handler or destructor of the parent.
    unsafe {
        libc::setsid();
        libc::signal(libc::SIGPIPE, libc::SIG_IGN);
        // Keep stderr, the pipe and the pidfds; close everything else (MPI's sockets and pipes
        // must not be held open by this process).
        let kept = |fd: c_int| fd == 2 || fd == g.read_fd || fd == g.rank_fd || g.peer_fds.iter().any(|p| p.fd == fd);
        let top = g
            .peer_fds
            .iter()
            .map(|p| p.fd)
            .fold(g.read_fd.max(g.rank_fd).max(2), c_int::max);
        for fd in 0..top {
            if !kept(fd) {
                libc::close(fd);
            }
        }
        if libc::syscall(
            libc::SYS_close_range,
            (top + 1) as libc::c_uint,
            libc::c_uint::MAX,
            0 as libc::c_uint,
        ) != 0
        {
            for fd in top + 1..65536 {
                libc::close(fd);
            }
        }
        let mut me = libc::pollfd {
            fd: g.rank_fd,
            events: libc::POLLIN,
            revents: 0,
        };
        while libc::poll(&mut me, 1, -1) <= 0 {}
        // The rank has ended: look at the zombie's status at once, before it is reaped.
        let status = zombie_status(&g.stat_path);
        // What did it say last?
        let flags = libc::fcntl(g.read_fd, libc::F_GETFL);
        libc::fcntl(g.read_fd, libc::F_SETFL, flags | libc::O_NONBLOCK);
        let mut last = 0u8;
        let mut buf = [0u8; 64];
        loop {
            let n = libc::read(g.read_fd, buf.as_mut_ptr().cast(), buf.len());
            if n <= 0 {
                break;
            }
            last = buf[n as usize - 1];
        }
        if last == MSG_FINALIZED || last == MSG_ABORT {
            libc::_exit(0);
        }
        // The rank claimed the node's flag as it called `exit`: it is the cause.
        let exiting = last == MSG_EXITING;
        // Another rank of this node already gone: this one was part of the job's clean-up.
        let mut peers = [libc::pollfd {
            fd: -1,
            events: 0,
            revents: 0,
        }; 256];
        let np = g.peer_fds.len().min(peers.len());
        peers[..np].copy_from_slice(&g.peer_fds[..np]);
        if !exiting && np > 0 && libc::poll(peers.as_mut_ptr(), np as libc::nfds_t, 0) > 0 {
            libc::_exit(0);
        }
        let mut out = [0u8; 1024];
        let mut at = 0;
        put(&mut out, &mut at, &g.who);
        // A termination request (the launcher ending the job: Open MPI's clean-up sends
        // SIGTERM, and names the rank that failed first itself) is not reported.
        if let Some(w) = status {
            let sig = (w & 0x7f) as c_int;
            if !exiting && (sig == libc::SIGTERM || sig == libc::SIGINT || sig == libc::SIGHUP) {
                libc::_exit(0);
            }
        }
        if !exiting && !claim_node_flag() {
            libc::_exit(0);
        }
        match status {
            Some(w) if w & 0x7f != 0 => {
                put(&mut out, &mut at, b": killed by signal ");
                put_num(&mut out, &mut at, w & 0x7f);
                put(&mut out, &mut at, b" (");
                put(&mut out, &mut at, signal_name((w & 0x7f) as c_int).as_bytes());
                put(&mut out, &mut at, b")");
            }
            Some(w) => {
                put(&mut out, &mut at, b": exited with status ");
                put_num(&mut out, &mut at, (w >> 8) & 0xff);
            }
            None => put(&mut out, &mut at, b": killed by a signal or exited"),
        }
        put(&mut out, &mut at, b"; the job ends\n");
        write_all(2, &out[..at]);
        libc::_exit(0)
    }
}
