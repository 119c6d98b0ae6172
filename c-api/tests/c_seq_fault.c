/*
 * c_seq_fault.c - a sequential-mode job in which one process fails, for the fault tests of
 * tests/multirank.rs (capi_seq_fault_*): the whole job must end non-zero, soon, with the cause
 * printed and no process left running.
 *
 * Rank 0 runs rounds of `c = a + b; total = sum(c)` on distributed arrays (each a command the
 * workers execute) and checks every total against the closed form. DISTARR_TEST_FAULT says
 * what goes wrong at round 5:
 *  - unset: nothing (the program's own test: every rank prints its ok line);
 *  - `root_exit`: rank 0 meets an error (a get beyond the end of a segment), prints it and
 *    returns 2 from main without distarr_finalize, as a C program that gives up does;
 *  - `root_abort`: rank 0 prints the error and calls distarr_abort(3).
 * A worker dies through the library's test hook instead: DISTARR_TEST_WORKER_FAULT=R:K:HOW
 * (worker R before its K-th command; HOW kill, abort or exit).
 */
#include "check.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define N 20000
#define ROUNDS 40

int main(int argc, char **argv) {
    test_start(DISTARR_MODE_SEQUENTIAL);
    test_init(&argc, &argv, DISTARR_MODE_SEQUENTIAL); /* only rank 0 returns */
    const char *fault = getenv("DISTARR_TEST_FAULT");
    if (!fault) fault = "";

    int64_t n[1] = {N};
    distarr_array a, b, c;
    OK(distarr_arange(0.0, (double)N, 1.0, DISTARR_DTYPE_F64, &a));
    OK(distarr_create(1, n, DISTARR_DTYPE_F64, NULL, &b));
    OK(distarr_create(1, n, DISTARR_DTYPE_F64, NULL, &c));
    uint32_t seg;
    OK(distarr_gmem_alloc(8, &seg));
    for (int round = 0; round < ROUNDS; round++) {
        if (round == 5 && (strcmp(fault, "root_exit") == 0 || strcmp(fault, "root_abort") == 0)) {
            double x[2];
            int rc = distarr_get(x, 0, seg, 0, sizeof x); /* 16 bytes of an 8-byte segment */
            CHECK(rc == DISTARR_ERR_BOUNDS);
            fprintf(stderr, "c_seq_fault: rank 0 gives up after an error: %s\n",
                    distarr_last_error());
            fflush(stderr);
            if (strcmp(fault, "root_abort") == 0) distarr_abort(3);
            return 2;
        }
        const double r = (double)round;
        OK(distarr_fill(b, &r));
        OK(distarr_binary(DISTARR_UFUNC_ADD, c, a, b));
        double total = 0;
        OK(distarr_reduce(DISTARR_REDUCE_SUM, c, DISTARR_AXIS_NONE, 0, &total));
        /* sum(0..N-1) + N * round, exact in doubles */
        CHECK(total == (double)N * (N - 1) / 2 + (double)N * round);
    }
    OK(distarr_free(c));
    OK(distarr_free(b));
    OK(distarr_free(a));
    OK(distarr_finalize());
    printf("c_seq_fault: %d checks passed on rank 0 of %d\n", checks, np);
    printf("distarr-test: ok rank=%d\n", me);
    return 0;
}
