/*
 * c_seq_sync.c - sequential mode orders one-sided calls and collective operations by itself
 * (the header's SYNCHRONISATION section): this program never calls distarr_sync. Run by
 * tests/multirank.rs at 1-4 ranks with DISTARR_MODE=sequential and
 * DISTARR_TEST_WORKER_DELAY_US set: every worker sleeps before it executes each command, so
 * the workers run behind rank 0. Collective operations that synchronise only where their own
 * data dependencies require it return on rank 0 before a slow worker has done its part; the
 * reads below then see stale data unless the library synchronises between the collective and
 * the one-sided calls (and the collective operations see rank 0's one-sided writes only if the
 * library synchronises before them).
 *
 * Each round uses values of its own, so a stale element shows as a wrong value:
 *  1. collective write (fill), then one-sided reads by rank 0 (get_region of every rank's part);
 *  2. one-sided writes of every rank's part (put_region), then collective reads (reduce, and a
 *     binary operation whose result rank 0 reads one-sidedly);
 *  3. implicit-completion puts never flushed by the program (put_nbi), then a collective read;
 *  4. raw puts into the array's segment on the last rank (locate + distarr_put), then a
 *     collective copy read back one-sidedly;
 *  5. stores through rank 0's local block, then a collective reduction.
 */
#include "check.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define N 4096

static double sum_of(const double *v, int n) {
    double s = 0;
    for (int i = 0; i < n; i++) s += v[i];
    return s;
}

int main(int argc, char **argv) {
    test_start(DISTARR_MODE_SEQUENTIAL);
    test_init(&argc, &argv, DISTARR_MODE_SEQUENTIAL); /* only rank 0 returns */
    CHECK(me == 0 && !spmd && P == 1);

    const int64_t shape[1] = {N}, lo[1] = {0}, hi[1] = {N};
    distarr_array a = 0, b = 0, c = 0;
    OK(distarr_create(1, shape, DISTARR_DTYPE_F64, NULL, &a));
    OK(distarr_create(1, shape, DISTARR_DTYPE_F64, NULL, &b));
    OK(distarr_create(1, shape, DISTARR_DTYPE_F64, NULL, &c));
    double *buf = malloc(N * sizeof *buf), *got = malloc(N * sizeof *got);
    CHECK(buf && got);
    for (int round = 1; round <= 3; round++) {
        /* 1. collective write, one-sided read */
        const double fillv = 10.0 * round;
        OK(distarr_fill(a, &fillv));
        OK(distarr_get_region(a, lo, hi, got));
        for (int i = 0; i < N; i++) CHECK(got[i] == fillv);

        /* 2. one-sided writes, collective reads; collective write, one-sided read */
        for (int i = 0; i < N; i++) buf[i] = (double)(i % 97) + round;
        OK(distarr_put_region(a, lo, hi, buf));
        double total = -1;
        OK(distarr_reduce(DISTARR_REDUCE_SUM, a, DISTARR_AXIS_NONE, 0, &total));
        CHECK(total == sum_of(buf, N));
        const double three = 3.0;
        OK(distarr_binary_scalar(DISTARR_UFUNC_MULTIPLY, b, a, &three, DISTARR_DTYPE_F64, 0));
        OK(distarr_get_region(b, lo, hi, got));
        for (int i = 0; i < N; i++) CHECK(got[i] == 3.0 * buf[i]);

        /* 3. implicit-completion puts left for the library to complete */
        uint32_t seg = 0;
        OK(distarr_segment(a, &seg));
        for (int t = 0; t < np; t++) {
            /* the first element each rank holds */
            int64_t first = (int64_t)N * t / np;
            int32_t owner = -1;
            uint64_t off = 0;
            for (int64_t i = first; i < N; i++) {
                const int64_t idx[1] = {i};
                OK(distarr_locate(a, idx, &owner, &off));
                if (owner == t) break;
            }
            if (owner != t) continue; /* holds nothing */
            buf[0] = -1000.0 * round - t;
            OK(distarr_put_nbi(t, seg, off, buf, 8));
            OK(distarr_flush_local(t)); /* local completion only: buf may be reused */
        }
        OK(distarr_copy(c, a));
        OK(distarr_get_region(c, lo, hi, got));
        int negatives = 0;
        for (int i = 0; i < N; i++) negatives += got[i] < 0;
        CHECK(negatives >= 1 && negatives <= np);

        /* 4. a raw put into the last rank's part, read by a collective copy */
        const int64_t last[1] = {N - 1};
        int32_t owner = -1;
        uint64_t off = 0;
        OK(distarr_locate(a, last, &owner, &off));
        const double mark = 0.25 + round;
        OK(distarr_put(owner, seg, off, &mark, 8));
        OK(distarr_copy(c, a));
        double tail = 0;
        const int64_t tlo[1] = {N - 1};
        OK(distarr_get_region(c, tlo, hi, &tail));
        CHECK(tail == mark);

        /* 5. stores through rank 0's local block, then a collective reduction */
        const double zero = 0.0;
        OK(distarr_fill(a, &zero));
        void *p = NULL;
        int64_t blo[1], bhi[1];
        OK(distarr_local_block(a, &p, blo, bhi));
        double *mine = p;
        for (int64_t i = 0; i < bhi[0] - blo[0]; i++) {
            CHECK(mine[i] == 0.0);
            mine[i] = 1.0;
        }
        OK(distarr_reduce(DISTARR_REDUCE_SUM, a, DISTARR_AXIS_NONE, 0, &total));
        CHECK(total == (double)(bhi[0] - blo[0]));
    }
    free(buf);
    free(got);
    OK(distarr_free(c));
    OK(distarr_free(b));
    OK(distarr_free(a));
    OK(distarr_finalize());
    printf("c_seq_sync: %d checks passed on rank 0 of %d\n", checks, np);
    printf("distarr-test: ok rank=%d\n", me);
    return 0;
}
