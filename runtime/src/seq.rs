//! The command channel of sequential mode (DistNumPy's master-worker model): rank 0 runs the
//! user's program and sends each collective operation as a small message; the other ranks
//! receive the messages in order and execute them. The channel carries opaque bytes: the
//! encoding of commands belongs to the front end (the C ABI).
//!
//! A message travels in one `MPI_Bcast` of a fixed [`SEQ_HEADER_BYTES`]-byte header holding its
//! length and its first [`SEQ_INLINE_BYTES`] bytes, plus a second `MPI_Bcast` of the rest only
//! when it is longer.
use crate::error::{ensure, Result};
use crate::runtime::Runtime;
use distarr_ffi as ffi;

/// Bytes broadcast for every message: an 8-byte little-endian length and the inline bytes.
pub const SEQ_HEADER_BYTES: usize = 64;
/// Bytes of a message that travel inside the header; longer messages take a second broadcast.
pub const SEQ_INLINE_BYTES: usize = SEQ_HEADER_BYTES - 8;

/// The rank that sends commands.
const ROOT: usize = 0;

impl Runtime {
    /// Sends `msg` to every other rank (sequential mode). **Collective**: rank 0 calls it while
    /// every other rank calls [`Runtime::seq_recv`]. One `MPI_Bcast` of [`SEQ_HEADER_BYTES`]
    /// bytes, and a second one for messages longer than [`SEQ_INLINE_BYTES`] bytes.
    /// An MPI failure is returned as [`crate::ErrorKind::Mpi`]; the ranks cannot continue
    /// together after it.
    pub fn seq_send(&self, msg: &[u8]) -> Result<()> {
        ensure!(
            self.rank() == ROOT,
            InvalidArgument,
            "seq_send is called by rank {ROOT} only (this is rank {})",
            self.rank()
        );
        let mut header = [0u8; SEQ_HEADER_BYTES];
        header[..8].copy_from_slice(&(msg.len() as u64).to_le_bytes());
        let inline = msg.len().min(SEQ_INLINE_BYTES);
        header[8..8 + inline].copy_from_slice(&msg[..inline]);
        self.broadcast_untimed(&mut header, ROOT)?;
        if msg.len() > SEQ_INLINE_BYTES {
            let mut rest = msg[SEQ_INLINE_BYTES..].to_vec();
            self.broadcast_untimed(&mut rest, ROOT)?;
        }
        Ok(())
    }

    /// Receives the next message sent with [`Runtime::seq_send`] into `buf` (replacing its
    /// contents). **Collective**: every rank but 0 calls it while rank 0 sends.
    pub fn seq_recv(&self, buf: &mut Vec<u8>) -> Result<()> {
        ensure!(
            self.rank() != ROOT,
            InvalidArgument,
            "seq_recv is called by ranks other than {ROOT}"
        );
        let mut header = [0u8; SEQ_HEADER_BYTES];
        self.broadcast_untimed(&mut header, ROOT)?;
        let mut len_bytes = [0u8; 8];
        len_bytes.copy_from_slice(&header[..8]);
        let len = crate::ops::to_usize(u64::from_le_bytes(len_bytes))?;
        buf.clear();
        buf.extend_from_slice(&header[8..8 + len.min(SEQ_INLINE_BYTES)]);
        if len > SEQ_INLINE_BYTES {
            buf.resize(len, 0);
            self.broadcast_untimed(&mut buf[SEQ_INLINE_BYTES..], ROOT)?;
        }
        Ok(())
    }

    /// Ends a sequential-mode worker process once rank 0 has finished: finalises this runtime
    /// (**collective**, like [`Runtime::finalize`]: rank 0 finalises too) unless it already was,
    /// then calls `MPI_Finalize` if MPI is still initialised — also when the program initialised
    /// MPI itself, because a worker never returns to the program to do it — and exits the process
    /// with `status` (`atexit` handlers run; 1 instead of 0 when finalising failed). Never returns.
    pub fn finalize_and_exit(&self, status: i32) -> ! {
        let mut status = status;
        if !self.is_finalized() {
            if let Err(e) = self.finalize() {
                log::error!(target: "distarr", "sequential-mode worker: finalize failed: {e}");
                status = status.max(1);
            }
        }
        if ffi::initialized().unwrap_or(false) && !ffi::finalized().unwrap_or(true) {
            log::info!(target: "distarr", "calling MPI_Finalize");
            if let Err(e) = ffi::finalize() {
                log::error!(target: "distarr", "sequential-mode worker: MPI_Finalize failed: {e}");
                status = status.max(1);
            }
        }
        std::process::exit(status)
    }
}
