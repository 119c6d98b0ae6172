//! Hostile-input fuzzing of the C ABI (`libdistarr`, called through its exported functions).
//!
//! Every rank draws the same random sequence of calls from one seeded generator (the C ABI's
//! contract: collective calls are made by every rank with the same arguments; one-sided writes
//! are made by one "actor" rank, chosen by the same generator), with arguments that are valid or
//! hostile: forged, freed, stale, zero and negative handles; NULL pointers; negative, huge and
//! overflowing shapes, extents, indices, offsets and counts; unknown dtypes, operations, layouts,
//! index kinds and axes; zero and extreme slice steps; malformed `.npy` files. For each call the
//! driver knows which documented status codes its defects allow (`DISTARR_OK` for none) and fails
//! on any other code, on `DISTARR_ERR_INTERNAL` (a caught panic) and on a failure without a
//! message. A reference model ([`model`]) follows every array, view and global-memory segment:
//! valid calls interleaved with the hostile ones are checked against it (metadata, gathered and
//! region-read values, reductions, element locations, local blocks, segment bytes). In SPMD mode
//! the ranks also compare, every few cases, a hash of the status codes of all their collective
//! calls (the same on every rank).
//!
//! Run with `DISTARR_TEST_POISON=1` (tests/multirank.rs does), the runtime checks at every
//! `distarr_sync` and at finalize that no byte of any rank's heap outside a live segment changed
//! (guard zones, free blocks, red zones: see `runtime/src/poison.rs`); the job aborts otherwise.
//!
//! Environment: `DISTARR_FUZZ_CASES` (default 1500), `DISTARR_FUZZ_SEED` (default 1),
//! `DISTARR_MODE` (SPMD or sequential, as for every C program). Rank 0 prints the number of
//! cases, calls and value checks. Debugging aids: `DISTARR_FUZZ_STATS=1` (calls per status
//! code), `DISTARR_FUZZ_TRACE=1|2` (every case | every call, from case `DISTARR_FUZZ_TRACE_FROM`),
//! `DISTARR_FUZZ_PEEK=ID` (this rank's block of array `ID` checked in place after every case and
//! sync: finds the call that changed it); a failure prints the last 300 calls.
use capi::*;
use distarr_mpitests::Rng;
use std::ffi::{c_void, CStr, CString};
use std::ptr::{null, null_mut};

mod model;
use model::*;

/// Short names of the status codes.
pub mod codes {
    pub use capi::{
        DISTARR_ERR_ARG as ERR_ARG, DISTARR_ERR_BOUNDS as ERR_BOUNDS, DISTARR_ERR_DTYPE as ERR_DTYPE,
        DISTARR_ERR_HANDLE as ERR_HANDLE, DISTARR_ERR_INTERNAL as ERR_INTERNAL, DISTARR_ERR_IO as ERR_IO,
        DISTARR_ERR_MISALIGNED as ERR_MISALIGNED, DISTARR_ERR_MPI as ERR_MPI, DISTARR_ERR_NOMEM as ERR_NOMEM,
        DISTARR_ERR_NULL as ERR_NULL, DISTARR_ERR_OP as ERR_OP, DISTARR_ERR_RANK as ERR_RANK,
        DISTARR_ERR_SEGMENT as ERR_SEGMENT, DISTARR_ERR_SHAPE as ERR_SHAPE, DISTARR_ERR_STATE as ERR_STATE,
        DISTARR_ERR_UNSUPPORTED as ERR_UNSUPPORTED, DISTARR_OK as OK,
    };
}
use codes::*;

/// Most live arrays the driver keeps (it frees some beyond this).
const MAX_LIVE: usize = 28;

/// The codes a call may return: OK when it has no defect (or only defects that may pass), else
/// one of the codes its defects are documented to give.
#[derive(Clone, Debug, Default)]
struct Expect {
    codes: Vec<i32>,
    may_pass: bool,
}

impl Expect {
    fn ok() -> Expect {
        Expect::default()
    }

    /// A defect documented to give `code`.
    fn bad(&mut self, code: i32) {
        if !self.codes.contains(&code) {
            self.codes.push(code);
        }
    }

    /// A condition that may or may not be refused (with `code`).
    fn maybe(&mut self, code: i32) {
        self.bad(code);
        self.may_pass = true;
    }

    fn clean(&self) -> bool {
        self.codes.is_empty()
    }

    fn allows(&self, rc: i32) -> bool {
        if rc == OK {
            self.codes.is_empty() || self.may_pass
        } else {
            self.codes.contains(&rc)
        }
    }
}

/// A live global-memory segment: its length and every rank's bytes (`None`: unknown).
#[derive(Clone, Debug)]
struct Seg {
    id: u32,
    len: u64,
    bytes: Vec<Vec<Option<u8>>>,
}

/// A handle argument and what the model knows of it.
#[derive(Clone, Copy, Debug)]
enum H {
    /// A live handle whose storage is alive (index into `arrays`).
    Live(usize),
    /// A live view of freed storage: every use but `distarr_free` → `DISTARR_ERR_HANDLE`.
    DeadView(usize),
    /// Freed, forged, zero, negative or of another kind.
    Bad,
}

struct Fuzz {
    rng: Rng,
    me: usize,
    np: usize,
    spmd: bool,
    arrays: Vec<Arr>,
    storages: Vec<Storage>,
    stale: Vec<i64>,
    segs: Vec<Seg>,
    stale_segs: Vec<u32>,
    /// Collective operations may have written array data since the last sync (SPMD).
    dirty: bool,
    case: u64,
    calls: u64,
    checks: u64,
    /// Hash of the status codes of the collective calls (SPMD: compared across ranks).
    hash: u64,
    what: String,
    dir: std::path::PathBuf,
    npy_files: u64,
    /// `DISTARR_FUZZ_TRACE=1`: print every case's number and kind before running it.
    trace: bool,
    /// `DISTARR_FUZZ_TRACE=2`: and every checked call (from case `DISTARR_FUZZ_TRACE_FROM`).
    trace2: bool,
    trace_from: u64,
    /// `DISTARR_FUZZ_PEEK` (a debugging aid): the array watched, its block on this rank.
    peek_id: Option<i64>,
    peek_at: Option<(*const u8, Vec<usize>, Vec<usize>)>,
    peek_done: bool,
    /// The last 300 calls (case, function, status, description), printed on a failure.
    recent: std::collections::VecDeque<(u64, String, i32, String)>,
    /// Calls per (function, status code), printed with `DISTARR_FUZZ_STATS=1`.
    stats: std::collections::BTreeMap<(String, i32), u64>,
}

fn last_error() -> String {
    // SAFETY: distarr_last_error returns a valid NUL-terminated string owned by this thread.
    unsafe { CStr::from_ptr(distarr_last_error()) }
        .to_string_lossy()
        .into_owned()
}

fn small(rng: &mut Rng) -> i128 {
    rng.below(101) as i128 - 50
}

/// A hostile `int64_t`: extremes, around zero, huge.
fn wild_i64(rng: &mut Rng) -> i64 {
    match rng.below(10) {
        0 => i64::MIN,
        1 => i64::MAX,
        2 => i64::MIN + 1,
        3 => -(rng.below(1 << 40) as i64),
        4 => rng.below(1 << 62) as i64,
        5 => 1 << (rng.below(63)),
        6 => -(1 << rng.below(63)),
        _ => rng.below(21) as i64 - 10,
    }
}

/// A hostile `int32_t`.
fn wild_i32(rng: &mut Rng) -> i32 {
    match rng.below(8) {
        0 => i32::MIN,
        1 => i32::MAX,
        2 => i32::MIN + 1,
        3 => -(rng.below(1000) as i32),
        4 => rng.below(1 << 30) as i32,
        _ => rng.below(21) as i32 - 10,
    }
}

impl Fuzz {
    fn chance(&mut self, num: u64, den: u64) -> bool {
        self.rng.below(den) < num
    }

    fn pick<T: Copy>(&mut self, v: &[T]) -> T {
        v[self.rng.below(v.len() as u64) as usize]
    }

    /// Checks one call's status against what its arguments allow.
    fn check_rc(&mut self, name: &str, rc: i32, ex: &Expect) {
        self.calls += 1;
        *self.stats.entry((name.to_string(), rc)).or_insert(0) += 1;
        if self.trace2 && self.case >= self.trace_from {
            eprintln!("[rank {}] case {} {name} -> {rc} ({})", self.me, self.case, self.what);
        }
        // The recent calls, printed when a check fails (printing every call changes timing).
        if self.recent.len() == 300 {
            self.recent.pop_front();
        }
        self.recent
            .push_back((self.case, name.to_string(), rc, self.what.clone()));
        let fail = |why: String| -> ! {
            self.dump_recent();
            panic!(
                "[rank {}] case {} ({}): {name} returned {rc} ({}): {why}; expected {:?}{}; last error: {}",
                self.me,
                self.case,
                self.what,
                // SAFETY: distarr_strerror returns a static NUL-terminated string.
                unsafe { CStr::from_ptr(distarr_strerror(rc)) }.to_string_lossy(),
                ex.codes,
                if ex.clean() || ex.may_pass { " or OK" } else { "" },
                last_error()
            )
        };
        if rc == ERR_INTERNAL || rc == ERR_MPI {
            fail("an internal or MPI error".into());
        }
        if !ex.allows(rc) {
            fail("not a documented code for these arguments".into());
        }
        if rc != OK {
            let msg = last_error();
            if !msg.starts_with("distarr_") || msg.len() < 12 {
                fail(format!("failure without a proper message ({msg:?})"));
            }
        }
    }

    /// [`Fuzz::check_rc`] for a collective call: its code goes into the cross-rank hash.
    fn check_coll(&mut self, name: &str, rc: i32, ex: &Expect) {
        self.check_rc(name, rc, ex);
        self.hash = (self.hash ^ (rc as u64 + 1)).wrapping_mul(0x100_0000_01B3);
    }

    fn ok(&mut self, name: &str, rc: i32) {
        self.check_rc(name, rc, &Expect::ok());
    }

    fn fail(&self, msg: String) -> ! {
        self.dump_recent();
        panic!("[rank {}] case {} ({}): {msg}", self.me, self.case, self.what)
    }

    /// Prints the recent calls (to stderr, in one write).
    fn dump_recent(&self) {
        let text: String = self
            .recent
            .iter()
            .map(|(c, n, rc, w)| format!("[rank {}] recent: case {c} {n} -> {rc} ({w})\n", self.me))
            .collect();
        use std::io::Write;
        let _ = std::io::stderr().write_all(text.as_bytes());
    }

    // --- handles --------------------------------------------------------------------------

    fn live_indices(&self) -> Vec<usize> {
        (0..self.arrays.len())
            .filter(|&i| self.storages[self.arrays[i].st].alive)
            .collect()
    }

    /// A random live array (with alive storage), if any.
    fn any_live(&mut self) -> Option<usize> {
        let l = self.live_indices();
        (!l.is_empty()).then(|| l[self.rng.below(l.len() as u64) as usize])
    }

    /// A handle argument: usually a live array, sometimes hostile.
    fn handle(&mut self, hostile: bool) -> (i64, H) {
        let live = self.live_indices();
        if !hostile || self.chance(3, 4) {
            if let Some(&i) = live.get(self.rng.below(live.len().max(1) as u64) as usize) {
                return (self.arrays[i].h, H::Live(i));
            }
        }
        let dead_views: Vec<usize> = (0..self.arrays.len())
            .filter(|&i| !self.storages[self.arrays[i].st].alive)
            .collect();
        let some = self.arrays.first().map_or(0x0200_0001_0000_0001, |a| a.h);
        match self.rng.below(9) {
            0 if !self.stale.is_empty() => (self.pick(&self.stale.clone()), H::Bad),
            1 if !dead_views.is_empty() => {
                let i = self.pick(&dead_views);
                (self.arrays[i].h, H::DeadView(i))
            }
            2 => (0, H::Bad),
            3 => (-1, H::Bad),
            4 => (i64::MIN, H::Bad),
            5 => (some ^ (1 << 40), H::Bad),
            // a request-kind tag on an array id
            6 => ((some & !(0x7f << 56)) | (1 << 56), H::Bad),
            7 => (some + 1000, H::Bad),
            _ => (self.rng.next_u64() as i64, H::Bad),
        }
    }

    /// A handle of the same shape as array handle `like` (any dtype; created when there is
    /// none) half of the time, else [`Fuzz::handle`]: hostile calls then get past the shape
    /// checks to the type rules more often.
    fn handle_like(&mut self, like: H) -> (i64, H) {
        if let (H::Live(x), true) = (like, self.chance(1, 2)) {
            let shape = self.arrays[x].shape.clone();
            let dt = self.dtype();
            let o = self.out_for(&shape, dt);
            return (self.arrays[o].h, H::Live(o));
        }
        self.handle(true)
    }

    /// `Expect` contribution of a handle argument used by an array call.
    fn use_handle(ex: &mut Expect, h: H) -> Option<usize> {
        match h {
            H::Live(i) => Some(i),
            _ => {
                ex.bad(ERR_HANDLE);
                None
            }
        }
    }

    fn new_storage(&mut self, vals: Vec<Option<i128>>) -> usize {
        self.storages.push(Storage { vals, alive: true });
        self.storages.len() - 1
    }

    /// Registers a new array handle owning fresh storage with `vals`.
    fn add_owner(
        &mut self,
        h: i64,
        dt: Dt,
        shape: Vec<usize>,
        vals: Vec<Option<i128>>,
        layout: i32,
        one_box: bool,
    ) -> usize {
        let n = vals.len();
        let st = self.new_storage(vals);
        self.arrays.push(Arr {
            h,
            st,
            dt,
            shape,
            pos: (0..n).collect(),
            owner: true,
            layout,
            one_box,
        });
        self.arrays.len() - 1
    }

    /// Registers a created array whose dtype and shape the library reports (values unknown):
    /// for successful calls the model cannot follow.
    fn add_unknown(&mut self, h: i64) -> usize {
        let (dt, shape) = self.query(h);
        let n = size(&shape);
        self.add_owner(h, dt, shape, vec![None; n], DISTARR_LAYOUT_BLOCK, true)
    }

    /// dtype and shape of a live handle, as the library reports them (checked calls).
    fn query(&mut self, h: i64) -> (Dt, Vec<usize>) {
        let (mut nd, mut dt) = (0i32, 0i32);
        // SAFETY: valid pointers to locals.
        let rc = unsafe { distarr_ndim(h, &mut nd) };
        self.ok("distarr_ndim", rc);
        let mut shape = vec![0i64; nd as usize];
        // SAFETY: `shape` holds ndim elements.
        let rc = unsafe { distarr_shape(h, shape.as_mut_ptr()) };
        self.ok("distarr_shape", rc);
        // SAFETY: valid pointer.
        let rc = unsafe { distarr_dtype(h, &mut dt) };
        self.ok("distarr_dtype", rc);
        let dt = Dt::from_code(dt).unwrap_or_else(|| self.fail(format!("distarr_dtype gave code {dt}")));
        (dt, shape.iter().map(|&x| x as usize).collect())
    }

    /// Forgets handle `i` after a successful `distarr_free`.
    fn forget(&mut self, i: usize) {
        let a = self.arrays.swap_remove(i);
        if a.owner {
            self.storages[a.st].alive = false;
        }
        self.stale.push(a.h);
        if self.stale.len() > 64 {
            self.stale.remove(0);
        }
    }

    fn free_handle(&mut self, i: usize) {
        let h = self.arrays[i].h;
        let rc = distarr_free(h);
        self.check_coll("distarr_free", rc, &Expect::ok());
        self.forget(i);
    }

    // --- synchronisation ------------------------------------------------------------------

    /// SPMD: `distarr_sync` when collective operations wrote data since the last one (before
    /// one-sided accesses). Sequential mode synchronises itself (that is tested too).
    fn sync_if_dirty(&mut self) {
        if self.spmd && self.dirty {
            self.sync();
        }
    }

    /// Before a one-sided write (SPMD): every rank synchronises, so that the reads other ranks
    /// made since the last synchronisation are complete (the rule "between one rank's accesses
    /// and another rank's writes": a write-after-read hazard otherwise).
    fn before_write(&mut self) {
        if self.spmd {
            self.sync();
        }
    }

    fn sync(&mut self) {
        let rc = distarr_sync();
        self.check_coll("distarr_sync", rc, &Expect::ok());
        self.dirty = false;
        self.peek_check("after a sync");
    }

    /// See `DISTARR_FUZZ_PEEK` in `main`.
    fn peek_check(&mut self, when: &str) {
        let Some(w) = self.peek_id else { return };
        if self.peek_done {
            return;
        }
        let Some(i) = self.arrays.iter().position(|a| a.h == w) else {
            return;
        };
        let arr = self.arrays[i].clone();
        if self.peek_at.is_none() {
            let (mut p, mut lo, mut hi) = (
                null_mut::<c_void>(),
                vec![0i64; arr.ndim() + 1],
                vec![0i64; arr.ndim() + 1],
            );
            // SAFETY: outputs hold ndim entries.
            let rc = unsafe { distarr_local_block(w, &mut p, lo.as_mut_ptr(), hi.as_mut_ptr()) };
            if rc != OK || p.is_null() {
                self.peek_done = true;
                return;
            }
            let nd = arr.ndim();
            self.peek_at = Some((
                p.cast_const().cast(),
                lo[..nd].iter().map(|&x| x as usize).collect(),
                hi[..nd].iter().map(|&x| x as usize).collect(),
            ));
        }
        let Some((p, lo, hi)) = self.peek_at.clone() else {
            return;
        };
        let sub = self.box_arr(&arr, &lo, &hi);
        let want = values(&sub, &self.storages);
        let sz = arr.dt.size();
        // SAFETY: this rank's block of the live array (from distarr_local_block).
        let got = unsafe { std::slice::from_raw_parts(p, want.len() * sz) };
        for (k, wv) in want.iter().enumerate() {
            let Some(wv) = wv else { continue };
            let g = arr.dt.decode(&got[k * sz..(k + 1) * sz]);
            if g != Ok(*wv) {
                eprintln!(
                    "[rank {}] peek {w:#x}: {when} in case {} ({}) element {k} of the block is {g:?}, model {wv}",
                    self.me, self.case, self.what
                );
                for a in &self.arrays {
                    let v = values(a, &self.storages);
                    if v.iter().any(|x| Ok(x.unwrap_or(i128::MIN)) == g) {
                        eprintln!(
                            "[rank {}]   array {:#x} {:?} {:?} holds that value: {v:?}",
                            self.me, a.h, a.dt, a.shape
                        );
                    }
                }
                for (cc, n, rc, what) in self.recent.iter().rev().take(12) {
                    eprintln!("[rank {}]   recent case {cc} {n} -> {rc} ({what})", self.me);
                }
                self.peek_done = true;
                return;
            }
        }
    }

    /// After a collective call that may have written array data.
    fn wrote(&mut self) {
        self.dirty = true;
    }

    /// After a one-sided write (by the actor): SPMD makes it visible before anything else.
    fn wrote_onesided(&mut self) {
        if self.spmd {
            self.sync();
        }
    }

    /// The rank making this case's one-sided writes (0 in sequential mode).
    fn actor(&mut self) -> usize {
        if self.spmd {
            self.rng.below(self.np as u64) as usize
        } else {
            0
        }
    }

    // --- checking values ------------------------------------------------------------------

    /// Compares the bytes of the elements of `a` (C order) with the model.
    fn compare(&mut self, a: usize, bytes: &[u8], what: &str) {
        let arr = self.arrays[a].clone();
        let want = values(&arr, &self.storages);
        let sz = arr.dt.size();
        if bytes.len() != want.len() * sz {
            self.fail(format!("{what}: {} bytes for {} elements", bytes.len(), want.len()));
        }
        for (k, w) in want.iter().enumerate() {
            let Some(w) = *w else {
                // Whatever the value, a bool is stored as 0 or 1.
                if arr.dt == Dt::Bool && bytes[k] > 1 {
                    self.fail(format!(
                        "{what}: bool element {k} of {:#x} is the byte {}",
                        arr.h, bytes[k]
                    ));
                }
                continue;
            };
            self.checks += 1;
            let got = arr.dt.decode(&bytes[k * sz..(k + 1) * sz]);
            if got != Ok(w) {
                self.fail(format!(
                    "{what}: element {k} (C order) of array {:#x} {:?} shape {:?} is {got:?}, model says {w}",
                    arr.h, arr.dt, arr.shape
                ));
            }
        }
    }

    /// Gathers a live array to a random root and compares it there.
    fn verify_gather(&mut self, a: usize) {
        let arr = self.arrays[a].clone();
        let root = if self.spmd {
            self.rng.below(self.np as u64) as usize
        } else {
            0
        };
        let n = arr.size() * arr.dt.size();
        let mut buf = vec![0u8; n];
        self.what = format!("gather {:#x} to {root}", arr.h);
        let p = if root == self.me {
            buf.as_mut_ptr().cast::<c_void>()
        } else {
            null_mut()
        };
        // SAFETY: on the root `p` holds the array's bytes; elsewhere it is ignored.
        let rc = unsafe { distarr_gather(arr.h, root as i32, p) };
        self.check_coll("distarr_gather", rc, &Expect::ok());
        if root == self.me {
            self.compare(a, &buf, "gathered values");
        }
    }

    /// Reads a random box of a live array with `distarr_get_region` on every rank.
    fn verify_region(&mut self, a: usize) {
        let arr = self.arrays[a].clone();
        let (lo, hi) = self.random_box(&arr.shape);
        self.what = format!("get_region {:#x} [{lo:?}, {hi:?})", arr.h);
        self.sync_if_dirty();
        let n = size(&hi.iter().zip(&lo).map(|(h, l)| h - l).collect::<Vec<_>>());
        let mut buf = vec![0u8; n * arr.dt.size() + 1];
        let (l, h) = (to_i64(&lo), to_i64(&hi));
        // Unaligned on purpose (any alignment is allowed).
        let p = buf[1..].as_mut_ptr().cast::<c_void>();
        // SAFETY: `l`, `h` hold ndim entries; `p` is valid for the box's bytes.
        let rc = unsafe { distarr_get_region(arr.h, l.as_ptr(), h.as_ptr(), p) };
        self.ok("distarr_get_region", rc);
        let sub = self.box_arr(&arr, &lo, &hi);
        let tmp = self.push_temp(sub);
        self.compare(tmp, &buf[1..], "region values");
        self.arrays.pop();
    }

    /// A temporary model array (not a library handle) appended to `arrays`; pop it after use.
    fn push_temp(&mut self, a: Arr) -> usize {
        self.arrays.push(a);
        self.arrays.len() - 1
    }

    /// The model view of the box `[lo, hi)` of `a`.
    fn box_arr(&self, a: &Arr, lo: &[usize], hi: &[usize]) -> Arr {
        let items: Vec<Item> = (0..a.ndim())
            .map(|d| Item::Range(Some(lo[d] as i128), Some(hi[d] as i128), 1))
            .collect();
        index_view(a, &items).unwrap_or_else(|c| self.fail(format!("model box [{lo:?}, {hi:?}): {c}")))
    }

    fn random_box(&mut self, shape: &[usize]) -> (Vec<usize>, Vec<usize>) {
        let mut lo = Vec::new();
        let mut hi = Vec::new();
        for &n in shape {
            let a = self.rng.below(n as u64 + 1) as usize;
            let b = self.rng.below(n as u64 + 1) as usize;
            lo.push(a.min(b));
            hi.push(a.max(b));
        }
        (lo, hi)
    }

    // --- cases ----------------------------------------------------------------------------

    fn run_case(&mut self) {
        if self.live_indices().len() < 3 || self.arrays.len() > MAX_LIVE {
            self.housekeeping();
        }
        let k = self.rng.below(100);
        if self.trace {
            eprintln!("[rank {}] case {} kind {k}", self.me, self.case);
        }
        match k {
            0..=7 => self.case_create(),
            8..=9 => self.case_generators(),
            10 => self.case_deferred(),
            11..=14 => self.case_free(),
            15..=18 => self.case_meta(),
            19..=21 => self.case_fill(),
            22..=25 => self.case_copy(),
            26..=29 => self.case_unary(),
            30..=37 => self.case_binary(),
            38..=40 => self.case_binary_scalar(),
            41..=43 => self.case_where(),
            44..=49 => self.case_reduce(),
            50..=51 => self.case_matmul(),
            52..=54 => self.case_mask(),
            55..=56 => self.case_roll(),
            57..=58 => self.case_concat(),
            59..=66 => self.case_view(),
            67..=69 => self.case_gather_scatter(),
            70..=76 => self.case_region(),
            77..=79 => self.case_locate(),
            80..=87 => self.case_pgas(),
            88..=89 => self.case_collectives(),
            90..=92 => self.case_npy(),
            _ => {
                if let Some(a) = self.any_live() {
                    if self.chance(1, 2) {
                        self.verify_gather(a);
                    } else {
                        self.verify_region(a);
                    }
                }
            }
        }
    }

    /// Keeps a few arrays alive and the total bounded.
    fn housekeeping(&mut self) {
        self.what = "housekeeping".into();
        while self.arrays.len() > MAX_LIVE / 2 {
            let i = self.rng.below(self.arrays.len() as u64) as usize;
            self.free_handle(i);
        }
        while self.live_indices().len() < 4 {
            self.create_valid();
        }
    }

    /// A valid random shape (0-3 dimensions, extents 0-6, rarely 0).
    fn shape(&mut self) -> Vec<usize> {
        let nd = self.rng.below(4) as usize;
        (0..nd)
            .map(|_| {
                if self.chance(1, 12) {
                    0
                } else {
                    1 + self.rng.below(6) as usize
                }
            })
            .collect()
    }

    fn dtype(&mut self) -> Dt {
        ALL[self.rng.below(10) as usize]
    }

    /// Creates a valid array with random layout and values (scattered or filled). Returns its index.
    fn create_valid(&mut self) -> usize {
        let shape = self.shape();
        let dt = self.dtype();
        self.create_with(shape, dt, true)
    }

    fn create_with(&mut self, shape: Vec<usize>, dt: Dt, init: bool) -> usize {
        let layout = self.rng.below(4) as i32;
        let block: Vec<i64> = shape.iter().map(|_| 1 + self.rng.below(3) as i64).collect();
        let rank = self.rng.below(self.np as u64) as i32;
        let sh = to_i64(&shape);
        let mut h = 0i64;
        self.what = format!("create {shape:?} {dt:?} layout {layout}");
        // SAFETY: `sh` and `block` hold ndim entries; `h` is writable.
        let rc = unsafe {
            distarr_create_layout(
                shape.len() as i32,
                sh.as_ptr(),
                dt.code(),
                layout,
                block.as_ptr(),
                rank,
                &mut h,
            )
        };
        self.check_coll("distarr_create_layout", rc, &Expect::ok());
        let one_box = layout != DISTARR_LAYOUT_BLOCK_CYCLIC || self.np == 1;
        let n = size(&shape);
        let i = self.add_owner(h, dt, shape, vec![Some(0); n], layout, one_box);
        self.wrote();
        if init && n > 0 {
            if self.chance(1, 2) {
                self.scatter_random(i);
            } else {
                let v = dt.store(small(&mut self.rng)).unwrap_or(0);
                self.fill_value(i, v);
            }
        }
        i
    }

    /// Scatters random small values into array `i` from a random root.
    fn scatter_random(&mut self, i: usize) {
        let arr = self.arrays[i].clone();
        let vals: Vec<i128> = (0..arr.size())
            .map(|_| arr.dt.store(small(&mut self.rng)).unwrap_or(0))
            .collect();
        let bytes: Vec<u8> = vals.iter().flat_map(|&v| arr.dt.encode(v)).collect();
        let root = if self.spmd {
            self.rng.below(self.np as u64) as usize
        } else {
            0
        };
        self.what = format!("scatter into {:#x} from {root}", arr.h);
        let p = if root == self.me { bytes.as_ptr().cast() } else { null() };
        // SAFETY: on the root `p` holds the array's bytes.
        let rc = unsafe { distarr_scatter(arr.h, root as i32, p) };
        self.check_coll("distarr_scatter", rc, &Expect::ok());
        write(
            &arr,
            &vals.into_iter().map(Some).collect::<Vec<_>>(),
            &mut self.storages,
        );
        self.wrote();
    }

    fn fill_value(&mut self, i: usize, v: i128) {
        let arr = self.arrays[i].clone();
        let b = arr.dt.encode(v);
        self.what = format!("fill {:#x} with {v}", arr.h);
        // SAFETY: `b` holds one element of the dtype.
        let rc = unsafe { distarr_fill(arr.h, b.as_ptr().cast()) };
        self.check_coll("distarr_fill", rc, &Expect::ok());
        write(&arr, &vec![Some(v); arr.size()], &mut self.storages);
        self.wrote();
    }

    fn case_create(&mut self) {
        if self.chance(1, 3) {
            self.create_valid();
            return;
        }
        // Hostile creation.
        let mut ex = Expect::ok();
        let mut ndim = self.rng.below(4) as i32;
        let mut shape: Vec<i64> = (0..4).map(|_| self.rng.below(5) as i64).collect();
        let mut dtype = self.rng.below(10) as i32;
        let mut layout = self.rng.below(4) as i32;
        let mut block: Vec<i64> = (0..4).map(|_| 1 + self.rng.below(3) as i64).collect();
        let mut rank = self.rng.below(self.np as u64) as i32;
        let (mut shape_null, mut block_null, mut out_null) = (false, false, false);
        match self.rng.below(9) {
            0 => {
                ndim = self.pick(&[-1, 65, i32::MAX, i32::MIN, 100]);
                ex.bad(ERR_ARG);
            }
            1 => {
                if ndim > 0 {
                    shape_null = true;
                    ex.bad(ERR_NULL);
                }
            }
            2 => {
                if ndim > 0 {
                    let d = self.rng.below(ndim as u64) as usize;
                    shape[d] = -1 - self.rng.below(1 << 40) as i64;
                    ex.bad(ERR_SHAPE);
                }
            }
            3 => {
                if ndim > 0 {
                    // Huge extents: too many bytes, or an element count that overflows.
                    let d = self.rng.below(ndim as u64) as usize;
                    shape[d] = self.pick(&[i64::MAX, 1 << 62, 1 << 40, 1 << 33, 3 << 31]);
                    if (0..ndim as usize).any(|k| k != d && shape[k] == 0) {
                        ex.maybe(ERR_SHAPE);
                        ex.maybe(ERR_NOMEM);
                    } else {
                        ex.bad(ERR_SHAPE);
                        ex.bad(ERR_NOMEM);
                    }
                }
            }
            4 => {
                dtype = wild_i32(&mut self.rng);
                if Dt::from_code(dtype).is_none() {
                    ex.bad(ERR_DTYPE);
                }
            }
            5 => {
                layout = wild_i32(&mut self.rng);
                // valid: a layout code, possibly with the DISTARR_LAYOUT_DEFERRED flag
                if !(0..4).contains(&(layout & !DISTARR_LAYOUT_DEFERRED)) {
                    ex.bad(ERR_ARG);
                }
            }
            6 => {
                layout = DISTARR_LAYOUT_BLOCK_CYCLIC;
                if self.chance(1, 2) && ndim > 0 {
                    block_null = true;
                    ex.bad(ERR_NULL);
                } else if ndim > 0 {
                    let d = self.rng.below(ndim as u64) as usize;
                    block[d] = self.pick(&[0, -1, i64::MIN]);
                    ex.bad(ERR_ARG);
                } else if self.chance(1, 2) {
                    // block-cyclic needs a block array, even for 0-d arrays
                    block_null = true;
                    ex.bad(ERR_NULL);
                }
            }
            7 => {
                layout = DISTARR_LAYOUT_ON_RANK;
                rank = self.pick(&[-1, self.np as i32, i32::MAX, i32::MIN]);
                ex.bad(ERR_RANK);
            }
            _ => {
                out_null = true;
                ex.bad(ERR_NULL);
            }
        }
        if layout == DISTARR_LAYOUT_BLOCK_CYCLIC && ndim > 0 && !block_null && ex.clean() {
            // Huge blocks are valid (one block).
            if self.chance(1, 4) {
                block[0] = i64::MAX;
            }
        }
        let mut h = 0i64;
        self.what = format!(
            "hostile create ndim {ndim} shape {shape:?}{} dtype {dtype} layout {layout} block {block:?}{} rank {rank}",
            if shape_null { " NULL" } else { "" },
            if block_null { " NULL" } else { "" }
        );
        let sp = if shape_null { null() } else { shape.as_ptr() };
        let bp = if block_null { null() } else { block.as_ptr() };
        let op = if out_null { null_mut() } else { &mut h as *mut i64 };
        // SAFETY: non-NULL pointers hold 4 >= ndim (when in range) entries.
        let rc = unsafe { distarr_create_layout(ndim, sp, dtype, layout, bp, rank, op) };
        self.check_coll("distarr_create_layout", rc, &ex);
        if rc == OK {
            let nd = ndim as usize;
            let sh: Vec<usize> = shape[..nd].iter().map(|&x| x as usize).collect();
            let n = size(&sh);
            let dt = Dt::from_code(dtype).expect("valid");
            let deferred = layout & DISTARR_LAYOUT_DEFERRED != 0;
            let layout = layout & !DISTARR_LAYOUT_DEFERRED;
            let one_box = layout != DISTARR_LAYOUT_BLOCK_CYCLIC || self.np == 1;
            let vals = vec![(!deferred).then_some(0); n];
            let i = self.add_owner(h, dt, sh.clone(), vals, layout, one_box);
            if deferred {
                // Storage comes with the first collective use: give it one (fill).
                let v = dt.store(small(&mut self.rng)).unwrap_or(0);
                self.fill_value(i, v);
            }
            let (qdt, qsh) = self.query(h);
            if qdt != dt || qsh != sh {
                self.fail(format!("created {qdt:?} {qsh:?}, asked {dt:?} {sh:?}"));
            }
            let _ = i;
            self.wrote();
        }
    }

    /// An array created with `DISTARR_LAYOUT_DEFERRED` (storage with its first collective use):
    /// one-sided and local-block access before that use is refused (`DISTARR_ERR_ARG`); freeing
    /// it unused is fine; a first collective write gives it storage and values.
    fn case_deferred(&mut self) {
        let shape = self.shape();
        let dt = self.dtype();
        let layout = self.rng.below(4) as i32;
        let block: Vec<i64> = shape.iter().map(|_| 1 + self.rng.below(3) as i64).collect();
        let rank = self.rng.below(self.np as u64) as i32;
        let sh = to_i64(&shape);
        let mut h = 0i64;
        self.what = format!("deferred create {shape:?} {dt:?} layout {layout}");
        // SAFETY: `sh` and `block` hold ndim entries; `h` writable.
        let rc = unsafe {
            distarr_create_layout(
                shape.len() as i32,
                sh.as_ptr(),
                dt.code(),
                layout | DISTARR_LAYOUT_DEFERRED,
                block.as_ptr(),
                rank,
                &mut h,
            )
        };
        self.check_coll("distarr_create_layout", rc, &Expect::ok());
        let n = size(&shape);
        let one_box = layout != DISTARR_LAYOUT_BLOCK_CYCLIC || self.np == 1;
        let i = self.add_owner(h, dt, shape.clone(), vec![None; n], layout, one_box);
        // Before any collective use: one-sided access is refused.
        let (lo, hi) = (vec![0i64; shape.len()], to_i64(&shape));
        let mut buf = vec![0u8; n * dt.size()];
        let (mut p, mut seg) = (null_mut::<c_void>(), 0u32);
        let mut bl = vec![0i64; shape.len() + 1];
        let mut bh = vec![0i64; shape.len() + 1];
        let mut ex = Expect::ok();
        ex.bad(ERR_ARG);
        // SAFETY: bounds hold ndim entries, `buf` the whole array, the outputs are writable.
        unsafe {
            let rc = distarr_get_region(h, lo.as_ptr(), hi.as_ptr(), buf.as_mut_ptr().cast());
            let mut exg = ex.clone();
            if n == 0 {
                exg.may_pass = true; // nothing to read
            }
            self.check_rc("distarr_get_region (deferred)", rc, &exg);
            let rc = distarr_segment(h, &mut seg);
            self.check_rc("distarr_segment (deferred)", rc, &ex);
            let rc = distarr_local_block(h, &mut p, bl.as_mut_ptr(), bh.as_mut_ptr());
            let mut exl = ex.clone();
            exl.maybe(ERR_UNSUPPORTED);
            self.check_rc("distarr_local_block (deferred)", rc, &exl);
        }
        match self.rng.below(3) {
            0 => self.free_handle(i),
            1 => {
                let v = dt.store(small(&mut self.rng)).unwrap_or(0);
                self.fill_value(i, v);
                self.verify_gather(i);
            }
            _ => {
                // first written as the out of a copy from a live array of the same shape
                let sdt = self.dtype();
                let src = self.out_for(&shape, sdt);
                if self.arrays[src].dt.is_complex() && !dt.is_complex() {
                    self.free_handle(i);
                    return;
                }
                let (sa, da) = (self.arrays[src].clone(), self.arrays[i].clone());
                let vals: Vec<Option<i128>> = values(&sa, &self.storages)
                    .into_iter()
                    .map(|v| v.and_then(|v| dt.cast_from(sa.dt, v)))
                    .collect();
                self.what = format!("copy into deferred {:#x} <- {:#x}", da.h, sa.h);
                let rc = distarr_copy(da.h, sa.h);
                self.check_coll("distarr_copy", rc, &Expect::ok());
                write(&da, &vals, &mut self.storages);
                self.wrote();
                self.verify_gather(i);
            }
        }
    }

    fn case_generators(&mut self) {
        let mut h = 0i64;
        let dtype = if self.chance(1, 8) {
            wild_i32(&mut self.rng)
        } else {
            self.rng.below(10) as i32
        };
        let dt = Dt::from_code(dtype);
        let mut ex = Expect::ok();
        if dt.is_none() {
            ex.bad(ERR_DTYPE);
        }
        match self.rng.below(3) {
            0 => {
                let (mut start, mut stop, mut step) = (
                    small(&mut self.rng) as f64,
                    small(&mut self.rng) as f64,
                    (1 + self.rng.below(4)) as f64,
                );
                if self.chance(1, 2) && start > stop {
                    step = -step;
                }
                match self.rng.below(6) {
                    0 => {
                        step = 0.0;
                        ex.bad(ERR_ARG);
                    }
                    1 => {
                        start = self.pick(&[f64::NAN, f64::INFINITY, f64::NEG_INFINITY]);
                        ex.bad(ERR_ARG);
                    }
                    2 => {
                        // Absurd lengths.
                        stop = self.pick(&[1e30, 1e19, 9.3e18, 1.8e19, 4e9]);
                        step = self.pick(&[1.0, 1e-300, 0.5]);
                        start = 0.0;
                        ex.maybe(ERR_NOMEM);
                        ex.maybe(ERR_SHAPE);
                        ex.maybe(ERR_ARG);
                        if stop / step > 1e12 {
                            ex.may_pass = false;
                        }
                    }
                    _ => {}
                }
                self.what = format!("arange({start}, {stop}, {step}, {dtype})");
                let out: *mut i64 = if self.chance(1, 12) {
                    ex.bad(ERR_NULL);
                    null_mut()
                } else {
                    &mut h
                };
                // SAFETY: `out` is NULL or writable.
                let rc = unsafe { distarr_arange(start, stop, step, dtype, out) };
                self.check_coll("distarr_arange", rc, &ex);
                if rc == OK {
                    let dt = dt.expect("valid dtype");
                    let n = if step != 0.0 {
                        ((stop - start) / step).ceil().max(0.0) as usize
                    } else {
                        0
                    };
                    let (qdt, qsh) = self.query(h);
                    if qdt != dt || qsh != vec![n] {
                        self.fail(format!("arange gave {qdt:?} {qsh:?}, expected {dt:?} [{n}]"));
                    }
                    let vals = (0..n)
                        .map(|i| {
                            let v = start + i as f64 * step;
                            dt.cast_from(Dt::F64, v as i128)
                        })
                        .collect();
                    self.add_owner(h, dt, vec![n], vals, DISTARR_LAYOUT_BLOCK, true);
                    self.wrote();
                }
            }
            1 => {
                let mut num = self.rng.below(8) as i64;
                let (mut start, stop) = (small(&mut self.rng) as f64, small(&mut self.rng) as f64);
                match self.rng.below(5) {
                    0 => {
                        num = -1 - self.rng.below(1000) as i64;
                        ex.bad(ERR_SHAPE);
                    }
                    1 => {
                        start = f64::NAN;
                        ex.bad(ERR_ARG);
                    }
                    2 => {
                        num = self.pick(&[i64::MAX, 1 << 60]);
                        ex.bad(ERR_NOMEM);
                        ex.bad(ERR_SHAPE);
                    }
                    _ => {}
                }
                let endpoint = self.rng.below(2) as i32;
                self.what = format!("linspace({start}, {stop}, {num}, {endpoint}, {dtype})");
                // SAFETY: `h` is writable.
                let rc = unsafe { distarr_linspace(start, stop, num, endpoint, dtype, &mut h) };
                self.check_coll("distarr_linspace", rc, &ex);
                if rc == OK {
                    let i = self.add_unknown(h);
                    if self.arrays[i].shape != vec![num as usize] {
                        self.fail(format!("linspace shape {:?}", self.arrays[i].shape));
                    }
                    self.wrote();
                }
            }
            _ => {
                let (mut n, mut m) = (self.rng.below(6) as i64, self.rng.below(6) as i64);
                let k = if self.chance(1, 6) {
                    wild_i64(&mut self.rng)
                } else {
                    self.rng.below(9) as i64 - 4
                };
                match self.rng.below(5) {
                    0 => {
                        n = -1 - self.rng.below(9) as i64;
                        ex.bad(ERR_SHAPE);
                    }
                    1 => {
                        m = self.pick(&[i64::MAX, 1 << 40]);
                        if n == 0 {
                            ex.maybe(ERR_SHAPE);
                            ex.maybe(ERR_NOMEM);
                        } else {
                            ex.bad(ERR_SHAPE);
                            ex.bad(ERR_NOMEM);
                        }
                    }
                    _ => {}
                }
                // A diagonal offset beyond isize is refused; any other is fine.
                self.what = format!("eye({n}, {m}, {k}, {dtype})");
                // SAFETY: `h` is writable.
                let rc = unsafe { distarr_eye(n, m, k, dtype, &mut h) };
                self.check_coll("distarr_eye", rc, &ex);
                if rc == OK {
                    let dt = dt.expect("valid dtype");
                    let shape = vec![n as usize, m as usize];
                    let vals = indices(&shape)
                        .iter()
                        .map(|ij| Some(i128::from(ij[1] as i128 - ij[0] as i128 == k as i128)))
                        .collect();
                    let i = self.add_owner(h, dt, shape, vals, DISTARR_LAYOUT_BLOCK, true);
                    if self.arrays[i].size() > 0 && size(&self.arrays[i].shape) < 64 {
                        self.verify_gather(i);
                    }
                    self.wrote();
                }
            }
        }
    }

    fn case_free(&mut self) {
        let (h, kind) = self.handle(true);
        self.what = format!("free {h:#x} ({kind:?})");
        let mut ex = Expect::ok();
        if matches!(kind, H::Bad) {
            ex.bad(ERR_HANDLE);
        }
        let rc = distarr_free(h);
        self.check_coll("distarr_free", rc, &ex);
        if rc == OK {
            let i = match kind {
                H::Live(i) | H::DeadView(i) => i,
                H::Bad => unreachable!(),
            };
            self.forget(i);
        }
    }

    fn case_meta(&mut self) {
        let (h, kind) = self.handle(true);
        let null_out = self.chance(1, 6);
        let mut ex = Expect::ok();
        let i = Fuzz::use_handle(&mut ex, kind);
        if null_out {
            ex.bad(ERR_NULL);
        }
        self.what = format!("metadata of {h:#x} ({kind:?}) null out {null_out}");
        let (mut nd, mut dt, mut sz, mut seg) = (-7i32, -7i32, -7i64, 0u32);
        let seg_rc;
        let np = |p: *mut i32| if null_out { null_mut() } else { p };
        // SAFETY: NULL or pointers to locals.
        unsafe {
            let rc = distarr_ndim(h, np(&mut nd));
            self.check_rc("distarr_ndim", rc, &ex);
            let rc = distarr_dtype(h, np(&mut dt));
            self.check_rc("distarr_dtype", rc, &ex);
            let rc = distarr_size(h, if null_out { null_mut() } else { &mut sz });
            self.check_rc("distarr_size", rc, &ex);
            let rc = distarr_segment(h, if null_out { null_mut() } else { &mut seg });
            // Without a sync after the operation that computed it (SPMD, several ranks): refused.
            let mut exs = ex.clone();
            if self.spmd && self.np > 1 && self.dirty {
                exs.maybe(ERR_ARG);
            }
            self.check_rc("distarr_segment", rc, &exs);
            seg_rc = rc;
        }
        if let (Some(i), false) = (i, null_out) {
            let a = self.arrays[i].clone();
            if nd as usize != a.ndim() || dt != a.dt.code() || sz as usize != a.size() {
                self.fail(format!(
                    "metadata: ndim {nd} dtype {dt} size {sz}; model {} {:?} {}",
                    a.ndim(),
                    a.dt,
                    a.size()
                ));
            }
            // distarr_shape with a NULL buffer: refused unless 0-d.
            let mut ex = Expect::ok();
            if a.ndim() > 0 {
                ex.bad(ERR_NULL);
            }
            // SAFETY: NULL is allowed by the contract (checked).
            let rc = unsafe { distarr_shape(h, null_mut()) };
            self.check_rc("distarr_shape", rc, &ex);
            // segment bytes: get from the segment with a bad offset is refused
            if seg_rc != OK {
                return;
            }
            let mut byte = 0u8;
            // SAFETY: one writable byte.
            let rc = unsafe { distarr_get((&mut byte as *mut u8).cast(), 0, seg, u64::MAX, 1) };
            let mut ex = Expect::ok();
            ex.bad(ERR_BOUNDS);
            self.check_rc("distarr_get", rc, &ex);
        }
    }

    fn case_fill(&mut self) {
        let (h, kind) = self.handle(true);
        let mut ex = Expect::ok();
        let i = Fuzz::use_handle(&mut ex, kind);
        self.writes(&mut ex, i);
        let null = self.chance(1, 6);
        if null {
            ex.bad(ERR_NULL);
        }
        let v = small(&mut self.rng);
        let dt = i.map_or(Dt::C128, |i| self.arrays[i].dt);
        let stored = dt.store(v);
        let b = dt.encode(stored.unwrap_or(0));
        self.what = format!("fill {h:#x} ({kind:?}) with {v} null {null}");
        if self.chance(1, 5) {
            // random values instead
            let rc = if self.chance(1, 2) {
                distarr_random(h, self.rng.next_u64())
            } else {
                distarr_random_normal(h, self.rng.next_u64())
            };
            let mut ex2 = Expect::ok();
            Fuzz::use_handle(&mut ex2, kind);
            self.writes(&mut ex2, i);
            self.check_coll("distarr_random", rc, &ex2);
            if let (OK, Some(i)) = (rc, i) {
                let a = self.arrays[i].clone();
                write(&a, &vec![None; a.size()], &mut self.storages);
                self.wrote();
            }
            return;
        }
        let p = if null { std::ptr::null() } else { b.as_ptr().cast() };
        // SAFETY: NULL or one element of the dtype.
        let rc = unsafe { distarr_fill(h, p) };
        self.check_coll("distarr_fill", rc, &ex);
        if let (OK, Some(i)) = (rc, i) {
            let a = self.arrays[i].clone();
            write(&a, &vec![stored; a.size()], &mut self.storages);
            self.wrote();
        }
    }

    /// Whether array `i` is a broadcast view (several elements are one element of memory):
    /// collective operations refuse to write it (`DISTARR_ERR_ARG`, NumPy's read-only view).
    fn dups(&self, i: usize) -> bool {
        let mut seen = std::collections::HashSet::new();
        !self.arrays[i].pos.iter().all(|p| seen.insert(*p))
    }

    /// `ex` for writing array `i` (when it is a broadcast view: the documented refusal).
    fn writes(&self, ex: &mut Expect, i: Option<usize>) {
        if let Some(i) = i {
            if self.dups(i) {
                ex.maybe(ERR_ARG);
            }
        }
    }

    /// An existing live array of `dt` and `shape` (sometimes), else a new one.
    fn out_for(&mut self, shape: &[usize], dt: Dt) -> usize {
        let cands: Vec<usize> = self
            .live_indices()
            .into_iter()
            .filter(|&i| self.arrays[i].shape == shape && self.arrays[i].dt == dt && !self.dups(i))
            .collect();
        if !cands.is_empty() && self.chance(2, 3) {
            return self.pick(&cands);
        }
        self.create_with(shape.to_vec(), dt, false)
    }

    fn case_copy(&mut self) {
        let (d, dk) = self.handle(true);
        let (s, sk) = if self.chance(1, 5) { (d, dk) } else { self.handle(true) };
        let mut ex = Expect::ok();
        let di = Fuzz::use_handle(&mut ex, dk);
        let si = Fuzz::use_handle(&mut ex, sk);
        self.writes(&mut ex, di);
        let mut vals = None;
        if let (Some(di), Some(si)) = (di, si) {
            let (da, sa) = (self.arrays[di].clone(), self.arrays[si].clone());
            match broadcast_values(&sa, &da.shape, &self.storages) {
                None => ex.bad(ERR_SHAPE),
                Some(v) => {
                    vals = Some(
                        v.into_iter()
                            .map(|x| x.and_then(|x| da.dt.cast_from(sa.dt, x)))
                            .collect::<Vec<_>>(),
                    )
                }
            }
        }
        self.what = format!("copy {d:#x} ({dk:?}) <- {s:#x} ({sk:?})");
        let rc = distarr_copy(d, s);
        self.check_coll("distarr_copy", rc, &ex);
        if let (OK, Some(di), Some(v)) = (rc, di, vals) {
            let da = self.arrays[di].clone();
            write(&da, &v, &mut self.storages);
            self.wrote();
        }
    }

    fn case_unary(&mut self) {
        if self.chance(1, 2) {
            // Checked: negative, absolute, square of an integer or float array.
            let Some(x) = self.any_live() else { return };
            let xa = self.arrays[x].clone();
            if !(xa.dt.is_int() || xa.dt.is_float()) {
                return;
            }
            let op = self.pick(&[DISTARR_UFUNC_NEGATIVE, DISTARR_UFUNC_ABSOLUTE, DISTARR_UFUNC_SQUARE]);
            let o = if self.chance(1, 3) {
                x
            } else {
                self.out_for(&xa.shape.clone(), xa.dt)
            };
            let oa = self.arrays[o].clone();
            let res: Vec<Option<i128>> = values(&xa, &self.storages)
                .into_iter()
                .map(|v| {
                    v.and_then(|v| {
                        let r = match op {
                            DISTARR_UFUNC_NEGATIVE => -v,
                            DISTARR_UFUNC_ABSOLUTE => v.abs(),
                            _ => v.checked_mul(v)?,
                        };
                        xa.dt.store(r)
                    })
                })
                .collect();
            self.what = format!("unary {op} {:#x} -> {:#x}", xa.h, oa.h);
            let rc = distarr_unary(op, oa.h, xa.h);
            let mut ex = Expect::ok();
            self.writes(&mut ex, Some(o));
            self.check_coll("distarr_unary", rc, &ex);
            write(&oa, &res, &mut self.storages);
            self.wrote();
            return;
        }
        let op = if self.chance(3, 4) {
            64 + self.rng.below(31) as i32
        } else {
            wild_i32(&mut self.rng)
        };
        let (x, xk) = self.handle(true);
        let (o, ok) = self.handle_like(xk);
        let mut ex = Expect::ok();
        let oi = Fuzz::use_handle(&mut ex, ok);
        let xi = Fuzz::use_handle(&mut ex, xk);
        self.writes(&mut ex, oi);
        if !(64..=94).contains(&op) {
            ex.bad(ERR_OP);
        }
        if let (Some(oi), Some(xi)) = (oi, xi) {
            if self.arrays[oi].shape != self.arrays[xi].shape {
                ex.bad(ERR_SHAPE);
            }
        }
        // Type rules are NumPy's: any of these may refuse a dtype combination.
        ex.maybe(ERR_DTYPE);
        ex.maybe(ERR_UNSUPPORTED);
        self.what = format!("hostile unary {op} {o:#x} ({ok:?}) <- {x:#x} ({xk:?})");
        let rc = distarr_unary(op, o, x);
        self.check_coll("distarr_unary", rc, &ex);
        if let (OK, Some(oi)) = (rc, oi) {
            let oa = self.arrays[oi].clone();
            write(&oa, &vec![None; oa.size()], &mut self.storages);
            self.wrote();
        }
    }

    fn case_binary(&mut self) {
        if self.chance(1, 2) {
            self.binary_checked();
            return;
        }
        let op = if self.chance(3, 4) {
            self.rng.below(23) as i32
        } else {
            wild_i32(&mut self.rng)
        };
        let (x, xk) = self.handle(true);
        let (o, ok) = self.handle_like(xk);
        let (y, yk) = self.handle_like(xk);
        let mut ex = Expect::ok();
        let oi = Fuzz::use_handle(&mut ex, ok);
        let xi = Fuzz::use_handle(&mut ex, xk);
        let yi = Fuzz::use_handle(&mut ex, yk);
        self.writes(&mut ex, oi);
        if !(0..=22).contains(&op) {
            ex.bad(ERR_OP);
        }
        if let (Some(oi), Some(xi), Some(yi)) = (oi, xi, yi) {
            match broadcast(&self.arrays[xi].shape, &self.arrays[yi].shape) {
                Some(s) if broadcast(&s, &self.arrays[oi].shape).as_deref() == Some(&self.arrays[oi].shape[..]) => {}
                _ => ex.bad(ERR_SHAPE),
            }
        }
        ex.maybe(ERR_DTYPE);
        // integer power with negative exponents
        if op == DISTARR_UFUNC_POWER {
            ex.maybe(ERR_ARG);
        }
        self.what = format!("hostile binary {op} {o:#x} ({ok:?}) <- {x:#x} ({xk:?}), {y:#x} ({yk:?})");
        let rc = distarr_binary(op, o, x, y);
        self.check_coll("distarr_binary", rc, &ex);
        if let (OK, Some(oi)) = (rc, oi) {
            let oa = self.arrays[oi].clone();
            write(&oa, &vec![None; oa.size()], &mut self.storages);
            self.wrote();
        }
    }

    /// add/subtract/multiply/maximum/minimum/less/equal of two arrays of one integer or float
    /// dtype, broadcast, into a new or existing `out` (maybe an input): checked values.
    fn binary_checked(&mut self) {
        let Some(x) = self.any_live() else { return };
        let xa = self.arrays[x].clone();
        if !(xa.dt.is_int() || xa.dt.is_float()) {
            return;
        }
        let ys: Vec<usize> = self
            .live_indices()
            .into_iter()
            .filter(|&i| self.arrays[i].dt == xa.dt && broadcast(&xa.shape, &self.arrays[i].shape).is_some())
            .collect();
        let y = self.pick(&ys);
        let ya = self.arrays[y].clone();
        let shape = broadcast(&xa.shape, &ya.shape).expect("filtered");
        let op = self.pick(&[
            DISTARR_UFUNC_ADD,
            DISTARR_UFUNC_SUBTRACT,
            DISTARR_UFUNC_MULTIPLY,
            DISTARR_UFUNC_MAXIMUM,
            DISTARR_UFUNC_MINIMUM,
            DISTARR_UFUNC_LESS,
            DISTARR_UFUNC_EQUAL,
        ]);
        let cmp = matches!(op, DISTARR_UFUNC_LESS | DISTARR_UFUNC_EQUAL);
        let odt = if cmp { Dt::Bool } else { xa.dt };
        let o = if !cmp && shape == xa.shape && self.chance(1, 3) {
            x
        } else {
            self.out_for(&shape, odt)
        };
        let oa = self.arrays[o].clone();
        let xv = broadcast_values(&xa, &shape, &self.storages).expect("broadcast");
        let yv = broadcast_values(&ya, &shape, &self.storages).expect("broadcast");
        let res: Vec<Option<i128>> = xv
            .iter()
            .zip(&yv)
            .map(|(a, b)| {
                let (a, b) = ((*a)?, (*b)?);
                let r = match op {
                    DISTARR_UFUNC_ADD => a + b,
                    DISTARR_UFUNC_SUBTRACT => a - b,
                    DISTARR_UFUNC_MULTIPLY => {
                        if xa.dt.is_int() {
                            a.wrapping_mul(b)
                        } else {
                            a.checked_mul(b)?
                        }
                    }
                    DISTARR_UFUNC_MAXIMUM => a.max(b),
                    DISTARR_UFUNC_MINIMUM => a.min(b),
                    DISTARR_UFUNC_LESS => i128::from(a < b),
                    _ => i128::from(a == b),
                };
                odt.store(r)
            })
            .collect();
        self.what = format!(
            "binary {op} {:#x} <- {:#x} {:?}, {:#x} {:?}",
            oa.h, xa.h, xa.shape, ya.h, ya.shape
        );
        let rc = distarr_binary(op, oa.h, xa.h, ya.h);
        let mut ex = Expect::ok();
        self.writes(&mut ex, Some(o));
        self.check_coll("distarr_binary", rc, &ex);
        write(&oa, &res, &mut self.storages);
        self.wrote();
        if self.chance(1, 3) {
            self.verify_gather(o);
        }
    }

    fn case_binary_scalar(&mut self) {
        let (x, xk) = self.handle(true);
        let (o, ok) = self.handle_like(xk);
        let op = if self.chance(4, 5) {
            self.rng.below(23) as i32
        } else {
            wild_i32(&mut self.rng)
        };
        let sdt = if self.chance(5, 6) {
            self.rng.below(10) as i32
        } else {
            wild_i32(&mut self.rng)
        };
        let null = self.chance(1, 8);
        let mut ex = Expect::ok();
        let oi = Fuzz::use_handle(&mut ex, ok);
        let xi = Fuzz::use_handle(&mut ex, xk);
        self.writes(&mut ex, oi);
        if !(0..=22).contains(&op) {
            ex.bad(ERR_OP);
        }
        if Dt::from_code(sdt).is_none() {
            ex.bad(ERR_DTYPE);
        }
        if null {
            ex.bad(ERR_NULL);
        }
        if let (Some(oi), Some(xi)) = (oi, xi) {
            if broadcast(&self.arrays[xi].shape, &self.arrays[oi].shape).as_deref() != Some(&self.arrays[oi].shape[..])
            {
                ex.bad(ERR_SHAPE);
            }
        }
        ex.maybe(ERR_DTYPE);
        if op == DISTARR_UFUNC_POWER {
            ex.maybe(ERR_ARG);
        }
        let v = [3u8; 16];
        let first = self.rng.below(3) as i32 - 1;
        self.what = format!("binary_scalar {op} {o:#x} ({ok:?}) <- {x:#x} ({xk:?}) dtype {sdt} first {first}");
        let p = if null { std::ptr::null() } else { v.as_ptr().cast() };
        // SAFETY: NULL or 16 readable bytes (enough for any dtype).
        let rc = unsafe { distarr_binary_scalar(op, o, x, p, sdt, first) };
        self.check_coll("distarr_binary_scalar", rc, &ex);
        if let (OK, Some(oi)) = (rc, oi) {
            let oa = self.arrays[oi].clone();
            write(&oa, &vec![None; oa.size()], &mut self.storages);
            self.wrote();
        }
    }

    /// A live bool array of `shape` with random values (new).
    fn mask_for(&mut self, shape: &[usize]) -> usize {
        let m = self.create_with(shape.to_vec(), Dt::Bool, false);
        if self.arrays[m].size() > 0 {
            self.scatter_random(m);
        }
        m
    }

    fn case_where(&mut self) {
        if self.chance(1, 2) {
            // Checked: a[mask] = s as where_scalar(a, mask, a, s, dtype(a), first=1).
            let Some(a) = self.any_live() else { return };
            let aa = self.arrays[a].clone();
            if aa.dt.is_complex() {
                return;
            }
            let m = self.mask_for(&aa.shape.clone());
            let ma = self.arrays[m].clone();
            let s = aa.dt.store(small(&mut self.rng)).unwrap_or(0);
            let b = aa.dt.encode(s);
            let mv = values(&ma, &self.storages);
            let av = values(&aa, &self.storages);
            let res: Vec<Option<i128>> = mv
                .iter()
                .zip(&av)
                .map(|(m, v)| match m {
                    Some(0) => *v,
                    Some(_) => Some(s),
                    None => None,
                })
                .collect();
            self.what = format!("where_scalar {:#x} mask {:#x} <- {s}", aa.h, ma.h);
            // SAFETY: `b` holds one element of a's dtype.
            let rc = unsafe { distarr_where_scalar(aa.h, ma.h, aa.h, b.as_ptr().cast(), aa.dt.code(), 1) };
            let mut ex = Expect::ok();
            self.writes(&mut ex, Some(a));
            self.check_coll("distarr_where_scalar", rc, &ex);
            write(&aa, &res, &mut self.storages);
            self.wrote();
            return;
        }
        let (x, xk) = self.handle(true);
        let (o, ok) = self.handle_like(xk);
        let (c, ck) = self.handle_like(xk);
        let (y, yk) = self.handle_like(xk);
        let mut ex = Expect::ok();
        let oi = Fuzz::use_handle(&mut ex, ok);
        let ci = Fuzz::use_handle(&mut ex, ck);
        let xi = Fuzz::use_handle(&mut ex, xk);
        self.writes(&mut ex, oi);
        let scalar = self.chance(1, 2);
        let yi = if scalar { None } else { Fuzz::use_handle(&mut ex, yk) };
        if let (Some(oi), Some(ci), Some(xi)) = (oi, ci, xi) {
            let os = self.arrays[oi].shape.clone();
            let mut s = broadcast(&self.arrays[ci].shape, &self.arrays[xi].shape);
            if let (Some(yi), Some(sh)) = (yi, s.clone()) {
                s = broadcast(&sh, &self.arrays[yi].shape);
            }
            if !scalar && yi.is_none() {
                // y was bad: its code is already expected
            } else if s.and_then(|s| broadcast(&s, &os)).as_deref() != Some(&os[..]) {
                ex.bad(ERR_SHAPE);
            }
        }
        ex.maybe(ERR_DTYPE);
        self.what =
            format!("hostile where {o:#x} ({ok:?}) {c:#x} ({ck:?}) {x:#x} ({xk:?}) {y:#x} ({yk:?}) scalar {scalar}");
        let rc = if scalar {
            let sdt = if self.chance(5, 6) {
                self.rng.below(10) as i32
            } else {
                wild_i32(&mut self.rng)
            };
            if Dt::from_code(sdt).is_none() {
                ex.bad(ERR_DTYPE);
            }
            let null = self.chance(1, 8);
            if null {
                ex.bad(ERR_NULL);
            }
            let v = [1u8; 16];
            let p = if null { std::ptr::null() } else { v.as_ptr().cast() };
            // SAFETY: NULL or 16 readable bytes.
            unsafe { distarr_where_scalar(o, c, x, p, sdt, self.rng.below(2) as i32) }
        } else {
            distarr_where(o, c, x, y)
        };
        self.check_coll("distarr_where", rc, &ex);
        if let (OK, Some(oi)) = (rc, oi) {
            let oa = self.arrays[oi].clone();
            write(&oa, &vec![None; oa.size()], &mut self.storages);
            self.wrote();
        }
    }

    fn case_reduce(&mut self) {
        let ops = [0, 1, 2, 3, 16, 17, 18, 19, 20];
        let op = if self.chance(5, 6) {
            self.pick(&ops)
        } else {
            wild_i32(&mut self.rng)
        };
        let (x, xk) = {
            let h = self.chance(1, 2);
            self.handle(h)
        };
        let mut ex = Expect::ok();
        let xi = Fuzz::use_handle(&mut ex, xk);
        if !ops.contains(&op) {
            ex.bad(ERR_OP);
        }
        // The result dtype: distarr_reduce_dtype against NumPy's table.
        if let Some(xi) = xi {
            let dt = self.arrays[xi].dt;
            let mut got = -1;
            // SAFETY: `got` is writable.
            let rc = unsafe { distarr_reduce_dtype(op, dt.code(), &mut got) };
            let mut rex = Expect::ok();
            if !ops.contains(&op) {
                rex.bad(ERR_OP);
            }
            let want = reduce_result(op, dt);
            if want.is_none() {
                rex.bad(ERR_DTYPE);
            }
            if matches!(op, 17 | 18) && dt.is_complex() {
                rex.maybe(ERR_DTYPE);
            }
            self.check_rc("distarr_reduce_dtype", rc, &rex);
            if rc == OK && Some(got) != want.map(Dt::code) && want.is_some() {
                self.fail(format!("reduce_dtype({op}, {dt:?}) = {got}, NumPy: {want:?}"));
            }
        }
        let axis = if self.chance(1, 2) {
            self.pick(&[-1, DISTARR_AXIS_NONE])
        } else if self.chance(1, 4) {
            wild_i32(&mut self.rng)
        } else {
            self.rng.below(4) as i32
        };
        // -1 is "all elements" here too (kept for compatibility).
        let axis_none = axis == -1 || axis == DISTARR_AXIS_NONE;
        let null_scalar = self.chance(1, 10);
        let mut scalar = [0xEEu8; 17];
        if let Some(xi) = xi {
            let xa = self.arrays[xi].clone();
            let rdt = reduce_result(op, xa.dt);
            if ops.contains(&op) && rdt.is_none() {
                ex.bad(ERR_DTYPE);
            }
            if matches!(op, 17 | 18) && xa.dt.is_complex() {
                ex.maybe(ERR_DTYPE);
            }
            if axis_none {
                if null_scalar {
                    ex.bad(ERR_NULL);
                }
                if matches!(op, 2 | 3 | 17 | 18) && xa.size() == 0 {
                    ex.bad(ERR_ARG);
                }
                self.what = format!("reduce {op} {:#x} {:?} {:?} axis {axis}", xa.h, xa.dt, xa.shape);
                let p = if null_scalar {
                    null_mut()
                } else {
                    scalar[1..].as_mut_ptr().cast()
                };
                // SAFETY: NULL or 16 writable bytes (any result dtype; unaligned on purpose).
                let rc = unsafe { distarr_reduce(op, xa.h, axis, 0, p) };
                self.check_coll("distarr_reduce", rc, &ex);
                if rc == OK {
                    let rdt = rdt.expect("reduce of a valid op and dtype");
                    if let Some(want) = reduce_all(op, &values(&xa, &self.storages), xa.dt, rdt) {
                        self.checks += 1;
                        let got = rdt.decode(&scalar[1..1 + rdt.size()]);
                        if got != Ok(want) {
                            self.fail(format!(
                                "reduce {op} of {:?}: got {got:?}, model {want}",
                                values(&xa, &self.storages)
                            ));
                        }
                    }
                    if scalar[1 + rdt.size()..].iter().any(|&b| b != 0xEE) || scalar[0] != 0xEE {
                        self.fail(format!("reduce wrote beyond its {}-byte result", rdt.size()));
                    }
                }
                return;
            }
            // Along an axis into out.
            let ax = usize::try_from(axis).ok().filter(|&a| a < xa.ndim());
            let mut oshape = xa.shape.clone();
            let (o, oi) = match (ax, rdt) {
                (Some(a), Some(rdt))
                    if op == 0 && self.chance(2, 3) && {
                        // (the sum of an empty [0, 2^40] array has 2^40 elements: not that)
                        let mut s = xa.shape.clone();
                        s.remove(a);
                        size(&s) <= 1 << 16
                    } =>
                {
                    oshape.remove(a);
                    let o = self.out_for(&oshape, rdt);
                    (self.arrays[o].h, Some(o))
                }
                _ => {
                    let (o, ok) = self.handle(true);
                    (o, Fuzz::use_handle(&mut ex, ok))
                }
            };
            if ax.is_none() {
                ex.bad(ERR_ARG);
            }
            self.writes(&mut ex, oi);
            if let (Some(a), Some(oi)) = (ax, oi) {
                let mut s = xa.shape.clone();
                s.remove(a);
                if self.arrays[oi].shape != s {
                    ex.bad(ERR_SHAPE);
                }
                if matches!(op, 2 | 3 | 17 | 18) && xa.shape[a] == 0 && size(&s) > 0 {
                    ex.bad(ERR_ARG);
                }
                ex.maybe(ERR_DTYPE);
                if matches!(op, 2 | 3 | 17 | 18) && xa.shape[a] == 0 {
                    ex.maybe(ERR_ARG);
                }
            }
            self.what = format!(
                "reduce {op} {:#x} {:?} {:?} axis {axis} -> {o:#x}",
                xa.h, xa.dt, xa.shape
            );
            let rc = unsafe_reduce(op, xa.h, axis, o);
            self.check_coll("distarr_reduce", rc, &ex);
            if let (OK, Some(oi)) = (rc, oi) {
                let oa = self.arrays[oi].clone();
                let res = match (op, ax) {
                    (0, Some(a)) if oa.dt == reduce_result(0, xa.dt).unwrap_or(Dt::Bool) => {
                        sum_axis(&xa, a, &self.storages, oa.dt)
                    }
                    _ => vec![None; oa.size()],
                };
                write(&oa, &res, &mut self.storages);
                self.wrote();
                if self.chance(1, 2) && oa.size() > 0 {
                    self.verify_gather(oi);
                }
            }
        } else {
            self.what = format!("reduce {op} of {x:#x} ({xk:?}) axis {axis}");
            let rc = unsafe_reduce(op, x, axis, 0);
            let mut ex2 = ex.clone();
            ex2.maybe(ERR_ARG);
            ex2.maybe(ERR_NULL);
            self.check_coll("distarr_reduce", rc, &ex2);
        }
    }

    fn case_matmul(&mut self) {
        if self.chance(1, 2) {
            // Checked: (n,k)@(k,m) of one integer or float dtype, small values.
            let dt = self.pick(&[Dt::I32, Dt::I64, Dt::U32, Dt::F32, Dt::F64, Dt::U8]);
            let (n, k, m) = (
                1 + self.rng.below(4) as usize,
                self.rng.below(4) as usize,
                1 + self.rng.below(4) as usize,
            );
            let a = self.create_with(vec![n, k], dt, true);
            let b = self.create_with(vec![k, m], dt, true);
            let o = self.out_for(&[n, m], dt);
            let (aa, ba, oa) = (self.arrays[a].clone(), self.arrays[b].clone(), self.arrays[o].clone());
            let av = values(&aa, &self.storages);
            let bv = values(&ba, &self.storages);
            let mut res = Vec::new();
            for i in 0..n {
                for j in 0..m {
                    let mut s: Option<i128> = Some(0);
                    let mut mag: i128 = 0;
                    for t in 0..k {
                        let (x, y) = (av[i * k + t], bv[t * m + j]);
                        s = match (s, x, y) {
                            (Some(s), Some(x), Some(y)) => {
                                mag += (x * y).abs();
                                Some(s + x * y)
                            }
                            _ => None,
                        };
                    }
                    // Floats: exact only while every partial sum is (any order).
                    let exact = !dt.is_float() || mag < (1 << 24);
                    res.push(s.filter(|_| exact).and_then(|s| dt.store(s)));
                }
            }
            self.what = format!(
                "matmul {:#x} <- {:#x} @ {:#x} ({n},{k})@({k},{m}) {dt:?}",
                oa.h, aa.h, ba.h
            );
            let rc = distarr_matmul(oa.h, aa.h, ba.h);
            self.check_coll("distarr_matmul", rc, &Expect::ok());
            write(&oa, &res, &mut self.storages);
            self.wrote();
            self.verify_gather(o);
            return;
        }
        let (o, ok) = self.handle(true);
        let (a, ak) = self.handle(true);
        let (b, bk) = self.handle(true);
        let mut ex = Expect::ok();
        let oi = Fuzz::use_handle(&mut ex, ok);
        let ai = Fuzz::use_handle(&mut ex, ak);
        let bi = Fuzz::use_handle(&mut ex, bk);
        self.writes(&mut ex, oi);
        if let (Some(oi), Some(ai), Some(bi)) = (oi, ai, bi) {
            let sa = &self.arrays[ai].shape;
            let sb = &self.arrays[bi].shape;
            let want = match (sa.len(), sb.len()) {
                (2, 2) if sa[1] == sb[0] => Some(vec![sa[0], sb[1]]),
                (2, 1) if sa[1] == sb[0] => Some(vec![sa[0]]),
                (1, 2) if sa[0] == sb[0] => Some(vec![sb[1]]),
                (1, 1) if sa[0] == sb[0] => Some(vec![]),
                _ => None,
            };
            if want.as_ref() != Some(&self.arrays[oi].shape) {
                ex.bad(ERR_SHAPE);
            }
            // out must not overlap a or b (the caller's duty): then anything but a crash.
            let st = self.arrays[oi].st;
            if st == self.arrays[ai].st || st == self.arrays[bi].st {
                ex.maybe(ERR_ARG);
                ex.maybe(ERR_SHAPE);
            }
        }
        ex.maybe(ERR_DTYPE);
        self.what = format!("hostile matmul {o:#x} ({ok:?}) <- {a:#x} ({ak:?}) @ {b:#x} ({bk:?})");
        let rc = distarr_matmul(o, a, b);
        self.check_coll("distarr_matmul", rc, &ex);
        if let (OK, Some(oi)) = (rc, oi) {
            let oa = self.arrays[oi].clone();
            write(&oa, &vec![None; oa.size()], &mut self.storages);
            self.wrote();
        }
    }

    fn case_mask(&mut self) {
        let Some(a) = self.any_live() else { return };
        let aa = self.arrays[a].clone();
        let checked = self.chance(1, 2);
        let (m, mk) = if checked {
            let m = self.mask_for(&aa.shape);
            (self.arrays[m].h, H::Live(m))
        } else {
            self.handle(true)
        };
        let mut ex = Expect::ok();
        let mi = Fuzz::use_handle(&mut ex, mk);
        if let Some(mi) = mi {
            let ma = &self.arrays[mi];
            if ma.dt != Dt::Bool {
                ex.bad(ERR_DTYPE);
            }
            if broadcast(&ma.shape, &aa.shape).as_deref() != Some(&aa.shape[..]) {
                ex.bad(ERR_SHAPE);
            }
        }
        // The selected positions (C order over a), when the mask's values are known.
        let sel: Option<Vec<usize>> = mi.and_then(|mi| {
            let ma = self.arrays[mi].clone();
            let mv = broadcast_values(&ma, &aa.shape, &self.storages)?;
            mv.iter()
                .enumerate()
                .map(|(k, v)| v.map(|v| (k, v != 0)))
                .collect::<Option<Vec<_>>>()
                .map(|v| v.into_iter().filter(|x| x.1).map(|x| x.0).collect())
        });
        if self.chance(1, 2) {
            let mut h = 0i64;
            let null = self.chance(1, 10);
            if null {
                ex.bad(ERR_NULL);
            }
            self.what = format!("mask_select {:#x} [{m:#x} ({mk:?})]", aa.h);
            let p = if null { null_mut() } else { &mut h as *mut i64 };
            // SAFETY: NULL or writable.
            let rc = unsafe { distarr_mask_select(aa.h, m, p) };
            self.check_coll("distarr_mask_select", rc, &ex);
            if rc == OK {
                let av = values(&aa, &self.storages);
                match &sel {
                    Some(s) => {
                        let vals = s.iter().map(|&k| av[k]).collect();
                        let i = self.add_owner(h, aa.dt, vec![s.len()], vals, DISTARR_LAYOUT_BLOCK, true);
                        let (qdt, qsh) = self.query(h);
                        if qdt != aa.dt || qsh != vec![s.len()] {
                            self.fail(format!("mask_select gave {qdt:?} {qsh:?}"));
                        }
                        self.verify_gather(i);
                    }
                    None => {
                        self.add_unknown(h);
                    }
                }
                self.wrote();
            }
            return;
        }
        // a[mask] = values: a compacted vector of the right length, or a broadcastable array.
        let (v, vk, vi) = match (&sel, self.chance(2, 3)) {
            (Some(s), true) => {
                let n = s.len();
                let vdt = self.dtype();
                let v = self.create_with(vec![n], vdt, true);
                (self.arrays[v].h, H::Live(v), Some(v))
            }
            _ => {
                let (v, vk) = self.handle(true);
                let vi = Fuzz::use_handle(&mut ex, vk);
                (v, vk, vi)
            }
        };
        let mut res = None;
        if let (Some(vi), Some(s)) = (vi, &sel) {
            let va = self.arrays[vi].clone();
            let mut out = values(&aa, &self.storages);
            if va.ndim() == 1 && va.shape[0] == s.len() {
                let vv = values(&va, &self.storages);
                for (j, &k) in s.iter().enumerate() {
                    out[k] = vv[j].and_then(|x| aa.dt.cast_from(va.dt, x));
                }
                res = Some(out);
            } else if let Some(bv) = broadcast_values(&va, &aa.shape, &self.storages) {
                for &k in s {
                    out[k] = bv[k].and_then(|x| aa.dt.cast_from(va.dt, x));
                }
                res = Some(out);
            } else {
                ex.bad(ERR_SHAPE);
            }
        } else {
            ex.maybe(ERR_SHAPE);
        }
        self.writes(&mut ex, Some(a));
        self.what = format!("mask_assign {:#x} [{m:#x} ({mk:?})] = {v:#x} ({vk:?})", aa.h);
        let rc = distarr_mask_assign(aa.h, m, v);
        self.check_coll("distarr_mask_assign", rc, &ex);
        if rc == OK {
            let vals = res.unwrap_or_else(|| vec![None; aa.size()]);
            write(&aa, &vals, &mut self.storages);
            self.wrote();
            if self.chance(1, 2) {
                self.verify_gather(a);
            }
        }
    }

    fn case_roll(&mut self) {
        let Some(a) = self.any_live() else { return };
        let aa = self.arrays[a].clone();
        let checked = self.chance(2, 3);
        let shift = if self.chance(1, 5) {
            wild_i64(&mut self.rng)
        } else {
            self.rng.below(15) as i64 - 7
        };
        let axis = if self.chance(1, 3) {
            DISTARR_AXIS_NONE
        } else if self.chance(1, 4) {
            wild_i32(&mut self.rng)
        } else {
            self.rng.below(7) as i32 - 3
        };
        let mut ex = Expect::ok();
        let nd = aa.ndim() as i64;
        let ax = if axis == DISTARR_AXIS_NONE {
            None
        } else {
            let x = i64::from(axis);
            let x = if x < 0 { x + nd } else { x };
            if !(0..nd).contains(&x) {
                ex.bad(ERR_ARG);
            }
            Some(x as usize)
        };
        let (o, oi) = if checked {
            let o = if self.chance(1, 3) {
                a
            } else {
                self.out_for(&aa.shape, aa.dt)
            };
            (self.arrays[o].h, Some(o))
        } else {
            let (o, ok) = self.handle(true);
            (o, Fuzz::use_handle(&mut ex, ok))
        };
        if let Some(oi) = oi {
            if self.arrays[oi].shape != aa.shape {
                ex.bad(ERR_SHAPE);
            }
        }
        self.writes(&mut ex, oi);
        self.what = format!("roll {o:#x} <- {:#x} {:?} shift {shift} axis {axis}", aa.h, aa.shape);
        let rc = distarr_roll(o, aa.h, shift, axis);
        self.check_coll("distarr_roll", rc, &ex);
        if let (OK, Some(oi)) = (rc, oi) {
            let oa = self.arrays[oi].clone();
            let av = values(&aa, &self.storages);
            let idxs = indices(&aa.shape);
            let n = av.len();
            let mut res = vec![None; n];
            for (k, idx) in idxs.iter().enumerate() {
                let dst = match ax {
                    None => (k as i128 + shift as i128).rem_euclid(n as i128) as usize,
                    Some(d) => {
                        let mut j = idx.clone();
                        j[d] = (idx[d] as i128 + shift as i128).rem_euclid(aa.shape[d] as i128) as usize;
                        j.iter().zip(c_strides(&aa.shape)).map(|(&i, s)| i * s as usize).sum()
                    }
                };
                res[dst] = av[k].and_then(|v| oa.dt.cast_from(aa.dt, v));
            }
            write(&oa, &res, &mut self.storages);
            self.wrote();
            if self.chance(1, 2) {
                self.verify_gather(oi);
            }
        }
    }

    fn case_concat(&mut self) {
        let n = if self.chance(1, 6) {
            self.pick(&[0, -1, i32::MIN, 100])
        } else {
            1 + self.rng.below(3) as i32
        };
        let axis = if self.chance(1, 3) {
            DISTARR_AXIS_NONE
        } else if self.chance(1, 5) {
            wild_i32(&mut self.rng)
        } else {
            self.rng.below(5) as i32 - 2
        };
        let mut ex = Expect::ok();
        let mut hs = Vec::new();
        let mut idx = Vec::new();
        let first = self.any_live();
        let count = usize::try_from(n).unwrap_or(0).min(4);
        for k in 0..count {
            // Same-shaped arrays (likely compatible) or anything.
            let (h, kind) = match (first, self.chance(2, 3)) {
                (Some(f), true) if k > 0 => {
                    let sh = self.arrays[f].shape.clone();
                    let dt = self.arrays[f].dt;
                    let i = self.out_for(&sh, dt);
                    (self.arrays[i].h, H::Live(i))
                }
                (Some(f), true) => (self.arrays[f].h, H::Live(f)),
                _ => self.handle(true),
            };
            hs.push(h);
            idx.push(Fuzz::use_handle(&mut ex, kind));
        }
        let null = n >= 1 && self.chance(1, 10);
        if n < 1 {
            ex.bad(ERR_ARG);
        }
        if null {
            ex.bad(ERR_NULL);
        }
        if n > 4 {
            // reads only `n` handles: give it the room
            hs.resize(n as usize, 0);
            ex.bad(ERR_HANDLE);
        }
        let mut expected_shape = None;
        if n >= 1 && idx.iter().all(Option::is_some) && !idx.is_empty() {
            let arrs: Vec<Arr> = idx.iter().map(|i| self.arrays[i.expect("some")].clone()).collect();
            let nd = arrs[0].ndim();
            if axis == DISTARR_AXIS_NONE {
                expected_shape = Some(vec![arrs.iter().map(|a| a.size()).sum::<usize>()]);
            } else if nd == 0 {
                ex.bad(ERR_SHAPE);
                ex.maybe(ERR_ARG);
            } else {
                let x = i64::from(axis);
                let x = if x < 0 { x + nd as i64 } else { x };
                if !(0..nd as i64).contains(&x) {
                    ex.bad(ERR_ARG);
                    ex.maybe(ERR_SHAPE);
                } else {
                    let x = x as usize;
                    let ok = arrs
                        .iter()
                        .all(|a| a.ndim() == nd && (0..nd).all(|d| d == x || a.shape[d] == arrs[0].shape[d]));
                    if ok {
                        let mut s = arrs[0].shape.clone();
                        let total = arrs.iter().try_fold(0usize, |t, a| t.checked_add(a.shape[x]));
                        s[x] = total.unwrap_or(usize::MAX);
                        if total.is_none() || s.iter().try_fold(1usize, |n, &d| n.checked_mul(d)).is_none() {
                            ex.bad(ERR_SHAPE);
                        } else {
                            expected_shape = Some(s);
                        }
                    } else {
                        ex.bad(ERR_SHAPE);
                    }
                }
            }
        }
        let mut h = 0i64;
        self.what = format!("concatenate {n} {hs:x?} axis {axis}");
        let p = if null { std::ptr::null() } else { hs.as_ptr() };
        // SAFETY: NULL or `n` (when positive) readable handles; `h` writable.
        let rc = unsafe { distarr_concatenate(n, p, axis, &mut h) };
        self.check_coll("distarr_concatenate", rc, &ex);
        if rc == OK {
            let i = self.add_unknown(h);
            if let Some(s) = expected_shape {
                if self.arrays[i].shape != s {
                    self.fail(format!(
                        "concatenate gave shape {:?}, NumPy {s:?}",
                        self.arrays[i].shape
                    ));
                }
            }
            // Values: C-order concatenation when all have one dtype.
            let arrs: Vec<Arr> = idx.iter().map(|i| self.arrays[i.expect("ok")].clone()).collect();
            if arrs.iter().all(|a| a.dt == arrs[0].dt) && self.arrays[i].dt == arrs[0].dt {
                let out = self.arrays[i].clone();
                let vals = concat_values(&arrs, axis, &out.shape, &self.storages);
                write(&out, &vals, &mut self.storages);
                self.verify_gather(i);
            }
            self.wrote();
        }
    }

    fn case_view(&mut self) {
        let (a, ak) = {
            let h = self.chance(1, 3);
            self.handle(h)
        };
        let mut ex = Expect::ok();
        let ai = Fuzz::use_handle(&mut ex, ak);
        let Some(ai) = ai else {
            let mut h = 0i64;
            self.what = format!("view of {a:#x} ({ak:?})");
            // SAFETY: `h` writable; NULL bounds are allowed.
            let rc = unsafe { distarr_view(a, 0, null(), null(), null(), &mut h) };
            let mut ex2 = ex.clone();
            ex2.maybe(ERR_ARG);
            self.check_coll("distarr_view", rc, &ex2);
            return;
        };
        let aa = self.arrays[ai].clone();
        let mut h = 0i64;
        let kind = self.rng.below(7);
        match kind {
            0 | 1 => {
                // distarr_view: slices over the first n dimensions
                let n = if self.chance(1, 8) {
                    wild_i32(&mut self.rng)
                } else {
                    self.rng.below(aa.ndim() as u64 + 1) as i32
                };
                // Room for every dimension (views have up to 64).
                let m = aa.ndim().max(1);
                let bounds: Vec<i64> = (0..2 * m).map(|_| self.bound()).collect();
                let steps: Vec<i64> = (0..m).map(|_| self.step()).collect();
                let (snull, tnull, stnull) = (self.chance(1, 5), self.chance(1, 5), self.chance(1, 5));
                if !(0..=aa.ndim() as i32).contains(&n) {
                    ex.bad(ERR_ARG);
                }
                let nn = usize::try_from(n).unwrap_or(0).min(m);
                if !stnull && steps[..nn].contains(&0) {
                    ex.bad(ERR_ARG);
                }
                let items: Vec<Item> = (0..nn)
                    .map(|k| {
                        let b = |v: i64, null: bool| (!null && v != DISTARR_SLICE_NONE).then_some(v as i128);
                        Item::Range(
                            b(bounds[k], snull),
                            b(bounds[m + k], tnull),
                            if stnull { 1 } else { steps[k] as i128 },
                        )
                    })
                    .collect();
                self.what = format!(
                    "view {:#x} {:?} n {n} start {:?} stop {:?} step {:?} nulls {snull} {tnull} {stnull}",
                    aa.h,
                    aa.shape,
                    &bounds[..m],
                    &bounds[m..],
                    steps
                );
                let starts = &bounds[..m];
                let stops = &bounds[m..];
                // SAFETY: non-NULL arrays hold ndim entries (n is refused beyond); `h` writable.
                let rc = unsafe {
                    distarr_view(
                        aa.h,
                        n,
                        if snull { null() } else { starts.as_ptr() },
                        if tnull { null() } else { stops.as_ptr() },
                        if stnull { null() } else { steps.as_ptr() },
                        &mut h,
                    )
                };
                self.check_coll("distarr_view", rc, &ex);
                if rc == OK {
                    let v =
                        index_view(&aa, &items).unwrap_or_else(|c| self.fail(format!("model refuses the view ({c})")));
                    self.add_view(h, v);
                }
            }
            2 => {
                // distarr_index with random items
                let nitems = if self.chance(1, 10) {
                    self.pick(&[-1, 65, 64, i32::MAX])
                } else {
                    self.rng.below(6) as i32
                };
                let cnt = usize::try_from(nitems).unwrap_or(0).min(70);
                let mut kinds: Vec<i32> = (0..cnt).map(|_| self.rng.below(4) as i32).collect();
                if self.chance(1, 6) && cnt > 0 {
                    let k = self.rng.below(cnt as u64) as usize;
                    kinds[k] = wild_i32(&mut self.rng);
                }
                // a few ellipses at most
                let starts: Vec<i64> = (0..cnt).map(|_| self.bound()).collect();
                let stops: Vec<i64> = (0..cnt).map(|_| self.bound()).collect();
                let steps: Vec<i64> = (0..cnt).map(|_| self.step()).collect();
                let knull = cnt > 0 && self.chance(1, 10);
                if !(0..=64).contains(&nitems) {
                    ex.bad(ERR_ARG);
                }
                if knull {
                    ex.bad(ERR_NULL);
                }
                let mut items = Vec::new();
                let mut model_err = None;
                for k in 0..cnt {
                    items.push(match kinds[k] {
                        0 => Item::Range(
                            (starts[k] != DISTARR_SLICE_NONE).then_some(starts[k] as i128),
                            (stops[k] != DISTARR_SLICE_NONE).then_some(stops[k] as i128),
                            steps[k] as i128,
                        ),
                        1 if starts[k] == DISTARR_SLICE_NONE => {
                            model_err.get_or_insert(ERR_ARG);
                            Item::NewAxis
                        }
                        1 => Item::Int(starts[k] as i128),
                        2 => Item::NewAxis,
                        3 => Item::Ellipsis,
                        _ => {
                            model_err.get_or_insert(ERR_ARG);
                            Item::NewAxis
                        }
                    });
                }
                let result = if (0..=64).contains(&nitems) && !knull {
                    match (model_err, index_view(&aa, &items)) {
                        (Some(e), r) => {
                            // an unknown kind or a missing integer, and maybe more
                            ex.bad(e);
                            if let Err(c) = r {
                                ex.maybe(c);
                            }
                            ex.maybe(ERR_BOUNDS);
                            ex.maybe(ERR_ARG);
                            None
                        }
                        (None, Err(c)) => {
                            ex.bad(c);
                            // several defects: any of their codes
                            ex.maybe(ERR_ARG);
                            ex.maybe(ERR_BOUNDS);
                            ex.may_pass = false;
                            None
                        }
                        (None, Ok(v)) => Some(v),
                    }
                } else {
                    None
                };
                // Views of up to 64 dimensions (NumPy's limit), more refused.
                let result = match result {
                    Some(v) if v.ndim() > 64 => {
                        ex.bad(ERR_BOUNDS);
                        None
                    }
                    r => r,
                };
                self.what = format!(
                    "index {:#x} {:?} nitems {nitems} kinds {kinds:?} start {starts:?} stop {stops:?} step {steps:?} knull {knull}",
                    aa.h, aa.shape
                );
                // SAFETY: arrays hold `cnt >= nitems` (when in range) entries; `h` writable.
                let rc = unsafe {
                    distarr_index(
                        aa.h,
                        nitems,
                        if knull { null() } else { kinds.as_ptr() },
                        starts.as_ptr(),
                        stops.as_ptr(),
                        steps.as_ptr(),
                        &mut h,
                    )
                };
                self.check_coll("distarr_index", rc, &ex);
                if rc == OK {
                    let v = result.unwrap_or_else(|| self.fail("the model refuses this index".into()));
                    self.add_view(h, v);
                }
            }
            3 => {
                // transpose or permute
                let nd = aa.ndim();
                let mut axes: Vec<i64> = (0..nd as i64).collect();
                for k in (1..nd).rev() {
                    let j = self.rng.below(k as u64 + 1) as usize;
                    axes.swap(k, j);
                }
                let mut ndim = nd as i32;
                let mut anull = false;
                match self.rng.below(6) {
                    0 if nd > 0 => {
                        let k = self.rng.below(nd as u64) as usize;
                        axes[k] = wild_i64(&mut self.rng);
                        ex.maybe(ERR_ARG);
                    }
                    1 if nd > 1 => {
                        axes[0] = axes[1];
                        ex.bad(ERR_ARG);
                    }
                    2 => {
                        ndim = self.pick(&[nd as i32 + 1, -1, 65]);
                        ex.bad(ERR_ARG);
                        if ndim == nd as i32 + 1 {
                            axes.push(nd as i64);
                        }
                    }
                    3 if nd > 0 => {
                        anull = true;
                        ex.bad(ERR_NULL);
                    }
                    4 => {
                        // negative axes count from the end
                        for x in &mut axes {
                            *x -= nd as i64;
                        }
                    }
                    _ => {}
                }
                let perm: Option<Vec<usize>> = if ex.clean() || ex.may_pass {
                    let p: Option<Vec<usize>> = axes
                        .iter()
                        .map(|&x| {
                            let x = if x < 0 { x.checked_add(nd as i64)? } else { x };
                            usize::try_from(x).ok().filter(|&x| x < nd)
                        })
                        .collect();
                    match p {
                        Some(p) if p.len() == nd && (0..nd).all(|k| p.contains(&k)) && ndim == nd as i32 && !anull => {
                            ex.codes.clear();
                            ex.may_pass = false;
                            Some(p)
                        }
                        _ => {
                            ex.bad(ERR_ARG);
                            ex.may_pass = false;
                            None
                        }
                    }
                } else {
                    None
                };
                let transpose = ex.clean() && self.chance(1, 3);
                self.what = format!(
                    "permute {:#x} {:?} ndim {ndim} axes {axes:?} null {anull}",
                    aa.h, aa.shape
                );
                // SAFETY: `axes` holds ndim entries (when in range) or is NULL; `h` writable.
                let rc = unsafe {
                    if transpose {
                        distarr_transpose(aa.h, &mut h)
                    } else {
                        distarr_permute(aa.h, ndim, if anull { null() } else { axes.as_ptr() }, &mut h)
                    }
                };
                self.check_coll("distarr_permute", rc, &ex);
                if rc == OK {
                    let p: Vec<usize> = if transpose {
                        (0..nd).rev().collect()
                    } else {
                        perm.expect("valid permutation")
                    };
                    self.add_view(h, permute(&aa, &p));
                }
            }
            4 => {
                // reshape
                let n = aa.size();
                let mut shape: Vec<i64> = match self.rng.below(4) {
                    0 => vec![n as i64],
                    1 => vec![-1],
                    2 if n > 0 => {
                        let d = (1..=n).filter(|d| n % d == 0).collect::<Vec<_>>();
                        let d = self.pick(&d);
                        vec![d as i64, -1]
                    }
                    _ => aa.shape.iter().rev().map(|&x| x as i64).collect(),
                };
                let mut ndim = shape.len() as i32;
                match self.rng.below(6) {
                    0 => {
                        shape.push(-1);
                        shape.push(-1);
                        ndim += 2;
                        ex.bad(ERR_SHAPE);
                    }
                    1 if !shape.is_empty() => {
                        shape[0] = self.pick(&[-2, i64::MIN, i64::MAX, n as i64 + 1]);
                        if n as i64 + 1 == shape[0] && shape.len() == 1 {
                            ex.bad(ERR_SHAPE);
                        } else {
                            ex.maybe(ERR_SHAPE);
                        }
                    }
                    2 => {
                        ndim = self.pick(&[-1, 65, i32::MIN]);
                        ex.bad(ERR_ARG);
                    }
                    _ => {}
                }
                // resolve the model's shape
                let resolved = resolve(&shape, n);
                if resolved.is_none() {
                    ex.bad(ERR_SHAPE);
                    ex.may_pass = false;
                } else if ex.may_pass {
                    ex.codes.clear();
                    ex.may_pass = false;
                }
                let nd = usize::try_from(ndim).unwrap_or(0);
                if nd != shape.len() && ex.clean() {
                    ex.bad(ERR_ARG);
                }
                self.what = format!("reshape {:#x} {:?} -> {shape:?} (ndim {ndim})", aa.h, aa.shape);
                // SAFETY: `shape` holds ndim entries when in range; `h` writable.
                let rc = unsafe { distarr_reshape(aa.h, ndim, shape.as_ptr(), &mut h) };
                self.check_coll("distarr_reshape", rc, &ex);
                if rc == OK {
                    let rs = resolved.expect("valid reshape");
                    // A view (C order kept) when it shares the array's segment, else a copy
                    // (computed by a collective operation: sync before asking its segment).
                    self.wrote();
                    self.sync_if_dirty();
                    let (mut s1, mut s2) = (0u32, 1u32);
                    // SAFETY: pointers to locals.
                    let (r1, r2) = unsafe { (distarr_segment(aa.h, &mut s1), distarr_segment(h, &mut s2)) };
                    self.ok("distarr_segment", r1);
                    self.ok("distarr_segment", r2);
                    if s1 == s2 {
                        let mut v = aa.sub(rs, 0..aa.size());
                        v.layout = aa.layout;
                        self.add_view(h, v);
                    } else {
                        if aa.owner {
                            self.fail("the reshape of an array (not a view) is a copy".into());
                        }
                        let vals = values(&aa, &self.storages);
                        let i = self.add_owner(h, aa.dt, rs, vals, DISTARR_LAYOUT_BLOCK, true);
                        self.wrote();
                        if self.chance(1, 2) {
                            self.verify_gather(i);
                        }
                    }
                }
            }
            5 => {
                // broadcast_to
                let nd = aa.ndim();
                let extra = self.rng.below(3) as usize;
                let mut shape: Vec<i64> = (0..extra).map(|_| self.rng.below(4) as i64).collect();
                for &d in &aa.shape {
                    shape.push(if d == 1 && self.chance(1, 2) {
                        self.rng.below(4) as i64
                    } else {
                        d as i64
                    });
                }
                let mut ndim = shape.len() as i32;
                match self.rng.below(5) {
                    0 if !shape.is_empty() => {
                        let k = self.rng.below(shape.len() as u64) as usize;
                        shape[k] = self.pick(&[-1, i64::MIN, 1 << 62, 7]);
                        ex.maybe(ERR_SHAPE);
                    }
                    1 => {
                        ndim = self.pick(&[-1, 65]);
                        ex.bad(ERR_ARG);
                    }
                    _ => {}
                }
                let target: Option<Vec<usize>> = shape.iter().map(|&x| usize::try_from(x).ok()).collect();
                let ok_shape = target
                    .as_ref()
                    .filter(|t| broadcast(&aa.shape, t).as_deref() == Some(&t[..]) && t.len() >= nd);
                if ex.may_pass {
                    ex.codes.retain(|&c| c != ERR_SHAPE);
                    ex.may_pass = false;
                }
                let too_big = ok_shape.is_some_and(|t| {
                    t.iter()
                        .try_fold(1usize, |n, &d| n.checked_mul(d))
                        .and_then(|n| n.checked_mul(aa.dt.size()))
                        .none_or(|b| b > isize::MAX as usize)
                });
                if ok_shape.is_none() || too_big {
                    ex.bad(ERR_SHAPE);
                }
                self.what = format!("broadcast_to {:#x} {:?} -> {shape:?} (ndim {ndim})", aa.h, aa.shape);
                // SAFETY: `shape` holds ndim entries when in range; `h` writable.
                let rc = unsafe { distarr_broadcast_to(aa.h, ndim, shape.as_ptr(), &mut h) };
                self.check_coll("distarr_broadcast_to", rc, &ex);
                if rc == OK {
                    let t = ok_shape.expect("valid").clone();
                    if size(&t) > 1 << 16 {
                        // A legal view too large for the model (and for any whole-array
                        // operation in a test): its metadata, then free it.
                        let (qdt, qsh) = self.query(h);
                        if qdt != aa.dt || qsh != t {
                            self.fail(format!("broadcast view is {qdt:?} {qsh:?}"));
                        }
                        let rc = distarr_free(h);
                        self.check_coll("distarr_free", rc, &Expect::ok());
                        return;
                    }
                    let v = broadcast_to(&aa, &t).expect("broadcastable");
                    self.add_view(h, v);
                }
            }
            _ => {
                // astype
                let dtype = if self.chance(5, 6) {
                    self.rng.below(10) as i32
                } else {
                    wild_i32(&mut self.rng)
                };
                let null = self.chance(1, 10);
                if Dt::from_code(dtype).is_none() {
                    ex.bad(ERR_DTYPE);
                }
                if null {
                    ex.bad(ERR_NULL);
                }
                self.what = format!("astype {:#x} {:?} -> {dtype}", aa.h, aa.dt);
                let p = if null { null_mut() } else { &mut h as *mut i64 };
                // SAFETY: NULL or writable.
                let rc = unsafe { distarr_astype(aa.h, dtype, p) };
                self.check_coll("distarr_astype", rc, &ex);
                if rc == OK {
                    let dt = Dt::from_code(dtype).expect("valid");
                    let vals = values(&aa, &self.storages)
                        .into_iter()
                        .map(|v| v.and_then(|v| dt.cast_from(aa.dt, v)))
                        .collect();
                    let i = self.add_owner(h, dt, aa.shape.clone(), vals, DISTARR_LAYOUT_BLOCK, true);
                    self.wrote();
                    if self.chance(1, 2) {
                        self.verify_gather(i);
                    }
                }
            }
        }
    }

    /// Registers a view (`v`, with its handle `h`) and checks the library's metadata;
    /// sometimes verifies its values.
    fn add_view(&mut self, h: i64, mut v: Arr) {
        v.h = h;
        v.owner = false;
        v.one_box = false;
        let (dt, shape) = (v.dt, v.shape.clone());
        self.arrays.push(v);
        let i = self.arrays.len() - 1;
        let (qdt, qsh) = self.query(h);
        if qdt != dt || qsh != shape {
            self.fail(format!("view is {qdt:?} {qsh:?}; model {dt:?} {shape:?}"));
        }
        if self.chance(1, 2) {
            if self.chance(1, 2) {
                self.verify_gather(i);
            } else {
                self.verify_region(i);
            }
        }
    }

    /// A slice bound: usually small, sometimes extreme or omitted.
    fn bound(&mut self) -> i64 {
        match self.rng.below(8) {
            0 => DISTARR_SLICE_NONE,
            1 => wild_i64(&mut self.rng),
            _ => self.rng.below(15) as i64 - 7,
        }
    }

    fn step(&mut self) -> i64 {
        match self.rng.below(10) {
            0 => 0,
            1 => self.pick(&[i64::MIN, i64::MAX, i64::MIN + 1, -(1 << 40)]),
            2..=4 => -(1 + self.rng.below(3) as i64),
            _ => 1 + self.rng.below(3) as i64,
        }
    }

    fn case_gather_scatter(&mut self) {
        let (a, ak) = self.handle(true);
        let mut ex = Expect::ok();
        let ai = Fuzz::use_handle(&mut ex, ak);
        let root = if self.chance(4, 5) {
            if self.spmd {
                self.rng.below(self.np as u64) as i32
            } else {
                0
            }
        } else {
            self.pick(&[-1, self.np as i32, i32::MIN, 1])
        };
        let valid_root = root >= 0 && (root as usize) < self.np && (self.spmd || root == 0);
        if !valid_root {
            ex.bad(ERR_RANK);
        }
        let n = ai.map_or(0, |i| self.arrays[i].size() * self.arrays[i].dt.size());
        let null_root = self.chance(1, 8);
        if null_root && n > 0 && valid_root {
            ex.bad(ERR_NULL);
        }
        let scatter = self.chance(1, 2);
        if scatter {
            self.writes(&mut ex, ai);
        }
        let dt = ai.map(|i| self.arrays[i].dt);
        let vals: Vec<i128> = (0..ai.map_or(0, |i| self.arrays[i].size()))
            .map(|_| dt.expect("live").store(small(&mut self.rng)).unwrap_or(0))
            .collect();
        let mut buf: Vec<u8> = match dt {
            Some(dt) if scatter => vals.iter().flat_map(|&v| dt.encode(v)).collect(),
            _ => vec![0u8; n],
        };
        let p = if null_root || root as usize != self.me {
            null_mut()
        } else {
            buf.as_mut_ptr().cast::<c_void>()
        };
        self.what = format!(
            "{} {a:#x} ({ak:?}) root {root} null {null_root}",
            if scatter { "scatter" } else { "gather" }
        );
        if scatter {
            self.sync_if_dirty();
        }
        // SAFETY: on the root `p` is NULL or holds the array's bytes.
        let rc = unsafe {
            if scatter {
                distarr_scatter(a, root, p)
            } else {
                distarr_gather(a, root, p)
            }
        };
        self.check_coll(if scatter { "distarr_scatter" } else { "distarr_gather" }, rc, &ex);
        if let (OK, Some(i)) = (rc, ai) {
            if scatter {
                let arr = self.arrays[i].clone();
                write(
                    &arr,
                    &vals.into_iter().map(Some).collect::<Vec<_>>(),
                    &mut self.storages,
                );
                self.wrote();
            } else if root as usize == self.me {
                self.compare(i, &buf, "gathered values");
            }
        }
    }

    fn case_region(&mut self) {
        let (a, ak) = {
            let h = self.chance(1, 2);
            self.handle(h)
        };
        let mut ex = Expect::ok();
        let ai = Fuzz::use_handle(&mut ex, ak);
        let shape = ai.map_or(vec![2, 2], |i| self.arrays[i].shape.clone());
        let (mut lo, mut hi): (Vec<i64>, Vec<i64>) = {
            let (l, h) = self.random_box(&shape);
            (to_i64(&l), to_i64(&h))
        };
        let nd = shape.len();
        let (mut lnull, mut hnull, mut bnull) = (false, false, false);
        if self.chance(1, 2) && nd > 0 {
            let d = self.rng.below(nd as u64) as usize;
            match self.rng.below(5) {
                0 => lo[d] = -1 - self.rng.below(5) as i64,
                1 => hi[d] = (shape[d] as i64).saturating_add(1 + self.rng.below(5) as i64),
                2 => lo[d] = hi[d].saturating_add(1),
                3 => hi[d] = self.pick(&[i64::MAX, i64::MIN]),
                _ => lo[d] = self.pick(&[i64::MAX, i64::MIN]),
            }
            let bad = (0..nd).any(|d| lo[d] < 0 || lo[d] > hi[d] || hi[d] as i128 > shape[d] as i128);
            if ai.is_some() && bad {
                ex.bad(ERR_BOUNDS);
            }
        } else if self.chance(1, 4) && nd > 0 {
            lnull = self.chance(1, 2);
            hnull = !lnull;
            if ai.is_some() {
                ex.bad(ERR_NULL);
            }
        }
        let in_bounds = ex.clean();
        let n = if in_bounds {
            size(&(0..nd).map(|d| (hi[d] - lo[d]) as usize).collect::<Vec<_>>())
        } else {
            0
        };
        let esz = ai.map_or(8, |i| self.arrays[i].dt.size());
        if in_bounds && n > 0 && self.chance(1, 10) {
            bnull = true;
            ex.bad(ERR_NULL);
        }
        let sub = ai.map(|i| {
            let arr = self.arrays[i].clone();
            self.box_arr(
                &arr,
                &lo.iter().map(|&x| x as usize).collect::<Vec<_>>(),
                &hi.iter().map(|&x| x as usize).collect::<Vec<_>>(),
            )
        });
        let lp = if lnull { null() } else { lo.as_ptr() };
        let hp = if hnull { null() } else { hi.as_ptr() };
        let which = self.rng.below(3);
        let actor = self.actor();
        match which {
            0 => {
                // get: every rank
                self.sync_if_dirty();
                let mut buf = vec![0u8; n * esz];
                let bp = if bnull { null_mut() } else { buf.as_mut_ptr().cast() };
                self.what = format!("get_region {a:#x} ({ak:?}) [{lo:?}, {hi:?}) nulls {lnull} {hnull} {bnull}");
                // SAFETY: bounds hold ndim entries or are NULL; `bp` holds the box's bytes.
                let rc = unsafe { distarr_get_region(a, lp, hp, bp) };
                self.check_rc("distarr_get_region", rc, &ex);
                if rc == OK {
                    let t = self.push_temp(sub.expect("live"));
                    self.compare(t, &buf, "region values");
                    self.arrays.pop();
                }
            }
            1 => {
                // put: the actor
                let arr = ai.map(|i| self.arrays[i].clone());
                let vals: Vec<i128> = (0..n)
                    .map(|_| {
                        arr.as_ref()
                            .map_or(0, |a| a.dt.store(small(&mut self.rng)).unwrap_or(0))
                    })
                    .collect();
                let buf: Vec<u8> = arr.as_ref().map_or(vec![0; n * esz], |a| {
                    vals.iter().flat_map(|&v| a.dt.encode(v)).collect()
                });
                let bp = if bnull { null() } else { buf.as_ptr().cast() };
                self.what =
                    format!("put_region {a:#x} ({ak:?}) [{lo:?}, {hi:?}) by {actor} nulls {lnull} {hnull} {bnull}");
                self.before_write();
                if self.me == actor {
                    // SAFETY: as above, for reads.
                    let rc = unsafe { distarr_put_region(a, lp, hp, bp) };
                    self.check_rc("distarr_put_region", rc, &ex);
                    if rc != OK {
                        return;
                    }
                }
                if ex.clean() {
                    let s = sub.expect("live");
                    write(&s, &vals.into_iter().map(Some).collect::<Vec<_>>(), &mut self.storages);
                    // broadcast views write an element several times: unknown (model)
                    self.wrote_onesided();
                }
            }
            _ => {
                // acc: every rank accumulates (concurrent accumulates are atomic per element)
                let ops = [0, 1, 2, 3, 4, 5, 6, 7];
                let op = if self.chance(5, 6) {
                    self.pick(&ops)
                } else {
                    self.pick(&[8, -1, 99, i32::MIN])
                };
                if !ops.contains(&op) {
                    ex.bad(ERR_OP);
                }
                let arr = ai.map(|i| self.arrays[i].clone());
                if let Some(arr) = &arr {
                    if arr.dt == Dt::Bool || arr.dt.is_complex() || ((4..=6).contains(&op) && arr.dt.is_float()) {
                        ex.bad(ERR_DTYPE);
                    }
                    if arr.layout == DISTARR_LAYOUT_REPLICATED {
                        ex.bad(ERR_ARG);
                    }
                }
                let vals: Vec<i128> = (0..n)
                    .map(|_| {
                        arr.as_ref()
                            .map_or(0, |a| a.dt.store(self.rng.below(7) as i128 - 3).unwrap_or(0))
                    })
                    .collect();
                let buf: Vec<u8> = arr.as_ref().map_or(vec![0; n * esz], |a| {
                    vals.iter().flat_map(|&v| a.dt.encode(v)).collect()
                });
                let bp = if bnull { null() } else { buf.as_ptr().cast() };
                let all = self.chance(1, 2) && matches!(op, 0 | 2 | 3 | 4 | 5);
                self.what = format!(
                    "acc_region op {op} {a:#x} ({ak:?}) [{lo:?}, {hi:?}) all {all} nulls {lnull} {hnull} {bnull}"
                );
                self.before_write();
                let callers = if all && self.spmd { self.np } else { 1 };
                if all || self.me == actor {
                    // SAFETY: as above, for reads.
                    let rc = unsafe { distarr_acc_region(a, lp, hp, bp, op) };
                    self.check_rc("distarr_acc_region", rc, &ex);
                    if rc != OK {
                        return;
                    }
                }
                if ex.clean() {
                    let s = sub.expect("live");
                    let dt = s.dt;
                    let cur = values(&s, &self.storages);
                    let res: Vec<Option<i128>> = cur
                        .iter()
                        .zip(&vals)
                        .map(|(c, &v)| {
                            let mut c = (*c)?;
                            for _ in 0..callers {
                                c = match op {
                                    0 => c + v,
                                    1 => {
                                        if dt.is_int() {
                                            c.wrapping_mul(v)
                                        } else {
                                            c.checked_mul(v)?
                                        }
                                    }
                                    2 => c.min(v),
                                    3 => c.max(v),
                                    4 => c & v,
                                    5 => c | v,
                                    6 => c ^ v,
                                    _ => v,
                                };
                                c = dt.store(c)?;
                            }
                            Some(c)
                        })
                        .collect();
                    write(&s, &res, &mut self.storages);
                    self.wrote_onesided();
                }
            }
        }
    }

    fn case_locate(&mut self) {
        let (a, ak) = {
            let h = self.chance(1, 3);
            self.handle(h)
        };
        let mut ex = Expect::ok();
        let ai = Fuzz::use_handle(&mut ex, ak);
        if self.chance(1, 3) {
            // local block
            let nd = ai.map_or(2, |i| self.arrays[i].ndim());
            let null = self.chance(1, 8);
            if null {
                ex.bad(ERR_NULL);
            }
            if let Some(i) = ai {
                if !self.arrays[i].owner || !self.arrays[i].one_box {
                    ex.maybe(ERR_UNSUPPORTED);
                }
            }
            let mut p: *mut c_void = null_mut();
            let mut lo = vec![-5i64; nd + 1];
            let mut hi = vec![-5i64; nd + 1];
            self.what = format!("local_block {a:#x} ({ak:?}) null {null}");
            self.sync_if_dirty();
            // SAFETY: `lo`, `hi` hold ndim entries; `p` writable or NULL.
            let rc = unsafe {
                distarr_local_block(
                    a,
                    if null { null_mut() } else { &mut p },
                    lo.as_mut_ptr(),
                    hi.as_mut_ptr(),
                )
            };
            self.check_rc("distarr_local_block", rc, &ex);
            if let (OK, Some(i)) = (rc, ai) {
                let arr = self.arrays[i].clone();
                if p.is_null() && lo[..nd] != hi[..nd] {
                    self.fail(format!("local_block: NULL (nothing held) with box [{lo:?}, {hi:?})"));
                }
                if p.is_null() {
                    return;
                }
                if lo[nd] != -5 || hi[nd] != -5 {
                    self.fail("local_block wrote more than ndim bounds".into());
                }
                let (l, h): (Vec<usize>, Vec<usize>) = (
                    lo[..nd].iter().map(|&x| x as usize).collect(),
                    hi[..nd].iter().map(|&x| x as usize).collect(),
                );
                if (0..nd).any(|d| l[d] > h[d] || h[d] > arr.shape[d]) {
                    self.fail(format!("local block [{l:?}, {h:?}) outside {:?}", arr.shape));
                }
                let sub = self.box_arr(&arr, &l, &h);
                let bytes = sub.size() * arr.dt.size();
                if bytes > 0 {
                    // SAFETY: the library's block of this rank: `bytes` readable bytes, and no
                    // rank writes the array until the next collective call.
                    let got = unsafe { std::slice::from_raw_parts(p.cast::<u8>(), bytes) }.to_vec();
                    let t = self.push_temp(sub);
                    self.compare(t, &got, "local block values");
                    self.arrays.pop();
                }
            }
            return;
        }
        let nd = ai.map_or(1, |i| self.arrays[i].ndim());
        let shape = ai.map_or(vec![1], |i| self.arrays[i].shape.clone());
        let mut idx: Vec<i64> = shape.iter().map(|&n| self.rng.below(n.max(1) as u64) as i64).collect();
        let empty = ai.is_some_and(|i| self.arrays[i].size() == 0);
        if empty {
            ex.bad(ERR_BOUNDS);
        }
        let mut inull = false;
        if self.chance(1, 3) && nd > 0 {
            let d = self.rng.below(nd as u64) as usize;
            idx[d] = self.pick(&[-1, shape[d] as i64, i64::MAX, i64::MIN]);
            ex.bad(ERR_BOUNDS);
        } else if self.chance(1, 6) && nd > 0 {
            inull = true;
            ex.bad(ERR_NULL);
        }
        let onull = self.chance(1, 10);
        if onull {
            ex.bad(ERR_NULL);
        }
        let (mut r, mut off) = (-1i32, 0u64);
        self.what = format!("locate {a:#x} ({ak:?}) {idx:?} nulls {inull} {onull}");
        // SAFETY: `idx` holds ndim entries or is NULL; outputs writable or NULL.
        let rc = unsafe {
            distarr_locate(
                a,
                if inull { null() } else { idx.as_ptr() },
                if onull { null_mut() } else { &mut r },
                &mut off,
            )
        };
        self.check_rc("distarr_locate", rc, &ex);
        if let (OK, Some(i)) = (rc, ai) {
            let arr = self.arrays[i].clone();
            if r < 0 || r as usize >= self.np {
                self.fail(format!("locate gave rank {r}"));
            }
            let mut seg = 0u32;
            self.sync_if_dirty();
            // SAFETY: writable.
            let rc = unsafe { distarr_segment(arr.h, &mut seg) };
            self.ok("distarr_segment", rc);
            let mut b = vec![0u8; arr.dt.size()];
            // SAFETY: `b` holds one element.
            let rc = unsafe { distarr_get(b.as_mut_ptr().cast(), r, seg, off, b.len() as u64) };
            self.ok("distarr_get", rc);
            let u: Vec<usize> = idx.iter().map(|&x| x as usize).collect();
            if let Some(w) = self.storages[arr.st].vals[arr.at(&u)] {
                self.checks += 1;
                if arr.dt.decode(&b) != Ok(w) {
                    let mut all = vec![0u8; arr.size() * arr.dt.size()];
                    let (l, h) = (vec![0i64; arr.ndim()], to_i64(&arr.shape));
                    // SAFETY: bounds hold ndim entries; `all` holds the array.
                    let rc = unsafe { distarr_get_region(arr.h, l.as_ptr(), h.as_ptr(), all.as_mut_ptr().cast()) };
                    eprintln!(
                        "[rank {}] locate mismatch: model {:?}, get_region (rc {rc}) {:?}",
                        self.me,
                        values(&arr, &self.storages),
                        all.chunks(arr.dt.size()).map(|c| arr.dt.decode(c)).collect::<Vec<_>>()
                    );
                    self.fail(format!(
                        "element {u:?} at rank {r} offset {off} is {:?}, model {w}",
                        arr.dt.decode(&b)
                    ));
                }
            }
        }
    }

    fn case_pgas(&mut self) {
        let k = [0, 1, 2, 3, 3, 4, 4, 5, 5, 5, 6, 7, 8, 8][self.rng.below(14) as usize];
        if k == 0 || self.segs.is_empty() {
            // alloc (sometimes absurd)
            let mut ex = Expect::ok();
            let bytes = match self.rng.below(6) {
                0 => {
                    ex.bad(ERR_NOMEM);
                    self.pick(&[u64::MAX, 1 << 62, 1 << 45])
                }
                1 => 0,
                _ => 1 + self.rng.below(300),
            };
            let null = self.chance(1, 10);
            if null {
                ex = Expect::ok();
                ex.bad(ERR_NULL);
            }
            let mut seg = 0u32;
            self.what = format!("gmem_alloc {bytes} null {null}");
            // SAFETY: NULL or writable.
            let rc = unsafe { distarr_gmem_alloc(bytes, if null { null_mut() } else { &mut seg }) };
            self.check_coll("distarr_gmem_alloc", rc, &ex);
            if rc == OK {
                self.segs.push(Seg {
                    id: seg,
                    len: bytes,
                    bytes: vec![vec![None; bytes as usize]; self.np],
                });
            }
            return;
        }
        let si = self.rng.below(self.segs.len() as u64) as usize;
        let s = self.segs[si].clone();
        let (seg, segkind) = match self.rng.below(8) {
            0 if !self.stale_segs.is_empty() => (self.pick(&self.stale_segs.clone()), 1),
            // (another generation of the same slot: never live)
            1 => (self.pick(&[0, u32::MAX, s.id ^ (1 << 25)]), 1),
            _ => (s.id, 0),
        };
        let mut ex = Expect::ok();
        if segkind == 1 {
            ex.bad(ERR_SEGMENT);
        }
        let rank = if self.chance(5, 6) {
            self.rng.below(self.np as u64) as i32
        } else {
            self.pick(&[-1, self.np as i32, i32::MAX, i32::MIN])
        };
        let rank_ok = rank >= 0 && (rank as usize) < self.np;
        if !rank_ok {
            ex.bad(ERR_RANK);
        }
        let (mut off, mut len) = {
            let a = self.rng.below(s.len + 1);
            let b = self.rng.below(s.len + 1);
            (a.min(b), a.max(b) - a.min(b))
        };
        if self.chance(1, 4) {
            match self.rng.below(3) {
                0 => off = self.pick(&[u64::MAX, s.len + 1, u64::MAX - 3]),
                1 => len = s.len + 1 - off.min(s.len),
                _ => {
                    off = u64::MAX;
                    len = 2;
                }
            }
            ex.bad(ERR_BOUNDS);
        }
        match k {
            1 => {
                // free (collective)
                let mut ex = Expect::ok();
                if segkind == 1 {
                    ex.bad(ERR_SEGMENT);
                }
                self.what = format!("gmem_free {seg:#x}");
                let rc = distarr_gmem_free(seg);
                self.check_coll("distarr_gmem_free", rc, &ex);
                if rc == OK {
                    self.segs.swap_remove(si);
                    self.stale_segs.push(seg);
                }
            }
            2 => {
                // local part
                let mut ex = Expect::ok();
                if segkind == 1 {
                    ex.bad(ERR_SEGMENT);
                }
                let null = self.chance(1, 8);
                if null {
                    ex.bad(ERR_NULL);
                }
                let (mut p, mut n): (*mut c_void, u64) = (null_mut(), 0);
                self.what = format!("gmem_local {seg:#x}");
                self.sync_if_dirty();
                // SAFETY: NULL or writable.
                let rc = unsafe { distarr_gmem_local(seg, if null { null_mut() } else { &mut p }, &mut n) };
                self.check_rc("distarr_gmem_local", rc, &ex);
                if rc == OK {
                    if n != s.len {
                        self.fail(format!("gmem_local length {n}, allocated {}", s.len));
                    }
                    if n > 0 {
                        // SAFETY: this rank's part of the segment: `n` bytes, no writer now.
                        let got = unsafe { std::slice::from_raw_parts(p.cast::<u8>(), n as usize) }.to_vec();
                        self.compare_seg(si, self.me, 0, &got);
                    }
                }
            }
            3 | 4 => {
                // blocking or nbi get (every rank), or blocking / nb put (the actor)
                let put = k == 4;
                let actor = self.actor();
                let null = len > 0 && self.chance(1, 10);
                if null {
                    ex.bad(ERR_NULL);
                }
                let mut buf: Vec<u8> = (0..len.min(1 << 20)).map(|_| self.rng.below(256) as u8).collect();
                let flavour = self.rng.below(3);
                // Drawn here, by every rank (only the actor makes a put).
                let (all_flush, by_wait) = (self.chance(1, 2), self.chance(1, 2));
                self.what = format!(
                    "{} {seg:#x} rank {rank} [{off}, +{len}) flavour {flavour} null {null}",
                    if put { "put" } else { "get" }
                );
                if len > 1 << 20 {
                    // only ever with a defect (bounds): give a NULL buffer, the length is not read
                    buf.clear();
                }
                let bp = if null || buf.is_empty() {
                    null_mut()
                } else {
                    buf.as_mut_ptr().cast::<c_void>()
                };
                if buf.is_empty() && len > 0 {
                    ex.bad(ERR_NULL);
                }
                if put {
                    self.before_write()
                } else {
                    self.sync_if_dirty()
                }
                if put && self.me != actor {
                    if ex.clean() {
                        let r = rank as usize;
                        for (j, &b) in buf.iter().enumerate() {
                            self.segs[si].bytes[r][off as usize + j] = Some(b);
                        }
                        self.wrote_onesided();
                    }
                    return;
                }
                let rc = match (put, flavour) {
                    // SAFETY: `bp` is NULL or holds `len` bytes for the call (and, for the
                    // non-blocking forms, until the completion just below).
                    (false, 0) => unsafe { distarr_get(bp, rank, seg, off, len) },
                    (false, 1) => {
                        // SAFETY: as above.
                        let rc = unsafe { distarr_get_nbi(bp, rank, seg, off, len) };
                        if rc == OK {
                            let f = if all_flush {
                                distarr_flush_local_all()
                            } else {
                                distarr_flush_local(rank)
                            };
                            self.ok("distarr_flush_local", f);
                        }
                        rc
                    }
                    (false, _) => {
                        let mut req = 0i64;
                        // SAFETY: as above.
                        let rc = unsafe { distarr_get_nb(bp, rank, seg, off, len, &mut req) };
                        self.complete(rc, req, by_wait);
                        rc
                    }
                    // SAFETY: as above.
                    (true, 0) => unsafe { distarr_put(rank, seg, off, bp, len) },
                    (true, 1) => {
                        // SAFETY: as above.
                        let rc = unsafe { distarr_put_nbi(rank, seg, off, bp, len) };
                        if rc == OK {
                            let f = if all_flush {
                                distarr_flush_all()
                            } else {
                                distarr_flush(rank)
                            };
                            self.ok("distarr_flush", f);
                        }
                        rc
                    }
                    (true, _) => {
                        let mut req = 0i64;
                        // SAFETY: as above.
                        let rc = unsafe { distarr_put_nb(rank, seg, off, bp, len, &mut req) };
                        self.complete(rc, req, by_wait);
                        if rc == OK {
                            let f = distarr_flush(rank);
                            self.ok("distarr_flush", f);
                        }
                        rc
                    }
                };
                self.check_rc(if put { "distarr_put" } else { "distarr_get" }, rc, &ex);
                if rc == OK {
                    if put {
                        let r = rank as usize;
                        for (j, &b) in buf.iter().enumerate() {
                            self.segs[si].bytes[r][off as usize + j] = Some(b);
                        }
                        self.wrote_onesided();
                    } else if len > 0 {
                        let got = buf.clone();
                        self.compare_seg(si, rank as usize, off as usize, &got);
                    }
                } else if put && self.spmd {
                    // the others expect a sync after a clean put: none happens after a failure
                    // (ex was not clean, so nobody synchronises)
                }
            }
            5 => {
                // typed accumulate / fetch-op / compare-and-swap (the actor)
                let actor = self.actor();
                let dtype = if self.chance(5, 6) {
                    self.rng.below(10) as i32
                } else {
                    wild_i32(&mut self.rng)
                };
                let op = if self.chance(5, 6) {
                    self.rng.below(9) as i32
                } else {
                    wild_i32(&mut self.rng)
                };
                let dt = Dt::from_code(dtype);
                match dt {
                    None => ex.bad(ERR_DTYPE),
                    Some(d) if d.is_complex() => ex.bad(ERR_DTYPE),
                    _ => {}
                }
                let esz = dt.map_or(8, |d| d.size() as u64);
                if self.chance(3, 4) && off < s.len {
                    off -= off % esz;
                }
                if off % esz != 0 && dt.is_some_and(|d| !d.is_complex()) {
                    ex.bad(ERR_MISALIGNED);
                }
                let flavour = self.rng.below(3);
                let count = len / esz;
                // The bytes these calls touch: `count` elements (acc) or one.
                let touched = if flavour == 0 { count * esz } else { esz };
                ex.codes.retain(|&c| c != ERR_BOUNDS);
                if off.checked_add(touched).none_or(|e| e > s.len) {
                    ex.bad(ERR_BOUNDS);
                }
                let clean_range = !ex.codes.contains(&ERR_BOUNDS);
                let floatish = dt.is_some_and(|d| d.is_float());
                match flavour {
                    0 | 1 => {
                        if !(0..=8).contains(&op) {
                            ex.bad(ERR_OP);
                        }
                        if flavour == 0 && op == DISTARR_OP_NO_OP {
                            ex.bad(ERR_OP);
                        }
                        if (4..=6).contains(&op) && floatish {
                            ex.bad(ERR_DTYPE);
                        }
                        if (0..=1).contains(&op) && dt == Some(Dt::Bool) {
                            ex.bad(ERR_DTYPE);
                        }
                    }
                    _ => {
                        if floatish {
                            ex.bad(ERR_DTYPE);
                        }
                    }
                }
                let src: Vec<u8> = (0..(count * esz).max(16)).map(|_| self.rng.below(3) as u8).collect();
                let mut res = [0u8; 16];
                self.what = format!(
                    "atomic flavour {flavour} dtype {dtype} op {op} seg {seg:#x} rank {rank} off {off} count {count}"
                );
                self.before_write();
                if self.me == actor {
                    // SAFETY: `src` holds `count` elements (at least one); `res` one element.
                    let rc = unsafe {
                        match flavour {
                            0 => distarr_acc(rank, seg, off, src.as_ptr().cast(), count, dtype, op),
                            1 => distarr_fetch_op(
                                res.as_mut_ptr().cast(),
                                src.as_ptr().cast(),
                                rank,
                                seg,
                                off,
                                dtype,
                                op,
                            ),
                            _ => distarr_cas(
                                res.as_mut_ptr().cast(),
                                src.as_ptr().cast(),
                                src[8..].as_ptr().cast(),
                                rank,
                                seg,
                                off,
                                dtype,
                            ),
                        }
                    };
                    self.check_rc("distarr_acc/fetch_op/cas", rc, &ex);
                }
                if ex.clean() || ex.may_pass {
                    // The model cannot follow typed atomics: the touched bytes become unknown.
                    if rank_ok && segkind == 0 && clean_range {
                        let r = rank as usize;
                        let end = (off + if flavour == 0 { count * esz } else { esz }).min(s.len);
                        for j in off..end {
                            self.segs[si].bytes[r][j as usize] = None;
                        }
                    }
                    if self.spmd {
                        self.sync();
                    }
                }
            }
            6 => {
                // wait / test with forged requests
                let mut req = self.pick(&[1i64, -1, i64::MAX, 0x0100_0001_0000_0001, 0x0200_0001_0000_0001, 0]);
                let mut done = 7i32;
                let mut ex = Expect::ok();
                if req != 0 {
                    ex.bad(ERR_HANDLE);
                }
                let null = self.chance(1, 5);
                if null {
                    ex = Expect::ok();
                    ex.bad(ERR_NULL);
                }
                self.what = format!("wait/test forged request {req:#x} null {null}");
                let rp = if null { null_mut() } else { &mut req as *mut i64 };
                // SAFETY: NULL or pointers to locals.
                let rc = unsafe {
                    if self.chance(1, 2) {
                        distarr_wait(rp)
                    } else {
                        distarr_test(rp, &mut done)
                    }
                };
                self.check_rc("distarr_wait/test", rc, &ex);
            }
            7 => {
                // flushes with bad ranks
                let mut ex = Expect::ok();
                if !rank_ok {
                    ex.bad(ERR_RANK);
                }
                self.what = format!("flush rank {rank}");
                let rc = if self.chance(1, 2) {
                    distarr_flush(rank)
                } else {
                    distarr_flush_local(rank)
                };
                self.check_rc("distarr_flush", rc, &ex);
            }
            _ => {
                // verify a random rank's segment with a full get
                let r = self.rng.below(self.np as u64) as usize;
                let mut buf = vec![0u8; s.len as usize];
                self.what = format!("verify segment {:#x} of rank {r}", s.id);
                self.sync_if_dirty();
                // SAFETY: `buf` holds the segment's length.
                let rc = unsafe { distarr_get(buf.as_mut_ptr().cast(), r as i32, s.id, 0, s.len) };
                self.ok("distarr_get", rc);
                self.compare_seg(si, r, 0, &buf);
            }
        }
    }

    /// Completes a request with wait or test (loop); checks the calls.
    fn complete(&mut self, rc: i32, mut req: i64, by_wait: bool) {
        if rc != OK {
            return;
        }
        if req == 0 {
            self.fail("a started request is 0".into());
        }
        let kept = req;
        if by_wait {
            // SAFETY: pointer to a local.
            let w = unsafe { distarr_wait(&mut req) };
            self.ok("distarr_wait", w);
        } else {
            let mut done = 0;
            while done == 0 {
                // SAFETY: pointers to locals.
                let t = unsafe { distarr_test(&mut req, &mut done) };
                self.ok("distarr_test", t);
            }
        }
        if req != 0 {
            self.fail("a completed request is not 0".into());
        }
        // The completed id is stale now.
        let mut again = kept;
        // SAFETY: pointer to a local.
        let w = unsafe { distarr_wait(&mut again) };
        let mut ex = Expect::ok();
        ex.bad(ERR_HANDLE);
        self.check_rc("distarr_wait (completed request)", w, &ex);
    }

    fn compare_seg(&mut self, si: usize, rank: usize, off: usize, got: &[u8]) {
        for (j, &b) in got.iter().enumerate() {
            if let Some(w) = self.segs[si].bytes[rank][off + j] {
                self.checks += 1;
                if w != b {
                    self.fail(format!(
                        "segment {:#x} rank {rank} byte {} is {b}, model {w}",
                        self.segs[si].id,
                        off + j
                    ));
                }
            }
        }
    }

    fn case_collectives(&mut self) {
        match self.rng.below(6) {
            5 => {
                // deferred execution: run now, turn off or on (any non-zero is on), query
                self.what = "flush_deferred / set_lazy / is_lazy / seq_stats".into();
                let rc = distarr_flush_deferred();
                self.check_coll("distarr_flush_deferred", rc, &Expect::ok());
                let on = self.pick(&[1, 1, 1, 0, 7, -1, i32::MIN]);
                let rc = distarr_set_lazy(on);
                self.check_coll("distarr_set_lazy", rc, &Expect::ok());
                let mut l = -5;
                // SAFETY: writable.
                let rc = unsafe { distarr_is_lazy(&mut l) };
                self.ok("distarr_is_lazy", rc);
                if l != i32::from(on != 0) {
                    self.fail(format!("is_lazy gave {l} after set_lazy({on})"));
                }
                let mut ex = Expect::ok();
                ex.bad(ERR_NULL);
                // SAFETY: NULL is refused (checked).
                let rc = unsafe { distarr_is_lazy(null_mut()) };
                self.check_rc("distarr_is_lazy", rc, &ex);
                let (mut m, mut c) = (u64::MAX, u64::MAX);
                // SAFETY: writable, or NULL (refused).
                unsafe {
                    let rc = distarr_seq_stats(&mut m, &mut c);
                    self.ok("distarr_seq_stats", rc);
                    let rc = distarr_seq_stats(null_mut(), &mut c);
                    self.check_rc("distarr_seq_stats", rc, &ex);
                }
                if m > c || (self.spmd && (m, c) != (0, 0)) {
                    self.fail(format!("seq_stats: {m} messages, {c} commands"));
                }
            }
            0 => {
                self.what = "sync".into();
                self.sync();
            }
            1 => {
                self.what = "barrier/fence".into();
                let rc = if self.chance(1, 2) {
                    distarr_barrier()
                } else {
                    distarr_fence()
                };
                self.check_coll("distarr_barrier", rc, &Expect::ok());
            }
            2 => {
                // bcast: SPMD only
                let mut ex = Expect::ok();
                let root = if self.chance(4, 5) {
                    self.rng.below(self.np as u64) as i32
                } else {
                    self.pick(&[-1, self.np as i32, i32::MIN])
                };
                if !self.spmd {
                    ex.bad(ERR_STATE);
                } else if root < 0 || root as usize >= self.np {
                    ex.bad(ERR_RANK);
                }
                let n = self.rng.below(40) as usize;
                let mut buf: Vec<u8> = (0..n).map(|k| (k * (self.me + 1)) as u8).collect();
                let null = n > 0 && self.chance(1, 10);
                if null && ex.clean() {
                    ex.bad(ERR_NULL);
                }
                self.what = format!("bcast {n} root {root} null {null}");
                // SAFETY: NULL or `n` bytes.
                let rc =
                    unsafe { distarr_bcast(if null { null_mut() } else { buf.as_mut_ptr().cast() }, n as u64, root) };
                self.check_coll("distarr_bcast", rc, &ex);
                if rc == OK {
                    let want: Vec<u8> = (0..n).map(|k| (k * (root as usize + 1)) as u8).collect();
                    self.checks += 1;
                    if buf != want {
                        self.fail(format!("bcast gave {buf:?}"));
                    }
                }
            }
            3 => {
                // allreduce of i64 sums
                let mut ex = Expect::ok();
                let dtype = if self.chance(5, 6) {
                    DISTARR_DTYPE_I64
                } else {
                    wild_i32(&mut self.rng)
                };
                let op = if self.chance(5, 6) {
                    DISTARR_OP_SUM
                } else {
                    self.pick(&[7, 8, -1, 99])
                };
                if !self.spmd {
                    ex.bad(ERR_STATE);
                } else {
                    if op != DISTARR_OP_SUM {
                        ex.bad(ERR_OP);
                    }
                    if Dt::from_code(dtype).is_none() || dtype == 8 || dtype == 9 {
                        ex.bad(ERR_DTYPE);
                    } else if dtype != DISTARR_DTYPE_I64 {
                        ex.maybe(ERR_DTYPE);
                    }
                }
                let n = self.rng.below(5) as usize;
                let mut v: Vec<i64> = (0..n).map(|k| (self.me * 10 + k) as i64).collect();
                self.what = format!("allreduce {n} dtype {dtype} op {op}");
                // SAFETY: `v` holds `n` i64 (and is at least as large as any dtype of the same count).
                let rc = unsafe { distarr_allreduce(v.as_mut_ptr().cast(), n as u64, dtype, op) };
                self.check_coll("distarr_allreduce", rc, &ex);
                if rc == OK && dtype == DISTARR_DTYPE_I64 {
                    let np = self.np as i64;
                    let want: Vec<i64> = (0..n as i64).map(|k| 10 * np * (np - 1) / 2 + np * k).collect();
                    self.checks += 1;
                    if v != want {
                        self.fail(format!("allreduce gave {v:?}, want {want:?}"));
                    }
                }
            }
            _ => {
                // the library's status strings
                for code in [-1, 0, 10, 11, 12, 20, 30, 40, 50, 90, 1000, i32::MIN] {
                    // SAFETY: distarr_strerror returns a static string for any code.
                    let s = unsafe { CStr::from_ptr(distarr_strerror(code)) };
                    if s.to_bytes().is_empty() {
                        self.fail(format!("empty strerror({code})"));
                    }
                }
                let mut flag = 0;
                // SAFETY: writable.
                let rc = unsafe { distarr_initialized(&mut flag) };
                self.ok("distarr_initialized", rc);
                if flag != 1 {
                    self.fail("distarr_initialized says 0".into());
                }
            }
        }
    }

    fn case_npy(&mut self) {
        self.npy_files += 1;
        let path = self.dir.join(format!("f{}.npy", self.npy_files));
        let cpath = CString::new(path.as_os_str().as_encoded_bytes()).expect("no NUL");
        if self.chance(1, 2) {
            // save a live array, load it back (checked), or a hostile path
            let Some(a) = self.any_live() else { return };
            let aa = self.arrays[a].clone();
            let bad_path = self.chance(1, 6);
            let mut ex = Expect::ok();
            let missing = CString::new(format!("{}/no/such/dir/x.npy", self.dir.display())).expect("no NUL");
            let p = if bad_path {
                ex.bad(ERR_IO);
                missing.as_ptr()
            } else {
                cpath.as_ptr()
            };
            self.what = format!("save {:#x} {:?} {:?}", aa.h, aa.dt, aa.shape);
            // SAFETY: a NUL-terminated path.
            let rc = unsafe { distarr_save_npy(aa.h, p) };
            self.check_coll("distarr_save_npy", rc, &ex);
            if rc != OK {
                return;
            }
            let mut h = 0i64;
            // SAFETY: as above; `h` writable.
            let rc = unsafe { distarr_load_npy(cpath.as_ptr(), &mut h) };
            self.check_coll("distarr_load_npy", rc, &Expect::ok());
            let vals = values(&aa, &self.storages);
            let i = self.add_owner(h, aa.dt, aa.shape.clone(), vals, DISTARR_LAYOUT_BLOCK, true);
            let (qdt, qsh) = self.query(h);
            if qdt != aa.dt || qsh != aa.shape {
                self.fail(format!("loaded {qdt:?} {qsh:?}"));
            }
            self.wrote();
            self.verify_gather(i);
            return;
        }
        // A hostile file, written by rank 0 (the path is the same on every rank).
        let bytes = hostile_npy(&mut self.rng);
        if self.me == 0 {
            std::fs::write(&path, &bytes)
                .unwrap_or_else(|e| self.fail(format!("cannot write {}: {e}", path.display())));
        }
        let rc = distarr_barrier();
        self.check_coll("distarr_barrier", rc, &Expect::ok());
        let mut ex = Expect::ok();
        ex.maybe(ERR_IO);
        ex.maybe(ERR_DTYPE);
        ex.maybe(ERR_NOMEM);
        let which = self.rng.below(8);
        let empty = CString::new("").expect("no NUL");
        let dir = CString::new(self.dir.as_os_str().as_encoded_bytes()).expect("no NUL");
        let (p, out_null) = match which {
            0 => {
                ex = Expect::ok();
                ex.bad(ERR_NULL);
                (null(), false)
            }
            1 => {
                ex = Expect::ok();
                ex.bad(ERR_ARG);
                ex.bad(ERR_IO);
                (empty.as_ptr(), false)
            }
            2 => {
                ex = Expect::ok();
                ex.bad(ERR_IO);
                (dir.as_ptr(), false)
            }
            3 => {
                ex = Expect::ok();
                ex.bad(ERR_NULL);
                (cpath.as_ptr(), true)
            }
            _ => (cpath.as_ptr(), false),
        };
        let mut h = 0i64;
        self.what = format!(
            "load hostile npy ({which}) {} bytes: {:?}",
            bytes.len(),
            String::from_utf8_lossy(&bytes[..bytes.len().min(160)])
        );
        // SAFETY: NULL or a NUL-terminated path; NULL or writable `out`.
        let rc = unsafe { distarr_load_npy(p, if out_null { null_mut() } else { &mut h }) };
        self.check_coll("distarr_load_npy", rc, &ex);
        if rc == OK {
            let i = self.add_unknown(h);
            if self.arrays[i].size() > 0 && self.arrays[i].size() < 4096 {
                self.verify_gather(i);
            }
            self.wrote();
        }
    }

    /// Fixed hostile `.npy` files through the C ABI (regressions of the loader's fixes): data
    /// at odd offsets (values checked), bool bytes other than 0/1 (read as 0/1), a FIFO (refused,
    /// no hang), a directory, `/dev/zero`, a dtype distarr lacks (`DISTARR_ERR_DTYPE`), 65
    /// dimensions, a header beyond 1 MiB (`DISTARR_ERR_IO`). **Collective.**
    fn npy_fixed(&mut self) {
        let file = |dict: &str, pad: usize, data: &[u8]| {
            let text = format!("{dict}{}\n", " ".repeat(pad));
            let mut f = b"\x93NUMPY\x01\x00".to_vec();
            f.extend((text.len() as u16).to_le_bytes());
            f.extend(text.as_bytes());
            f.extend(data);
            f
        };
        let f64s: Vec<u8> = (0..6).flat_map(|k| (k as f64 * 1.5 - 2.0).to_le_bytes()).collect();
        let mut cases: Vec<(String, Vec<u8>, i32)> = (0..8)
            .map(|pad| {
                (
                    format!("odd{pad}"),
                    file(
                        "{'descr': '<f8', 'fortran_order': False, 'shape': (2, 3), }",
                        pad,
                        &f64s,
                    ),
                    OK,
                )
            })
            .collect();
        cases.push((
            "bools".into(),
            file(
                "{'descr': '|b1', 'fortran_order': False, 'shape': (5,), }",
                1,
                &[0, 2, 255, 1, 64],
            ),
            OK,
        ));
        cases.push((
            "float16".into(),
            file("{'descr': '<f2', 'fortran_order': False, 'shape': (2,), }", 0, &[0; 4]),
            ERR_DTYPE,
        ));
        let ones = vec!["1"; 65].join(", ");
        cases.push((
            "ndim65".into(),
            file(
                &format!("{{'descr': '|u1', 'fortran_order': False, 'shape': ({ones}), }}"),
                0,
                &[9],
            ),
            ERR_IO,
        ));
        let mut long = b"\x93NUMPY\x02\x00".to_vec();
        long.extend(((3u32 << 20) + 1).to_le_bytes());
        long.extend(b"{'descr': '|u1', 'fortran_order': False, 'shape': (1,), }");
        long.resize(12 + (3 << 20), b' ');
        long.extend(b"\n\x05");
        cases.push(("long".into(), long, ERR_IO));
        for (name, bytes, want) in cases {
            let path = self.dir.join(format!("fixed_{name}.npy"));
            if self.me == 0 {
                std::fs::write(&path, &bytes).unwrap_or_else(|e| self.fail(format!("write {name}: {e}")));
            }
            let rc = distarr_barrier();
            self.check_coll("distarr_barrier", rc, &Expect::ok());
            let c = CString::new(path.as_os_str().as_encoded_bytes()).expect("no NUL");
            let mut h = 0i64;
            self.what = format!("load fixed file {name}");
            // SAFETY: a NUL-terminated path; `h` writable.
            let rc = unsafe { distarr_load_npy(c.as_ptr(), &mut h) };
            let mut ex = Expect::ok();
            if want != OK {
                ex.bad(want);
            }
            self.check_coll("distarr_load_npy", rc, &ex);
            if rc != OK {
                continue;
            }
            let i = match name.as_str() {
                "bools" => self.add_owner(
                    h,
                    Dt::Bool,
                    vec![5],
                    [0, 1, 1, 1, 1].map(Some).to_vec(),
                    DISTARR_LAYOUT_BLOCK,
                    true,
                ),
                _ => {
                    // k * 1.5 - 2: every other one is a whole number (the model keeps those)
                    let vals = (0..6).map(|k| (k % 2 == 0).then(|| (k as i128 * 3 - 4) / 2)).collect();
                    self.add_owner(h, Dt::F64, vec![2, 3], vals, DISTARR_LAYOUT_BLOCK, true)
                }
            };
            self.wrote();
            self.verify_gather(i);
            self.free_handle(i);
        }
        // Not regular files: a FIFO (opening it would block), a directory, a device.
        let fifo = self.dir.join("fifo.npy");
        if self.me == 0 {
            let c = CString::new(fifo.as_os_str().as_encoded_bytes()).expect("no NUL");
            // SAFETY: a NUL-terminated path.
            if unsafe { libc::mkfifo(c.as_ptr(), 0o600) } != 0 {
                self.fail("mkfifo".into());
            }
        }
        let rc = distarr_barrier();
        self.check_coll("distarr_barrier", rc, &Expect::ok());
        let dir = self.dir.clone();
        for p in [fifo.as_path(), dir.as_path(), std::path::Path::new("/dev/zero")] {
            let c = CString::new(p.as_os_str().as_encoded_bytes()).expect("no NUL");
            let mut h = 0i64;
            self.what = format!("load {}", p.display());
            // SAFETY: a NUL-terminated path; `h` writable.
            let rc = unsafe { distarr_load_npy(c.as_ptr(), &mut h) };
            let mut ex = Expect::ok();
            ex.bad(ERR_IO);
            self.check_coll("distarr_load_npy", rc, &ex);
        }
    }

    /// SPMD, several ranks: all ranks' hashes of collective status codes must agree.
    fn compare_hashes(&mut self) {
        if !self.spmd || self.np == 1 {
            return;
        }
        let mut v = [self.hash, self.hash, !self.hash];
        // SAFETY: three u64s.
        let rc = unsafe { distarr_allreduce(v.as_mut_ptr().cast(), 1, DISTARR_DTYPE_U64, DISTARR_OP_MIN) };
        self.ok("distarr_allreduce", rc);
        // SAFETY: as above.
        let rc = unsafe { distarr_allreduce(v[1..].as_mut_ptr().cast(), 1, DISTARR_DTYPE_U64, DISTARR_OP_MAX) };
        self.ok("distarr_allreduce", rc);
        self.checks += 1;
        if v[0] != v[1] {
            self.fail(format!(
                "ranks saw different status codes from collective calls (hash min {:#x} max {:#x})",
                v[0], v[1]
            ));
        }
    }
}

/// `Option::is_none_or` (Rust 1.82; the workspace's MSRV is 1.80).
trait NoneOr<T> {
    fn none_or(self, f: impl FnOnce(T) -> bool) -> bool;
}

impl<T> NoneOr<T> for Option<T> {
    fn none_or(self, f: impl FnOnce(T) -> bool) -> bool {
        match self {
            None => true,
            Some(v) => f(v),
        }
    }
}

fn unsafe_reduce(op: i32, x: i64, axis: i32, out: i64) -> i32 {
    let mut sink = [0u8; 16];
    // SAFETY: `sink` holds any result dtype.
    unsafe { distarr_reduce(op, x, axis, out, sink.as_mut_ptr().cast()) }
}

fn to_i64(v: &[usize]) -> Vec<i64> {
    v.iter().map(|&x| x as i64).collect()
}

/// NumPy's result dtype of reduction `op` on `dt` (None: refused).
fn reduce_result(op: i32, dt: Dt) -> Option<Dt> {
    Some(match op {
        0 | 1 => match dt {
            Dt::Bool | Dt::I32 | Dt::I64 => Dt::I64,
            Dt::U8 | Dt::U32 | Dt::U64 => Dt::U64,
            d => d,
        },
        2 | 3 if dt.is_complex() => return None,
        2 | 3 => dt,
        16 => match dt {
            Dt::F32 | Dt::F64 | Dt::C64 | Dt::C128 => dt,
            _ => Dt::F64,
        },
        17 | 18 => Dt::I64,
        19 | 20 => Dt::Bool,
        _ => return None,
    })
}

/// The exact all-elements reduction when the model can know it.
fn reduce_all(op: i32, vals: &[Option<i128>], dt: Dt, rdt: Dt) -> Option<i128> {
    let v: Vec<i128> = vals.iter().copied().collect::<Option<Vec<_>>>()?;
    match op {
        0 => {
            let s: i128 = v.iter().sum();
            let mag: i128 = v.iter().map(|x| x.abs()).sum();
            let exact = match rdt {
                Dt::F32 | Dt::C64 => mag < (1 << 24),
                Dt::F64 | Dt::C128 => mag < (1 << 53),
                _ => true,
            };
            exact.then(|| rdt.store(s)).flatten()
        }
        2 => v.iter().copied().min(),
        3 => v.iter().copied().max(),
        17 => {
            let m = v.iter().copied().min()?;
            v.iter().position(|&x| x == m).map(|p| p as i128)
        }
        18 => {
            let m = v.iter().copied().max()?;
            v.iter().position(|&x| x == m).map(|p| p as i128)
        }
        19 => Some(i128::from(v.iter().any(|&x| x != 0))),
        20 => Some(i128::from(v.iter().all(|&x| x != 0))),
        _ => {
            let _ = dt;
            None
        }
    }
}

/// Sums of `x` along axis `ax` (lanes left to right), in `rdt`.
fn sum_axis(x: &Arr, ax: usize, storages: &[Storage], rdt: Dt) -> Vec<Option<i128>> {
    let mut oshape = x.shape.clone();
    oshape.remove(ax);
    let st = &storages[x.st];
    indices(&oshape)
        .iter()
        .map(|o| {
            let mut s: i128 = 0;
            let mut mag: i128 = 0;
            for t in 0..x.shape[ax] {
                let mut idx = o.clone();
                idx.insert(ax, t);
                let v = st.vals.get(x.at(&idx)).copied().flatten()?;
                s += v;
                mag += v.abs();
            }
            let exact = match rdt {
                Dt::F32 | Dt::C64 => mag < (1 << 24),
                Dt::F64 | Dt::C128 => mag < (1 << 53),
                _ => true,
            };
            exact.then(|| rdt.store(s)).flatten()
        })
        .collect()
}

/// NumPy's reshape target with one `-1` resolved, for `n` elements.
fn resolve(shape: &[i64], n: usize) -> Option<Vec<usize>> {
    let unknown = shape.iter().filter(|&&x| x == -1).count();
    if unknown > 1 || shape.iter().any(|&x| x < -1) {
        return None;
    }
    let known = shape
        .iter()
        .filter(|&&x| x >= 0)
        .try_fold(1usize, |p, &x| p.checked_mul(x as usize))?;
    if unknown == 1 {
        if known == 0 || n % known != 0 {
            return None;
        }
        Some(
            shape
                .iter()
                .map(|&x| if x == -1 { n / known } else { x as usize })
                .collect(),
        )
    } else if known == n {
        Some(shape.iter().map(|&x| x as usize).collect())
    } else {
        None
    }
}

/// Values of the concatenation of `arrs` (one dtype) along `axis` into `shape`.
fn concat_values(arrs: &[Arr], axis: i32, shape: &[usize], storages: &[Storage]) -> Vec<Option<i128>> {
    if axis == DISTARR_AXIS_NONE {
        return arrs.iter().flat_map(|a| values(a, storages)).collect();
    }
    let nd = shape.len() as i32;
    let ax = if axis < 0 { axis + nd } else { axis } as usize;
    indices(shape)
        .iter()
        .map(|idx| {
            let mut t = idx[ax];
            for a in arrs {
                if t < a.shape[ax] {
                    let mut j = idx.clone();
                    j[ax] = t;
                    return storages[a.st].vals.get(a.at(&j)).copied().flatten();
                }
                t -= a.shape[ax];
            }
            None
        })
        .collect()
}

/// A malformed (or, sometimes, valid) `.npy` file.
fn hostile_npy(rng: &mut Rng) -> Vec<u8> {
    let descrs = [
        "<f8", "|b1", "<i4", "<u8", "<c16", ">f8", "<f2", "|O", "<U3", "|u1", "<i8", "", "<f8x", "'",
    ];
    let descr = descrs[rng.below(descrs.len() as u64) as usize];
    let shapes = [
        "()",
        "(3,)",
        "(2, 3)",
        "(0, 5)",
        "(-1,)",
        "(99999999999999999999,)",
        "(4611686018427387904,)",
        "(1099511627776,)",
        "(0, 4611686018427387904, 4611686018427387904)",
        "(3)",
        "[3]",
        "(2, 'a')",
        "(1,) * 40",
        "((((((((((()))))))))))",
    ];
    let shape = shapes[rng.below(shapes.len() as u64) as usize];
    let fortran = if rng.below(5) == 0 { "True" } else { "False" };
    let mut dict = format!("{{'descr': '{descr}', 'fortran_order': {fortran}, 'shape': {shape}, }}");
    match rng.below(8) {
        0 => dict = dict.replace("'shape'", "'shapes'"),
        1 => dict.truncate(rng.below(dict.len() as u64) as usize),
        2 => dict.push_str(", 'x': 1}"),
        _ => {}
    }
    let version = match rng.below(8) {
        0 => [rng.below(256) as u8, rng.below(2) as u8],
        1 => [2, 0],
        2 => [3, 0],
        _ => [1, 0],
    };
    let mut header = b"\x93NUMPY".to_vec();
    if rng.below(12) == 0 {
        header[rng.below(6) as usize] ^= 0x20;
    }
    header.extend(version);
    let body = format!("{dict}{}\n", " ".repeat(rng.below(70) as usize));
    let mut hlen = body.len() as u64;
    if rng.below(8) == 0 {
        hlen = rng.next_u64() % (1 << 32);
    }
    if version[0] == 1 {
        header.extend((hlen as u16).to_le_bytes());
    } else {
        header.extend((hlen as u32).to_le_bytes());
    }
    header.extend(body.as_bytes());
    // data: about right for a few elements, or random lengths
    let data = match rng.below(4) {
        0 => 0,
        1 => 48,
        2 => rng.below(200) as usize,
        _ => 6 * 8,
    };
    header.extend((0..data).map(|k| (k * 37) as u8));
    if rng.below(6) == 0 {
        let cut = rng.below(header.len() as u64 + 1) as usize;
        header.truncate(cut);
    }
    header
}

/// Calls that must fail with `DISTARR_ERR_STATE` (before init, after finalize, other threads).
fn expect_state(me: usize, when: &str) -> u64 {
    let mut calls = 0;
    let mut chk = |name: &str, rc: i32| {
        calls += 1;
        if rc != ERR_STATE {
            panic!("[rank {me}] {when}: {name} returned {rc}, expected DISTARR_ERR_STATE");
        }
    };
    let (mut x, mut h, mut seg) = (0i32, 0i64, 0u32);
    let shape = [3i64];
    let mut buf = [0u8; 8];
    // SAFETY: valid pointers to locals.
    unsafe {
        chk("distarr_rank", distarr_rank(&mut x));
        chk("distarr_nranks", distarr_nranks(&mut x));
        chk("distarr_mode", distarr_mode(&mut x));
        chk("distarr_sync", distarr_sync());
        chk("distarr_barrier", distarr_barrier());
        chk("distarr_create", distarr_create(1, shape.as_ptr(), 7, null(), &mut h));
        chk("distarr_free", distarr_free(0x0200_0000_0000_0001));
        chk("distarr_gmem_alloc", distarr_gmem_alloc(8, &mut seg));
        chk("distarr_get", distarr_get(buf.as_mut_ptr().cast(), 0, 1, 0, 8));
        chk("distarr_binary", distarr_binary(0, 1, 1, 1));
        chk(
            "distarr_load_npy",
            distarr_load_npy(c"/nonexistent.npy".as_ptr(), &mut h),
        );
        chk("distarr_finalize", distarr_finalize());
        chk("distarr_flush_all", distarr_flush_all());
        let mut f = 7;
        let rc = distarr_initialized(&mut f);
        calls += 1;
        if rc != OK || f != 0 {
            panic!("[rank {me}] {when}: distarr_initialized gave {rc}, flag {f}");
        }
        // callable before init and after finalize
        let mut d = -1;
        let rc = distarr_reduce_dtype(DISTARR_REDUCE_SUM, DISTARR_DTYPE_I32, &mut d);
        calls += 1;
        if rc != OK || d != DISTARR_DTYPE_I64 {
            panic!("[rank {me}] {when}: distarr_reduce_dtype gave {rc}, {d}");
        }
    }
    calls
}

extern "C" fn worker_ok() {
    // Sequential-mode workers exit inside distarr_init: their success line comes from here.
    if let Ok(r) = std::env::var("OMPI_COMM_WORLD_RANK").or_else(|_| std::env::var("PMI_RANK")) {
        // One write: at exit Rust's stdout is unbuffered, and `println!` would write the line in
        // pieces that other ranks' lines can come between.
        use std::io::Write;
        let _ = std::io::stdout().write_all(format!("distarr-test: ok rank={r}\n").as_bytes());
    }
}

fn main() {
    let env_rank: usize = std::env::var("OMPI_COMM_WORLD_RANK")
        .or_else(|_| std::env::var("PMI_RANK"))
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(0);
    let sequential = std::env::var("DISTARR_MODE").is_ok_and(|m| m == "sequential");
    let default_hook = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        default_hook(info);
        distarr_ffi::abort(101);
    }));
    let cases: u64 = std::env::var("DISTARR_FUZZ_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1500);
    let seed: u64 = std::env::var("DISTARR_FUZZ_SEED")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1);

    // Before init: every call but the local ones refuses.
    let mut pre_calls = expect_state(env_rank, "before init");
    if sequential && env_rank != 0 {
        // SAFETY: registering a plain extern "C" function.
        unsafe { libc::atexit(worker_ok) };
    }
    // SAFETY: NULL argc/argv are allowed.
    let rc = unsafe { distarr_init(null_mut(), null_mut()) };
    assert_eq!(rc, OK, "distarr_init: {}", last_error());
    // SAFETY: NULL argc/argv.
    let again = unsafe { distarr_init(null_mut(), null_mut()) };
    assert_eq!(again, ERR_STATE, "a second distarr_init");
    // From another thread: not initialized there.
    pre_calls += std::thread::spawn(move || expect_state(env_rank, "another thread"))
        .join()
        .expect("thread");
    let (mut me, mut np, mut mode) = (0i32, 0i32, 0i32);
    // SAFETY: pointers to locals.
    unsafe {
        assert_eq!(distarr_rank(&mut me), OK);
        assert_eq!(distarr_nranks(&mut np), OK);
        assert_eq!(distarr_mode(&mut mode), OK);
    }
    let spmd = mode == DISTARR_MODE_SPMD;
    let dir = std::env::temp_dir().join(format!("distarr-capi-fuzz-{}", std::process::id()));
    let mut f = Fuzz {
        rng: Rng::new(seed, 0xF022),
        me: me as usize,
        np: np as usize,
        spmd,
        arrays: Vec::new(),
        storages: Vec::new(),
        stale: Vec::new(),
        segs: Vec::new(),
        stale_segs: Vec::new(),
        dirty: false,
        case: 0,
        calls: pre_calls,
        checks: 0,
        hash: 0xCBF2_9CE4_8422_2325,
        what: String::new(),
        dir: std::path::PathBuf::new(),
        npy_files: 0,
        trace: std::env::var("DISTARR_FUZZ_TRACE").is_ok_and(|v| v == "1" || v == "2"),
        trace2: std::env::var("DISTARR_FUZZ_TRACE").is_ok_and(|v| v == "2"),
        trace_from: std::env::var("DISTARR_FUZZ_TRACE_FROM")
            .ok()
            .and_then(|v| v.parse().ok())
            .unwrap_or(0),
        stats: Default::default(),
        recent: Default::default(),
        peek_id: None,
        peek_at: None,
        peek_done: false,
    };
    // One directory for the job's files: rank 0's pid, broadcast (SPMD) or rank 0 alone.
    let mut pid = [std::process::id() as u64];
    if spmd {
        // SAFETY: one u64.
        let rc = unsafe { distarr_bcast(pid.as_mut_ptr().cast(), 8, 0) };
        f.ok("distarr_bcast", rc);
    }
    f.dir = std::env::temp_dir().join(format!("distarr-capi-fuzz-{}", pid[0]));
    let _ = dir;
    if f.me == 0 {
        std::fs::create_dir_all(&f.dir).expect("temp dir");
    }
    f.sync();
    f.npy_fixed();
    // DISTARR_FUZZ_PEEK=ID: this rank's part of that array read in place after every case and
    // every sync (no library call but one distarr_local_block: the call sequence stays the
    // same); the first change the model does not expect is printed.
    f.peek_id = std::env::var("DISTARR_FUZZ_PEEK")
        .ok()
        .and_then(|v| i64::from_str_radix(v.trim_start_matches("0x"), 16).ok());
    for c in 0..cases {
        f.case = c;
        f.run_case();
        f.peek_check("end of case");
        if c % 25 == 24 {
            f.what = "periodic sync and hash comparison".into();
            f.sync();
            f.compare_hashes();
        }
    }
    // Final: every live array against the model, then everything freed by finalize.
    f.what = "final verification".into();
    f.sync();
    for i in f.live_indices() {
        f.verify_gather(i);
    }
    f.compare_hashes();
    let (cases_run, calls, checks) = (cases, f.calls, f.checks);
    if f.me == 0 && std::env::var("DISTARR_FUZZ_STATS").is_ok_and(|v| v == "1") {
        for ((name, rc), n) in &f.stats {
            eprintln!("capi_fuzz stats: {name:32} {rc:3} {n}");
        }
    }
    if f.me == 0 {
        let _ = std::fs::remove_dir_all(&f.dir);
        eprintln!(
            "capi_fuzz: {cases_run} cases, {calls} calls, {checks} value checks on {np} rank(s), {} mode, seed {seed}",
            if spmd { "spmd" } else { "sequential" }
        );
    }
    let rc = distarr_finalize();
    assert_eq!(rc, OK, "distarr_finalize: {}", last_error());
    expect_state(f.me, "after finalize");
    // SAFETY: NULL argc/argv.
    let rc = unsafe { distarr_init(null_mut(), null_mut()) };
    assert_eq!(rc, ERR_STATE, "distarr_init after finalize (MPI is finalized)");
    println!("distarr-test: ok rank={me}");
}
