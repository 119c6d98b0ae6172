/*
 * c_pgas.c - tests every PGAS-level function of libdistarr and every error path: each call
 * returns the documented status code, output parameters are untouched on failure, and the
 * program continues. Run by tests/multirank.rs under mpirun at 1-4 ranks, in SPMD mode and
 * in sequential mode (DISTARR_MODE=sequential), and under valgrind.
 *
 * In sequential mode only rank 0 returns from distarr_init; it plays the only "program rank"
 * while the other ranks serve its collective calls and exit(0) at distarr_finalize. They
 * print the harness's success line from an atexit handler.
 */
#include "check.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>


static void before_init(void) {
    int32_t v = 77;
    uint32_t seg = 77;
    distarr_request req = 5;
    char buf[8];
    EXPECT(distarr_rank(&v), DISTARR_ERR_STATE);
    CHECK(strstr(distarr_last_error(), "not initialized") != NULL);
    EXPECT(distarr_nranks(&v), DISTARR_ERR_STATE);
    EXPECT(distarr_is_root(&v), DISTARR_ERR_STATE);
    EXPECT(distarr_mode(&v), DISTARR_ERR_STATE);
    CHECK(v == 77);
    EXPECT(distarr_gmem_alloc(64, &seg), DISTARR_ERR_STATE);
    CHECK(seg == 77);
    EXPECT(distarr_gmem_free(1), DISTARR_ERR_STATE);
    EXPECT(distarr_get(buf, 0, 1, 0, 8), DISTARR_ERR_STATE);
    EXPECT(distarr_put(0, 1, 0, buf, 8), DISTARR_ERR_STATE);
    EXPECT(distarr_wait(&req), DISTARR_ERR_STATE);
    EXPECT(distarr_barrier(), DISTARR_ERR_STATE);
    EXPECT(distarr_fence(), DISTARR_ERR_STATE);
    EXPECT(distarr_sync(), DISTARR_ERR_STATE);
    EXPECT(distarr_flush_all(), DISTARR_ERR_STATE);
    EXPECT(distarr_finalize(), DISTARR_ERR_STATE);
    OK(distarr_initialized(&v));
    CHECK(v == 0);
    EXPECT(distarr_initialized(NULL), DISTARR_ERR_NULL);
    /* status strings */
    CHECK(strcmp(distarr_strerror(DISTARR_OK), "success") == 0);
    CHECK(strcmp(distarr_strerror(DISTARR_ERR_RANK), "rank out of range") == 0);
    CHECK(strcmp(distarr_strerror(12345), "unknown distarr status code") == 0);
    CHECK(strcmp(distarr_strerror(-1), "unknown distarr status code") == 0);
    const int codes[] = {DISTARR_ERR_ARG,      DISTARR_ERR_NULL,      DISTARR_ERR_DTYPE,
                         DISTARR_ERR_OP,       DISTARR_ERR_SHAPE,     DISTARR_ERR_MISALIGNED,
                         DISTARR_ERR_HANDLE,   DISTARR_ERR_SEGMENT,   DISTARR_ERR_BOUNDS,
                         DISTARR_ERR_RANK,     DISTARR_ERR_NOMEM,     DISTARR_ERR_STATE,
                         DISTARR_ERR_COLLECTIVE, DISTARR_ERR_UNSUPPORTED, DISTARR_ERR_MPI,
                         DISTARR_ERR_IO,       DISTARR_ERR_INTERNAL};
    for (size_t i = 0; i < sizeof codes / sizeof codes[0]; i++) {
        CHECK(strcmp(distarr_strerror(codes[i]), "unknown distarr status code") != 0);
        for (size_t j = 0; j < i; j++) CHECK(codes[i] != codes[j]);
    }
}

static void life_cycle_queries(void) {
    int32_t v = -5, mode = -5;
    OK(distarr_initialized(&v));
    CHECK(v == 1);
    OK(distarr_mode(&mode));
    CHECK(mode == (spmd ? DISTARR_MODE_SPMD : DISTARR_MODE_SEQUENTIAL));
    OK(distarr_rank(&v));
    CHECK(v == me);
    OK(distarr_nranks(&v));
    CHECK(v == np);
    OK(distarr_is_root(&v));
    CHECK(v == (me == 0));
    v = 42;
    EXPECT(distarr_rank(NULL), DISTARR_ERR_NULL);
    CHECK(strstr(distarr_last_error(), "rank") != NULL);
    EXPECT(distarr_nranks(NULL), DISTARR_ERR_NULL);
    EXPECT(distarr_is_root(NULL), DISTARR_ERR_NULL);
    EXPECT(distarr_mode(NULL), DISTARR_ERR_NULL);
    /* already initialized; bad mode; Fortran init while running */
    EXPECT(distarr_init(NULL, NULL), DISTARR_ERR_STATE);
    EXPECT(distarr_init_mode(NULL, NULL, 99), DISTARR_ERR_ARG);
    EXPECT(distarr_init_mode(NULL, NULL, DISTARR_MODE_SPMD), DISTARR_ERR_STATE);
    EXPECT(distarr_init_fortran(0), DISTARR_ERR_STATE);
}

/* Global memory, put/get and their errors. Each program rank p writes p*1000+t into slot p of
 * every target t; then everybody checks everything. */
static void put_get(void) {
    uint32_t seg = 0, sentinel = 0xabcdu;
    const uint64_t bytes = 8u * (uint64_t)np;
    OK(distarr_gmem_alloc(bytes, &seg));
    CHECK(seg != 0);
    void *base = NULL;
    uint64_t len = 0;
    OK(distarr_gmem_local(seg, &base, &len));
    CHECK(base != NULL && len == bytes);

    for (int p = 0; p < P; p++) {
        if (spmd && p != me) continue;
        for (int t = 0; t < np; t++) {
            int64_t v = (int64_t)p * 1000 + t;
            OK(distarr_put(t, seg, 8u * (uint64_t)p, &v, 8));
        }
    }
    OK(distarr_sync());
    for (int t = 0; t < np; t++) {
        int64_t got[64];
        OK(distarr_get(got, t, seg, 0, 8u * (uint64_t)P));
        for (int p = 0; p < P; p++) CHECK(got[p] == (int64_t)p * 1000 + t);
    }
    const int64_t *mine = (const int64_t *)base;
    for (int p = 0; p < P; p++) CHECK(mine[p] == (int64_t)p * 1000 + me);
    /* zero-byte transfers with NULL buffers are fine */
    OK(distarr_get(NULL, 0, seg, 0, 0));
    OK(distarr_put(0, seg, bytes, NULL, 0));

    /* errors: nothing is written, the program continues */
    int64_t v = 5, dst = -1;
    EXPECT(distarr_get(NULL, 0, seg, 0, 8), DISTARR_ERR_NULL);
    CHECK(strstr(distarr_last_error(), "dst") != NULL);
    EXPECT(distarr_put(0, seg, 0, NULL, 8), DISTARR_ERR_NULL);
    EXPECT(distarr_get(&dst, -1, seg, 0, 8), DISTARR_ERR_RANK);
    EXPECT(distarr_get(&dst, np, seg, 0, 8), DISTARR_ERR_RANK);
    EXPECT(distarr_put(np, seg, 0, &v, 8), DISTARR_ERR_RANK);
    EXPECT(distarr_put(-7, seg, 0, &v, 8), DISTARR_ERR_RANK);
    EXPECT(distarr_get(&dst, 0, seg, bytes - 4, 8), DISTARR_ERR_BOUNDS);
    EXPECT(distarr_get(&dst, 0, seg, bytes, 1), DISTARR_ERR_BOUNDS);
    EXPECT(distarr_get(&dst, 0, seg, UINT64_MAX, 8), DISTARR_ERR_BOUNDS);
    EXPECT(distarr_put(0, seg, UINT64_MAX - 2, &v, 8), DISTARR_ERR_BOUNDS);
    EXPECT(distarr_get(&dst, 0, 0, 0, 8), DISTARR_ERR_SEGMENT);
    EXPECT(distarr_get(&dst, 0, 0xdeadbeefu, 0, 8), DISTARR_ERR_SEGMENT);
    EXPECT(distarr_put(0, seg + 5, 0, &v, 8), DISTARR_ERR_SEGMENT);
    CHECK(dst == -1);
    EXPECT(distarr_gmem_alloc(8, NULL), DISTARR_ERR_NULL);
    EXPECT(distarr_gmem_local(seg, NULL, &len), DISTARR_ERR_NULL);
    EXPECT(distarr_gmem_local(seg, &base, NULL), DISTARR_ERR_NULL);
    void *b2 = (void *)&sentinel;
    uint64_t l2 = 99;
    EXPECT(distarr_gmem_local(seg ^ 0x100000u, &b2, &l2), DISTARR_ERR_SEGMENT);
    CHECK(b2 == (void *)&sentinel && l2 == 99);

    /* a heap request that cannot fit: the same error on every rank, no segment */
    uint32_t big = sentinel;
    EXPECT(distarr_gmem_alloc(UINT64_C(1) << 62, &big), DISTARR_ERR_NOMEM);
    CHECK(big == sentinel);
    /* ranks disagreeing on a size: reported on every rank (SPMD only: in sequential mode
     * rank 0 alone passes the size) */
    if (spmd && np > 1) {
        EXPECT(distarr_gmem_alloc(64u + 8u * (uint64_t)me, &big), DISTARR_ERR_COLLECTIVE);
        CHECK(big == sentinel);
    }

    /* freeing: afterwards every use of the id fails */
    OK(distarr_gmem_free(seg));
    EXPECT(distarr_get(&dst, 0, seg, 0, 8), DISTARR_ERR_SEGMENT);
    EXPECT(distarr_put(0, seg, 0, &v, 8), DISTARR_ERR_SEGMENT);
    EXPECT(distarr_gmem_local(seg, &b2, &l2), DISTARR_ERR_SEGMENT);
    EXPECT(distarr_gmem_free(seg), DISTARR_ERR_SEGMENT);
    EXPECT(distarr_gmem_free(0), DISTARR_ERR_SEGMENT);
    /* a new allocation does not revive the old id */
    uint32_t seg2 = 0;
    OK(distarr_gmem_alloc(bytes, &seg2));
    CHECK(seg2 != seg);
    EXPECT(distarr_get(&dst, 0, seg, 0, 8), DISTARR_ERR_SEGMENT);
    OK(distarr_gmem_free(seg2));
}

/* Non-blocking get/put, wait/test and request-handle errors. */
static void nonblocking(void) {
    uint32_t seg = 0;
    const uint64_t n = 1024; /* int32 per rank */
    OK(distarr_gmem_alloc(4 * n, &seg));
    int32_t *src = malloc(4 * n), *dst = malloc(4 * n);
    CHECK(src && dst);
    for (int p = 0; p < P; p++) {
        if (spmd && p != me) continue;
        int t = (p + 1) % np;
        for (uint64_t k = 0; k < n; k++) src[k] = (int32_t)(t * 100000 + (int64_t)k);
        distarr_request r = 0;
        OK(distarr_put_nb(t, seg, 0, src, 4 * n, &r));
        CHECK(r != 0);
        int32_t done = 0;
        while (!done) OK(distarr_test(&r, &done));
        CHECK(r == 0);
        OK(distarr_flush(t));
    }
    OK(distarr_sync());
    for (int t = 0; t < np; t++) {
        distarr_request r1 = 0, r2 = 0;
        memset(dst, 0xff, 4 * n);
        OK(distarr_get_nb(dst, t, seg, 0, 4 * n / 2, &r1));
        OK(distarr_get_nb(dst + n / 2, t, seg, 4 * n / 2, 4 * n / 2, &r2));
        CHECK(r1 != 0 && r2 != 0 && r1 != r2);
        distarr_request stale = r1;
        OK(distarr_wait(&r1));
        CHECK(r1 == 0);
        OK(distarr_wait(&r1)); /* the null request completes at once */
        EXPECT(distarr_wait(&stale), DISTARR_ERR_HANDLE);
        CHECK(stale != 0);
        int32_t done = 7;
        EXPECT(distarr_test(&stale, &done), DISTARR_ERR_HANDLE);
        CHECK(done == 7);
        OK(distarr_wait(&r2));
        /* target t was written by program rank t-1 (SPMD) or, in sequential mode, by rank 0
         * when t == 1 % np */
        if (spmd || t == 1 % np) {
            for (uint64_t k = 0; k < n; k++) CHECK(dst[k] == (int32_t)(t * 100000 + (int64_t)k));
        }
    }
    /* a null request tests as done */
    distarr_request z = 0;
    int32_t done = 0;
    OK(distarr_test(&z, &done));
    CHECK(done == 1);

    /* errors */
    distarr_request r = 0x1234;
    EXPECT(distarr_get_nb(dst, 0, seg, 0, 8, NULL), DISTARR_ERR_NULL);
    EXPECT(distarr_put_nb(0, seg, 0, src, 8, NULL), DISTARR_ERR_NULL);
    EXPECT(distarr_get_nb(NULL, 0, seg, 0, 8, &r), DISTARR_ERR_NULL);
    EXPECT(distarr_put_nb(0, seg, 0, NULL, 8, &r), DISTARR_ERR_NULL);
    EXPECT(distarr_get_nb(dst, np, seg, 0, 8, &r), DISTARR_ERR_RANK);
    EXPECT(distarr_put_nb(-1, seg, 0, src, 8, &r), DISTARR_ERR_RANK);
    EXPECT(distarr_get_nb(dst, 0, seg, 4 * n - 4, 8, &r), DISTARR_ERR_BOUNDS);
    EXPECT(distarr_put_nb(0, seg, 4 * n, src, 1, &r), DISTARR_ERR_BOUNDS);
    EXPECT(distarr_get_nb(dst, 0, 77, 0, 8, &r), DISTARR_ERR_SEGMENT);
    CHECK(r == 0x1234);
    EXPECT(distarr_wait(NULL), DISTARR_ERR_NULL);
    EXPECT(distarr_test(NULL, &done), DISTARR_ERR_NULL);
    EXPECT(distarr_test(&z, NULL), DISTARR_ERR_NULL);
    /* forged ids: plain numbers, negative, the array tag, a plausible request id */
    const distarr_request forged[] = {0x1234,
                                      -1,
                                      INT64_MIN,
                                      INT64_MAX,
                                      ((int64_t)2 << 56) | ((int64_t)1 << 32) | 1,
                                      ((int64_t)1 << 56) | ((int64_t)1 << 32) | 9999,
                                      ((int64_t)1 << 56) | ((int64_t)77 << 32) | 1,
                                      ((int64_t)1 << 56)};
    for (size_t i = 0; i < sizeof forged / sizeof forged[0]; i++) {
        distarr_request f = forged[i];
        EXPECT(distarr_wait(&f), DISTARR_ERR_HANDLE);
        CHECK(f == forged[i]);
        CHECK(strstr(distarr_last_error(), "distarr_request") != NULL);
        EXPECT(distarr_test(&f, &done), DISTARR_ERR_HANDLE);
    }
    /* complete requests before freeing the segment they target */
    OK(distarr_get_nb(dst, 0, seg, 0, 8, &r));
    OK(distarr_wait(&r));
    OK(distarr_gmem_free(seg));
    free(src);
    free(dst);
}

/* Implicit completion: each program rank p puts 64 chunks into every target with put_nbi,
 * completes locally (flush_local) before reusing its buffer and remotely (flush_all) at the
 * end; after a sync every rank reads everything back with get_nbi, completed by flush_local
 * or flush_local_all. Chunk c of writer p at target t holds v(p, t, c, k). */
#define NBI_CHUNKS 64
#define NBI_PER 8 /* int64 per chunk */
static int64_t nbi_value(int p, int t, int c, int k) { return p * 1000000 + t * 10000 + c * 100 + k; }

static void implicit_completion(void) {
    uint32_t seg = 0;
    const uint64_t chunk = NBI_PER * 8, bytes = (uint64_t)P * NBI_CHUNKS * chunk;
    OK(distarr_gmem_alloc(bytes, &seg));
    int64_t *src = malloc(NBI_CHUNKS * chunk), *dst = malloc(bytes);
    CHECK(src && dst);
    for (int p = 0; p < P; p++) {
        if (spmd && p != me) continue;
        for (int t = 0; t < np; t++) {
            for (int c = 0; c < NBI_CHUNKS; c++)
                for (int k = 0; k < NBI_PER; k++) src[c * NBI_PER + k] = nbi_value(p, t, c, k);
            for (int c = 0; c < NBI_CHUNKS; c++)
                OK(distarr_put_nbi(t, seg, ((uint64_t)p * NBI_CHUNKS + c) * chunk, src + c * NBI_PER,
                                   chunk));
            OK(distarr_flush_local(t)); /* src may be rewritten for the next target */
        }
    }
    OK(distarr_flush_all());
    OK(distarr_sync());
    for (int t = 0; t < np; t++) {
        memset(dst, 0xff, bytes);
        for (int q = 0; q < P * NBI_CHUNKS; q++)
            OK(distarr_get_nbi(dst + q * NBI_PER, t, seg, (uint64_t)q * chunk, chunk));
        if (t % 2) OK(distarr_flush_local(t));
        else OK(distarr_flush_local_all());
        for (int p = 0; p < P; p++)
            for (int c = 0; c < NBI_CHUNKS; c++)
                for (int k = 0; k < NBI_PER; k++)
                    CHECK(dst[(p * NBI_CHUNKS + c) * NBI_PER + k] == nbi_value(p, t, c, k));
    }
    /* zero bytes with NULL buffers; errors start nothing */
    OK(distarr_get_nbi(NULL, 0, seg, 0, 0));
    OK(distarr_put_nbi(0, seg, bytes, NULL, 0));
    EXPECT(distarr_get_nbi(NULL, 0, seg, 0, 8), DISTARR_ERR_NULL);
    EXPECT(distarr_put_nbi(0, seg, 0, NULL, 8), DISTARR_ERR_NULL);
    EXPECT(distarr_get_nbi(dst, np, seg, 0, 8), DISTARR_ERR_RANK);
    EXPECT(distarr_put_nbi(-1, seg, 0, src, 8), DISTARR_ERR_RANK);
    EXPECT(distarr_get_nbi(dst, 0, seg, bytes - 4, 8), DISTARR_ERR_BOUNDS);
    EXPECT(distarr_put_nbi(0, seg, bytes, src, 1), DISTARR_ERR_BOUNDS);
    EXPECT(distarr_get_nbi(dst, 0, 77, 0, 8), DISTARR_ERR_SEGMENT);
    EXPECT(distarr_put_nbi(0, 77, 0, src, 8), DISTARR_ERR_SEGMENT);
    EXPECT(distarr_flush_local(np), DISTARR_ERR_RANK);
    EXPECT(distarr_flush_local(-1), DISTARR_ERR_RANK);
    OK(distarr_sync());
    OK(distarr_gmem_free(seg));
    free(src);
    free(dst);
}

/* Zeroes a segment everywhere (reused heap memory is not zeroed). Collective. */
static void zero_segment(uint32_t seg, uint64_t bytes) {
    static const unsigned char zeros[4096];
    CHECK(bytes <= sizeof zeros);
    for (int t = 0; t < np; t++)
        if (!spmd || t == me) OK(distarr_put(t, seg, 0, zeros, bytes));
    OK(distarr_sync());
}

/* Accumulate, fetch-and-op, compare-and-swap, with every dtype/op error. */
static void atomics(void) {
    uint32_t seg = 0;
    OK(distarr_gmem_alloc(128, &seg));
    zero_segment(seg, 128);
    /* layout: 0 i64 sum | 8 f64 sum | 16 i32 max | 20 u32 bor | 24 u64 bxor | 32 i64 fetch counter
     *         40 i64 lock | 48 u8 bool flags (8) | 56 f32 min | 64 i64[4] vector sum */
    for (int p = 0; p < P; p++) {
        if (spmd && p != me) continue;
        for (int t = 0; t < np; t++) {
            int64_t a = p + 1;
            double d = 0.5;
            int32_t m = p;
            uint32_t o = 1u << p;
            uint64_t x = UINT64_C(0xff) << p;
            uint8_t flag = 1;
            float f = -(float)p;
            int64_t vec[4] = {1, 2, 3, p};
            OK(distarr_acc(t, seg, 0, &a, 1, DISTARR_DTYPE_I64, DISTARR_OP_SUM));
            OK(distarr_acc(t, seg, 8, &d, 1, DISTARR_DTYPE_F64, DISTARR_OP_SUM));
            OK(distarr_acc(t, seg, 16, &m, 1, DISTARR_DTYPE_I32, DISTARR_OP_MAX));
            OK(distarr_acc(t, seg, 20, &o, 1, DISTARR_DTYPE_U32, DISTARR_OP_BOR));
            OK(distarr_acc(t, seg, 24, &x, 1, DISTARR_DTYPE_U64, DISTARR_OP_BXOR));
            OK(distarr_acc(t, seg, 48 + (uint64_t)(p % 8), &flag, 1, DISTARR_DTYPE_BOOL, DISTARR_OP_BOR));
            OK(distarr_acc(t, seg, 56, &f, 1, DISTARR_DTYPE_F32, DISTARR_OP_MIN));
            /* unaligned source buffer: copied, still correct */
            unsigned char raw[4 * 8 + 1];
            memcpy(raw + 1, vec, sizeof vec);
            OK(distarr_acc(t, seg, 64, raw + 1, 4, DISTARR_DTYPE_I64, DISTARR_OP_SUM));
            OK(distarr_acc(t, seg, 0, NULL, 0, DISTARR_DTYPE_I64, DISTARR_OP_SUM));
        }
    }
    OK(distarr_sync());
    for (int t = 0; t < np; t++) {
        unsigned char buf[128];
        OK(distarr_get(buf, t, seg, 0, 128));
        int64_t a;
        double d;
        int32_t m;
        uint32_t o;
        uint64_t x, xe = 0;
        float f;
        int64_t vec[4];
        memcpy(&a, buf, 8);
        memcpy(&d, buf + 8, 8);
        memcpy(&m, buf + 16, 4);
        memcpy(&o, buf + 20, 4);
        memcpy(&x, buf + 24, 8);
        memcpy(&f, buf + 56, 4);
        memcpy(vec, buf + 64, 32);
        for (int p = 0; p < P; p++) xe ^= UINT64_C(0xff) << p;
        CHECK(a == (int64_t)P * (P + 1) / 2);
        CHECK(d == 0.5 * P);
        CHECK(m == P - 1);
        CHECK(o == (uint32_t)((1u << P) - 1));
        CHECK(x == xe);
        CHECK(f == -(float)(P - 1));
        for (int p = 0; p < P && p < 8; p++) CHECK(buf[48 + p] == 1);
        CHECK(vec[0] == P && vec[1] == 2 * P && vec[2] == 3 * P && vec[3] == (int64_t)P * (P - 1) / 2);
    }
    OK(distarr_sync());

    /* fetch-and-op: K increments per program rank on the last rank's counter */
    const int K = 10;
    const int target = np - 1;
    for (int p = 0; p < P; p++) {
        if (spmd && p != me) continue;
        int64_t prev = -1;
        for (int k = 0; k < K; k++) {
            int64_t one = 1, old = -1;
            OK(distarr_fetch_op(&old, &one, target, seg, 32, DISTARR_DTYPE_I64, DISTARR_OP_SUM));
            CHECK(old > prev && old < (int64_t)P * K);
            prev = old;
        }
    }
    OK(distarr_sync());
    int64_t total = -1, ignored = 0;
    OK(distarr_fetch_op(&total, &ignored, target, seg, 32, DISTARR_DTYPE_I64, DISTARR_OP_NO_OP));
    CHECK(total == (int64_t)P * K);
    double dold = 0, dnew = 2.5;
    OK(distarr_fetch_op(&dold, &dnew, me == 0 ? 0 : me, seg, 8, DISTARR_DTYPE_F64, DISTARR_OP_NO_OP));
    CHECK(dold == 0.5 * P);
    OK(distarr_sync());

    /* compare-and-swap: a spin lock on rank 0, taken and released by every program rank */
    for (int p = 0; p < P; p++) {
        if (spmd && p != me) continue;
        int64_t zero = 0, mine = p + 1, old = -1;
        do {
            OK(distarr_cas(&old, &zero, &mine, 0, seg, 40, DISTARR_DTYPE_I64));
        } while (old != 0);
        OK(distarr_cas(&old, &mine, &zero, 0, seg, 40, DISTARR_DTYPE_I64));
        CHECK(old == mine);
        int32_t c32 = 0, s32 = 5, o32 = -1;
        OK(distarr_cas(&o32, &c32, &s32, np - 1, seg, 16, DISTARR_DTYPE_I32)); /* value P-1 */
        CHECK(o32 >= 0);
    }
    OK(distarr_sync());
    int64_t lock = -1;
    OK(distarr_get(&lock, 0, seg, 40, 8));
    CHECK(lock == 0);
    if (me == 0) {
        uint8_t c = 1, s = 0, o = 9;
        OK(distarr_cas(&o, &c, &s, 0, seg, 48, DISTARR_DTYPE_BOOL));
        CHECK(o == 1);
        OK(distarr_cas(&o, &c, &s, 0, seg, 48, DISTARR_DTYPE_U8));
        CHECK(o == 0 || o == 1);
        uint32_t cu = 0, su = 1, ou = 0;
        OK(distarr_cas(&ou, &cu, &su, 0, seg, 100, DISTARR_DTYPE_U32));
        uint64_t c64 = 0, s64 = 1, o64 = 0;
        OK(distarr_cas(&o64, &c64, &s64, 0, seg, 104, DISTARR_DTYPE_U64));
    }
    OK(distarr_sync());

    /* errors: dtype, op, alignment, rank, bounds, segment, NULL; outputs untouched */
    int64_t a = 1, res = 1234, cmp = 0, big[32] = {0};
    double d = 1.0;
    EXPECT(distarr_acc(0, seg, 0, &a, 1, -1, DISTARR_OP_SUM), DISTARR_ERR_DTYPE);
    EXPECT(distarr_acc(0, seg, 0, &a, 1, 10, DISTARR_OP_SUM), DISTARR_ERR_DTYPE);
    EXPECT(distarr_acc(0, seg, 0, &a, 1, DISTARR_DTYPE_C64, DISTARR_OP_SUM), DISTARR_ERR_DTYPE);
    EXPECT(distarr_acc(0, seg, 0, &a, 1, DISTARR_DTYPE_C128, DISTARR_OP_SUM), DISTARR_ERR_DTYPE);
    EXPECT(distarr_acc(0, seg, 8, &d, 1, DISTARR_DTYPE_F64, DISTARR_OP_BXOR), DISTARR_ERR_DTYPE);
    EXPECT(distarr_acc(0, seg, 8, &d, 1, DISTARR_DTYPE_F32, DISTARR_OP_BAND), DISTARR_ERR_DTYPE);
    EXPECT(distarr_acc(0, seg, 48, &a, 1, DISTARR_DTYPE_BOOL, DISTARR_OP_SUM), DISTARR_ERR_DTYPE);
    EXPECT(distarr_acc(0, seg, 0, &a, 1, DISTARR_DTYPE_I64, -1), DISTARR_ERR_OP);
    EXPECT(distarr_acc(0, seg, 0, &a, 1, DISTARR_DTYPE_I64, 9), DISTARR_ERR_OP);
    EXPECT(distarr_acc(0, seg, 0, &a, 1, DISTARR_DTYPE_I64, DISTARR_OP_NO_OP), DISTARR_ERR_OP);
    EXPECT(distarr_acc(0, seg, 4, &a, 1, DISTARR_DTYPE_I64, DISTARR_OP_SUM), DISTARR_ERR_MISALIGNED);
    EXPECT(distarr_acc(0, seg, 2, &a, 1, DISTARR_DTYPE_I32, DISTARR_OP_SUM), DISTARR_ERR_MISALIGNED);
    EXPECT(distarr_acc(np, seg, 0, &a, 1, DISTARR_DTYPE_I64, DISTARR_OP_SUM), DISTARR_ERR_RANK);
    EXPECT(distarr_acc(-1, seg, 0, &a, 1, DISTARR_DTYPE_I64, DISTARR_OP_SUM), DISTARR_ERR_RANK);
    EXPECT(distarr_acc(0, seg, 128, &a, 1, DISTARR_DTYPE_I64, DISTARR_OP_SUM), DISTARR_ERR_BOUNDS);
    EXPECT(distarr_acc(0, seg, 0, big, 17, DISTARR_DTYPE_I64, DISTARR_OP_SUM), DISTARR_ERR_BOUNDS);
    EXPECT(distarr_acc(0, seg, 0, &a, UINT64_MAX / 2, DISTARR_DTYPE_I64, DISTARR_OP_SUM), DISTARR_ERR_BOUNDS);
    EXPECT(distarr_acc(0, seg, 0, NULL, 1, DISTARR_DTYPE_I64, DISTARR_OP_SUM), DISTARR_ERR_NULL);
    CHECK(strstr(distarr_last_error(), "src") != NULL);
    EXPECT(distarr_acc(0, 999, 0, &a, 1, DISTARR_DTYPE_I64, DISTARR_OP_SUM), DISTARR_ERR_SEGMENT);

    EXPECT(distarr_fetch_op(NULL, &a, 0, seg, 0, DISTARR_DTYPE_I64, DISTARR_OP_SUM), DISTARR_ERR_NULL);
    EXPECT(distarr_fetch_op(&res, NULL, 0, seg, 0, DISTARR_DTYPE_I64, DISTARR_OP_SUM), DISTARR_ERR_NULL);
    EXPECT(distarr_fetch_op(&res, &a, 0, seg, 0, 42, DISTARR_OP_SUM), DISTARR_ERR_DTYPE);
    EXPECT(distarr_fetch_op(&res, &a, 0, seg, 0, DISTARR_DTYPE_C128, DISTARR_OP_SUM), DISTARR_ERR_DTYPE);
    EXPECT(distarr_fetch_op(&res, &d, 0, seg, 8, DISTARR_DTYPE_F64, DISTARR_OP_BOR), DISTARR_ERR_DTYPE);
    EXPECT(distarr_fetch_op(&res, &a, 0, seg, 0, DISTARR_DTYPE_I64, 100), DISTARR_ERR_OP);
    EXPECT(distarr_fetch_op(&res, &a, 0, seg, 12, DISTARR_DTYPE_I64, DISTARR_OP_SUM), DISTARR_ERR_MISALIGNED);
    EXPECT(distarr_fetch_op(&res, &a, np, seg, 0, DISTARR_DTYPE_I64, DISTARR_OP_SUM), DISTARR_ERR_RANK);
    EXPECT(distarr_fetch_op(&res, &a, 0, seg, 128, DISTARR_DTYPE_I64, DISTARR_OP_SUM), DISTARR_ERR_BOUNDS);
    EXPECT(distarr_fetch_op(&res, &a, 0, 0, 0, DISTARR_DTYPE_I64, DISTARR_OP_SUM), DISTARR_ERR_SEGMENT);
    CHECK(res == 1234);

    EXPECT(distarr_cas(NULL, &cmp, &a, 0, seg, 40, DISTARR_DTYPE_I64), DISTARR_ERR_NULL);
    EXPECT(distarr_cas(&res, NULL, &a, 0, seg, 40, DISTARR_DTYPE_I64), DISTARR_ERR_NULL);
    EXPECT(distarr_cas(&res, &cmp, NULL, 0, seg, 40, DISTARR_DTYPE_I64), DISTARR_ERR_NULL);
    EXPECT(distarr_cas(&res, &cmp, &a, 0, seg, 8, DISTARR_DTYPE_F64), DISTARR_ERR_DTYPE);
    EXPECT(distarr_cas(&res, &cmp, &a, 0, seg, 8, DISTARR_DTYPE_F32), DISTARR_ERR_DTYPE);
    EXPECT(distarr_cas(&res, &cmp, &a, 0, seg, 8, DISTARR_DTYPE_C64), DISTARR_ERR_DTYPE);
    EXPECT(distarr_cas(&res, &cmp, &a, 0, seg, 8, 77), DISTARR_ERR_DTYPE);
    EXPECT(distarr_cas(&res, &cmp, &a, 0, seg, 41, DISTARR_DTYPE_I64), DISTARR_ERR_MISALIGNED);
    EXPECT(distarr_cas(&res, &cmp, &a, -3, seg, 40, DISTARR_DTYPE_I64), DISTARR_ERR_RANK);
    EXPECT(distarr_cas(&res, &cmp, &a, 0, seg, 128, DISTARR_DTYPE_I64), DISTARR_ERR_BOUNDS);
    EXPECT(distarr_cas(&res, &cmp, &a, 0, seg ^ 0x300000u, 40, DISTARR_DTYPE_I64), DISTARR_ERR_SEGMENT);
    CHECK(res == 1234);

    /* flushes */
    for (int t = 0; t < np; t++) OK(distarr_flush(t));
    EXPECT(distarr_flush(np), DISTARR_ERR_RANK);
    EXPECT(distarr_flush(-1), DISTARR_ERR_RANK);
    OK(distarr_flush_all());
    OK(distarr_fence());
    OK(distarr_barrier());
    OK(distarr_gmem_free(seg));
}

/* bcast and allreduce: SPMD only. */
static void collectives(void) {
    int64_t v[3] = {me + 1, me, 7};
    uint8_t b[5] = {0};
    if (!spmd) {
        EXPECT(distarr_allreduce(v, 3, DISTARR_DTYPE_I64, DISTARR_OP_SUM), DISTARR_ERR_STATE);
        EXPECT(distarr_bcast(b, 5, 0), DISTARR_ERR_STATE);
        CHECK(v[0] == 1 && b[0] == 0);
        return;
    }
    OK(distarr_allreduce(v, 3, DISTARR_DTYPE_I64, DISTARR_OP_SUM));
    CHECK(v[0] == (int64_t)np * (np + 1) / 2 && v[1] == (int64_t)np * (np - 1) / 2 && v[2] == 7 * np);
    double dm[2] = {(double)me, -(double)me};
    OK(distarr_allreduce(dm, 2, DISTARR_DTYPE_F64, DISTARR_OP_MAX));
    CHECK(dm[0] == np - 1 && dm[1] == 0);
    unsigned char raw[1 + 4 * 2];
    uint32_t bits[2] = {1u << me, 0xffu};
    memcpy(raw + 1, bits, 8); /* unaligned buffer */
    OK(distarr_allreduce(raw + 1, 2, DISTARR_DTYPE_U32, DISTARR_OP_BOR));
    memcpy(bits, raw + 1, 8);
    CHECK(bits[0] == (1u << np) - 1 && bits[1] == 0xffu);
    if (me == np - 1) memcpy(b, "hello", 5);
    OK(distarr_bcast(b, 5, np - 1));
    CHECK(memcmp(b, "hello", 5) == 0);
    OK(distarr_bcast(NULL, 0, 0));
    OK(distarr_allreduce(NULL, 0, DISTARR_DTYPE_I32, DISTARR_OP_SUM));
    /* errors (local, before any communication) */
    int64_t keep[3] = {v[0], v[1], v[2]};
    EXPECT(distarr_allreduce(NULL, 3, DISTARR_DTYPE_I64, DISTARR_OP_SUM), DISTARR_ERR_NULL);
    EXPECT(distarr_allreduce(v, 3, 11, DISTARR_OP_SUM), DISTARR_ERR_DTYPE);
    EXPECT(distarr_allreduce(v, 3, DISTARR_DTYPE_F64, DISTARR_OP_BAND), DISTARR_ERR_DTYPE);
    EXPECT(distarr_allreduce(v, 3, DISTARR_DTYPE_I64, DISTARR_OP_REPLACE), DISTARR_ERR_OP);
    EXPECT(distarr_allreduce(v, 3, DISTARR_DTYPE_I64, DISTARR_OP_NO_OP), DISTARR_ERR_OP);
    EXPECT(distarr_allreduce(v, 3, DISTARR_DTYPE_I64, 55), DISTARR_ERR_OP);
    CHECK(memcmp(keep, v, sizeof v) == 0);
    EXPECT(distarr_bcast(b, 5, np), DISTARR_ERR_RANK);
    EXPECT(distarr_bcast(b, 5, -1), DISTARR_ERR_RANK);
    EXPECT(distarr_bcast(NULL, 5, 0), DISTARR_ERR_NULL);
}

static void after_finalize(void) {
    int32_t v = 3;
    uint32_t seg = 9;
    int64_t x = 0;
    distarr_request r = 0;
    EXPECT(distarr_rank(&v), DISTARR_ERR_STATE);
    CHECK(strstr(distarr_last_error(), "finalized") != NULL);
    EXPECT(distarr_gmem_alloc(8, &seg), DISTARR_ERR_STATE);
    EXPECT(distarr_get(&x, 0, 1, 0, 8), DISTARR_ERR_STATE);
    EXPECT(distarr_acc(0, 1, 0, &x, 1, DISTARR_DTYPE_I64, DISTARR_OP_SUM), DISTARR_ERR_STATE);
    EXPECT(distarr_wait(&r), DISTARR_ERR_STATE);
    EXPECT(distarr_sync(), DISTARR_ERR_STATE);
    EXPECT(distarr_get_nbi(&x, 0, 1, 0, 8), DISTARR_ERR_STATE);
    EXPECT(distarr_flush_local_all(), DISTARR_ERR_STATE);
    EXPECT(distarr_finalize(), DISTARR_ERR_STATE);
    /* MPI was finalized by distarr: it cannot start again (no communication happens) */
    EXPECT(distarr_init(NULL, NULL), DISTARR_ERR_STATE);
    OK(distarr_initialized(&v));
    CHECK(v == 0 && seg == 9);
}

int main(int argc, char **argv) {
    test_start(DISTARR_MODE_ENV);

    before_init();
    test_init(&argc, &argv, DISTARR_MODE_ENV); /* only rank 0 returns in sequential mode */

    life_cycle_queries();
    put_get();
    nonblocking();
    implicit_completion();
    atomics();
    collectives();
    /* an outstanding request is completed by finalize */
    uint32_t seg = 0;
    int64_t tail = -1;
    distarr_request pending = 0;
    const int64_t fortytwo = 42;
    OK(distarr_gmem_alloc(8, &seg));
    if (me == 0) OK(distarr_put(0, seg, 0, &fortytwo, 8));
    OK(distarr_sync());
    OK(distarr_get_nb(&tail, 0, seg, 0, 8, &pending));
    int64_t tail2 = -1;
    OK(distarr_get_nbi(&tail2, 0, seg, 0, 8)); /* completed by finalize */
    OK(distarr_finalize());
    CHECK(tail == 42 && tail2 == 42);
    EXPECT(distarr_wait(&pending), DISTARR_ERR_STATE);
    after_finalize();

    printf("c_pgas: %d checks passed on rank %d of %d (%s mode)\n", checks, me, np,
           spmd ? "SPMD" : "sequential");
    printf("distarr-test: ok rank=%d\n", me);
    return 0;
}
