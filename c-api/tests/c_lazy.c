/*
 * c_lazy.c - deferred execution through the C ABI (the header's DEFERRED EXECUTION section)
 * and the command batches of sequential mode, checked against values computed here:
 *
 *  1. distarr_flush_deferred, distarr_set_lazy, distarr_is_lazy and distarr_seq_stats: their
 *     values, and their status codes before init, after finalize and for NULL outputs;
 *  2. every flush point runs what was deferred before it: an element-wise write to `A` is
 *     recorded, then the flush point is called (on other arrays where it takes arrays). In SPMD
 *     mode at several ranks with deferral on, this rank's block of `A` is refused as pending
 *     before the flush point and holds the new values right after it (the engine computes each
 *     element on its owner, so no other call is needed to see them); in sequential mode the
 *     recorded calls send nothing to the other ranks and a flush point that communicates sends
 *     them (exactly one message, carrying the recorded calls and the flush point's command),
 *     while a flush of aligned operations sends nothing; in every mode a gather then sees the
 *     values on every rank. distarr_free of an array the recorded calls use is not a flush
 *     point: they run later, with its values;
 *  3. errors come at the call: calls with bad arguments fail at once, record nothing and are
 *     not sent to the other ranks (the command count of sequential mode grows by the calls that
 *     succeeded only), and the values after a flush show exactly the calls that succeeded;
 *  4. a batch that fills up (DISTARR_TEST_SEQ_BATCH_BYTES small) is sent before it overflows,
 *     and nothing is sent otherwise;
 *  5. the program finalises with operations still deferred, the result of a pending astype
 *     among them (under valgrind: no invalid access, nothing lost).
 *
 * Sections 2-4 run with deferral as DISTARR_LAZY set it, then with the opposite setting. Run
 * by tests/multirank.rs at 1-4 ranks in SPMD and sequential mode, with DISTARR_LAZY=0, with
 * small batches, and under valgrind.
 */
#include "arrays.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define N 1000

static const int64_t VEC[1] = {N};
static const double ZERO = 0.0, ONE = 1.0, TWO = 2.0, THREE = 3.0;

static int lazy = 1;        /* deferral on now */
static int seq_multi = 0;   /* sequential mode with several ranks: commands go in batches */
static size_t batch_limit = 0; /* DISTARR_TEST_SEQ_BATCH_BYTES, 0 if unset */

/* A: the array the recorded writes go to, every element a_val; ONES: ones; B: 0, 1, ..., N-1;
 * MASK: all true; C: scratch. */
static distarr_array A, ONES, B, MASK, C;
static double a_val;

static double ident(int64_t i) { return (double)i; }
static double half(int64_t i) { return 0.5 * (double)i; }

static void stats(uint64_t *messages, uint64_t *commands) {
    OK(distarr_seq_stats(messages, commands));
    if (!seq_multi) CHECK(*messages == 0 && *commands == 0);
}

/* Every element of the f64 array `x` of `n` elements equals f(i): gathered to the root. */
static void check_values(distarr_array x, int64_t n, double (*f)(int64_t), double v) {
    double *g = gather_f64(x, n);
    if (g)
        for (int64_t i = 0; i < n; i++) CHECK(g[i] == (f ? f(i) : v));
    free(g);
}

/* This rank's part of A holds a_val, read through its local block with no synchronising call
 * before: every rank computes the elements it owns, so it sees its own part at once. */
static void own_part_current(void) {
    void *p = NULL;
    int64_t lo[1], hi[1];
    OK(distarr_local_block(A, &p, lo, hi));
    const double *v = p;
    for (int64_t i = 0; i < hi[0] - lo[0]; i++) CHECK(v[i] == a_val);
}

/* This rank's part of C holds v (as own_part_current). */
static void own_part_c(double v) {
    void *p = NULL;
    int64_t lo[1], hi[1];
    OK(distarr_local_block(C, &p, lo, hi));
    const double *x = p;
    for (int64_t i = 0; i < hi[0] - lo[0]; i++) CHECK(x[i] == v);
}

/* Where it can be seen (SPMD, several ranks, deferral on): one-sided and local-block access to
 * A is refused while writes to it are pending. */
static void expect_pending(void) {
    if (!(spmd && np > 1 && lazy)) return;
    void *p = NULL;
    int64_t lo[1] = {0}, hi[1] = {1};
    double x = -1;
    EXPECT(distarr_local_block(A, &p, lo, hi), DISTARR_ERR_ARG);
    CHECK(p == NULL);
    EXPECT(distarr_get_region(A, lo, hi, &x), DISTARR_ERR_ARG);
    CHECK(x == -1);
    EXPECT(distarr_put_region(A, lo, hi, &x), DISTARR_ERR_ARG);
}

/* Records A = (A + x) * 2, x holding ones: two element-wise calls. */
static void record(distarr_array x) {
    OK(distarr_binary(DISTARR_UFUNC_ADD, A, A, x));
    OK(distarr_binary_scalar(DISTARR_UFUNC_MULTIPLY, A, A, &TWO, DISTARR_DTYPE_F64, 0));
    a_val = (a_val + 1.0) * 2.0;
}

/* --- 2. flush points ----------------------------------------------------------------------- */

static char npy_path[160];

static void fp_flush(void) { OK(distarr_flush_deferred()); }
static void fp_sync(void) { OK(distarr_sync()); }
static void fp_barrier(void) { OK(distarr_barrier()); }
static void fp_fence(void) { OK(distarr_fence()); }

static void fp_reduce(void) {
    double s = -1;
    OK(distarr_reduce(DISTARR_REDUCE_SUM, B, DISTARR_AXIS_NONE, 0, &s));
    if (spmd || me == 0) CHECK(s == (double)N * (N - 1) / 2);
}

static void fp_matmul(void) {
    /* (2x3 of ones) @ (3x4 of twos) = 2x4 of sixes */
    const int64_t s1[2] = {2, 3}, s2[2] = {3, 4}, s3[2] = {2, 4};
    distarr_array m1 = 0, m2 = 0, m3 = 0;
    OK(distarr_create(2, s1, DISTARR_DTYPE_F64, NULL, &m1));
    OK(distarr_create(2, s2, DISTARR_DTYPE_F64, NULL, &m2));
    OK(distarr_create(2, s3, DISTARR_DTYPE_F64, NULL, &m3));
    OK(distarr_fill(m1, &ONE));
    OK(distarr_fill(m2, &TWO));
    expect_pending();
    OK(distarr_matmul(m3, m1, m2));
    own_part_current();
    check_values(m3, 8, NULL, 6.0);
    OK(distarr_free(m3));
    OK(distarr_free(m2));
    OK(distarr_free(m1));
}

static void fp_gather(void) { check_values(B, N, ident, 0); }

static void fp_scatter(void) {
    double *buf = malloc(N * sizeof *buf);
    CHECK(buf != NULL);
    for (int i = 0; i < N; i++) buf[i] = 0.5 * i;
    OK(distarr_scatter(C, root, me == root ? buf : NULL));
    free(buf);
}

static void fp_save(void) { OK(distarr_save_npy(B, npy_path)); }

static void fp_load(void) {
    distarr_array l = 0;
    OK(distarr_load_npy(npy_path, &l));
    own_part_current();
    check_values(l, N, ident, 0);
    OK(distarr_free(l));
}

static void fp_mask_select(void) {
    distarr_array s = 0;
    OK(distarr_mask_select(B, MASK, &s));
    own_part_current();
    check_values(s, N, ident, 0);
    OK(distarr_free(s));
}

static void fp_mask_assign(void) {
    /* a 1-D values array of count_nonzero(mask) elements: C[mask] = B */
    OK(distarr_mask_assign(C, MASK, B));
    own_part_current();
    check_values(C, N, ident, 0);
}

static void fp_set_lazy(void) {
    OK(distarr_set_lazy(0));
    OK(distarr_set_lazy(lazy));
}

static void fp_full_queue(void) {
    /* 256 recorded operations (the engine's queue limit) run what is recorded (C += 1 each) */
    OK(distarr_fill(C, &ZERO));
    for (int k = 0; k < 256; k++)
        OK(distarr_binary_scalar(DISTARR_UFUNC_ADD, C, C, &ONE, DISTARR_DTYPE_F64, 0));
}

/* Records a write to A, calls the flush point `fp`, and checks that it ran the write. */
static void flush_point(const char *name, void (*fp)(void)) {
    (void)name; /* in a debugger's backtrace */
    uint64_t m0, c0, m1, c1, m2, c2;
    distarr_array x = ONES;
    if (fp == fp_load) fp_save();
    stats(&m0, &c0);
    record(x);
    stats(&m1, &c1);
    /* recorded calls are not sent (with deferral off they run at once, and the first write to
     * A after the gather that read it synchronises: the batch goes then) */
    if (seq_multi && lazy && batch_limit == 0) CHECK(m1 == m0);
    expect_pending();
    fp();
    stats(&m2, &c2);
    /* Sequential mode: a flush point that is one collective call sends the recorded calls
     * with its own command, in one message, before it communicates; distarr_flush_deferred
     * communicates only when the operations it runs must synchronise (or allocate): aligned
     * operations on data no other rank read since the last sync run on every rank without a
     * word (one program makes every rank's calls: there is nothing to agree on). */
    const int one_call = fp == fp_sync || fp == fp_barrier || fp == fp_fence || fp == fp_reduce ||
                         fp == fp_gather || fp == fp_scatter || fp == fp_save;
    if (seq_multi && lazy && batch_limit == 0) {
        if (one_call) CHECK(m2 == m1 + 1 && c2 == c1 + 3);
        if (fp == fp_flush) CHECK(m2 <= m1 + 1);
    }
    own_part_current();
    check_values(A, N, NULL, a_val);
}

static void flush_points(void) {
    snprintf(npy_path, sizeof npy_path, "/tmp/distarr_c_lazy_%ld_%s_%d.npy", (long)getppid(),
             spmd ? "spmd" : "seq", lazy);
    OK(distarr_sync()); /* nothing is left to send: the counts below are the flush points' */
    flush_point("flush_deferred", fp_flush);
    flush_point("sync", fp_sync);
    flush_point("barrier", fp_barrier);
    flush_point("fence", fp_fence);
    flush_point("reduce", fp_reduce);
    flush_point("matmul", fp_matmul);
    flush_point("gather", fp_gather);
    flush_point("scatter", fp_scatter);
    check_values(C, N, half, 0);
    flush_point("save_npy", fp_save);
    flush_point("load_npy", fp_load);
    OK(distarr_barrier()); /* every rank has read the file */
    if (me == root) unlink(npy_path);
    flush_point("mask_select", fp_mask_select);
    flush_point("mask_assign", fp_mask_assign);
    flush_point("set_lazy", fp_set_lazy);
    flush_point("full queue", fp_full_queue);
    check_values(C, N, NULL, 256.0);
}

/* distarr_free of an array recorded calls use is not a flush point: its storage goes with them,
 * and they run at the next flush with the values it had. */
static void free_is_not_a_flush_point(void) {
    distarr_array t = 0;
    OK(distarr_create(1, VEC, DISTARR_DTYPE_F64, NULL, &t));
    OK(distarr_fill(t, &ONE));
    OK(distarr_sync());
    uint64_t m0, c0, m1, c1;
    stats(&m0, &c0);
    record(t);
    OK(distarr_free(t));
    EXPECT(distarr_fill(t, &ONE), DISTARR_ERR_HANDLE);
    expect_pending();
    stats(&m1, &c1);
    if (seq_multi && lazy && batch_limit == 0) CHECK(m1 == m0);
    OK(distarr_flush_deferred());
    own_part_current();
    check_values(A, N, NULL, a_val);
}

/* --- 3. errors at the call ----------------------------------------------------------------- */

static void errors_at_call(void) {
    const int64_t s5[1] = {5}, m2d[2] = {4, 5}, s4[1] = {4};
    distarr_array five = 0, ints = 0, gone = 0, mat = 0, col = 0, wrong = 0, bad = 99;
    OK(distarr_create(1, s5, DISTARR_DTYPE_F64, NULL, &five));
    OK(distarr_create(1, VEC, DISTARR_DTYPE_I32, NULL, &ints));
    OK(distarr_create(1, VEC, DISTARR_DTYPE_F64, NULL, &gone));
    OK(distarr_free(gone));
    OK(distarr_create(2, m2d, DISTARR_DTYPE_F64, NULL, &mat));
    OK(distarr_create(1, s5, DISTARR_DTYPE_F64, NULL, &col));
    OK(distarr_create(1, s4, DISTARR_DTYPE_F64, NULL, &wrong));
    OK(distarr_fill(A, &ZERO));
    OK(distarr_fill(mat, &TWO));
    OK(distarr_sync()); /* runs them, and sends every command issued so far */
    a_val = 0;

    uint64_t m0, c0, m1, c1, m2, c2;
    stats(&m0, &c0);
    const int32_t one_i = 1, minus_one_i = -1;
    int ok_calls = 0;
    OK(distarr_binary_scalar(DISTARR_UFUNC_ADD, A, A, &ONE, DISTARR_DTYPE_F64, 0));
    ok_calls++;
    EXPECT(distarr_binary(DISTARR_UFUNC_ADD, A, A, five), DISTARR_ERR_SHAPE);
    EXPECT(distarr_binary(DISTARR_UFUNC_ADD, ints, A, A), DISTARR_ERR_DTYPE); /* f64 into i32 */
    EXPECT(distarr_binary(999, A, A, A), DISTARR_ERR_OP);
    EXPECT(distarr_binary(DISTARR_UFUNC_ADD, A, A, gone), DISTARR_ERR_HANDLE);
    EXPECT(distarr_binary(DISTARR_UFUNC_ADD, A, A, 0), DISTARR_ERR_HANDLE);
    EXPECT(distarr_binary_scalar(DISTARR_UFUNC_ADD, A, A, NULL, DISTARR_DTYPE_F64, 0),
           DISTARR_ERR_NULL);
    EXPECT(distarr_binary_scalar(DISTARR_UFUNC_POWER, ints, ints, &minus_one_i, DISTARR_DTYPE_I32,
                                 0),
           DISTARR_ERR_ARG); /* an integer to a negative power */
    EXPECT(distarr_unary(DISTARR_UFUNC_RECIPROCAL, ints, ints), DISTARR_ERR_UNSUPPORTED);
    EXPECT(distarr_unary(DISTARR_UFUNC_SQRT, ints, ints), DISTARR_ERR_DTYPE); /* f64 into i32 */
    EXPECT(distarr_copy(A, five), DISTARR_ERR_SHAPE);
    EXPECT(distarr_where(A, MASK, A, five), DISTARR_ERR_SHAPE);
    EXPECT(distarr_fill(A, NULL), DISTARR_ERR_NULL);
    EXPECT(distarr_fill(bad, &ONE), DISTARR_ERR_HANDLE);
    EXPECT(distarr_reduce(DISTARR_REDUCE_SUM, mat, 2, col, NULL), DISTARR_ERR_ARG);
    EXPECT(distarr_reduce(DISTARR_REDUCE_SUM, mat, 0, wrong, NULL), DISTARR_ERR_SHAPE);
    distarr_array never = 5;
    EXPECT(distarr_astype(A, 99, &never), DISTARR_ERR_DTYPE);
    CHECK(never == 5);
    OK(distarr_reduce(DISTARR_REDUCE_SUM, mat, 0, col, NULL)); /* deferred too: 4 * 2 */
    ok_calls++;
    OK(distarr_binary_scalar(DISTARR_UFUNC_MULTIPLY, A, A, &THREE, DISTARR_DTYPE_F64, 0));
    ok_calls++;
    OK(distarr_binary_scalar(DISTARR_UFUNC_ADD, ints, ints, &one_i, DISTARR_DTYPE_I32, 0));
    ok_calls++;
    a_val = 3.0;
    stats(&m1, &c1);
    if (seq_multi && lazy && batch_limit == 0) CHECK(m1 == m0);
    expect_pending();
    OK(distarr_flush_deferred());
    OK(distarr_sync()); /* sends whatever is left */
    stats(&m2, &c2);
    /* only the calls that succeeded, the flush and the sync went to the workers */
    if (seq_multi) CHECK(c2 == c0 + (uint64_t)ok_calls + 2);
    own_part_current();
    check_values(A, N, NULL, a_val);
    check_values(col, 5, NULL, 8.0);
    int32_t *gi = gather_any(ints, N, 4);
    if (gi)
        for (int i = 0; i < N; i++) CHECK(gi[i] == 1);
    free(gi);

    /* a failure found only from the values (a negative exponent in an array), agreed by every
     * rank: nothing is written, what was recorded before it ran */
    distarr_array neg = 0;
    OK(distarr_create(1, VEC, DISTARR_DTYPE_I32, NULL, &neg));
    OK(distarr_fill(neg, &one_i));
    const int64_t at[1] = {N / 2}, at1[1] = {N / 2 + 1};
    OK(distarr_sync());
    if (spmd ? me == 0 : 1) OK(distarr_put_region(neg, at, at1, &minus_one_i));
    OK(distarr_sync());
    OK(distarr_binary_scalar(DISTARR_UFUNC_ADD, A, A, &ONE, DISTARR_DTYPE_F64, 0));
    a_val += 1.0;
    EXPECT(distarr_binary(DISTARR_UFUNC_POWER, ints, ints, neg), DISTARR_ERR_ARG);
    own_part_current();
    check_values(A, N, NULL, a_val);
    gi = gather_any(ints, N, 4);
    if (gi)
        for (int i = 0; i < N; i++) CHECK(gi[i] == 1);
    free(gi);

    /* one-sided access to the pending result of a new array */
    distarr_array t = 0;
    uint32_t seg = 0;
    OK(distarr_astype(A, DISTARR_DTYPE_I32, &t));
    /* Sequential mode synchronises (and flushes) before handing out a segment. */
    EXPECT(distarr_segment(t, &seg), spmd && np > 1 && lazy ? DISTARR_ERR_ARG : DISTARR_OK);
    OK(distarr_flush_deferred());
    OK(distarr_segment(t, &seg));
    gi = gather_any(t, N, 4);
    if (gi)
        for (int i = 0; i < N; i++) CHECK(gi[i] == (int32_t)a_val);
    free(gi);

    distarr_array all[] = {t, neg, wrong, col, mat, ints, five};
    for (size_t k = 0; k < sizeof all / sizeof all[0]; k++) OK(distarr_free(all[k]));
}

/* --- 4. batches ---------------------------------------------------------------------------- */

static void batches(void) {
    OK(distarr_fill(C, &ZERO));
    OK(distarr_sync());
    uint64_t m0, c0, m1, c1;
    stats(&m0, &c0);
    const int calls = 40;
    for (int k = 0; k < calls; k++)
        OK(distarr_binary_scalar(DISTARR_UFUNC_ADD, C, C, &ONE, DISTARR_DTYPE_F64, 0));
    stats(&m1, &c1);
    if (seq_multi && batch_limit == 0) CHECK(m1 == m0 && c1 == c0);
    if (seq_multi && batch_limit > 0 && batch_limit < 200) {
        /* each command takes more than 32 bytes: full batches went out, not the last one */
        CHECK(m1 - m0 >= (uint64_t)calls * 32 / batch_limit - 1);
        CHECK(c1 - c0 < (uint64_t)calls);
    }
    /* A flush of aligned operations on data no other rank read since the last sync needs no
     * communication in sequential mode (one program makes every rank's calls: nothing to agree
     * on): the workers run them when they next must act. */
    OK(distarr_flush_deferred());
    uint64_t m2, c2;
    stats(&m2, &c2);
    if (seq_multi && batch_limit == 0) CHECK(m2 == m1 && c2 == c1);
    own_part_c(calls);
    check_values(C, N, NULL, (double)calls);

    /* Large work is another matter: rank 0 sends the batch before it computes its share, so
     * the workers compute theirs at the same time (not later, at the next communication). */
    const int64_t big_n[1] = {1 << 17};
    distarr_array big = 0;
    OK(distarr_create(1, big_n, DISTARR_DTYPE_F64, NULL, &big));
    OK(distarr_fill(big, &ONE));
    OK(distarr_sync());
    for (int k = 0; k < 3; k++)
        OK(distarr_binary_scalar(DISTARR_UFUNC_ADD, big, big, &ONE, DISTARR_DTYPE_F64, 0));
    uint64_t m3, c3, m4, c4;
    stats(&m3, &c3);
    OK(distarr_flush_deferred());
    stats(&m4, &c4);
    if (seq_multi && batch_limit == 0 && lazy) CHECK(m4 == m3 + 1 && c4 > c3);
    check_values(big, big_n[0], NULL, 4.0);
    OK(distarr_free(big));
}

int main(int argc, char **argv) {
    test_start(DISTARR_MODE_ENV);
    int32_t on = 7;
    uint64_t m = 9, c = 9;
    EXPECT(distarr_flush_deferred(), DISTARR_ERR_STATE);
    EXPECT(distarr_set_lazy(1), DISTARR_ERR_STATE);
    EXPECT(distarr_is_lazy(&on), DISTARR_ERR_STATE);
    EXPECT(distarr_seq_stats(&m, &c), DISTARR_ERR_STATE);
    CHECK(on == 7 && m == 9 && c == 9);

    test_init(&argc, &argv, DISTARR_MODE_ENV); /* only rank 0 returns in sequential mode */
    root = spmd ? np - 1 : 0;
    seq_multi = !spmd && np > 1;
    const char *lim = getenv("DISTARR_TEST_SEQ_BATCH_BYTES");
    batch_limit = lim ? (size_t)strtoul(lim, NULL, 10) : 0;

    /* 1. the calls */
    const char *env = getenv("DISTARR_LAZY");
    const int initial = !(env && strcmp(env, "0") == 0);
    EXPECT(distarr_is_lazy(NULL), DISTARR_ERR_NULL);
    EXPECT(distarr_seq_stats(NULL, &c), DISTARR_ERR_NULL);
    EXPECT(distarr_seq_stats(&m, NULL), DISTARR_ERR_NULL);
    OK(distarr_is_lazy(&on));
    CHECK(on == initial);
    OK(distarr_set_lazy(0));
    OK(distarr_is_lazy(&on));
    CHECK(on == 0);
    OK(distarr_set_lazy(5)); /* non-zero is on */
    OK(distarr_is_lazy(&on));
    CHECK(on == 1);
    OK(distarr_flush_deferred()); /* nothing deferred: nothing happens */
    OK(distarr_set_lazy(initial));
    stats(&m, &c);

    OK(distarr_create(1, VEC, DISTARR_DTYPE_F64, NULL, &A));
    OK(distarr_create(1, VEC, DISTARR_DTYPE_F64, NULL, &ONES));
    OK(distarr_create(1, VEC, DISTARR_DTYPE_F64, NULL, &C));
    OK(distarr_create(1, VEC, DISTARR_DTYPE_BOOL, NULL, &MASK));
    OK(distarr_arange(0, N, 1, DISTARR_DTYPE_F64, &B));
    OK(distarr_fill(ONES, &ONE));
    OK(distarr_binary_scalar(DISTARR_UFUNC_GREATER_EQUAL, MASK, B, &ZERO, DISTARR_DTYPE_F64, 0));
    a_val = 0;

    for (int pass = 0; pass < 2; pass++) {
        lazy = pass == 0 ? initial : !initial;
        OK(distarr_set_lazy(lazy));
        flush_points();
        free_is_not_a_flush_point();
        errors_at_call();
        batches();
    }
    OK(distarr_set_lazy(initial));
    lazy = initial;

    /* 5. finalize with work deferred, and a pending result that was never computed */
    distarr_array t = 0;
    record(ONES);
    OK(distarr_astype(A, DISTARR_DTYPE_I64, &t));
    OK(distarr_binary_scalar(DISTARR_UFUNC_ADD, C, C, &ONE, DISTARR_DTYPE_F64, 0));
    OK(distarr_finalize());

    EXPECT(distarr_flush_deferred(), DISTARR_ERR_STATE);
    EXPECT(distarr_set_lazy(0), DISTARR_ERR_STATE);
    EXPECT(distarr_is_lazy(&on), DISTARR_ERR_STATE);
    EXPECT(distarr_seq_stats(&m, &c), DISTARR_ERR_STATE);
    printf("c_lazy: %d checks passed on rank %d of %d (%s mode, lazy=%d)\n", checks, me, np,
           spmd ? "SPMD" : "sequential", initial);
    printf("distarr-test: ok rank=%d\n", me);
    return 0;
}
