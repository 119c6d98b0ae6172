/*
 * nbody.c - all-pairs gravitational N-body simulation with broadcasting (examples/nbody.rs in C).
 * Positions x and velocities v are (n, 3) arrays, masses m an (n,) array. One time step, as in
 * NumPy (units with G = 1, softening EPS):
 *
 *     dx = x[None, :, :] - x[:, None, :]       # (n, n, 3): dx[i, j] = x[j] - x[i]
 *     r2 = (dx * dx).sum(axis=2) + EPS**2      # (n, n)
 *     w  = m[None, :] * r2 ** -1.5             # (n, n)
 *     a  = (dx * w[:, :, None]).sum(axis=1)    # (n, 3)
 *     v += a * DT
 *     x += v * DT
 *
 * `x[None, :, :]` and friends are views (distarr_index with DISTARR_INDEX_NEWAXIS: no data
 * moves); the element-wise calls broadcast them. The temporaries of a step are created without
 * storage (DISTARR_LAYOUT_DEFERRED) and freed at its end: the calls are deferred and fused, and
 * a temporary that dies in the queue is never allocated. Runs in SPMD and sequential mode alike.
 *
 * Build:  mpicc nbody.c -o nbody $(pkg-config --cflags --libs distarr) -lm
 * Run:    ./nbody [N [STEPS]]   (default 256 bodies, 10 steps; prints the time of the steps and
 *         of the total momentum that follows them, and the momentum's magnitude: conserved, 0)
 * Check:  DISTARR_CHECK=1 (or --check): rank 0 repeats the simulation with plain loops and
 *         requires the positions and velocities to agree to 1e-12 (relative; the sums run in
 *         another order).
 */
#define EXAMPLE_NAME "nbody"
#include "example.h"

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define DT 1e-3
#define EPS 1e-2
#define ALL DISTARR_INDEX_RANGE
#define NEW DISTARR_INDEX_NEWAXIS

/* A float64 array of `shape` whose storage the first call writing it allocates. */
static distarr_array temporary(int32_t ndim, const int64_t *shape) {
    distarr_array t;
    TRY(distarr_create_layout(ndim, shape, DISTARR_DTYPE_F64, DISTARR_LAYOUT_BLOCK | DISTARR_LAYOUT_DEFERRED, NULL,
                              0, &t));
    return t;
}

/* a[k0, k1(, k2)] with full slices and new axes only: a view. */
static distarr_array index_view(distarr_array a, int32_t nitems, int32_t k0, int32_t k1, int32_t k2) {
    const int32_t kind[3] = {k0, k1, k2};
    distarr_array v;
    TRY(distarr_index(a, nitems, kind, NULL, NULL, NULL, &v));
    return v;
}

static void scalar_op(int32_t op, distarr_array out, distarr_array x, double s) {
    TRY(distarr_binary_scalar(op, out, x, &s, DISTARR_DTYPE_F64, 0));
}

/* One symplectic Euler step, updating x and v in place. Collective. */
static void step(distarr_array x, distarr_array v, distarr_array m, int64_t n) {
    const int64_t nn3[3] = {n, n, 3}, nn[2] = {n, n}, n3[2] = {n, 3};
    distarr_array xj = index_view(x, 3, NEW, ALL, ALL), xi = index_view(x, 3, ALL, NEW, ALL);
    distarr_array dx = temporary(3, nn3), dx2 = temporary(3, nn3), r2 = temporary(2, nn);
    TRY(distarr_binary(DISTARR_UFUNC_SUBTRACT, dx, xj, xi));
    TRY(distarr_binary(DISTARR_UFUNC_MULTIPLY, dx2, dx, dx));
    TRY(distarr_reduce(DISTARR_REDUCE_SUM, dx2, 2, r2, NULL));
    scalar_op(DISTARR_UFUNC_ADD, r2, r2, EPS * EPS);
    distarr_array inv_r3 = temporary(2, nn), w = temporary(2, nn), mj = index_view(m, 2, NEW, ALL, 0);
    scalar_op(DISTARR_UFUNC_POWER, inv_r3, r2, -1.5);
    TRY(distarr_binary(DISTARR_UFUNC_MULTIPLY, w, mj, inv_r3));
    distarr_array w3 = index_view(w, 3, ALL, ALL, NEW), f = temporary(3, nn3), a = temporary(2, n3);
    TRY(distarr_binary(DISTARR_UFUNC_MULTIPLY, f, dx, w3));
    TRY(distarr_reduce(DISTARR_REDUCE_SUM, f, 1, a, NULL));
    distarr_array a_dt = temporary(2, n3), v_dt = temporary(2, n3);
    scalar_op(DISTARR_UFUNC_MULTIPLY, a_dt, a, DT);
    TRY(distarr_binary(DISTARR_UFUNC_ADD, v, v, a_dt));
    scalar_op(DISTARR_UFUNC_MULTIPLY, v_dt, v, DT);
    TRY(distarr_binary(DISTARR_UFUNC_ADD, x, x, v_dt));
    distarr_array done[] = {xj, xi, dx, dx2, r2, inv_r3, w, mj, w3, f, a, a_dt, v_dt};
    for (size_t k = 0; k < sizeof done / sizeof done[0]; k++) TRY(distarr_free(done[k]));
}

/* |sum(m[:, None] * v, axis=0)| on rank 0 (0 elsewhere). Collective. */
static double momentum(distarr_array v, distarr_array m, int64_t n, int32_t me) {
    const int64_t n3[2] = {n, 3}, three[1] = {3};
    distarr_array mi = index_view(m, 2, ALL, NEW, 0), mv = temporary(2, n3), p = temporary(1, three);
    TRY(distarr_binary(DISTARR_UFUNC_MULTIPLY, mv, mi, v));
    TRY(distarr_reduce(DISTARR_REDUCE_SUM, mv, 0, p, NULL));
    double got[3] = {0, 0, 0};
    TRY(distarr_gather(p, 0, me == 0 ? got : NULL));
    distarr_array done[] = {mi, mv, p};
    for (size_t k = 0; k < sizeof done / sizeof done[0]; k++) TRY(distarr_free(done[k]));
    return sqrt(got[0] * got[0] + got[1] * got[1] + got[2] * got[2]);
}

/* The same simulation with plain loops on C-order (n, 3) buffers, for the check. */
static void reference(double *x, double *v, const double *m, int64_t n, int64_t steps) {
    double *a = malloc(3 * n * sizeof *a);
    if (!a) {
        fprintf(stderr, "nbody: out of memory\n");
        exit(1);
    }
    for (int64_t s = 0; s < steps; s++) {
        memset(a, 0, 3 * n * sizeof *a);
        for (int64_t i = 0; i < n; i++)
            for (int64_t j = 0; j < n; j++) {
                double d[3], r2 = EPS * EPS;
                for (int k = 0; k < 3; k++) d[k] = x[3 * j + k] - x[3 * i + k];
                r2 += d[0] * d[0] + d[1] * d[1] + d[2] * d[2];
                const double w = m[j] * pow(r2, -1.5);
                for (int k = 0; k < 3; k++) a[3 * i + k] += d[k] * w;
            }
        for (int64_t k = 0; k < 3 * n; k++) {
            v[k] += a[k] * DT;
            x[k] += v[k] * DT;
        }
    }
    free(a);
}

/* The largest |got - want| / (1 + |want|). */
static double max_rel_diff(const double *got, const double *want, int64_t len) {
    double e = 0;
    for (int64_t k = 0; k < len; k++) {
        const double d = fabs(got[k] - want[k]) / (1 + fabs(want[k]));
        if (!(d <= e)) e = d; /* a NaN makes the check fail */
    }
    return e;
}

/* The whole (len-element) array on rank 0, NULL elsewhere. Collective. */
static double *on_root(distarr_array a, int64_t len, int32_t me) {
    double *buf = NULL;
    if (me == 0 && !(buf = malloc(len * sizeof *buf))) {
        fprintf(stderr, "nbody: out of memory\n");
        exit(1);
    }
    TRY(distarr_gather(a, 0, buf));
    return buf;
}

int main(int argc, char **argv) {
    example_init(&argc, &argv);
    int32_t me, np;
    TRY(distarr_rank(&me));
    TRY(distarr_nranks(&np));
    const char *usage = "nbody [N [STEPS]] [--check]";
    const int64_t n = example_arg(argc, argv, 0, 256, usage), steps = example_arg(argc, argv, 1, 10, usage);

    /* Bodies in the unit cube at rest, masses in [0.5, 1.5) / n. */
    const int64_t n3[2] = {n, 3}, n1[1] = {n};
    distarr_array x, v, m;
    TRY(distarr_create(2, n3, DISTARR_DTYPE_F64, NULL, &x));
    TRY(distarr_create(2, n3, DISTARR_DTYPE_F64, NULL, &v));
    TRY(distarr_create(1, n1, DISTARR_DTYPE_F64, NULL, &m));
    TRY(distarr_random(x, 1));
    TRY(distarr_random(m, 2));
    scalar_op(DISTARR_UFUNC_ADD, m, m, 0.5);
    scalar_op(DISTARR_UFUNC_DIVIDE, m, m, (double)n);
    double *x0 = check_mode ? on_root(x, 3 * n, me) : NULL, *m0 = check_mode ? on_root(m, n, me) : NULL;

    /* The clock stops after the momentum: the steps are deferred and run when a value is needed. */
    TRY(distarr_barrier()); /* the set-up (random x and m, deferred) runs before the clock starts */
    const double t0 = example_now();
    for (int64_t s = 0; s < steps; s++) step(x, v, m, n);
    const double p = momentum(v, m, n, me);
    const double secs = example_now() - t0;
    if (me == 0)
        printf("nbody: %lld bodies, %lld steps on %d ranks in %.3f s (%.1f ms/step); |total momentum| %.1e\n",
               (long long)n, (long long)steps, np, secs, 1e3 * secs / (double)steps, p);

    int ok = 1;
    if (check_mode) {
        double *xs = on_root(x, 3 * n, me), *vs = on_root(v, 3 * n, me);
        if (me == 0) {
            double *vr = calloc(3 * n, sizeof *vr);
            if (!vr) {
                fprintf(stderr, "nbody: out of memory\n");
                return 1;
            }
            reference(x0, vr, m0, n, steps);
            const double ex = max_rel_diff(xs, x0, 3 * n), ev = max_rel_diff(vs, vr, 3 * n);
            ok = ex < 1e-12 && ev < 1e-12 && p < 1e-12;
            printf("nbody: max relative difference to plain loops: positions %.1e, velocities %.1e\n", ex, ev);
            free(vr);
        }
        free(xs);
        free(vs);
    }
    free(x0);
    free(m0);
    distarr_array all[] = {x, v, m};
    for (size_t k = 0; k < sizeof all / sizeof all[0]; k++) TRY(distarr_free(all[k]));
    TRY(distarr_finalize());
    if (!ok) {
        if (me == 0) fprintf(stderr, "nbody: check failed\n");
        return 1;
    }
    if (check_mode) printf("distarr-test: ok rank=%d\n", me);
    return 0;
}
