/*
 * distarr.h - the C ABI of distarr: a PGAS runtime (global memory, one-sided operations)
 * and distributed N-d arrays on MPI-3 one-sided communication.
 *
 * Compile and link (see README.md):
 *     mpicc prog.c $(pkg-config --cflags --libs distarr) -Wl,-rpath,<libdir>
 *
 * STATUS CODES. Every function returns int: DISTARR_OK (0) or a DISTARR_ERR_* code, grouped
 * by tens (1x arguments, 2x handles, 3x ranges, 4x resources, 5x state, 6x system, 9x bugs).
 * distarr_strerror(code) describes a code; distarr_last_error() is the message of the calling
 * thread's last failure. Output parameters are written only on success. Argument errors are
 * detected before any communication, and the program may continue after them. An MPI failure
 * inside a collective call aborts the job (the ranks cannot recover together).
 *
 * COLLECTIVE vs ONE-SIDED. Each function's comment says which. Collective calls are made by
 * every rank, in the same order, with the same arguments; one-sided calls are made by one
 * rank and need nothing from the target; local calls do not communicate.
 *
 * OWNERSHIP. Buffers (void *) always belong to the caller; distarr reads or writes them only
 * during the call, except for non-blocking calls, which use them until they complete:
 * distarr_get_nb/distarr_put_nb until the request completes, distarr_get_nbi/distarr_put_nbi
 * until a flush (each function's comment says which). Segment ids (uint32_t) are owned
 * collectively from distarr_gmem_alloc to distarr_gmem_free. Handles (distarr_request,
 * distarr_array) are int64_t ids, 0 never valid; they are checked on every use, so a freed,
 * stale or forged id returns DISTARR_ERR_HANDLE (DISTARR_ERR_SEGMENT for segments) and is
 * never dereferenced.
 * Fortran holds them as integer(c_int64_t).
 *
 * THREADS. The library belongs to the thread that called distarr_init: from another thread
 * every call returns DISTARR_ERR_STATE. distarr_strerror is thread-safe; distarr_last_error
 * is per thread.
 *
 * SEQUENTIAL MODE (DistNumPy's master-worker model). With DISTARR_MODE=sequential in the
 * environment, or distarr_init_mode(..., DISTARR_MODE_SEQUENTIAL), only rank 0 runs the
 * program: distarr_init returns on rank 0 only. On every other rank it serves rank 0's
 * commands and never returns: when rank 0 calls distarr_finalize, the other ranks finalize
 * (MPI too) and exit the process with status 0 (exit(0): atexit handlers run). Every
 * collective call made by rank 0 (distarr_gmem_alloc/free, barrier, fence, sync, finalize,
 * and the array operations) is checked on rank 0 (a wrong argument fails there, at the call,
 * and is not sent), recorded as a small command and executed by all ranks in the same order;
 * data stays where it lives. Rank 0 sends the commands it recorded in one message (one
 * MPI_Bcast of a 64-byte header; a second one for a longer batch) only when the other ranks
 * must act: before rank 0 itself communicates collectively (a reduction to a scalar, a gather,
 * an allocation, a synchronisation, a flush of deferred operations that must synchronise, ...),
 * before rank 0 computes its share of an operation of 65,536 elements or more (so that every
 * rank computes at once), at distarr_finalize, or when the batch is full (64 KiB);
 * distarr_seq_stats counts them. A flush of small aligned deferred operations needs no
 * communication in sequential mode (one program makes every rank's calls: there is nothing to
 * agree on), so a loop of element-wise calls on small arrays costs no message until the other
 * ranks must act, and then one. One-sided
 * calls run on rank 0 alone, synchronised with the collective ones automatically (see
 * SYNCHRONISATION). distarr_bcast and
 * distarr_allreduce, which exchange the program's own data between ranks, return
 * DISTARR_ERR_STATE in sequential mode.
 * distarr_nranks still reports every rank (each holds a part of global memory).
 *
 * ARRAYS. A distarr_array is a distributed N-d array (C order, 0-based indices, boxes
 * [lo, hi) with hi exclusive) or a view of one. distarr_create, distarr_create_layout,
 * distarr_arange, distarr_linspace, distarr_eye, distarr_astype, distarr_load_npy,
 * distarr_mask_select and distarr_concatenate create arrays that the caller owns until
 * distarr_free; distarr_view, distarr_index, distarr_transpose, distarr_permute,
 * distarr_broadcast_to (and distarr_reshape, when no copy is needed) create views that share
 * their array's storage (freeing a view frees the handle only; freeing the array makes its
 * views unusable: DISTARR_ERR_HANDLE). distarr_finalize frees every remaining array, in
 * creation order. Calls that create, free or compute on whole arrays are collective
 * (sequential mode: sent to every rank, views too, so handles have the same id on every
 * rank); region get/put/acc, distarr_locate, distarr_local_block and the metadata queries are
 * one-sided or local. Element-wise, reduce, matmul and roll calls write into an existing `out`
 * array of the result's shape whose dtype the result can be cast to under NumPy's same_kind
 * rule (roll: any cast).
 *
 * SYNCHRONISATION. Collective array operations are ordered with each other (each sees the
 * results of those before it), but not with one-sided accesses: distarr_get_region,
 * distarr_put_region, distarr_acc_region, distarr_get/put/acc/... on an array's segment, and
 * loads and stores through distarr_local_block (or distarr_gmem_local) pointers. In SPMD mode
 * the program separates them with distarr_sync() (collective; the usual PGAS rule, as GA_Sync):
 *   - after one-sided writes, before a collective operation reads or writes that data;
 *   - after one-sided reads, before a collective operation writes that data;
 *   - after a collective operation, before one-sided reads or writes of the data it touched;
 *   - between one rank's one-sided writes and another rank's accesses to the same data.
 * In sequential mode the library does it for the program: rank 0 remembers whether one-sided
 * calls and whether collective operations on array data were issued since the last
 * synchronisation; a one-sided call after collective operations first synchronises every rank
 * (one extra command), and a collective operation after one-sided calls makes every rank
 * synchronise before it (a flag in its command: no extra message). A distarr_local_block or
 * distarr_gmem_local pointer used again after later collective calls needs distarr_sync
 * there (or a new distarr_local_block call, which synchronises).
 *
 * FAULTS. A rank that dies (killed, a crash, abort() inside a computation, an exit without
 * distarr_finalize) ends the whole job: the launcher ends the other ranks, and distarr prints
 * which rank it was ("[distarr R/N] FATAL: rank R (pid P on host H) received signal 6
 * (SIGABRT)", or "... ended without finalizing"; DISTARR_FAULT_REPORT=0 turns that off). In
 * sequential mode the same holds for a worker; a rank 0 that gives up ends the job either by
 * returning from main without distarr_finalize (the workers are ended by the launcher; the
 * library then frees nothing collectively, so the process does not hang at exit) or, at once,
 * with distarr_abort(code). DISTARR_TIMEOUT=<seconds> bounds every synchronisation (barrier,
 * sync, fence, gmem alloc/free, array operations' agreements and reductions, finalize): a rank
 * that waits longer prints which ranks have not arrived ("DISTARR_TIMEOUT=60s: rank 0 waited
 * 60.0 s in a barrier (...) (synchronisation #12) and rank 3 has not arrived") and aborts the
 * job (exit status 75); ranks that arrive in different collective calls (another kind,
 * payload, root or operation) are reported at once (status 76). Without it a rank that stops
 * taking part leaves the others waiting. The commands rank 0 sends in sequential mode are not
 * bounded (the workers wait for rank 0's program as long as it runs).
 * DEFERRED EXECUTION. Element-wise operations (distarr_unary, distarr_binary,
 * distarr_binary_scalar, distarr_where, distarr_where_scalar, distarr_copy, distarr_fill,
 * distarr_random, distarr_astype, and the copies inside distarr_roll, distarr_concatenate and
 * a copying distarr_reshape) and distarr_reduce along an axis are checked at the call (every
 * argument error is returned there, and nothing is recorded) and then recorded; they run later,
 * fused into few passes over memory, at the next flush point: distarr_flush_deferred,
 * distarr_sync, distarr_barrier, distarr_fence, distarr_finalize, distarr_set_lazy(0), the
 * collective calls that need the values (distarr_reduce to a scalar, distarr_matmul,
 * distarr_gather, distarr_scatter, distarr_save_npy, distarr_load_npy, distarr_mask_select,
 * distarr_mask_assign with a 1-D `values`), and when 64 are recorded. distarr_free of an array
 * they still use does not run them: its storage goes with them. Results are bit-identical to
 * running each operation at its call (distarr_set_lazy(0), or DISTARR_LAZY=0 in the
 * environment). Collective calls see every operation called before them. One-sided and
 * local-block access (region get/put/acc, distarr_local_block, and distarr_get/put/... on the
 * array's segment through distarr_segment) to an array that pending operations write (or, for
 * writes, use) returns DISTARR_ERR_ARG at several ranks (running them is collective): call
 * distarr_flush_deferred or distarr_sync first, as SYNCHRONISATION asks anyway; at one rank
 * the access runs them. In sequential mode rank 0's one-sided calls synchronise first by
 * themselves, so they never see pending operations.
 */


#ifndef DISTARR_H
#define DISTARR_H

/* Generated by cbindgen from c-api/src (config c-api/cbindgen.toml). Do not edit by hand:
   DISTARR_BLESS=1 cargo test -p distarr-capi --test header   rewrites it. */

#include <stdint.h>

// Success.
#define DISTARR_OK 0

// An argument is invalid (a negative count, an unknown mode, a malformed environment
// variable, …).
#define DISTARR_ERR_ARG 10

// A required pointer argument is NULL.
#define DISTARR_ERR_NULL 11

// Unknown dtype code, or an operation not defined for the dtype (bitwise ops on floats,
// compare-and-swap on floats, atomics on complex numbers).
#define DISTARR_ERR_DTYPE 12

// Unknown operation code, or an operation the call does not accept (`DISTARR_OP_NO_OP` in
// `distarr_acc`).
#define DISTARR_ERR_OP 13

// Shapes do not match or are invalid (array functions).
#define DISTARR_ERR_SHAPE 14

// A typed operation's byte offset is not a multiple of the element size.
#define DISTARR_ERR_MISALIGNED 15

// A handle (`distarr_request`, `distarr_array`) that was freed, completed, never issued, or
// is of another kind.
#define DISTARR_ERR_HANDLE 20

// A global-memory segment id that was freed or never allocated.
#define DISTARR_ERR_SEGMENT 21

// A byte range or index outside its segment or array.
#define DISTARR_ERR_BOUNDS 30

// A rank outside `0 .. nranks`.
#define DISTARR_ERR_RANK 31

// The symmetric heap (or this process's memory) cannot hold the request.
#define DISTARR_ERR_NOMEM 40

// The call is not allowed now: distarr is not initialized, already initialized, finalized,
// used from a thread other than the one that initialized it, or the call is not available in
// the current mode (e.g. `distarr_bcast` in sequential mode).
#define DISTARR_ERR_STATE 50

// Ranks passed different arguments to a collective call (reported on every rank).
#define DISTARR_ERR_COLLECTIVE 51

// The operation is not supported in this configuration.
#define DISTARR_ERR_UNSUPPORTED 52

// The MPI library reported an error.
#define DISTARR_ERR_MPI 60

// A file could not be read or written.
#define DISTARR_ERR_IO 61

// An internal error in distarr (a caught panic: please report it with the message).
#define DISTARR_ERR_INTERNAL 90

// `bool`, one byte holding 0 or 1.
#define DISTARR_DTYPE_BOOL 0

// `int32_t`.
#define DISTARR_DTYPE_I32 1

// `int64_t`.
#define DISTARR_DTYPE_I64 2

// `uint8_t`.
#define DISTARR_DTYPE_U8 3

// `uint32_t`.
#define DISTARR_DTYPE_U32 4

// `uint64_t`.
#define DISTARR_DTYPE_U64 5

// `float`.
#define DISTARR_DTYPE_F32 6

// `double`.
#define DISTARR_DTYPE_F64 7

// `float complex` (two floats). Not accepted by the PGAS atomics.
#define DISTARR_DTYPE_C64 8

// `double complex` (two doubles). Not accepted by the PGAS atomics.
#define DISTARR_DTYPE_C128 9

// `target += x`.
#define DISTARR_OP_SUM 0

// `target *= x`.
#define DISTARR_OP_PROD 1

// `target = min(target, x)`.
#define DISTARR_OP_MIN 2

// `target = max(target, x)`.
#define DISTARR_OP_MAX 3

// `target &= x` (integers and bool).
#define DISTARR_OP_BAND 4

// `target |= x` (integers and bool).
#define DISTARR_OP_BOR 5

// `target ^= x` (integers and bool).
#define DISTARR_OP_BXOR 6

// `target = x` (atomic per element). Not a reduction.
#define DISTARR_OP_REPLACE 7

// Leaves the target unchanged: with `distarr_fetch_op`, an atomic read. Not a reduction, not
// accepted by `distarr_acc`.
#define DISTARR_OP_NO_OP 8

// `np.add`
#define DISTARR_UFUNC_ADD 0

// `np.subtract`
#define DISTARR_UFUNC_SUBTRACT 1

// `np.multiply`
#define DISTARR_UFUNC_MULTIPLY 2

// `np.divide` (true division)
#define DISTARR_UFUNC_DIVIDE 3

// `np.floor_divide`
#define DISTARR_UFUNC_FLOOR_DIVIDE 4

// `np.remainder`
#define DISTARR_UFUNC_REMAINDER 5

// `np.power`
#define DISTARR_UFUNC_POWER 6

// `np.maximum`
#define DISTARR_UFUNC_MAXIMUM 7

// `np.minimum`
#define DISTARR_UFUNC_MINIMUM 8

// `np.equal`
#define DISTARR_UFUNC_EQUAL 9

// `np.not_equal`
#define DISTARR_UFUNC_NOT_EQUAL 10

// `np.less`
#define DISTARR_UFUNC_LESS 11

// `np.less_equal`
#define DISTARR_UFUNC_LESS_EQUAL 12

// `np.greater`
#define DISTARR_UFUNC_GREATER 13

// `np.greater_equal`
#define DISTARR_UFUNC_GREATER_EQUAL 14

// `np.logical_and`
#define DISTARR_UFUNC_LOGICAL_AND 15

// `np.logical_or`
#define DISTARR_UFUNC_LOGICAL_OR 16

// `np.logical_xor`
#define DISTARR_UFUNC_LOGICAL_XOR 17

// `np.bitwise_and`
#define DISTARR_UFUNC_BITWISE_AND 18

// `np.bitwise_or`
#define DISTARR_UFUNC_BITWISE_OR 19

// `np.bitwise_xor`
#define DISTARR_UFUNC_BITWISE_XOR 20

// `np.arctan2`
#define DISTARR_UFUNC_ARCTAN2 21

// `np.hypot`
#define DISTARR_UFUNC_HYPOT 22

// `np.negative` (unary ufuncs from here on)
#define DISTARR_UFUNC_NEGATIVE 64

// `np.absolute`
#define DISTARR_UFUNC_ABSOLUTE 65

// `np.sqrt`
#define DISTARR_UFUNC_SQRT 66

// `np.exp`
#define DISTARR_UFUNC_EXP 67

// `np.log`
#define DISTARR_UFUNC_LOG 68

// `np.sin`
#define DISTARR_UFUNC_SIN 69

// `np.cos`
#define DISTARR_UFUNC_COS 70

// `np.tan`
#define DISTARR_UFUNC_TAN 71

// `np.floor`
#define DISTARR_UFUNC_FLOOR 72

// `np.ceil`
#define DISTARR_UFUNC_CEIL 73

// `np.logical_not`
#define DISTARR_UFUNC_LOGICAL_NOT 74

// `np.invert` (bitwise not)
#define DISTARR_UFUNC_INVERT 75

// `np.square`
#define DISTARR_UFUNC_SQUARE 76

// `np.sign`
#define DISTARR_UFUNC_SIGN 77

// `np.log10`
#define DISTARR_UFUNC_LOG10 78

// `np.log2`
#define DISTARR_UFUNC_LOG2 79

// `np.tanh`
#define DISTARR_UFUNC_TANH 80

// `np.arcsin`
#define DISTARR_UFUNC_ARCSIN 81

// `np.arccos`
#define DISTARR_UFUNC_ARCCOS 82

// `np.arctan`
#define DISTARR_UFUNC_ARCTAN 83

// `np.isnan`
#define DISTARR_UFUNC_ISNAN 84

// `np.isinf`
#define DISTARR_UFUNC_ISINF 85

// `np.isfinite`
#define DISTARR_UFUNC_ISFINITE 86

// `np.reciprocal` (floating-point and complex arrays only; integer arrays →
// `DISTARR_ERR_UNSUPPORTED`)
#define DISTARR_UFUNC_RECIPROCAL 87

// `np.positive`
#define DISTARR_UFUNC_POSITIVE 88

// `np.expm1`
#define DISTARR_UFUNC_EXPM1 89

// `np.log1p`
#define DISTARR_UFUNC_LOG1P 90

// `np.sinh`
#define DISTARR_UFUNC_SINH 91

// `np.cosh`
#define DISTARR_UFUNC_COSH 92

// `np.trunc`
#define DISTARR_UFUNC_TRUNC 93

// `np.rint`
#define DISTARR_UFUNC_RINT 94

// `np.sum` (the same value as `DISTARR_OP_SUM`). Result dtype as NumPy: int64 for bool and
// signed integers, uint64 for unsigned integers, else the input dtype.
#define DISTARR_REDUCE_SUM 0

// `np.prod` (= `DISTARR_OP_PROD`); result dtype as `DISTARR_REDUCE_SUM`.
#define DISTARR_REDUCE_PROD 1

// `np.min` (= `DISTARR_OP_MIN`); keeps the dtype, propagates NaN; not for complex.
#define DISTARR_REDUCE_MIN 2

// `np.max` (= `DISTARR_OP_MAX`); keeps the dtype, propagates NaN; not for complex.
#define DISTARR_REDUCE_MAX 3

// `np.mean`: float64 (float32 for float32, complex for complex).
#define DISTARR_REDUCE_MEAN 16

// `np.argmin`: int64 index (into the C-order flattening for `axis = -1`).
#define DISTARR_REDUCE_ARGMIN 17

// `np.argmax`: int64 index.
#define DISTARR_REDUCE_ARGMAX 18

// `np.any`: bool.
#define DISTARR_REDUCE_ANY 19

// `np.all`: bool.
#define DISTARR_REDUCE_ALL 20

// One contiguous block per rank along each dimension of a balanced process grid (the layout of
// `distarr_create` with `block == NULL`).
#define DISTARR_LAYOUT_BLOCK 0

// Blocks of the given extents dealt round-robin over the balanced process grid (ScaLAPACK).
#define DISTARR_LAYOUT_BLOCK_CYCLIC 1

// Every rank holds a full copy.
#define DISTARR_LAYOUT_REPLICATED 2

// One rank holds the whole array.
#define DISTARR_LAYOUT_ON_RANK 3

// Flag OR-ed into the layout of `distarr_create_layout`: the array is an output to be written
// by a collective operation first (its values are unspecified, as NumPy's `empty`); its
// storage is allocated by the first collective operation that uses it, or never when it is
// freed while the deferred operations that write it are not needed (a temporary of an
// expression: `distarr_free` of an array deferred operations still use leaves the storage to
// them). One-sided and local-block access before the first collective use: `DISTARR_ERR_ARG`.
#define DISTARR_LAYOUT_DEFERRED 256

// An omitted `start` or `stop` of `distarr_view` and `distarr_index` (Python's `None`: the end
// that depends on the step's sign). `INT64_MIN`.
#define DISTARR_SLICE_NONE INT64_MIN

// `start:stop:step` (Python's slice; `DISTARR_SLICE_NONE` for an omitted bound).
#define DISTARR_INDEX_RANGE 0

// A single index `start` (negative counts from the end); removes the axis.
#define DISTARR_INDEX_INT 1

// `numpy.newaxis` (`None`): a new axis of length 1.
#define DISTARR_INDEX_NEWAXIS 2

// `...`: as many full slices as needed (at most one per index).
#define DISTARR_INDEX_ELLIPSIS 3

// "No axis": `distarr_roll` and `distarr_concatenate` work on the flattened arrays (NumPy's
// `axis=None`), `distarr_reduce` reduces every element. `INT32_MIN` (`-1` is a valid axis, the
// last one, except in `distarr_reduce`, where it also means every element).
#define DISTARR_AXIS_NONE INT32_MIN

// `distarr_init_mode`: take the mode from `DISTARR_MODE` (`spmd`, the default, or `sequential`).
#define DISTARR_MODE_ENV 0

// Every rank runs the program (SPMD).
#define DISTARR_MODE_SPMD 1

// Only rank 0 runs the program; the other ranks serve its commands (see the header's preamble).
#define DISTARR_MODE_SEQUENTIAL 2

// A non-blocking get or put in flight (from `distarr_get_nb` / `distarr_put_nb`). `0` is the
// null request: never issued, or already completed by `distarr_wait` / `distarr_test`.
// Owned by the caller until completed; completing it frees it.
typedef int64_t distarr_request;

// A distributed array (array functions; 0 is never a valid array).
typedef int64_t distarr_array;

#ifdef __cplusplus
extern "C" {
#endif // __cplusplus

// The message of the calling thread's most recent failed distarr call ("no error" if none
// failed), e.g. `"distarr_get: bytes [96, 96+64) outside segment of 128 bytes"`.
//
// The string belongs to distarr and stays valid until the next failing distarr call on the
// same thread; copy it to keep it. Never NULL. Local; thread-safe.
const char *distarr_last_error(void);

// A static description of a status code (e.g. `"rank out of range"`); unknown codes give
// `"unknown distarr status code"`. Never NULL; never freed. Local; thread-safe.
const char *distarr_strerror(int code);

// Initialises distarr (and MPI, unless the program already did) on `MPI_COMM_WORLD`.
// **Collective** over all processes. The mode comes from `DISTARR_MODE` (`spmd`, the default,
// or `sequential`); in sequential mode this call returns on rank 0 only (see the preamble).
// Settings come from the `DISTARR_*` environment variables (a malformed one → `DISTARR_ERR_ARG`).
//
// `argc` and `argv` may be NULL; they are accepted for symmetry with `MPI_Init` and not modified.
// Returns `DISTARR_ERR_STATE` if distarr is already initialized on this thread, or if MPI was
// finalized.
//
// # Safety
// `argc`/`argv` are NULL or point to `main`'s arguments (they are not dereferenced).
int distarr_init(int *argc, char ***argv);

// `distarr_init` with an explicit mode: `DISTARR_MODE_SPMD`, `DISTARR_MODE_SEQUENTIAL`, or
// `DISTARR_MODE_ENV` (read `DISTARR_MODE`). An unknown code → `DISTARR_ERR_ARG`. **Collective.**
//
// # Safety
// As `distarr_init`.
int distarr_init_mode(int *argc, char ***argv, int32_t mode);

// Initialises distarr on a communicator from Fortran (an `MPI_Fint`, e.g. `MPI_COMM_WORLD` of
// the `mpi` module, or `comm%MPI_VAL` of `mpi_f08`), which distarr duplicates (the caller keeps
// and frees its own). The program must have initialised MPI (else `DISTARR_ERR_STATE`) and
// finalises it after `distarr_finalize`. Mode from `DISTARR_MODE`. **Collective** over the
// communicator. A handle that is not a communicator → `DISTARR_ERR_ARG`.
int distarr_init_fortran(int64_t fortran_comm);

// Finalises distarr: completes outstanding requests (their buffers must still be valid),
// frees all global memory, and finalises MPI if distarr initialised it. **Collective.**
// In sequential mode rank 0's call also ends the workers (they exit with status 0).
// Every later call (except `distarr_strerror`, `distarr_last_error`, `distarr_initialized`)
// returns `DISTARR_ERR_STATE`.
int distarr_finalize(void);

// `*flag = 1` if distarr is initialized on this thread (and not finalized), else 0. Local;
// callable at any time.
//
// # Safety
// `flag` is NULL (→ `DISTARR_ERR_NULL`) or valid for writing an `int32_t`.
int distarr_initialized(int32_t *flag);

// `*mode` = the running mode: `DISTARR_MODE_SPMD` or `DISTARR_MODE_SEQUENTIAL`. Local.
//
// # Safety
// `mode` is NULL (→ `DISTARR_ERR_NULL`) or valid for writing an `int32_t`.
int distarr_mode(int32_t *mode);

// `*rank` = this process's rank in distarr's communicator (0 for the program in sequential
// mode). Local.
//
// # Safety
// `rank` is NULL (→ `DISTARR_ERR_NULL`) or valid for writing an `int32_t`.
int distarr_rank(int32_t *rank);

// `*nranks` = number of ranks (in sequential mode too: every rank holds global memory). Local.
//
// # Safety
// `nranks` is NULL (→ `DISTARR_ERR_NULL`) or valid for writing an `int32_t`.
int distarr_nranks(int32_t *nranks);

// `*is_root` = 1 on rank 0, else 0. Local.
//
// # Safety
// `is_root` is NULL (→ `DISTARR_ERR_NULL`) or valid for writing an `int32_t`.
int distarr_is_root(int32_t *is_root);

// Ends the whole job at once, from any one rank: `MPI_Abort(MPI_COMM_WORLD, code)` (every
// process of the job ends; the launcher's exit status is usually `code`). For a program that
// cannot go on after an error on one rank, where returning would leave the other ranks waiting
// in a collective call forever (SPMD mode), or to end the workers of sequential mode. Flushes
// C's `stdio` streams first; distarr's fault reporting (`DISTARR_FAULT_REPORT`) stays quiet,
// the program having said why. Local; callable at any time (before `distarr_init` or after
// `distarr_finalize` it exits this process with `code`). Does not return (the `int` result
// only keeps the ABI's convention).
int distarr_abort(int code);

// `*messages`, `*commands` = how many command messages rank 0 of sequential mode has sent to
// the other ranks since `distarr_init`, and how many commands they carried (see SEQUENTIAL
// MODE: commands travel in batches, sent when the other ranks must act). 0 and 0 on the other
// ranks, in SPMD mode and at one rank. Local; a diagnostic.
//
// # Safety
// `messages` and `commands` are NULL (→ `DISTARR_ERR_NULL`) or valid for writing a `uint64_t`.
int distarr_seq_stats(uint64_t *messages, uint64_t *commands);

// Allocates `bytes_per_rank` bytes of global memory on every rank; `*seg` receives the segment
// id, the same on every rank. **Collective**: every rank passes the same size (else
// `DISTARR_ERR_COLLECTIVE` on every rank). Memory is zero on a fresh heap window, otherwise
// uninitialised. `DISTARR_ERR_NOMEM` (on every rank) when the symmetric heap is exhausted.
// The segment is owned collectively until `distarr_gmem_free` (or `distarr_finalize`).
//
// # Safety
// `seg` is NULL (→ `DISTARR_ERR_NULL`) or valid for writing a `uint32_t`.
int distarr_gmem_alloc(uint64_t bytes_per_rank, uint32_t *seg);

// Frees a segment on every rank after completing this rank's operations on it. **Collective**:
// same id on every rank (else `DISTARR_ERR_COLLECTIVE`). The id is stale afterwards: any use
// → `DISTARR_ERR_SEGMENT`.
int distarr_gmem_free(uint32_t seg);

// `*base`, `*bytes` = this rank's part of a segment: its address and length. Local. The
// memory belongs to distarr (never free it) and is valid until the segment is freed; other
// ranks may write it: read it after `distarr_sync` (or a flush by the writer + barrier).
// Loads and stores through the pointer are one-sided accesses (see SYNCHRONISATION): in
// sequential mode this call synchronises after collective operations, as one-sided calls do.
//
// # Safety
// `base` and `bytes` are NULL (→ `DISTARR_ERR_NULL`) or valid for writing.
int distarr_gmem_local(uint32_t seg, void **base, uint64_t *bytes);

// Copies `bytes` bytes from `rank`'s part of `seg` at byte `offset` into `dst` (`MPI_Get` +
// flush, or a memory copy on the node). **One-sided**, blocking: the data is in `dst` on
// return. Errors: `DISTARR_ERR_RANK`, `DISTARR_ERR_SEGMENT`, `DISTARR_ERR_BOUNDS`
// (`offset + bytes` beyond the segment), `DISTARR_ERR_NULL` (`dst` NULL with `bytes > 0`).
//
// # Safety
// `dst` is valid for writes of `bytes` bytes and does not overlap the source range.
int distarr_get(void *dst, int32_t rank, uint32_t seg, uint64_t offset, uint64_t bytes);

// Copies `bytes` bytes from `src` into `rank`'s part of `seg` at byte `offset` (`MPI_Put` +
// flush). **One-sided**, blocking with remote completion: the data is in the target's memory on
// return (the target's own loads see it after its next `distarr_sync`). Errors as `distarr_get`.
//
// # Safety
// `src` is valid for reads of `bytes` bytes.
int distarr_put(int32_t rank, uint32_t seg, uint64_t offset, const void *src, uint64_t bytes);

// Starts a get (`MPI_Rget`); `*req` receives a request to complete with `distarr_wait` or
// `distarr_test`. **One-sided**, non-blocking. The caller keeps `dst` valid and untouched until
// the request completes. Errors as `distarr_get` (then no request is created), plus
// `DISTARR_ERR_NULL` for `req`.
//
// # Safety
// `dst` is valid for writes of `bytes` bytes until the request completes (`distarr_wait`,
// `distarr_test` reporting completion, or `distarr_finalize`); `req` is valid for writing.
int distarr_get_nb(void *dst,
                   int32_t rank,
                   uint32_t seg,
                   uint64_t offset,
                   uint64_t bytes,
                   distarr_request *req);

// Starts a put (`MPI_Rput`); `*req` receives a request. **One-sided**, non-blocking. The caller
// keeps `src` valid and unmodified until the request completes (local completion); remote
// completion needs `distarr_flush`. Errors as `distarr_get_nb`.
//
// # Safety
// `src` is valid for reads of `bytes` bytes until the request completes; `req` is valid for
// writing.
int distarr_put_nb(int32_t rank,
                   uint32_t seg,
                   uint64_t offset,
                   const void *src,
                   uint64_t bytes,
                   distarr_request *req);

// Blocks until the request completes locally (`MPI_Wait`), frees it and sets `*req = 0`.
// `*req == 0` returns at once. A freed, completed-and-copied, or forged id →
// `DISTARR_ERR_HANDLE` (`*req` unchanged). Local.
//
// # Safety
// `req` is NULL (→ `DISTARR_ERR_NULL`) or valid for reading and writing.
int distarr_wait(distarr_request *req);

// Tests a request (`MPI_Test`): `*done = 1` and `*req = 0` (request freed) if it has completed
// locally, else `*done = 0`. Never blocks. `*req == 0` gives `*done = 1`. Errors as
// `distarr_wait`. Local.
//
// # Safety
// `req` and `done` are NULL (→ `DISTARR_ERR_NULL`) or valid for reading/writing.
int distarr_test(distarr_request *req, int32_t *done);

// `target[k] = target[k] op src[k]` for `count` elements of `dtype`, atomically per element
// (`MPI_Accumulate` + flush), at byte `offset` of `rank`'s part of `seg`. **One-sided**, blocking
// with remote completion. `offset` must be a multiple of the element size
// (`DISTARR_ERR_MISALIGNED`). dtypes: BOOL, I32, I64, U8, U32, U64, F32, F64 (complex →
// `DISTARR_ERR_DTYPE`); ops: SUM, PROD, MIN, MAX, REPLACE, and BAND/BOR/BXOR on integers and
// BOOL (on floats → `DISTARR_ERR_DTYPE`); NO_OP or an unknown op → `DISTARR_ERR_OP`.
// Concurrent accumulates to one element should use the same op.
//
// # Safety
// `src` is valid for reads of `count` elements of `dtype` (any alignment).
int distarr_acc(int32_t rank,
                uint32_t seg,
                uint64_t offset,
                const void *src,
                uint64_t count,
                int32_t dtype,
                int32_t op);

// Atomically applies `op` with `*operand` to one element of `dtype` at byte `offset` of `rank`'s
// part of `seg`, and stores the element's previous value in `*result` (`MPI_Fetch_and_op` +
// flush). **One-sided**, blocking. `DISTARR_OP_NO_OP` makes it an atomic read. dtype/op rules
// and alignment as `distarr_acc`.
//
// # Safety
// `result` and `operand` are valid for one element of `dtype` (any alignment).
int distarr_fetch_op(void *result,
                     const void *operand,
                     int32_t rank,
                     uint32_t seg,
                     uint64_t offset,
                     int32_t dtype,
                     int32_t op);

// Atomically replaces one element of `dtype` at byte `offset` of `rank`'s part of `seg` with
// `*swap` if it equals `*compare`; `*result` receives the previous value
// (`MPI_Compare_and_swap` + flush). **One-sided**, blocking. dtypes: BOOL and integers (F32/F64
// and complex → `DISTARR_ERR_DTYPE`). Alignment as `distarr_acc`.
//
// # Safety
// `result`, `compare` and `swap` are valid for one element of `dtype` (any alignment).
int distarr_cas(void *result,
                const void *compare,
                const void *swap,
                int32_t rank,
                uint32_t seg,
                uint64_t offset,
                int32_t dtype);

// Starts a get of `bytes` bytes from `rank`'s part of `seg` at byte `offset` into `dst` with
// implicit completion (OpenSHMEM's `shmem_getmem_nbi`: an `MPI_Get` without a request; a memory
// copy on the node, complete at once). **One-sided**, non-blocking: the data is in `dst` once
// one of `distarr_flush_local(rank)`, `distarr_flush(rank)`, `distarr_flush_local_all`,
// `distarr_flush_all`, `distarr_fence`, `distarr_sync` or `distarr_finalize` has returned on
// this rank. Until then `dst` must stay valid and must be neither read nor written (the buffer
// belongs to distarr between the call and the completion call). Checks and errors as
// `distarr_get`, all before anything is started (then nothing is in flight).
//
// # Safety
// `dst` is valid for writes of `bytes` bytes until a completion call above returns, and does
// not overlap the source range.
int distarr_get_nbi(void *dst, int32_t rank, uint32_t seg, uint64_t offset, uint64_t bytes);

// Starts a put of the `bytes` bytes at `src` into `rank`'s part of `seg` at byte `offset` with
// implicit completion (`shmem_putmem_nbi`: an `MPI_Put` without a request). **One-sided**,
// non-blocking: `src` may be reused (local completion) once `distarr_flush_local(rank)`,
// `distarr_flush_local_all` or any of the calls below has returned; the data is at the target
// (remote completion) once `distarr_flush(rank)`, `distarr_flush_all`, `distarr_fence`,
// `distarr_sync` or `distarr_finalize` has returned. Until local completion `src` must stay
// valid and unmodified. Checks and errors as `distarr_put`.
//
// # Safety
// `src` is valid for reads of `bytes` bytes until a call that completes the operation locally
// returns, and does not overlap the target range.
int distarr_put_nbi(int32_t rank, uint32_t seg, uint64_t offset, const void *src, uint64_t bytes);

// Completes every operation this rank issued to `rank`, at origin and target (`MPI_Win_flush`):
// gets have landed, puts are visible at the target. **One-sided.**
int distarr_flush(int32_t rank);

// Completes every operation this rank issued to `rank` at the origin only
// (`MPI_Win_flush_local`): gets have landed and put buffers may be reused, but puts may not be
// visible at the target yet. **One-sided.**
int distarr_flush_local(int32_t rank);

// Completes every operation this rank issued, to all ranks (`MPI_Win_flush_all`). **One-sided.**
int distarr_flush_all(void);

// Local completion of every operation this rank issued (`MPI_Win_flush_local_all`): gets have
// landed, put buffers may be reused. **One-sided.**
int distarr_flush_local_all(void);

// A BSP fence (like `MPI_Win_fence`): when it returns on any rank, every one-sided operation
// issued by any rank before it is complete at its target. **Collective.**
int distarr_fence(void);

// `MPI_Barrier`. **Collective.** Orders no memory operations by itself (use `distarr_sync`).
int distarr_barrier(void);

// Flush all + memory synchronisation + barrier: afterwards every rank sees, through one-sided
// reads and through loads of its own `distarr_gmem_local` memory, every write any rank made
// before the call. **Collective.**
int distarr_sync(void);

// Broadcasts `bytes` bytes at `buf` from `root` to every rank (`MPI_Bcast`). **Collective**;
// every rank passes the same `bytes` and `root`. SPMD mode only (`DISTARR_ERR_STATE` in
// sequential mode).
//
// # Safety
// `buf` is valid for reads and writes of `bytes` bytes.
int distarr_bcast(void *buf, uint64_t bytes, int32_t root);

// In-place all-reduce of `count` elements of `dtype` at `buf` with `op` (SUM, PROD, MIN, MAX;
// BAND, BOR, BXOR on integers and BOOL) (`MPI_Allreduce`). **Collective**; same `count`,
// `dtype`, `op` on every rank. SPMD mode only (`DISTARR_ERR_STATE` in sequential mode).
// `buf` is written only on success.
//
// # Safety
// `buf` is valid for reads and writes of `count` elements of `dtype` (any alignment).
int distarr_allreduce(void *buf, uint64_t count, int32_t dtype, int32_t op);

// Creates a zero-filled array of `ndim` dimensions with extents `shape[0..ndim]` and dtype
// `dtype`; `*out` receives its handle (the same id on every rank). `block == NULL`: block layout
// (one box per rank on a balanced process grid); else block-cyclic with block extents
// `block[0..ndim]` (each >= 1). **Collective**, same arguments on every rank. The caller owns
// the array until `distarr_free` (or `distarr_finalize`, which frees every array).
// Errors: `DISTARR_ERR_ARG` (ndim outside 0..=64, block extent < 1), `DISTARR_ERR_SHAPE`
// (negative extent, size overflow), `DISTARR_ERR_DTYPE`, `DISTARR_ERR_NULL`,
// `DISTARR_ERR_NOMEM` (the heap cannot hold it).
//
// # Safety
// `shape` (and `block` unless NULL) are valid for reads of `ndim` `int64_t`s; `out` is valid for
// writing.
int distarr_create(int32_t ndim,
                   const int64_t *shape,
                   int32_t dtype,
                   const int64_t *block,
                   distarr_array *out);

// `distarr_create` with an explicit layout: `DISTARR_LAYOUT_BLOCK`, `_BLOCK_CYCLIC` (block
// extents in `block`, non-NULL), `_REPLICATED` (every rank holds a copy; `distarr_put_region`
// writes every copy, collective operations keep them equal), `_ON_RANK` (rank `rank` holds it
// all). `block` is ignored (may be NULL) except for block-cyclic, `rank` except for on-rank.
// With `DISTARR_LAYOUT_DEFERRED` OR-ed in, the array is an output whose storage comes with
// its first collective use (see that flag). **Collective.** Errors as `distarr_create`, plus
// `DISTARR_ERR_ARG` (unknown layout) and `DISTARR_ERR_RANK`.
//
// # Safety
// As `distarr_create`.
int distarr_create_layout(int32_t ndim,
                          const int64_t *shape,
                          int32_t dtype,
                          int32_t layout,
                          const int64_t *block,
                          int32_t rank,
                          distarr_array *out);

// Creates the 1-D array `numpy.arange(start, stop, step)` of dtype `dtype` (values computed as
// `start + i * step` in double precision, then cast), block layout; `*out` receives it.
// Length `max(0, ceil((stop - start) / step))`. **Collective.** Errors: `DISTARR_ERR_ARG`
// (step 0, non-finite values), `DISTARR_ERR_DTYPE`, `DISTARR_ERR_NULL`, `DISTARR_ERR_NOMEM`.
// Ownership as `distarr_create`.
//
// # Safety
// `out` is valid for writing.
int distarr_arange(double start, double stop, double step, int32_t dtype, distarr_array *out);

// Creates the 1-D array `numpy.linspace(start, stop, num, endpoint)` of dtype `dtype`, block
// layout: `num` values from `start` in steps of `(stop - start) / (num - 1)` when `endpoint` is
// non-zero (the last value is exactly `stop`), `(stop - start) / num` when it is 0. Values are
// computed in double precision, then cast to `dtype` (toward zero for integer dtypes, as
// `distarr_copy`). **Collective.** Errors: `DISTARR_ERR_ARG` (non-finite `start`/`stop`),
// `DISTARR_ERR_SHAPE` (`num < 0`), `DISTARR_ERR_DTYPE`, `DISTARR_ERR_NULL`, `DISTARR_ERR_NOMEM`.
// Ownership as `distarr_create`.
//
// # Safety
// `out` is valid for writing.
int distarr_linspace(double start,
                     double stop,
                     int64_t num,
                     int32_t endpoint,
                     int32_t dtype,
                     distarr_array *out);

// Creates the `n` x `m` array `numpy.eye(n, m, k)` of dtype `dtype` (ones on the diagonal
// `j - i == k`: `k > 0` above the main diagonal, `k < 0` below; zeros elsewhere), block layout.
// Pass `m = n` for a square matrix. **Collective.** Errors: `DISTARR_ERR_SHAPE` (negative `n` or
// `m`, size overflow), `DISTARR_ERR_DTYPE`, `DISTARR_ERR_NULL`, `DISTARR_ERR_NOMEM`. Ownership as
// `distarr_create`.
//
// # Safety
// `out` is valid for writing.
int distarr_eye(int64_t n, int64_t m, int64_t k, int32_t dtype, distarr_array *out);

// A new block-layout array with the values of the array or view `a` converted to `dtype`
// (`a.astype(dtype)`: any conversion, as `distarr_copy` casts); `*out` receives it (ownership
// as `distarr_create`; `a` is unchanged). **Collective.** Errors: `DISTARR_ERR_HANDLE`,
// `DISTARR_ERR_DTYPE`, `DISTARR_ERR_NULL`, `DISTARR_ERR_NOMEM`.
//
// # Safety
// `out` is valid for writing.
int distarr_astype(distarr_array a, int32_t dtype, distarr_array *out);

// Frees an array (its storage) or a view (the handle only). **Collective**: every rank frees
// the same handles in the same order. The id is stale afterwards (`DISTARR_ERR_HANDLE`); the
// views of a freed array stay valid handles until freed, but every use of them returns
// `DISTARR_ERR_HANDLE`. Freeing does not run deferred operations: storage they still use is
// released once they have run (at the next flush), and a temporary they write but nothing
// needs is never allocated. Errors: `DISTARR_ERR_HANDLE` (freed, forged, 0).
int distarr_free(distarr_array a);

// `*ndim` = number of dimensions of an array or view. Local.
//
// # Safety
// `ndim` is NULL (→ `DISTARR_ERR_NULL`) or valid for writing.
int distarr_ndim(distarr_array a, int32_t *ndim);

// Writes the extents of an array or view to `shape[0..ndim]` (get `ndim` from
// `distarr_ndim`; nothing is written for a 0-d array, and `shape` may then be NULL). Local.
//
// # Safety
// `shape` is valid for writes of `ndim` `int64_t`s.
int distarr_shape(distarr_array a, int64_t *shape);

// `*size` = number of elements (the product of the extents). Local.
//
// # Safety
// `size` is NULL (→ `DISTARR_ERR_NULL`) or valid for writing.
int distarr_size(distarr_array a, int64_t *size);

// `*dtype` = the element type (`DISTARR_DTYPE_*`). Local.
//
// # Safety
// `dtype` is NULL (→ `DISTARR_ERR_NULL`) or valid for writing.
int distarr_dtype(distarr_array a, int32_t *dtype);

// `*seg` = the global-memory segment holding the array's elements: each rank's part holds its
// local block in C order, addressed by the byte offsets of `distarr_locate` (use with
// `distarr_get`/`distarr_put`). Owned by the array: never `distarr_gmem_free` it. Local. The
// segment of an array that a collective operation just computed exists once the operation
// has run: as for one-sided accesses (see SYNCHRONISATION), call `distarr_sync` between the
// two in SPMD mode with several ranks, else `DISTARR_ERR_ARG` (sequential mode synchronises
// itself; one rank runs the operation now). Errors: `DISTARR_ERR_HANDLE`, `DISTARR_ERR_NULL`,
// `DISTARR_ERR_ARG`.
//
// # Safety
// `seg` is NULL (→ `DISTARR_ERR_NULL`) or valid for writing.
int distarr_segment(distarr_array a, uint32_t *seg);

// A view of `a` with NumPy basic slicing `a[start[0]:stop[0]:step[0], ...]` over the first `n`
// dimensions (the others are kept whole); `*out` receives a new handle. Negative bounds count
// from the end, out-of-range bounds are clipped (Python semantics); `DISTARR_SLICE_NONE`
// (`INT64_MIN`) is an omitted bound. `start`/`stop` NULL: all omitted; `step` NULL: all 1.
// The view shares `a`'s storage (no data moves): writes through it change `a`. **Collective**
// (no communication, but the handle must get the same id on every rank). The view handle is
// freed with `distarr_free` (which leaves `a` alone); freeing `a` makes every use of the view
// return `DISTARR_ERR_HANDLE`. Errors: `DISTARR_ERR_ARG` (n outside 0..=ndim, step 0),
// `DISTARR_ERR_HANDLE`, `DISTARR_ERR_NULL` (`out`).
//
// # Safety
// Non-NULL `start`, `stop`, `step` are valid for reads of `n` `int64_t`s; `out` is valid for
// writing.
int distarr_view(distarr_array a,
                 int32_t n,
                 const int64_t *start,
                 const int64_t *stop,
                 const int64_t *step,
                 distarr_array *out);

// A view of `a` with a full NumPy basic index of `nitems` items (`0..=64`): item `k` is
// `kind[k]`, one of
// - `DISTARR_INDEX_RANGE`: the slice `start[k]:stop[k]:step[k]` (as `distarr_view`;
//   `DISTARR_SLICE_NONE` for an omitted bound);
// - `DISTARR_INDEX_INT`: the single index `start[k]` (negative counts from the end), which
//   removes the axis;
// - `DISTARR_INDEX_NEWAXIS`: a new axis of length 1 (`numpy.newaxis`);
// - `DISTARR_INDEX_ELLIPSIS`: as many full slices as needed (`...`, at most one).
//
// Axes not indexed are kept whole (a missing trailing `...`). `start`/`stop`/`step` entries of
// items that do not use them are ignored; `start`/`stop` NULL: all `DISTARR_SLICE_NONE`;
// `step` NULL: all 1. E.g. `a[1:-1, ::2, None, 3]`. `*out` receives the view (a 0-d view when
// every axis is indexed by an integer). **Collective** (a view, as `distarr_view`). Errors:
// `DISTARR_ERR_ARG` (nitems outside 0..=64, unknown kind, zero step, an integer item with
// `DISTARR_SLICE_NONE`, two ellipses), `DISTARR_ERR_BOUNDS` (an integer index out of range,
// more range/integer items than `a` has axes, a view of more than 64 dimensions: NumPy's
// limit), `DISTARR_ERR_HANDLE`, `DISTARR_ERR_NULL`
// (`out`, `kind` with `nitems > 0`).
//
// # Safety
// `kind` and the non-NULL `start`, `stop`, `step` are valid for reads of `nitems` elements;
// `out` is valid for writing.
int distarr_index(distarr_array a,
                  int32_t nitems,
                  const int32_t *kind,
                  const int64_t *start,
                  const int64_t *stop,
                  const int64_t *step,
                  distarr_array *out);

// A view of `a` with the axes reversed (`a.T`). **Collective** (a view, as `distarr_view`). Errors:
// `DISTARR_ERR_HANDLE`, `DISTARR_ERR_NULL`.
//
// # Safety
// `out` is valid for writing.
int distarr_transpose(distarr_array a, distarr_array *out);

// A view of `a` with its axes permuted (`numpy.transpose(a, axes)`): axis `k` of the view is
// axis `axes[k]` of `a` (negative axes count from the end). `ndim` must be `a`'s number of
// dimensions and `axes` a permutation of its axes. **Collective** (a view, as `distarr_view`).
// Errors: `DISTARR_ERR_ARG` (ndim outside 0..=64 or not `a`'s, an axis out of range or
// repeated), `DISTARR_ERR_HANDLE`, `DISTARR_ERR_NULL`.
//
// # Safety
// `axes` is valid for reads of `ndim` `int64_t`s; `out` is valid for writing.
int distarr_permute(distarr_array a, int32_t ndim, const int64_t *axes, distarr_array *out);

// `numpy.reshape(a, shape)` with `ndim` extents, one of which may be `-1` (whatever is left):
// a view of `a` when its elements can be addressed in the new shape without copying (always
// for an array that is not a view), else a new block-layout array holding a copy (C order).
// `*out` receives the handle; it is freed with `distarr_free` either way (a view's free leaves
// `a` alone; a copy's frees its storage). **Collective.** Errors: `DISTARR_ERR_ARG` (ndim
// outside 0..=32), `DISTARR_ERR_SHAPE` (several `-1`, another negative extent, a size other
// than `a`'s), `DISTARR_ERR_HANDLE`, `DISTARR_ERR_NULL`, `DISTARR_ERR_NOMEM` (a copy).
//
// # Safety
// `shape` is valid for reads of `ndim` `int64_t`s; `out` is valid for writing.
int distarr_reshape(distarr_array a, int32_t ndim, const int64_t *shape, distarr_array *out);

// A view of `a` broadcast to `shape` (`ndim` extents; `numpy.broadcast_to`): `a`'s axes are
// aligned at the end, new leading axes and axes of length 1 repeat `a`'s elements. Several
// elements of the view are one element of `a`: treat it as read-only (NumPy's is; writing
// through it writes those elements several times, in no specified order). **Collective** (see
// the views above). Errors: `DISTARR_ERR_ARG` (ndim outside 0..=64), `DISTARR_ERR_SHAPE`
// (negative extent, `a` not broadcastable to `shape`), `DISTARR_ERR_HANDLE`, `DISTARR_ERR_NULL`.
//
// # Safety
// `shape` is valid for reads of `ndim` `int64_t`s; `out` is valid for writing.
int distarr_broadcast_to(distarr_array a, int32_t ndim, const int64_t *shape, distarr_array *out);

// Runs the deferred array operations now (see DEFERRED EXECUTION): afterwards every array
// holds the values of every operation called before, and one-sided and local-block access to
// them is allowed (after a `distarr_sync` where other ranks wrote them, as always). Fused and
// synchronised only as their data dependencies need; nothing happens when nothing is pending.
// **Collective** (in sequential mode one command, sent with the operations it runs). Errors:
// `DISTARR_ERR_STATE` (not initialized or finalized); a failure of the deferred work itself
// (e.g. `DISTARR_ERR_NOMEM` for its results) is reported on every rank.
int distarr_flush_deferred(void);

// Turns deferred execution of element-wise operations on (`on` non-zero) or off (`on == 0`;
// what is deferred runs first), on every rank. Initially on, unless `DISTARR_LAZY=0` was set
// at `distarr_init`. Results are bit-identical either way; off, every operation runs within
// its call. **Collective**: every rank passes the same `on`. Errors: `DISTARR_ERR_STATE`
// (not initialized or finalized).
int distarr_set_lazy(int32_t on);

// `*on` = 1 if element-wise operations are deferred (see `distarr_set_lazy`), else 0. Local
// (every rank has the same setting). Errors: `DISTARR_ERR_NULL`, `DISTARR_ERR_STATE` (not
// initialized or finalized).
//
// # Safety
// `on` is NULL (→ `DISTARR_ERR_NULL`) or valid for writing an `int32_t`.
int distarr_is_lazy(int32_t *on);

// Sets every element of an array or view to `*value`, one element of the array's dtype.
// **Collective.** Errors: `DISTARR_ERR_HANDLE`, `DISTARR_ERR_NULL`.
//
// # Safety
// `value` is valid for reads of one element of the array's dtype (any alignment).
int distarr_fill(distarr_array a, const void *value);

// Fills an array or view with uniform random numbers in [0, 1), keyed by `(seed, C-order
// index)`: the same values for any number of ranks and any layout (cast to the dtype: integer
// arrays get 0). **Collective.**
int distarr_random(distarr_array a, uint64_t seed);

// As `distarr_random` with standard normal numbers. **Collective.**
int distarr_random_normal(distarr_array a, uint64_t seed);

// `dst[...] = src`: copies element-wise with NumPy casting (any dtypes) and broadcasting of
// `src` to `dst`'s shape; any layouts and views, overlapping too. **Collective.** Errors:
// `DISTARR_ERR_HANDLE`, `DISTARR_ERR_SHAPE` (not broadcastable).
int distarr_copy(distarr_array dst, distarr_array src);

// `out = op(x)` element-wise (`op` a unary `DISTARR_UFUNC_*` code). `out` must exist with
// `x`'s shape and a dtype the result can be cast to under NumPy's `same_kind` rule; it may be
// `x` itself. Result dtypes follow NumPy (e.g. `sqrt` of an int array is float64).
// **Collective.** Errors: `DISTARR_ERR_OP` (not a unary code), `DISTARR_ERR_HANDLE`,
// `DISTARR_ERR_SHAPE`, `DISTARR_ERR_DTYPE` (op undefined for the dtype, or out's dtype),
// `DISTARR_ERR_UNSUPPORTED` (reciprocal of an integer array).
int distarr_unary(int32_t op, distarr_array out, distarr_array x);

// `out = op(x, y)` element-wise with NumPy broadcasting and type promotion (`op` a binary
// `DISTARR_UFUNC_*` code). `out` must exist with the broadcast shape and a dtype the result
// can be cast to (`same_kind`); it may be `x` or `y`. **Collective.** Errors:
// `DISTARR_ERR_OP`, `DISTARR_ERR_HANDLE`, `DISTARR_ERR_SHAPE`, `DISTARR_ERR_DTYPE`,
// `DISTARR_ERR_ARG` (an element-wise failure such as an integer to a negative power, reported on
// every rank; nothing is written then).
int distarr_binary(int32_t op, distarr_array out, distarr_array x, distarr_array y);

// `out = op(x, s)` (or `op(s, x)` when `scalar_first` is non-zero) with the scalar `s`, one
// element of `scalar_dtype` at `scalar`. Promotion follows NumPy's rule for Python scalars: a
// scalar does not widen an array of the same or a higher kind (`f32_array * 2.0` stays
// float32). `out` as in `distarr_binary`. **Collective.** Errors as `distarr_binary`, plus
// `DISTARR_ERR_DTYPE` (unknown `scalar_dtype`) and `DISTARR_ERR_NULL`.
//
// # Safety
// `scalar` is valid for reads of one element of `scalar_dtype` (any alignment).
int distarr_binary_scalar(int32_t op,
                          distarr_array out,
                          distarr_array x,
                          const void *scalar,
                          int32_t scalar_dtype,
                          int32_t scalar_first);

// `out = numpy.where(cond, x, y)`: element-wise `x` where `cond` is true (non-zero), else `y`,
// with NumPy broadcasting of the three to `out`'s shape; the result dtype is the promotion of
// `x`'s and `y`'s, cast to `out`'s dtype under `same_kind`. `out` may be any of the inputs
// (`a = where(mask, b, a)` is `a[mask] = b[mask]`). **Collective.** Errors:
// `DISTARR_ERR_HANDLE`, `DISTARR_ERR_SHAPE` (not broadcastable to `out`), `DISTARR_ERR_DTYPE`
// (out's dtype).
int distarr_where(distarr_array out, distarr_array cond, distarr_array x, distarr_array y);

// `out = numpy.where(cond, x, s)` (or `where(cond, s, x)` when `scalar_first` is non-zero)
// with the scalar `s`, one element of `scalar_dtype` at `scalar`; promotion as
// `distarr_binary_scalar` (a scalar does not widen an array of its kind), otherwise as
// `distarr_where`. `a[mask] = 3.0` is `distarr_where_scalar(a, mask, a, &three, F64, 1)` (pass
// the scalar in `a`'s dtype for NumPy's item-assignment casting). **Collective.** Errors as
// `distarr_where`, plus `DISTARR_ERR_DTYPE` (unknown `scalar_dtype`) and `DISTARR_ERR_NULL`.
//
// # Safety
// `scalar` is valid for reads of one element of `scalar_dtype` (any alignment).
int distarr_where_scalar(distarr_array out,
                         distarr_array cond,
                         distarr_array x,
                         const void *scalar,
                         int32_t scalar_dtype,
                         int32_t scalar_first);

// `*result_dtype` = the dtype of reduction `op` (`DISTARR_REDUCE_*`) of an array of `dtype`,
// as NumPy: the dtype `distarr_reduce` writes to `scalar_out`. Local; callable before init.
//
// # Safety
// `result_dtype` is NULL (→ `DISTARR_ERR_NULL`) or valid for writing.
int distarr_reduce_dtype(int32_t op, int32_t dtype, int32_t *result_dtype);

// Reduces `x` with `op` (`DISTARR_REDUCE_*`; SUM, PROD, MIN, MAX equal `DISTARR_OP_*`).
// `axis == DISTARR_AXIS_NONE` (or `-1`, kept for compatibility: here `-1` is not the last axis):
// over all elements; `*scalar_out` receives one element of the result dtype
// (`distarr_reduce_dtype`: e.g. SUM of int32 is int64, MEAN of ints is double, ARGMIN/ARGMAX are
// int64 C-order indices) on every rank (rank 0 in sequential mode); `out` is ignored (pass 0).
// `axis >= 0`: along that axis into `out`, which must exist with `x`'s shape without `axis` and
// a dtype the result casts to (`same_kind`); `scalar_out` is ignored (may be NULL).
// **Collective.** Errors: `DISTARR_ERR_OP`, `DISTARR_ERR_HANDLE`, `DISTARR_ERR_ARG` (axis out
// of range; MIN/MAX/ARGMIN/ARGMAX of an empty array), `DISTARR_ERR_SHAPE`, `DISTARR_ERR_DTYPE`
// (complex MIN/MAX; out's dtype), `DISTARR_ERR_NULL` (`scalar_out` for all elements).
//
// # Safety
// With `axis == -1` or `DISTARR_AXIS_NONE`, `scalar_out` is valid for writing one element of the result dtype.
int distarr_reduce(int32_t op,
                   distarr_array x,
                   int32_t axis,
                   distarr_array out,
                   void *scalar_out);

// `out = a @ b` (`numpy.matmul` for 1-D and 2-D operands): (n,k)@(k,m) → (n,m),
// (n,k)@(k) → (n), (k)@(k,m) → (m), (k)@(k) → a 0-d `out`. `out` must exist with that shape and
// a dtype the promoted result casts to (`same_kind`); it must not overlap `a` or `b`.
// **Collective.** Errors: `DISTARR_ERR_HANDLE`, `DISTARR_ERR_SHAPE`, `DISTARR_ERR_DTYPE`.
int distarr_matmul(distarr_array out,
                   distarr_array a,
                   distarr_array b);

// `a[mask]`: a new 1-D block-layout array of the elements of `a` where `mask` is true, in C
// order (`*out` receives it; ownership as `distarr_create`). `mask` has dtype bool and `a`'s
// shape, or a shape that broadcasts to it (NumPy broadcasting). The selected elements move
// between their owners and their places in the result only (each rank counts the selections
// in its share, an all-gather of the counts places them). **Collective.** Errors:
// `DISTARR_ERR_HANDLE`, `DISTARR_ERR_DTYPE` (mask not bool), `DISTARR_ERR_SHAPE` (mask not
// broadcastable to `a`), `DISTARR_ERR_NULL`, `DISTARR_ERR_NOMEM`.
//
// # Safety
// `out` is valid for writing.
int distarr_mask_select(distarr_array a, distarr_array mask, distarr_array *out);

// `a[mask] = values` (`mask` as in `distarr_mask_select`). `values` is either
// - a 1-D array of exactly `count_nonzero(mask)` elements: they go, in order, to the selected
//   elements in C order (NumPy's assignment of a compacted vector; this reading wins when both
//   apply);
// - or an array that broadcasts to `a`'s shape: `a = where(mask, values, a)` (`values` of one
//   element sets every selected element).
//
// Values are converted to `a`'s dtype as NumPy's item assignment does (any cast, as
// `distarr_copy`). `values` may be a view of `a`. **Collective.** Errors: `DISTARR_ERR_HANDLE`,
// `DISTARR_ERR_DTYPE` (mask not bool), `DISTARR_ERR_SHAPE` (mask not broadcastable to `a`;
// `values` neither of the two: a 1-D `values` of the wrong length that does not broadcast is
// reported on every rank after counting).
int distarr_mask_assign(distarr_array a, distarr_array mask, distarr_array values);

// `out = numpy.roll(a, shift, axis)`: the elements shifted by `shift` positions along `axis`
// (negative `shift`: backwards; a negative `axis` counts from the end, `-1` is the last axis),
// those leaving at one end coming back at the other. `axis == DISTARR_AXIS_NONE`: NumPy's
// `axis=None`, the C-order flattening is rolled (the shape stays). `out` must exist with `a`'s
// shape, any dtype (values converted as `distarr_copy`); it may be `a` itself. **Collective.**
// Errors: `DISTARR_ERR_HANDLE`, `DISTARR_ERR_ARG` (axis out of range), `DISTARR_ERR_SHAPE`
// (out's shape).
int distarr_roll(distarr_array out, distarr_array a, int64_t shift, int32_t axis);

// `numpy.concatenate(arrays[0..n], axis)`: a new block-layout array (`*out`; ownership as
// `distarr_create`) of the arrays joined along `axis` (negative counts from the end), whose
// extents must agree except along `axis`; `axis == DISTARR_AXIS_NONE` joins their C-order
// flattenings into a 1-D array. The dtype is the NumPy promotion of the inputs' dtypes.
// **Collective.** Errors: `DISTARR_ERR_ARG` (n < 1, axis out of range), `DISTARR_ERR_SHAPE`
// (different numbers of dimensions or extents, 0-d arrays along an axis),
// `DISTARR_ERR_HANDLE`, `DISTARR_ERR_NULL`, `DISTARR_ERR_NOMEM`.
//
// # Safety
// `arrays` is valid for reads of `n` handles; `out` is valid for writing.
int distarr_concatenate(int32_t n, const distarr_array *arrays, int32_t axis, distarr_array *out);

// Copies the whole array or view, C order, into `buf` on `root` (`size * element size` bytes;
// other ranks' `buf` is ignored and may be NULL). **Collective**; the data moves by one-sided
// gets issued by the root. In sequential mode `root` must be 0. Errors: `DISTARR_ERR_HANDLE`,
// `DISTARR_ERR_RANK`, `DISTARR_ERR_NULL` (the root's `buf`: reported on every rank).
//
// # Safety
// On `root`, `buf` is valid for writes of the array's size in bytes.
int distarr_gather(distarr_array a, int32_t root, void *buf);

// Writes the whole array or view from `buf` on `root` (C order, `size * element size` bytes
// of the array's dtype; other ranks' `buf` is ignored and may be NULL). **Collective**; the
// root writes with one-sided puts. In sequential mode `root` must be 0. Errors as
// `distarr_gather`.
//
// # Safety
// On `root`, `buf` is valid for reads of the array's size in bytes.
int distarr_scatter(distarr_array a, int32_t root, const void *buf);

// Saves an array or view as a C-order `.npy` file at `path` (every rank writes its part of the
// file: the path must name the same file on every rank, e.g. on a shared file system).
// **Collective.** Errors: `DISTARR_ERR_HANDLE`, `DISTARR_ERR_NULL`, `DISTARR_ERR_IO`.
//
// # Safety
// `path` is NULL or a NUL-terminated string.
int distarr_save_npy(distarr_array a, const char *path);

// Loads a `.npy` file (little-endian, C order, a distarr dtype) into a new block-layout array;
// `*out` receives it (ownership as `distarr_create`). Every rank reads its part of the file.
// **Collective.** Errors: `DISTARR_ERR_NULL`, `DISTARR_ERR_IO` (missing or malformed file),
// `DISTARR_ERR_DTYPE` (unsupported dtype in the file), `DISTARR_ERR_NOMEM`.
//
// # Safety
// `path` is NULL or a NUL-terminated string; `out` is valid for writing.
int distarr_load_npy(const char *path, distarr_array *out);

// Copies the box `[lo, hi)` (`hi` exclusive, `ndim` entries each) of an array or view into
// `buf`, C order, elements of the array's dtype. **One-sided** (`MPI_Get`s to the owners),
// blocking: the data is in `buf` on return. Sees every write completed before it (writes by
// other ranks and by collective operations: after a `distarr_sync` ordered them; see
// SYNCHRONISATION). Errors:
// `DISTARR_ERR_HANDLE`, `DISTARR_ERR_BOUNDS` (negative or `lo > hi` or `hi > shape`),
// `DISTARR_ERR_NULL` (`lo`/`hi` of a non-0-d array, `buf` for a non-empty box).
//
// # Safety
// `lo`/`hi` are valid for reads of `ndim` `int64_t`s; `buf` for writes of the box's bytes.
int distarr_get_region(distarr_array a, const int64_t *lo, const int64_t *hi, void *buf);

// Writes `buf` (C order, the array's dtype) to the box `[lo, hi)` of an array or view (every
// copy of a replicated array). **One-sided** (`MPI_Put`s), complete at the targets on return.
// Concurrent writes of one element by several ranks without synchronisation are a race.
// Errors as `distarr_get_region`.
//
// # Safety
// `lo`/`hi` are valid for reads of `ndim` `int64_t`s; `buf` for reads of the box's bytes.
int distarr_put_region(distarr_array a, const int64_t *lo, const int64_t *hi, const void *buf);

// `region op= buf` element-wise and atomically per element (Global Arrays' `NGA_Acc`;
// `MPI_Accumulate`), `op` one of `DISTARR_OP_SUM, PROD, MIN, MAX, REPLACE`, and BAND/BOR/BXOR
// for integer arrays. **One-sided**, complete at the targets on return; concurrent
// accumulates with the same op are safe. Errors as `distarr_get_region`, plus
// `DISTARR_ERR_OP` (unknown op, NO_OP), `DISTARR_ERR_DTYPE` (bool and complex arrays, bitwise
// ops on floats), `DISTARR_ERR_ARG` (replicated arrays).
//
// # Safety
// As `distarr_put_region`.
int distarr_acc_region(distarr_array a,
                       const int64_t *lo,
                       const int64_t *hi,
                       const void *buf,
                       int32_t op);

// `*rank`, `*offset` = the owner of element `index` (`ndim` entries) of an array or view and
// its byte offset in the owner's part of the array's segment (`distarr_segment`). For a
// replicated array, the calling rank's own copy. Local (no communication). Errors:
// `DISTARR_ERR_HANDLE`, `DISTARR_ERR_BOUNDS`, `DISTARR_ERR_NULL`.
//
// # Safety
// `index` is valid for reads of `ndim` `int64_t`s; `rank` and `offset` for writing.
int distarr_locate(distarr_array a, const int64_t *index, int32_t *rank, uint64_t *offset);

// This rank's part of an array as one box: `*ptr` = its elements in this rank's memory (C
// order, dense), holding the global box `[lo, hi)` (`ndim` entries each). When the rank holds
// nothing, `*ptr` is NULL and `lo == hi` (for a 0-d array, whose box always holds one element,
// NULL is the only sign). Direct loads and stores: the memory belongs to the array (never free
// it), valid until the array is freed. Loads and stores through the pointer are one-sided
// accesses: separate them from collective operations on the array with `distarr_sync` (see
// SYNCHRONISATION; in sequential mode this call synchronises after collective operations, and
// a pointer kept across later collective calls needs `distarr_sync` there too). Local. Errors: `DISTARR_ERR_HANDLE`, `DISTARR_ERR_NULL`, `DISTARR_ERR_UNSUPPORTED` (a view,
// or a block-cyclic layout with several blocks per rank along a dimension).
//
// # Safety
// `ptr` is valid for writing; `lo`, `hi` for writes of `ndim` `int64_t`s.
int distarr_local_block(distarr_array a,
                        void **ptr,
                        int64_t *lo,
                        int64_t *hi);

#ifdef __cplusplus
}  // extern "C"
#endif  // __cplusplus

#endif  /* DISTARR_H */
