/*
 * pi.c - Monte Carlo estimate of pi with distributed arrays: throw N darts (x, y) uniform in
 * [0,1)^2, count those with x*x + y*y <= 1, pi ~ 4 * count / N. Large runs go in batches of
 * 2^20 darts (as examples/pi.rs) to bound memory. Every operation is a whole-array call, so the
 * program runs unchanged in SPMD mode (mpirun -n 4 ./pi) and in sequential mode
 * (DISTARR_MODE=sequential mpirun -n 4 ./pi: only rank 0 runs main, the others serve it).
 *
 * Build:  mpicc pi.c -o pi $(pkg-config --cflags --libs distarr)
 * Run:    ./pi [DARTS]       (default 200000; prints the time of the dart loop)
 * Check:  DISTARR_CHECK=1 (or --check): rank 0 gathers the darts, recounts them with a plain
 *         loop (must match exactly) and checks |pi - 3.14159...| < 5 sigma (0.02 at the default
 *         size); every rank then prints "distarr-test: ok rank=R".
 */
#define EXAMPLE_NAME "pi"
#include "example.h"

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define N 200000
#define BATCH (1 << 20)
#define PI 3.14159265358979323846

int main(int argc, char **argv) {
    example_init(&argc, &argv);
    int32_t me, np;
    TRY(distarr_rank(&me));
    TRY(distarr_nranks(&np));
    const int64_t total = example_arg(argc, argv, 0, N, "pi [DARTS] [--check]");

    /* One set of arrays the size of a batch; a shorter last batch uses views of their start. */
    const int64_t n[1] = {total < BATCH ? total : BATCH};
    distarr_array x, y, t, yy, inside;
    TRY(distarr_create(1, n, DISTARR_DTYPE_F64, NULL, &x));
    TRY(distarr_create(1, n, DISTARR_DTYPE_F64, NULL, &y));
    TRY(distarr_create(1, n, DISTARR_DTYPE_F64, NULL, &t));
    TRY(distarr_create(1, n, DISTARR_DTYPE_F64, NULL, &yy));
    TRY(distarr_create(1, n, DISTARR_DTYPE_BOOL, NULL, &inside));
    double *gx = check_mode && me == 0 ? malloc(n[0] * sizeof *gx) : NULL;
    double *gy = check_mode && me == 0 ? malloc(n[0] * sizeof *gy) : NULL;
    int64_t count = 0, recount = 0;
    const double one = 1.0;

    const double t0 = example_now();
    for (int64_t b = 0; b * BATCH < total; b++) {
        const int64_t len = total - b * BATCH < BATCH ? total - b * BATCH : BATCH;
        distarr_array bx = x, by = y, bt = t, byy = yy, bin = inside;
        if (len < n[0]) {
            const int64_t lo[1] = {0}, hi[1] = {len};
            TRY(distarr_view(x, 1, lo, hi, NULL, &bx));
            TRY(distarr_view(y, 1, lo, hi, NULL, &by));
            TRY(distarr_view(t, 1, lo, hi, NULL, &bt));
            TRY(distarr_view(yy, 1, lo, hi, NULL, &byy));
            TRY(distarr_view(inside, 1, lo, hi, NULL, &bin));
        }
        TRY(distarr_random(bx, 1 + 2 * (uint64_t)b));
        TRY(distarr_random(by, 2 + 2 * (uint64_t)b));
        /* t = x*x + y*y; inside = t <= 1 */
        TRY(distarr_binary(DISTARR_UFUNC_MULTIPLY, bt, bx, bx));
        TRY(distarr_binary(DISTARR_UFUNC_MULTIPLY, byy, by, by));
        TRY(distarr_binary(DISTARR_UFUNC_ADD, bt, bt, byy));
        TRY(distarr_binary_scalar(DISTARR_UFUNC_LESS_EQUAL, bin, bt, &one, DISTARR_DTYPE_F64, 0));
        int64_t c = 0; /* SUM of bool is int64 */
        TRY(distarr_reduce(DISTARR_REDUCE_SUM, bin, -1, 0, &c));
        count += c;
        if (check_mode) {
            TRY(distarr_gather(bx, 0, gx));
            TRY(distarr_gather(by, 0, gy));
            if (me == 0)
                for (int64_t i = 0; i < len; i++) recount += gx[i] * gx[i] + gy[i] * gy[i] <= 1.0;
        }
        if (len < n[0]) {
            distarr_array views[] = {bx, by, bt, byy, bin};
            for (size_t k = 0; k < sizeof views / sizeof views[0]; k++) TRY(distarr_free(views[k]));
        }
    }
    const double pi = 4.0 * (double)count / (double)total;
    const double secs = example_now() - t0;
    if (me == 0)
        printf("pi ~ %.8f (%lld darts on %d ranks, error %.2e) in %.3f s\n", pi, (long long)total, np,
               fabs(pi - PI), secs);

    int ok = 1;
    if (check_mode && me == 0) {
        const double p = PI / 4, sigma = 4 * sqrt(p * (1 - p) / (double)total);
        if (recount != count || fabs(pi - PI) > 5 * sigma) {
            fprintf(stderr, "pi: check failed: count %lld vs %lld, pi %f (5 sigma = %.2e)\n", (long long)count,
                    (long long)recount, pi, 5 * sigma);
            ok = 0;
        }
    }
    free(gx);
    free(gy);
    distarr_array all[] = {x, y, t, yy, inside};
    for (size_t k = 0; k < sizeof all / sizeof all[0]; k++) TRY(distarr_free(all[k]));
    TRY(distarr_finalize());
    if (!ok) return 1;
    if (check_mode) printf("distarr-test: ok rank=%d\n", me);
    return 0;
}
