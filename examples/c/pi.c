/*
 * pi.c - Monte Carlo estimate of pi with distributed arrays: throw N darts (x, y) uniform in
 * [0,1)^2, count those with x*x + y*y < 1, pi ~ 4 * count / N. Every operation is a whole-array
 * call, so the program runs unchanged in SPMD mode (mpirun -n 4 ./pi) and in sequential mode
 * (DISTARR_MODE=sequential mpirun -n 4 ./pi: only rank 0 runs main, the others serve it).
 *
 * Build:  mpicc pi.c -o pi $(pkg-config --cflags --libs distarr)
 * Check:  DISTARR_CHECK=1 (or --check): rank 0 gathers the darts, recounts them with a plain
 *         loop (must match exactly) and checks |pi - 3.14159...| < 0.02; every rank then prints
 *         "distarr-test: ok rank=R".
 */
#define EXAMPLE_NAME "pi"
#include "example.h"

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define N 200000
#define PI 3.14159265358979323846

int main(int argc, char **argv) {
    example_init(&argc, &argv);
    int32_t me, np;
    TRY(distarr_rank(&me));
    TRY(distarr_nranks(&np));

    const int64_t n[1] = {N};
    distarr_array x, y, t, inside;
    TRY(distarr_create(1, n, DISTARR_DTYPE_F64, NULL, &x));
    TRY(distarr_create(1, n, DISTARR_DTYPE_F64, NULL, &y));
    TRY(distarr_create(1, n, DISTARR_DTYPE_F64, NULL, &t));
    TRY(distarr_create(1, n, DISTARR_DTYPE_BOOL, NULL, &inside));
    TRY(distarr_random(x, 1));
    TRY(distarr_random(y, 2));
    /* t = x*x + y*y; inside = t < 1 */
    TRY(distarr_binary(DISTARR_UFUNC_MULTIPLY, t, x, x));
    distarr_array yy;
    TRY(distarr_create(1, n, DISTARR_DTYPE_F64, NULL, &yy));
    TRY(distarr_binary(DISTARR_UFUNC_MULTIPLY, yy, y, y));
    TRY(distarr_binary(DISTARR_UFUNC_ADD, t, t, yy));
    const double one = 1.0;
    TRY(distarr_binary_scalar(DISTARR_UFUNC_LESS, inside, t, &one, DISTARR_DTYPE_F64, 0));
    int64_t count = 0; /* SUM of bool is int64 */
    TRY(distarr_reduce(DISTARR_REDUCE_SUM, inside, -1, 0, &count));
    double pi = 4.0 * (double)count / N;
    if (me == 0) printf("pi ~ %.6f (%d darts on %d ranks, error %.2e)\n", pi, N, np, fabs(pi - PI));

    int ok = 1;
    if (check_mode) {
        double *gx = me == 0 ? malloc(N * sizeof *gx) : NULL, *gy = me == 0 ? malloc(N * sizeof *gy) : NULL;
        TRY(distarr_gather(x, 0, gx));
        TRY(distarr_gather(y, 0, gy));
        if (me == 0) {
            int64_t c = 0;
            for (int i = 0; i < N; i++) c += gx[i] * gx[i] + gy[i] * gy[i] < 1.0;
            if (c != count || fabs(pi - PI) > 0.02) {
                fprintf(stderr, "pi: check failed: count %lld vs %lld, pi %f\n", (long long)count,
                        (long long)c, pi);
                ok = 0;
            }
        }
        free(gx);
        free(gy);
    }
    TRY(distarr_finalize());
    if (!ok) return 1;
    if (check_mode) printf("distarr-test: ok rank=%d\n", me);
    return 0;
}
