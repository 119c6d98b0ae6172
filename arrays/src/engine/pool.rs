//! Compute threads inside a rank (`DISTARR_THREADS`, default 1): the engine cuts an
//! operation's cells into jobs and runs them here, the calling thread taking jobs too. The
//! workers only compute on memory the caller hands them; they never call MPI, so the runtime's
//! thread level does not matter.
#![allow(unsafe_code)]
use crossbeam::channel::{self, Receiver, Sender};
use std::any::Any;
use std::panic::{catch_unwind, resume_unwind, AssertUnwindSafe};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::thread::JoinHandle;

/// A job function: `f(job, thread)`.
type JobFn<'a> = dyn Fn(usize, usize) + Sync + 'a;

/// One run of the pool, as a worker receives it. The pointers borrow from the caller of
/// [`Pool::run`], which waits for every worker's answer before returning.
struct Batch {
    f: *const JobFn<'static>,
    next: *const AtomicUsize,
    njobs: usize,
    thread: usize,
    done: Sender<Option<Box<dyn Any + Send>>>,
}

// SAFETY: the pointers are only dereferenced while `Pool::run` keeps their targets alive (it
// does not return before every worker has reported on `done`), and what they point to is
// `Sync` (`JobFn: Sync`, `AtomicUsize`).
unsafe impl Send for Batch {}

/// A fixed set of worker threads.
pub(crate) struct Pool {
    senders: Vec<Sender<Batch>>,
    handles: Vec<JoinHandle<()>>,
}

impl Pool {
    /// A pool of `threads` threads in all: the caller and `threads - 1` workers.
    pub fn new(threads: usize) -> Pool {
        let mut senders = Vec::new();
        let mut handles = Vec::new();
        for t in 1..threads.max(1) {
            let (tx, rx) = channel::unbounded::<Batch>();
            let spawned = std::thread::Builder::new()
                .name(format!("distarr-compute-{t}"))
                .spawn(move || worker(&rx));
            match spawned {
                Ok(h) => {
                    senders.push(tx);
                    handles.push(h);
                }
                Err(e) => {
                    log::warn!(target: "distarr", "cannot start compute thread {t}: {e}; running with {t}");
                    break;
                }
            }
        }
        Pool { senders, handles }
    }

    /// Threads in all, the caller included.
    pub fn threads(&self) -> usize {
        self.senders.len() + 1
    }

    /// Runs `f(job, thread)` for every `job` in `0..njobs`, spread over the threads (`thread`
    /// is in `0..threads()`, 0 for the caller; one thread runs one job at a time). Returns when
    /// all jobs are done; a panic in any job is re-raised here after all threads stopped.
    pub fn run(&self, njobs: usize, f: &JobFn<'_>) {
        if self.senders.is_empty() || njobs <= 1 {
            for j in 0..njobs {
                f(j, 0);
            }
            return;
        }
        let next = AtomicUsize::new(0);
        let (done_tx, done_rx) = channel::bounded(self.senders.len());
        // SAFETY: only the lifetime is erased; every worker is done with `f` (and `next`)
        // before this function returns, because it waits below for one answer per worker,
        // also when the caller's own jobs panic (caught).
        let f_static: *const JobFn<'static> = unsafe { std::mem::transmute::<&JobFn<'_>, &JobFn<'static>>(f) };
        let mut sent = 0;
        for (i, tx) in self.senders.iter().enumerate() {
            let batch = Batch {
                f: f_static,
                next: &next,
                njobs,
                thread: i + 1,
                done: done_tx.clone(),
            };
            if tx.send(batch).is_ok() {
                sent += 1;
            }
        }
        let mine = catch_unwind(AssertUnwindSafe(|| take_jobs(f, &next, njobs, 0)));
        let mut panic = mine.err();
        for _ in 0..sent {
            // A worker that died could not answer; its thread panicked outside a job, which
            // `worker` prevents, so every sent batch is answered.
            if let Ok(Some(p)) = done_rx.recv() {
                panic.get_or_insert(p);
            }
        }
        if let Some(p) = panic {
            resume_unwind(p);
        }
    }
}

fn take_jobs(f: &JobFn<'_>, next: &AtomicUsize, njobs: usize, thread: usize) {
    loop {
        let j = next.fetch_add(1, Ordering::Relaxed);
        if j >= njobs {
            return;
        }
        f(j, thread);
    }
}

fn worker(rx: &Receiver<Batch>) {
    for b in rx.iter() {
        // SAFETY: `Pool::run` keeps `f` and `next` alive until it has received this batch's
        // answer, sent below after the last use.
        let (f, next) = unsafe { (&*b.f, &*b.next) };
        let r = catch_unwind(AssertUnwindSafe(|| take_jobs(f, next, b.njobs, b.thread)));
        let _ = b.done.send(r.err());
    }
}

impl Drop for Pool {
    fn drop(&mut self) {
        self.senders.clear();
        for h in self.handles.drain(..) {
            let _ = h.join();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Mutex;

    #[test]
    fn every_job_runs_once() {
        for threads in [1, 2, 3] {
            let pool = Pool::new(threads);
            assert_eq!(pool.threads(), threads);
            let hits: Vec<AtomicUsize> = (0..1000).map(|_| AtomicUsize::new(0)).collect();
            let seen = Mutex::new(vec![false; threads]);
            pool.run(1000, &|j, t| {
                hits[j].fetch_add(1, Ordering::Relaxed);
                seen.lock().unwrap()[t] = true;
            });
            assert!(hits.iter().all(|h| h.load(Ordering::Relaxed) == 1));
        }
    }

    #[test]
    fn a_panicking_job_is_reraised_after_all_stop() {
        let pool = Pool::new(2);
        let count = AtomicUsize::new(0);
        let r = catch_unwind(AssertUnwindSafe(|| {
            pool.run(100, &|j, _| {
                count.fetch_add(1, Ordering::Relaxed);
                if j == 50 {
                    panic!("job 50");
                }
            })
        }));
        assert!(r.is_err());
        // the pool still works afterwards
        let n = AtomicUsize::new(0);
        pool.run(10, &|_, _| {
            n.fetch_add(1, Ordering::Relaxed);
        });
        assert_eq!(n.load(Ordering::Relaxed), 10);
    }
}
