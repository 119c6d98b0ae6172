/*
 * jacobi.c - DistNumPy's dense Jacobi solver for A h = b:
 *     h = h + (b - sum(A * h, axis=1)) / diag(A)
 * with A an n x n diagonally dominant matrix. A * h broadcasts h along A's rows; the row sums are
 * a reduction along axis 1. Runs in SPMD and sequential mode alike.
 *
 * A is fixed (a_ij = 1 / (1 + |i - j|), 2n on the diagonal), not random as in examples/jacobi.rs,
 * and the loop runs a fixed number of iterations without a convergence test; the n^2 work per
 * iteration (A * h and its row sums) is the same.
 *
 * Build:  mpicc jacobi.c -o jacobi $(pkg-config --cflags --libs distarr) -lm
 * Run:    ./jacobi [N [ITERS]]    (default 48 and 40; prints the time of the iterations and the
 *         residual, which must be below 1e-8)
 * Check:  DISTARR_CHECK=1 (or --check): rank 0 runs the same iteration with plain loops and
 *         requires agreement to 1e-12 and a residual |A h - b| below 1e-8.
 */
#define EXAMPLE_NAME "jacobi"
#include "example.h"

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define N 48
#define ITERS 40

static double a_ij(int64_t n, int64_t i, int64_t j) {
    return i == j ? 2.0 * (double)n : 1.0 / (1.0 + (double)(i > j ? i - j : j - i));
}
static double b_i(int64_t i) { return (double)(i % 7) - 3.0; }

int main(int argc, char **argv) {
    example_init(&argc, &argv);
    int32_t me, np;
    TRY(distarr_rank(&me));
    TRY(distarr_nranks(&np));
    const char *usage = "jacobi [N [ITERS]] [--check]";
    const int64_t nr = example_arg(argc, argv, 0, N, usage), iters = example_arg(argc, argv, 1, ITERS, usage);

    const int64_t nn[2] = {nr, nr}, n[1] = {nr};
    distarr_array A, Ah, h, b, d, s;
    TRY(distarr_create(2, nn, DISTARR_DTYPE_F64, NULL, &A));
    TRY(distarr_create(2, nn, DISTARR_DTYPE_F64, NULL, &Ah));
    TRY(distarr_create(1, n, DISTARR_DTYPE_F64, NULL, &h)); /* zero: the initial guess */
    TRY(distarr_create(1, n, DISTARR_DTYPE_F64, NULL, &b));
    TRY(distarr_create(1, n, DISTARR_DTYPE_F64, NULL, &d));
    TRY(distarr_create(1, n, DISTARR_DTYPE_F64, NULL, &s));
    /* A and b from rank 0's buffers (other ranks' are ignored); diag(A) is a constant here */
    double *a0 = NULL, *b0 = NULL;
    if (me == 0) {
        a0 = malloc(nr * nr * sizeof *a0);
        b0 = malloc(nr * sizeof *b0);
        if (!a0 || !b0) {
            fprintf(stderr, "jacobi: out of memory\n");
            return 1;
        }
        for (int64_t i = 0; i < nr; i++) {
            b0[i] = b_i(i);
            for (int64_t j = 0; j < nr; j++) a0[i * nr + j] = a_ij(nr, i, j);
        }
    }
    TRY(distarr_scatter(A, 0, a0));
    TRY(distarr_scatter(b, 0, b0));
    const double diag = 2.0 * (double)nr;
    TRY(distarr_fill(d, &diag));

    const double t0 = example_now();
    for (int64_t it = 0; it < iters; it++) {
        TRY(distarr_binary(DISTARR_UFUNC_MULTIPLY, Ah, A, h));      /* A * h (h broadcast) */
        TRY(distarr_reduce(DISTARR_REDUCE_SUM, Ah, 1, s, NULL));    /* sum(A * h, axis=1) */
        TRY(distarr_binary(DISTARR_UFUNC_SUBTRACT, s, b, s));       /* b - ... */
        TRY(distarr_binary(DISTARR_UFUNC_DIVIDE, s, s, d));         /* ... / diag(A) */
        TRY(distarr_binary(DISTARR_UFUNC_ADD, h, h, s));            /* h = h + ... */
    }
    /* element-wise calls are deferred: the barrier runs what is left before the clock stops */
    TRY(distarr_barrier());
    const double secs = example_now() - t0;
    /* residual |A h - b|_max through matmul */
    distarr_array res;
    TRY(distarr_create(1, n, DISTARR_DTYPE_F64, NULL, &res));
    TRY(distarr_matmul(res, A, h));
    TRY(distarr_binary(DISTARR_UFUNC_SUBTRACT, res, res, b));
    TRY(distarr_unary(DISTARR_UFUNC_ABSOLUTE, res, res));
    double resid = -1;
    TRY(distarr_reduce(DISTARR_REDUCE_MAX, res, -1, 0, &resid));
    if (me == 0)
        printf("jacobi: n=%lld, %lld iterations on %d ranks, max residual %.3e in %.3f s\n", (long long)nr,
               (long long)iters, np, resid, secs);

    int ok = resid < 1e-8;
    if (check_mode) {
        double *got = me == 0 ? malloc(nr * sizeof *got) : NULL;
        TRY(distarr_gather(h, 0, got));
        if (me == 0) {
            double *hh = calloc(nr, sizeof *hh), *upd = malloc(nr * sizeof *upd);
            for (int64_t it = 0; it < iters; it++) {
                for (int64_t i = 0; i < nr; i++) {
                    double sum = 0;
                    for (int64_t j = 0; j < nr; j++) sum += a0[i * nr + j] * hh[j];
                    upd[i] = (b0[i] - sum) / diag;
                }
                for (int64_t i = 0; i < nr; i++) hh[i] += upd[i];
            }
            for (int64_t i = 0; i < nr; i++)
                if (fabs(hh[i] - got[i]) > 1e-12 * (1 + fabs(hh[i]))) {
                    fprintf(stderr, "jacobi: check failed at %lld: %.17g vs %.17g\n", (long long)i, got[i], hh[i]);
                    ok = 0;
                    break;
                }
            free(hh);
            free(upd);
        }
        free(got);
    }
    if (!ok && me == 0) fprintf(stderr, "jacobi: check failed (residual %.3e)\n", resid);
    free(a0);
    free(b0);
    distarr_array all[] = {A, Ah, h, b, d, s, res};
    for (size_t k = 0; k < sizeof all / sizeof all[0]; k++) TRY(distarr_free(all[k]));
    TRY(distarr_finalize());
    if (!ok) return 1;
    if (check_mode) printf("distarr-test: ok rank=%d\n", me);
    return 0;
}
