//! Arrival notices: a barrier made of point-to-point messages that can give up at a deadline
//! and say which processes have not arrived (distarr's `DISTARR_TIMEOUT`).
//!
//! `MPI_Barrier` cannot be abandoned and does not tell who is late, and `MPI_Ibarrier` tells
//! only that someone is. Here every process sends a small notice to every other one when it
//! reaches a synchronisation and waits for everybody's notice: the notices still missing at the
//! deadline name the processes that have not arrived. It costs `2 (n - 1)` messages per process
//! and synchronisation, so it is meant for diagnosis, not as the default barrier.
use crate::comm::Comm;
use crate::consts::*;
use crate::datatype::Equivalence;
use crate::error::{check, MpiError, Result};
use crate::rank_int;
use mpi_sys::MPI_Request;
use std::time::{Duration, Instant};

/// The tag of every notice (the communicator is private to [`Arrivals`]).
const TAG: i32 = 0x5a7;

/// What a process reports when it arrives: words that every process compares with its own
/// (distarr sends the synchronisation's sequence number, the kind of collective call, its
/// payload in bytes and its root or reduction operation).
pub type Notice = [u64; NOTICE_WORDS];

/// Words in a [`Notice`].
pub const NOTICE_WORDS: usize = 4;
/// The same, as an MPI count.
const NOTICE_COUNT: i32 = 4;
const _: () = assert!(NOTICE_COUNT as usize == NOTICE_WORDS);

/// How [`Arrivals::arrive`] ended.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Arrival {
    /// Every process arrived with the same notice.
    All,
    /// The deadline passed; these processes (ranks in the communicator) have not arrived.
    TimedOut {
        /// Ranks whose notice is missing, ascending.
        missing: Vec<usize>,
    },
    /// A process arrived with a different notice (it is in another synchronisation).
    Mismatch {
        /// Its rank.
        rank: usize,
        /// Its notice.
        theirs: Notice,
    },
}

/// A private duplicate of a communicator for arrival notices, with the buffers and requests of
/// one synchronisation. After an outcome other than [`Arrival::All`] requests may still be
/// pending: the job must end then (distarr aborts it), so the value must not be used again.
#[derive(Debug)]
pub struct Arrivals {
    comm: Comm,
    rank: usize,
    size: usize,
    send: Box<Notice>,
    recv: Vec<Notice>,
    reqs: Vec<MPI_Request>,
    /// Set once an outcome other than `All` left requests pending.
    broken: bool,
}

impl Arrivals {
    /// Duplicates `comm` (**collective**) for arrival notices.
    pub fn new(comm: &Comm) -> Result<Arrivals> {
        let comm = comm.dup()?;
        let rank = comm.rank()?;
        let size = comm.size()?;
        Ok(Arrivals {
            comm,
            rank,
            size,
            send: Box::new([0; NOTICE_WORDS]),
            recv: vec![[0; NOTICE_WORDS]; size],
            reqs: Vec::with_capacity(2 * size),
            broken: false,
        })
    }

    /// Sends `notice` to every other process and waits until every other process's notice has
    /// arrived (a barrier: **collective**), or until `deadline`. Polls with `MPI_Test`, yielding
    /// the processor between polls and sleeping up to 1 ms once the wait grows long.
    pub fn arrive(&mut self, notice: Notice, deadline: Instant) -> Result<Arrival> {
        if self.broken {
            return Err(MpiError::local(
                "Arrivals::arrive",
                "a previous synchronisation did not complete".into(),
            ));
        }
        if self.size <= 1 {
            return Ok(Arrival::All);
        }
        *self.send = notice;
        self.reqs.clear();
        let dt = u64::datatype();
        // Receives first: a process whose notice has arrived has posted its receives too, so
        // the sends to it complete (after every notice is in, the sends finish promptly).
        for p in (0..self.size).filter(|&p| p != self.rank) {
            let mut req = request_null();
            let src = rank_int(p, "MPI_Irecv")?;
            check(
                // SAFETY:
                // - `recv[p]` holds NOTICE_WORDS u64 (the datatype and count match) and stays in
                //   place (the Vec is never resized) until the request completes or the job ends
                //   (`broken`);
                // - `req` is a valid out-parameter; the communicator is valid.
                unsafe {
                    mpi_sys::MPI_Irecv(
                        self.recv[p].as_mut_ptr().cast(),
                        NOTICE_COUNT,
                        dt.raw(),
                        src,
                        TAG,
                        self.comm.raw(),
                        &mut req,
                    )
                },
                "MPI_Irecv",
            )?;
            self.reqs.push(req);
        }
        for p in (0..self.size).filter(|&p| p != self.rank) {
            let mut req = request_null();
            let dst = rank_int(p, "MPI_Isend")?;
            check(
                // SAFETY: `send` is a boxed notice of NOTICE_WORDS u64 that is not written again
                // until every send request of this call has completed (or the job ends: `broken`).
                unsafe {
                    mpi_sys::MPI_Isend(
                        self.send.as_ptr().cast(),
                        NOTICE_COUNT,
                        dt.raw(),
                        dst,
                        TAG,
                        self.comm.raw(),
                        &mut req,
                    )
                },
                "MPI_Isend",
            )?;
            self.reqs.push(req);
        }
        let peers = self.size - 1;
        let mut polls = 0u32;
        loop {
            let mut pending = false;
            for (k, req) in self.reqs.iter_mut().enumerate() {
                if *req == request_null() {
                    continue;
                }
                let mut flag = 0;
                // SAFETY: `req` is an active request of this call; MPI sets it to
                // MPI_REQUEST_NULL when it completes; `flag` is a valid out-parameter.
                let rc = unsafe { mpi_sys::MPI_Test(req, &mut flag, status_ignore()) };
                check(rc, "MPI_Test")?;
                if flag == 0 {
                    pending = true;
                } else if k < peers {
                    let p = if k < self.rank { k } else { k + 1 };
                    if self.recv[p] != notice {
                        self.broken = true;
                        return Ok(Arrival::Mismatch {
                            rank: p,
                            theirs: self.recv[p],
                        });
                    }
                }
            }
            if !pending {
                return Ok(Arrival::All);
            }
            if Instant::now() >= deadline {
                self.broken = true;
                let missing = (0..peers)
                    .filter(|&k| self.reqs[k] != request_null())
                    .map(|k| if k < self.rank { k } else { k + 1 })
                    .collect();
                return Ok(Arrival::TimedOut { missing });
            }
            polls = polls.saturating_add(1);
            if polls < 2000 {
                std::thread::yield_now();
            } else {
                let us = (u64::from(polls - 2000) * 10).clamp(20, 1000);
                std::thread::sleep(Duration::from_micros(us));
            }
        }
    }

    /// Frees the communicator (**collective**). Only after every synchronisation completed.
    pub fn free(self) -> Result<()> {
        self.comm.free()
    }
}
