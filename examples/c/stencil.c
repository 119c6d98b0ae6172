/*
 * stencil.c - a 2-D five-point stencil (Jacobi relaxation of Laplace's equation) written with
 * array views, as in DistNumPy:  g[1:-1,1:-1] = 0.2 * (c + up + down + left + right)  where the
 * five terms are shifted views of g. No data is copied to make the views; each element-wise
 * call reads its neighbours with one-sided gets. Runs in SPMD and sequential mode alike.
 * The boundary is held fixed: the top edge at 1.0, the left edge at 0.5 (as examples/stencil.rs).
 *
 * Build:  mpicc stencil.c -o stencil $(pkg-config --cflags --libs distarr)
 * Run:    ./stencil [N [STEPS]]   (an N x N grid; default a 40 x 30 grid and 25 steps; prints the
 *         mean temperature and the time of the steps and that mean)
 * Check:  DISTARR_CHECK=1 (or --check): rank 0 repeats the computation with plain loops in the
 *         same operation order and requires bit-identical results.
 */
#define EXAMPLE_NAME "stencil"
#include "example.h"

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define NX 40
#define NY 30
#define ITERS 25

/* g[r0:r1, c0:c1] as a view */
static distarr_array sub(distarr_array g, int64_t r0, int64_t r1, int64_t c0, int64_t c1) {
    const int64_t start[2] = {r0, c0}, stop[2] = {r1, c1};
    distarr_array v;
    TRY(distarr_view(g, 2, start, stop, NULL, &v));
    return v;
}

/* the initial grid: g[0, :] = 1, then g[:, 0] = 0.5, 0 elsewhere */
static double initial(int64_t i, int64_t j) {
    if (j == 0) return 0.5;
    if (i == 0) return 1.0;
    return 0.0;
}

int main(int argc, char **argv) {
    example_init(&argc, &argv);
    int32_t me, np;
    TRY(distarr_rank(&me));
    TRY(distarr_nranks(&np));
    const char *usage = "stencil [N [STEPS]] [--check] (N >= 3)";
    const int64_t n = example_arg(argc, argv, 0, 0, usage), iters = example_arg(argc, argv, 1, ITERS, usage);
    const int64_t nx = n ? n : NX, ny = n ? n : NY; /* N x N, or the default 40 x 30 */
    if (nx < 3) {
        fprintf(stderr, "usage: %s\n", usage);
        return 2;
    }

    const int64_t shape[2] = {nx, ny}, inner[2] = {nx - 2, ny - 2};
    distarr_array g, tmp;
    TRY(distarr_create(2, shape, DISTARR_DTYPE_F64, NULL, &g));
    TRY(distarr_create(2, inner, DISTARR_DTYPE_F64, NULL, &tmp));
    double *init = NULL;
    if (me == 0) { /* other ranks' buffers are ignored by the scatter */
        init = malloc(nx * ny * sizeof *init);
        if (!init) {
            fprintf(stderr, "stencil: out of memory\n");
            return 1;
        }
        for (int64_t i = 0; i < nx; i++)
            for (int64_t j = 0; j < ny; j++) init[i * ny + j] = initial(i, j);
    }
    TRY(distarr_scatter(g, 0, init));

    distarr_array c = sub(g, 1, nx - 1, 1, ny - 1), up = sub(g, 0, nx - 2, 1, ny - 1),
                  down = sub(g, 2, nx, 1, ny - 1), left = sub(g, 1, nx - 1, 0, ny - 2),
                  right = sub(g, 1, nx - 1, 2, ny);
    const double fifth = 0.2;
    const double t0 = example_now();
    for (int64_t it = 0; it < iters; it++) {
        TRY(distarr_binary(DISTARR_UFUNC_ADD, tmp, c, up));
        TRY(distarr_binary(DISTARR_UFUNC_ADD, tmp, tmp, down));
        TRY(distarr_binary(DISTARR_UFUNC_ADD, tmp, tmp, left));
        TRY(distarr_binary(DISTARR_UFUNC_ADD, tmp, tmp, right));
        TRY(distarr_binary_scalar(DISTARR_UFUNC_MULTIPLY, tmp, tmp, &fifth, DISTARR_DTYPE_F64, 0));
        TRY(distarr_copy(c, tmp));
    }
    /* The clock stops after the mean: element-wise calls are deferred and run, fused, when a
     * value is needed (here the mean; distarr_barrier or distarr_sync would do too). */
    double total = 0, mean = 0;
    TRY(distarr_reduce(DISTARR_REDUCE_MEAN, g, -1, 0, &mean));
    const double secs = example_now() - t0;
    TRY(distarr_reduce(DISTARR_REDUCE_SUM, g, -1, 0, &total));
    if (me == 0)
        printf("stencil: %lld iterations on a %lldx%lld grid, %d ranks, sum %.10f, mean temperature %.12e in "
               "%.3f s\n",
               (long long)iters, (long long)nx, (long long)ny, np, total, mean, secs);

    int ok = 1;
    if (check_mode) {
        double *got = me == 0 ? malloc(nx * ny * sizeof *got) : NULL;
        TRY(distarr_gather(g, 0, got));
        if (me == 0) {
            double *a = malloc(nx * ny * sizeof *a), *t = malloc(nx * ny * sizeof *t);
            memcpy(a, init, nx * ny * sizeof *a);
            for (int64_t it = 0; it < iters; it++) {
                for (int64_t i = 1; i < nx - 1; i++)
                    for (int64_t j = 1; j < ny - 1; j++) {
                        double s = a[i * ny + j] + a[(i - 1) * ny + j];
                        s = s + a[(i + 1) * ny + j];
                        s = s + a[i * ny + j - 1];
                        s = s + a[i * ny + j + 1];
                        t[i * ny + j] = s * 0.2;
                    }
                for (int64_t i = 1; i < nx - 1; i++)
                    for (int64_t j = 1; j < ny - 1; j++) a[i * ny + j] = t[i * ny + j];
            }
            for (int64_t k = 0; k < nx * ny; k++)
                if (a[k] != got[k]) {
                    fprintf(stderr, "stencil: check failed at %lld: %.17g vs %.17g\n", (long long)k, got[k], a[k]);
                    ok = 0;
                    break;
                }
            free(a);
            free(t);
        }
        free(got);
    }
    free(init);
    distarr_array all[] = {c, up, down, left, right, tmp, g};
    for (size_t k = 0; k < sizeof all / sizeof all[0]; k++) TRY(distarr_free(all[k]));
    TRY(distarr_finalize());
    if (!ok) return 1;
    if (check_mode) printf("distarr-test: ok rank=%d\n", me);
    return 0;
}
