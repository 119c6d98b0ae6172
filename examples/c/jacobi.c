/*
 * jacobi.c - DistNumPy's dense Jacobi solver for A h = b:
 *     h = h + (b - sum(A * h, axis=1)) / diag(A)
 * with A an n x n diagonally dominant matrix. A * h broadcasts h along A's rows; the row sums are
 * a reduction along axis 1. Runs in SPMD and sequential mode alike.
 *
 * Build:  mpicc jacobi.c -o jacobi $(pkg-config --cflags --libs distarr) -lm
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

static double a_ij(int i, int j) { return i == j ? 2.0 * N : 1.0 / (1.0 + abs(i - j)); }
static double b_i(int i) { return (double)(i % 7) - 3.0; }

int main(int argc, char **argv) {
    example_init(&argc, &argv);
    int32_t me, np;
    TRY(distarr_rank(&me));
    TRY(distarr_nranks(&np));

    const int64_t nn[2] = {N, N}, n[1] = {N};
    distarr_array A, Ah, h, b, d, s;
    TRY(distarr_create(2, nn, DISTARR_DTYPE_F64, NULL, &A));
    TRY(distarr_create(2, nn, DISTARR_DTYPE_F64, NULL, &Ah));
    TRY(distarr_create(1, n, DISTARR_DTYPE_F64, NULL, &h)); /* zero: the initial guess */
    TRY(distarr_create(1, n, DISTARR_DTYPE_F64, NULL, &b));
    TRY(distarr_create(1, n, DISTARR_DTYPE_F64, NULL, &d));
    TRY(distarr_create(1, n, DISTARR_DTYPE_F64, NULL, &s));
    /* A and b from rank 0's buffers; diag(A) is a constant here */
    static double a0[N * N], b0[N];
    for (int i = 0; i < N; i++) {
        b0[i] = b_i(i);
        for (int j = 0; j < N; j++) a0[i * N + j] = a_ij(i, j);
    }
    TRY(distarr_scatter(A, 0, a0));
    TRY(distarr_scatter(b, 0, b0));
    const double diag = 2.0 * N;
    TRY(distarr_fill(d, &diag));

    for (int it = 0; it < ITERS; it++) {
        TRY(distarr_binary(DISTARR_UFUNC_MULTIPLY, Ah, A, h));      /* A * h (h broadcast) */
        TRY(distarr_reduce(DISTARR_REDUCE_SUM, Ah, 1, s, NULL));    /* sum(A * h, axis=1) */
        TRY(distarr_binary(DISTARR_UFUNC_SUBTRACT, s, b, s));       /* b - ... */
        TRY(distarr_binary(DISTARR_UFUNC_DIVIDE, s, s, d));         /* ... / diag(A) */
        TRY(distarr_binary(DISTARR_UFUNC_ADD, h, h, s));            /* h = h + ... */
    }
    /* residual |A h - b|_max through matmul */
    distarr_array res;
    TRY(distarr_create(1, n, DISTARR_DTYPE_F64, NULL, &res));
    TRY(distarr_matmul(res, A, h));
    TRY(distarr_binary(DISTARR_UFUNC_SUBTRACT, res, res, b));
    TRY(distarr_unary(DISTARR_UFUNC_ABSOLUTE, res, res));
    double resid = -1;
    TRY(distarr_reduce(DISTARR_REDUCE_MAX, res, -1, 0, &resid));
    if (me == 0) printf("jacobi: n=%d, %d iterations on %d ranks, max residual %.3e\n", N, ITERS, np, resid);

    int ok = resid < 1e-8;
    if (check_mode) {
        double *got = me == 0 ? malloc(N * sizeof *got) : NULL;
        TRY(distarr_gather(h, 0, got));
        if (me == 0) {
            double hh[N] = {0}, upd[N];
            for (int it = 0; it < ITERS; it++) {
                for (int i = 0; i < N; i++) {
                    double sum = 0;
                    for (int j = 0; j < N; j++) sum += a0[i * N + j] * hh[j];
                    upd[i] = (b0[i] - sum) / diag;
                }
                for (int i = 0; i < N; i++) hh[i] += upd[i];
            }
            for (int i = 0; i < N; i++)
                if (fabs(hh[i] - got[i]) > 1e-12 * (1 + fabs(hh[i]))) {
                    fprintf(stderr, "jacobi: check failed at %d: %.17g vs %.17g\n", i, got[i], hh[i]);
                    ok = 0;
                    break;
                }
        }
        free(got);
    }
    if (!ok && me == 0) fprintf(stderr, "jacobi: check failed (residual %.3e)\n", resid);
    distarr_array all[] = {A, Ah, h, b, d, s, res};
    for (size_t k = 0; k < sizeof all / sizeof all[0]; k++) TRY(distarr_free(all[k]));
    TRY(distarr_finalize());
    if (!ok) return 1;
    if (check_mode) printf("distarr-test: ok rank=%d\n", me);
    return 0;
}
