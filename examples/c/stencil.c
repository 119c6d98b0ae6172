/*
 * stencil.c - a 2-D five-point stencil (Jacobi relaxation of Laplace's equation) written with
 * array views, as in DistNumPy:  g[1:-1,1:-1] = 0.2 * (c + up + down + left + right)  where the
 * five terms are shifted views of g. No data is copied to make the views; each element-wise
 * call reads its neighbours with one-sided gets. Runs in SPMD and sequential mode alike.
 *
 * Build:  mpicc stencil.c -o stencil $(pkg-config --cflags --libs distarr)
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

/* the initial grid: 100 on the top edge, 0 elsewhere, a hot spot in the middle */
static double initial(int i, int j) {
    if (i == 0) return 100.0;
    if (i == NX / 2 && j == NY / 2) return 50.0;
    return 0.0;
}

int main(int argc, char **argv) {
    example_init(&argc, &argv);
    int32_t me, np;
    TRY(distarr_rank(&me));
    TRY(distarr_nranks(&np));

    const int64_t shape[2] = {NX, NY}, inner[2] = {NX - 2, NY - 2};
    distarr_array g, tmp;
    TRY(distarr_create(2, shape, DISTARR_DTYPE_F64, NULL, &g));
    TRY(distarr_create(2, inner, DISTARR_DTYPE_F64, NULL, &tmp));
    static double init[NX * NY];
    for (int i = 0; i < NX; i++)
        for (int j = 0; j < NY; j++) init[i * NY + j] = initial(i, j);
    TRY(distarr_scatter(g, 0, init)); /* other ranks' buffers are ignored */

    distarr_array c = sub(g, 1, NX - 1, 1, NY - 1), up = sub(g, 0, NX - 2, 1, NY - 1),
                  down = sub(g, 2, NX, 1, NY - 1), left = sub(g, 1, NX - 1, 0, NY - 2),
                  right = sub(g, 1, NX - 1, 2, NY);
    const double fifth = 0.2;
    for (int it = 0; it < ITERS; it++) {
        TRY(distarr_binary(DISTARR_UFUNC_ADD, tmp, c, up));
        TRY(distarr_binary(DISTARR_UFUNC_ADD, tmp, tmp, down));
        TRY(distarr_binary(DISTARR_UFUNC_ADD, tmp, tmp, left));
        TRY(distarr_binary(DISTARR_UFUNC_ADD, tmp, tmp, right));
        TRY(distarr_binary_scalar(DISTARR_UFUNC_MULTIPLY, tmp, tmp, &fifth, DISTARR_DTYPE_F64, 0));
        TRY(distarr_copy(c, tmp));
    }
    double total = 0;
    TRY(distarr_reduce(DISTARR_REDUCE_SUM, g, -1, 0, &total));
    if (me == 0) printf("stencil: %d iterations on a %dx%d grid, %d ranks, sum %.10f\n", ITERS, NX, NY, np, total);

    int ok = 1;
    if (check_mode) {
        double *got = me == 0 ? malloc(sizeof init) : NULL;
        TRY(distarr_gather(g, 0, got));
        if (me == 0) {
            static double a[NX * NY], t[NX * NY];
            memcpy(a, init, sizeof a);
            for (int it = 0; it < ITERS; it++) {
                for (int i = 1; i < NX - 1; i++)
                    for (int j = 1; j < NY - 1; j++) {
                        double s = a[i * NY + j] + a[(i - 1) * NY + j];
                        s = s + a[(i + 1) * NY + j];
                        s = s + a[i * NY + j - 1];
                        s = s + a[i * NY + j + 1];
                        t[i * NY + j] = s * 0.2;
                    }
                for (int i = 1; i < NX - 1; i++)
                    for (int j = 1; j < NY - 1; j++) a[i * NY + j] = t[i * NY + j];
            }
            for (int k = 0; k < NX * NY; k++)
                if (a[k] != got[k]) {
                    fprintf(stderr, "stencil: check failed at %d: %.17g vs %.17g\n", k, got[k], a[k]);
                    ok = 0;
                    break;
                }
        }
        free(got);
    }
    distarr_array all[] = {c, up, down, left, right, tmp, g};
    for (size_t k = 0; k < sizeof all / sizeof all[0]; k++) TRY(distarr_free(all[k]));
    TRY(distarr_finalize());
    if (!ok) return 1;
    if (check_mode) printf("distarr-test: ok rank=%d\n", me);
    return 0;
}
