/*
 * c_arrays.c - tests every array function of libdistarr against values computed here with
 * closed forms and plain loops, and every error path: each call returns the documented status
 * code and the program continues. Run by tests/multirank.rs under mpirun at 1-4 ranks, in SPMD
 * mode and in sequential mode (DISTARR_MODE=sequential), and under valgrind.
 *
 * In SPMD mode every rank runs the program: collective calls are made by all, one-sided calls
 * (regions, locate, local blocks) by each rank on its own share, and distarr_sync separates
 * one-sided accesses from collective operations on the same data (the header's
 * SYNCHRONISATION rule: after a collective operation before one-sided accesses to its data,
 * after one-sided writes before a collective operation uses the data, after one-sided reads
 * before a collective operation writes it). In sequential mode only rank 0 returns from
 * distarr_init; the other ranks serve its calls and exit(0) at distarr_finalize, printing the
 * harness's success line from an atexit handler (the syncs are then not needed: c_seq_sync.c
 * tests that; they are harmless).
 */
#include "arrays.h"

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static double ident(int64_t i) { return (double)i; }
static double lin(int64_t i) { return (double)(i % 8) + 100.0 * (double)(i / 8); }
static double small(int64_t i) { return (double)((i * 7) % 5) - 2.0; }

static void creation_and_metadata(void) {
    const int64_t shape[2] = {7, 5};
    distarr_array a = 0;
    OK(distarr_create(2, shape, DISTARR_DTYPE_F64, NULL, &a));
    CHECK(a != 0);
    int32_t nd = -1, dt = -1;
    int64_t sh[2] = {-1, -1}, size = -1;
    uint32_t seg = 0;
    OK(distarr_ndim(a, &nd));
    OK(distarr_shape(a, sh));
    OK(distarr_size(a, &size));
    OK(distarr_dtype(a, &dt));
    OK(distarr_segment(a, &seg));
    CHECK(nd == 2 && sh[0] == 7 && sh[1] == 5 && size == 35 && dt == DISTARR_DTYPE_F64 && seg != 0);
    double *g = gather_f64(a, 35);
    if (g)
        for (int i = 0; i < 35; i++) CHECK(g[i] == 0.0); /* created zero-filled */
    free(g);

    /* every layout and dtype; fill and read back */
    const int64_t n1[1] = {9}, blk[1] = {2};
    distarr_array c[5];
    OK(distarr_create(1, n1, DISTARR_DTYPE_I32, blk, &c[0]));
    OK(distarr_create_layout(1, n1, DISTARR_DTYPE_I32, DISTARR_LAYOUT_REPLICATED, NULL, 0, &c[1]));
    OK(distarr_create_layout(1, n1, DISTARR_DTYPE_I32, DISTARR_LAYOUT_ON_RANK, NULL, np - 1, &c[2]));
    OK(distarr_create_layout(1, n1, DISTARR_DTYPE_I32, DISTARR_LAYOUT_BLOCK_CYCLIC, blk, 0, &c[3]));
    OK(distarr_create_layout(1, n1, DISTARR_DTYPE_I32, DISTARR_LAYOUT_BLOCK, NULL, 0, &c[4]));
    for (int k = 0; k < 5; k++) {
        const int32_t seven = 7 + k;
        OK(distarr_fill(c[k], &seven));
        OK(distarr_sync()); /* collective write, then one-sided reads */
        int32_t out[9];
        const int64_t lo[1] = {0}, hi[1] = {9};
        OK(distarr_get_region(c[k], lo, hi, out));
        for (int i = 0; i < 9; i++) CHECK(out[i] == 7 + k);
        /* a one-sided put by one program rank (after everyone read), seen by all after a sync */
        OK(distarr_sync());
        if (me == P - 1) {
            const int32_t v[2] = {-1, -2};
            const int64_t l2[1] = {3}, h2[1] = {5};
            OK(distarr_put_region(c[k], l2, h2, v));
        }
        OK(distarr_sync());
        OK(distarr_get_region(c[k], lo, hi, out));
        for (int i = 0; i < 9; i++) CHECK(out[i] == (i == 3 ? -1 : i == 4 ? -2 : 7 + k));
    }
    for (int k = 0; k < 5; k++) OK(distarr_free(c[k]));
    for (int k = 0; k < 5; k++) EXPECT(distarr_dtype(c[k], &dt), DISTARR_ERR_HANDLE);

    /* every dtype, 0-d and empty arrays */
    for (int32_t d = DISTARR_DTYPE_BOOL; d <= DISTARR_DTYPE_C128; d++) {
        distarr_array z = 0;
        OK(distarr_create(0, NULL, d, NULL, &z));
        OK(distarr_dtype(z, &dt));
        OK(distarr_ndim(z, &nd));
        OK(distarr_size(z, &size));
        CHECK(dt == d && nd == 0 && size == 1);
        OK(distarr_shape(z, NULL));
        OK(distarr_free(z));
    }
    const int64_t empty[2] = {0, 4};
    distarr_array e = 0;
    OK(distarr_create(2, empty, DISTARR_DTYPE_U8, NULL, &e));
    OK(distarr_size(e, &size));
    CHECK(size == 0);
    const uint8_t one = 1;
    OK(distarr_fill(e, &one));
    OK(distarr_gather(e, root, NULL)); /* nothing to receive: buf may be NULL */
    OK(distarr_free(e));
    OK(distarr_free(a));
}

static void regions_locate_local(void) {
    const int64_t shape[2] = {6, 8};
    distarr_array a = 0;
    OK(distarr_create(2, shape, DISTARR_DTYPE_F64, NULL, &a));
    OK(distarr_sync()); /* the creation writes zeros: before one-sided puts */
    /* program rank p writes rows p, p+P, ... with one-sided puts */
    for (int64_t i = me; i < 6; i += P) {
        double row[8];
        for (int j = 0; j < 8; j++) row[j] = lin(i * 8 + j);
        const int64_t lo[2] = {i, 0}, hi[2] = {i + 1, 8};
        OK(distarr_put_region(a, lo, hi, row));
    }
    OK(distarr_sync());
    double box[3 * 3];
    const int64_t lo[2] = {2, 1}, hi[2] = {5, 4};
    OK(distarr_get_region(a, lo, hi, box));
    for (int i = 0; i < 3; i++)
        for (int j = 0; j < 3; j++) CHECK(box[i * 3 + j] == lin((2 + i) * 8 + 1 + j));
    /* empty box: buf may be NULL */
    const int64_t e_lo[2] = {3, 3}, e_hi[2] = {3, 8};
    OK(distarr_get_region(a, e_lo, e_hi, NULL));
    OK(distarr_put_region(a, e_lo, e_hi, NULL));

    /* accumulate: every program rank adds 1 to the box (after everyone read it) */
    OK(distarr_sync());
    double ones[9];
    for (int k = 0; k < 9; k++) ones[k] = 1.0;
    OK(distarr_acc_region(a, lo, hi, ones, DISTARR_OP_SUM));
    OK(distarr_sync());
    OK(distarr_get_region(a, lo, hi, box));
    for (int i = 0; i < 3; i++)
        for (int j = 0; j < 3; j++) CHECK(box[i * 3 + j] == lin((2 + i) * 8 + 1 + j) + P);
    OK(distarr_sync());
    if (me == 0) {
        double big[9];
        for (int k = 0; k < 9; k++) big[k] = 1e9;
        OK(distarr_acc_region(a, lo, hi, big, DISTARR_OP_MIN)); /* no change */
        OK(distarr_acc_region(a, lo, hi, ones, DISTARR_OP_PROD));
    }
    OK(distarr_sync());
    OK(distarr_get_region(a, lo, hi, box));
    CHECK(box[0] == lin(2 * 8 + 1) + P);

    /* locate + the array's segment: a plain distarr_get reads the element */
    for (int64_t i = 0; i < 6; i++)
        for (int64_t j = 0; j < 8; j += 3) {
            const int64_t idx[2] = {i, j};
            int32_t r = -1;
            uint64_t off = 1;
            uint32_t seg = 0;
            OK(distarr_locate(a, idx, &r, &off));
            OK(distarr_segment(a, &seg));
            CHECK(r >= 0 && r < np && off % 8 == 0);
            double v = -1;
            OK(distarr_get(&v, r, seg, off, 8));
            const int in_box = i >= 2 && i < 5 && j >= 1 && j < 4;
            CHECK(v == lin(i * 8 + j) + (in_box ? P : 0));
        }

    /* the local block: in SPMD every rank writes its elements with plain stores */
    OK(distarr_sync());
    void *p = NULL;
    int64_t blo[2] = {-1, -1}, bhi[2] = {-1, -1};
    OK(distarr_local_block(a, &p, blo, bhi));
    CHECK(p != NULL && blo[0] <= bhi[0] && blo[1] <= bhi[1] && bhi[0] <= 6 && bhi[1] <= 8);
    int64_t mine = (bhi[0] - blo[0]) * (bhi[1] - blo[1]);
    double *loc = p;
    for (int64_t i = blo[0]; i < bhi[0]; i++)
        for (int64_t j = blo[1]; j < bhi[1]; j++) {
            const int in_box = i >= 2 && i < 5 && j >= 1 && j < 4;
            double *x = &loc[(i - blo[0]) * (bhi[1] - blo[1]) + (j - blo[1])];
            CHECK(*x == lin(i * 8 + j) + (in_box ? P : 0));
            *x = -(double)(i * 8 + j);
        }
    OK(distarr_sync());
    int64_t total = mine;
    if (spmd) OK(distarr_allreduce(&total, 1, DISTARR_DTYPE_I64, DISTARR_OP_SUM));
    if (spmd) CHECK(total == 48); /* the local blocks tile the array */
    if (mine > 0) {
        double *got = malloc((size_t)mine * sizeof *got);
        OK(distarr_get_region(a, blo, bhi, got));
        for (int64_t k = 0; k < mine; k++) {
            int64_t i = blo[0] + k / (bhi[1] - blo[1]), j = blo[1] + k % (bhi[1] - blo[1]);
            CHECK(got[k] == -(double)(i * 8 + j));
        }
        free(got);
    }
    if (spmd) {
        double *g = gather_f64(a, 48);
        if (g)
            for (int k = 0; k < 48; k++) CHECK(g[k] == -(double)k);
        free(g);
    }
    /* not one box: a view, several block-cyclic blocks */
    distarr_array v = 0;
    const int64_t st[1] = {1};
    OK(distarr_view(a, 1, st, NULL, NULL, &v));
    EXPECT(distarr_local_block(v, &p, blo, bhi), DISTARR_ERR_UNSUPPORTED);
    const int64_t n10[1] = {10}, b2[1] = {2};
    distarr_array bc = 0;
    OK(distarr_create(1, n10, DISTARR_DTYPE_F64, b2, &bc));
    /* blocks r, r + np, ... of 5 go to rank r */
    EXPECT(distarr_local_block(bc, &p, blo, bhi),
           np > 1 && me + np < 5 ? DISTARR_ERR_UNSUPPORTED : DISTARR_OK);
    distarr_array rep = 0;
    OK(distarr_create_layout(1, n10, DISTARR_DTYPE_F64, DISTARR_LAYOUT_REPLICATED, NULL, 0, &rep));
    OK(distarr_local_block(rep, &p, blo, bhi));
    CHECK(blo[0] == 0 && bhi[0] == 10);
    distarr_array on = 0;
    OK(distarr_create_layout(1, n10, DISTARR_DTYPE_F64, DISTARR_LAYOUT_ON_RANK, NULL, np - 1, &on));
    OK(distarr_local_block(on, &p, blo, bhi));
    CHECK(bhi[0] - blo[0] == (me == np - 1 ? 10 : 0));
    CHECK((p != NULL) == (me == np - 1)); /* NULL: nothing held */
    /* a 0-d array: its box always holds one element, so NULL is the one sign of holding none */
    distarr_array z = 0;
    OK(distarr_create_layout(0, NULL, DISTARR_DTYPE_F64, DISTARR_LAYOUT_ON_RANK, NULL, np - 1, &z));
    const double seven = 7;
    OK(distarr_fill(z, &seven));
    OK(distarr_sync());
    p = (void *)1;
    OK(distarr_local_block(z, &p, NULL, NULL));
    CHECK((p != NULL) == (me == np - 1));
    if (p) CHECK(*(double *)p == 7);
    OK(distarr_free(z));
    OK(distarr_free(on));
    OK(distarr_free(rep));
    OK(distarr_free(bc));
    OK(distarr_free(v));
    OK(distarr_free(a));
}

static void arange_random(void) {
    distarr_array a = 0;
    OK(distarr_arange(0, 10, 1, DISTARR_DTYPE_I64, &a));
    int64_t n = 0;
    OK(distarr_size(a, &n));
    CHECK(n == 10);
    OK(distarr_sync()); /* collective write, then one-sided reads */
    int64_t vals[10];
    const int64_t lo[1] = {0}, hi[1] = {10};
    OK(distarr_get_region(a, lo, hi, vals));
    for (int i = 0; i < 10; i++) CHECK(vals[i] == i);
    OK(distarr_free(a));
    OK(distarr_arange(1.0, 2.0, 0.25, DISTARR_DTYPE_F64, &a));
    OK(distarr_size(a, &n));
    CHECK(n == 4);
    OK(distarr_sync());
    double dv[4];
    const int64_t hi4[1] = {4};
    OK(distarr_get_region(a, lo, hi4, dv));
    for (int i = 0; i < 4; i++) CHECK(dv[i] == 1.0 + 0.25 * i);
    OK(distarr_free(a));
    OK(distarr_arange(5, 0, -2, DISTARR_DTYPE_I32, &a)); /* 5, 3, 1 */
    OK(distarr_size(a, &n));
    CHECK(n == 3);
    OK(distarr_free(a));

    /* random: in [0,1), mean near 1/2, reproducible, the same for any layout */
    const int64_t shape[1] = {2000}, blk[1] = {3};
    distarr_array r1 = 0, r2 = 0, r3 = 0;
    OK(distarr_create(1, shape, DISTARR_DTYPE_F64, NULL, &r1));
    OK(distarr_create(1, shape, DISTARR_DTYPE_F64, blk, &r2));
    OK(distarr_create(1, shape, DISTARR_DTYPE_F64, NULL, &r3));
    OK(distarr_random(r1, 42));
    OK(distarr_random(r2, 42));
    OK(distarr_random(r3, 43));
    double *g1 = gather_f64(r1, 2000), *g2 = gather_f64(r2, 2000), *g3 = gather_f64(r3, 2000);
    if (g1) {
        double sum = 0;
        int same3 = 0;
        for (int i = 0; i < 2000; i++) {
            CHECK(g1[i] >= 0.0 && g1[i] < 1.0);
            CHECK(g1[i] == g2[i]);
            same3 += g1[i] == g3[i];
            sum += g1[i];
        }
        CHECK(fabs(sum / 2000 - 0.5) < 0.05);
        CHECK(same3 < 5);
    }
    free(g1);
    free(g2);
    free(g3);
    double mean = -1;
    OK(distarr_random_normal(r3, 7));
    OK(distarr_reduce(DISTARR_REDUCE_MEAN, r3, -1, 0, &mean));
    CHECK(fabs(mean) < 0.15);
    OK(distarr_free(r1));
    OK(distarr_free(r2));
    OK(distarr_free(r3));
}

static void views(void) {
    const int64_t shape[2] = {6, 8};
    distarr_array a = make_f64(2, shape, ident);
    const int64_t cases[][6] = {
        /* start0, stop0, step0, start1, stop1, step1 */
        {1, 5, 2, DISTARR_SLICE_NONE, DISTARR_SLICE_NONE, -3},
        {DISTARR_SLICE_NONE, DISTARR_SLICE_NONE, 1, -3, DISTARR_SLICE_NONE, 1},
        {-1, DISTARR_SLICE_NONE, -1, 2, 100, 2},
        {4, 2, 1, 0, 8, 1}, /* empty */
        {-100, 100, 4, 7, -100, -2},
    };
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
        const int64_t start[2] = {cases[c][0], cases[c][3]}, stop[2] = {cases[c][1], cases[c][4]},
                      step[2] = {cases[c][2], cases[c][5]};
        int64_t r[8], q[8];
        int64_t nr = py_slice(6, start[0], stop[0], step[0], r);
        int64_t nq = py_slice(8, start[1], stop[1], step[1], q);
        distarr_array v = 0;
        OK(distarr_view(a, 2, start, stop, step, &v));
        int64_t vs[2];
        OK(distarr_shape(v, vs));
        CHECK(vs[0] == nr && vs[1] == nq);
        double *g = gather_f64(v, nr * nq);
        if (g)
            for (int64_t i = 0; i < nr; i++)
                for (int64_t j = 0; j < nq; j++) CHECK(g[i * nq + j] == (double)(r[i] * 8 + q[j]));
        free(g);
        OK(distarr_free(v));
    }
    /* defaults (NULL start/stop/step), one dimension only, a view of a view */
    distarr_array v1 = 0, v2 = 0, t = 0;
    const int64_t st1[1] = {2};
    OK(distarr_view(a, 1, st1, NULL, NULL, &v1));
    int64_t vs[2];
    OK(distarr_shape(v1, vs));
    CHECK(vs[0] == 4 && vs[1] == 8);
    const int64_t s2[2] = {DISTARR_SLICE_NONE, 1}, step2[2] = {2, 3};
    OK(distarr_view(v1, 2, s2, NULL, step2, &v2)); /* rows 2, 4; cols 1, 4, 7 */
    OK(distarr_shape(v2, vs));
    CHECK(vs[0] == 2 && vs[1] == 3);
    /* writing through a view changes the array */
    const double minus = -1.0;
    OK(distarr_fill(v2, &minus));
    double *g = gather_f64(a, 48);
    if (g)
        for (int i = 0; i < 6; i++)
            for (int j = 0; j < 8; j++) {
                int hit = (i == 2 || i == 4) && (j == 1 || j == 4 || j == 7);
                CHECK(g[i * 8 + j] == (hit ? -1.0 : (double)(i * 8 + j)));
            }
    free(g);
    /* region access through a view (after the collective fill, with a sync) */
    OK(distarr_sync());
    double box[3];
    const int64_t lo[2] = {1, 0}, hi[2] = {2, 3};
    OK(distarr_get_region(v2, lo, hi, box));
    CHECK(box[0] == -1.0 && box[2] == -1.0);
    /* transpose */
    OK(distarr_transpose(a, &t));
    OK(distarr_shape(t, vs));
    CHECK(vs[0] == 8 && vs[1] == 6);
    double *gt = gather_f64(t, 48);
    double *ga = gather_f64(a, 48);
    if (gt)
        for (int i = 0; i < 6; i++)
            for (int j = 0; j < 8; j++) CHECK(gt[j * 6 + i] == ga[i * 8 + j]);
    free(gt);
    free(ga);
    /* freeing the array makes its views unusable, but they are still freed normally */
    OK(distarr_free(a));
    int32_t nd = 0;
    EXPECT(distarr_ndim(v1, &nd), DISTARR_ERR_HANDLE);
    EXPECT(distarr_fill(v2, &minus), DISTARR_ERR_HANDLE);
    EXPECT(distarr_view(t, 0, NULL, NULL, NULL, &v1), DISTARR_ERR_HANDLE);
    OK(distarr_free(v1));
    OK(distarr_free(v2));
    OK(distarr_free(t));
    EXPECT(distarr_free(t), DISTARR_ERR_HANDLE);
}

static void ufuncs(void) {
    const int64_t shape[2] = {6, 8}, row[1] = {8};
    distarr_array a = make_f64(2, shape, lin), r = make_f64(1, row, small), out = 0, iout = 0;
    OK(distarr_create(2, shape, DISTARR_DTYPE_F64, NULL, &out));
    OK(distarr_create(2, shape, DISTARR_DTYPE_I32, NULL, &iout));
    /* binary with broadcasting: out = a + r */
    OK(distarr_binary(DISTARR_UFUNC_ADD, out, a, r));
    double *g = gather_f64(out, 48);
    if (g)
        for (int k = 0; k < 48; k++) CHECK(g[k] == lin(k) + small(k % 8));
    free(g);
    /* out = a * r, a - r, maximum(a, r), in place (out = out / 2) */
    OK(distarr_binary(DISTARR_UFUNC_MULTIPLY, out, a, r));
    g = gather_f64(out, 48);
    if (g)
        for (int k = 0; k < 48; k++) CHECK(g[k] == lin(k) * small(k % 8));
    free(g);
    OK(distarr_binary(DISTARR_UFUNC_SUBTRACT, out, r, a));
    OK(distarr_binary(DISTARR_UFUNC_MAXIMUM, out, out, r));
    g = gather_f64(out, 48);
    if (g)
        for (int k = 0; k < 48; k++) CHECK(g[k] == fmax(small(k % 8) - lin(k), small(k % 8)));
    free(g);
    /* comparisons into a bool array */
    distarr_array b = 0;
    OK(distarr_create(2, shape, DISTARR_DTYPE_BOOL, NULL, &b));
    OK(distarr_binary(DISTARR_UFUNC_GREATER, b, a, r));
    uint8_t *gb = me == root ? malloc(48) : NULL;
    OK(distarr_gather(b, root, gb));
    if (gb)
        for (int k = 0; k < 48; k++) CHECK(gb[k] == (lin(k) > small(k % 8)));
    free(gb);

    /* scalars: out = a * 2.5, out = 1000 - a (scalar first), int scalar with f64 array */
    const double s = 2.5;
    OK(distarr_binary_scalar(DISTARR_UFUNC_MULTIPLY, out, a, &s, DISTARR_DTYPE_F64, 0));
    g = gather_f64(out, 48);
    if (g)
        for (int k = 0; k < 48; k++) CHECK(g[k] == lin(k) * 2.5);
    free(g);
    const int32_t thousand = 1000;
    OK(distarr_binary_scalar(DISTARR_UFUNC_SUBTRACT, out, a, &thousand, DISTARR_DTYPE_I32, 1));
    g = gather_f64(out, 48);
    if (g)
        for (int k = 0; k < 48; k++) CHECK(g[k] == 1000.0 - lin(k));
    free(g);
    /* int arrays: out(i32) = a(i32) * 3; division of ints gives f64 (into an i32 out: dtype) */
    OK(distarr_copy(iout, a)); /* f64 -> i32 cast */
    const int32_t three = 3;
    OK(distarr_binary_scalar(DISTARR_UFUNC_MULTIPLY, iout, iout, &three, DISTARR_DTYPE_I32, 0));
    int32_t *gi = me == root ? malloc(48 * sizeof *gi) : NULL;
    OK(distarr_gather(iout, root, gi));
    if (gi)
        for (int k = 0; k < 48; k++) CHECK(gi[k] == 3 * (int32_t)lin(k));
    free(gi);
    EXPECT(distarr_binary_scalar(DISTARR_UFUNC_DIVIDE, iout, iout, &three, DISTARR_DTYPE_I32, 0),
           DISTARR_ERR_DTYPE);
    OK(distarr_binary_scalar(DISTARR_UFUNC_DIVIDE, out, iout, &three, DISTARR_DTYPE_I32, 0));
    g = gather_f64(out, 48);
    if (g)
        for (int k = 0; k < 48; k++) CHECK(g[k] == lin(k));
    free(g);

    /* unary */
    OK(distarr_unary(DISTARR_UFUNC_SQRT, out, a));
    g = gather_f64(out, 48);
    if (g)
        for (int k = 0; k < 48; k++) CHECK(g[k] == sqrt(lin(k)));
    free(g);
    OK(distarr_copy(out, r)); /* broadcast the row */
    OK(distarr_unary(DISTARR_UFUNC_EXP, out, out));
    OK(distarr_unary(DISTARR_UFUNC_SIN, out, out));
    g = gather_f64(out, 48);
    if (g)
        for (int k = 0; k < 48; k++) CHECK(close_to(g[k], sin(exp(small(k % 8)))));
    free(g);
    OK(distarr_unary(DISTARR_UFUNC_NEGATIVE, iout, iout));
    OK(distarr_unary(DISTARR_UFUNC_ABSOLUTE, iout, iout));
    OK(distarr_unary(DISTARR_UFUNC_RECIPROCAL, out, a));
    g = gather_f64(out, 48);
    if (g)
        for (int k = 0; k < 48; k++) CHECK(g[k] == 1.0 / lin(k));
    free(g);
    /* sqrt of an int array is f64: into an i32 out is a dtype error */
    EXPECT(distarr_unary(DISTARR_UFUNC_SQRT, iout, iout), DISTARR_ERR_DTYPE);
    EXPECT(distarr_unary(DISTARR_UFUNC_RECIPROCAL, iout, iout), DISTARR_ERR_UNSUPPORTED);
    EXPECT(distarr_unary(DISTARR_UFUNC_INVERT, out, a), DISTARR_ERR_DTYPE);
    /* shapes */
    EXPECT(distarr_unary(DISTARR_UFUNC_SQRT, r, a), DISTARR_ERR_SHAPE);
    EXPECT(distarr_binary(DISTARR_UFUNC_ADD, r, a, r), DISTARR_ERR_SHAPE);
    const int64_t bad[1] = {5};
    distarr_array r5 = 0;
    OK(distarr_create(1, bad, DISTARR_DTYPE_F64, NULL, &r5));
    EXPECT(distarr_binary(DISTARR_UFUNC_ADD, out, a, r5), DISTARR_ERR_SHAPE);
    /* op codes */
    EXPECT(distarr_binary(DISTARR_UFUNC_SQRT, out, a, r), DISTARR_ERR_OP);
    EXPECT(distarr_binary(-1, out, a, r), DISTARR_ERR_OP);
    EXPECT(distarr_unary(DISTARR_UFUNC_ADD, out, a), DISTARR_ERR_OP);
    EXPECT(distarr_unary(1000, out, a), DISTARR_ERR_OP);
    EXPECT(distarr_binary_scalar(DISTARR_UFUNC_ADD, out, a, &s, 42, 0), DISTARR_ERR_DTYPE);
    EXPECT(distarr_binary_scalar(DISTARR_UFUNC_ADD, out, a, NULL, DISTARR_DTYPE_F64, 0),
           DISTARR_ERR_NULL);
    EXPECT(distarr_binary_scalar(DISTARR_UFUNC_LOG, out, a, &s, DISTARR_DTYPE_F64, 0),
           DISTARR_ERR_OP);
    /* integer division by zero gives 0 (as NumPy); integers to negative powers: an error on
     * every rank, nothing written */
    distarr_array z = 0;
    OK(distarr_create(2, shape, DISTARR_DTYPE_I32, NULL, &z));
    OK(distarr_fill(iout, &three));
    OK(distarr_binary(DISTARR_UFUNC_FLOOR_DIVIDE, iout, iout, z));
    int32_t probe[2];
    const int64_t plo[2] = {5, 6}, phi[2] = {6, 8};
    OK(distarr_sync()); /* collective write, then one-sided read */
    OK(distarr_get_region(iout, plo, phi, probe));
    CHECK(probe[0] == 0 && probe[1] == 0);
    OK(distarr_sync()); /* one-sided read, then a collective write */
    OK(distarr_fill(iout, &three));
    const int32_t minus_one = -1;
    OK(distarr_fill(z, &minus_one));
    EXPECT(distarr_binary(DISTARR_UFUNC_POWER, iout, iout, z), DISTARR_ERR_ARG);
    OK(distarr_sync());
    OK(distarr_get_region(iout, plo, phi, probe));
    CHECK(probe[0] == 3 && probe[1] == 3);

    distarr_array list[] = {a, r, out, iout, b, r5, z};
    for (size_t k = 0; k < sizeof list / sizeof list[0]; k++) OK(distarr_free(list[k]));
}

static void reductions_matmul_copy(void) {
    /* sums of int32 0..n-1: int64 result */
    distarr_array a = 0;
    OK(distarr_arange(0, 1001, 1, DISTARR_DTYPE_I32, &a));
    int32_t rdt = -1;
    OK(distarr_reduce_dtype(DISTARR_REDUCE_SUM, DISTARR_DTYPE_I32, &rdt));
    CHECK(rdt == DISTARR_DTYPE_I64);
    OK(distarr_reduce_dtype(DISTARR_REDUCE_MEAN, DISTARR_DTYPE_I32, &rdt));
    CHECK(rdt == DISTARR_DTYPE_F64);
    OK(distarr_reduce_dtype(DISTARR_REDUCE_ARGMAX, DISTARR_DTYPE_F32, &rdt));
    CHECK(rdt == DISTARR_DTYPE_I64);
    OK(distarr_reduce_dtype(DISTARR_OP_MAX, DISTARR_DTYPE_U8, &rdt));
    CHECK(rdt == DISTARR_DTYPE_U8);
    EXPECT(distarr_reduce_dtype(DISTARR_REDUCE_MIN, DISTARR_DTYPE_C128, &rdt), DISTARR_ERR_DTYPE);
    EXPECT(distarr_reduce_dtype(DISTARR_OP_BAND, DISTARR_DTYPE_I32, &rdt), DISTARR_ERR_OP);
    EXPECT(distarr_reduce_dtype(DISTARR_REDUCE_SUM, 99, &rdt), DISTARR_ERR_DTYPE);
    EXPECT(distarr_reduce_dtype(DISTARR_REDUCE_SUM, DISTARR_DTYPE_I32, NULL), DISTARR_ERR_NULL);
    int64_t sum = -1, idx = -1;
    double mean = -1;
    int32_t mn = -1, mx = -1;
    uint8_t any = 9, all = 9;
    OK(distarr_reduce(DISTARR_REDUCE_SUM, a, -1, 0, &sum));
    CHECK(sum == 1000 * 1001 / 2);
    OK(distarr_reduce(DISTARR_REDUCE_MEAN, a, -1, 0, &mean));
    CHECK(mean == 500.0);
    OK(distarr_reduce(DISTARR_REDUCE_MIN, a, -1, 0, &mn));
    OK(distarr_reduce(DISTARR_REDUCE_MAX, a, -1, 0, &mx));
    CHECK(mn == 0 && mx == 1000);
    OK(distarr_reduce(DISTARR_REDUCE_ARGMAX, a, -1, 0, &idx));
    CHECK(idx == 1000);
    OK(distarr_reduce(DISTARR_REDUCE_ARGMIN, a, -1, 0, &idx));
    CHECK(idx == 0);
    OK(distarr_reduce(DISTARR_REDUCE_ANY, a, -1, 0, &any));
    OK(distarr_reduce(DISTARR_REDUCE_ALL, a, -1, 0, &all));
    CHECK(any == 1 && all == 0);
    int64_t prod = -1;
    distarr_array small_a = 0;
    OK(distarr_arange(1, 11, 1, DISTARR_DTYPE_I64, &small_a));
    OK(distarr_reduce(DISTARR_REDUCE_PROD, small_a, -1, 0, &prod));
    CHECK(prod == 3628800);
    OK(distarr_free(small_a));
    EXPECT(distarr_reduce(DISTARR_REDUCE_SUM, a, -1, 0, NULL), DISTARR_ERR_NULL);
    EXPECT(distarr_reduce(DISTARR_OP_BXOR, a, -1, 0, &sum), DISTARR_ERR_OP);
    EXPECT(distarr_reduce(DISTARR_REDUCE_SUM, a, 1, 0, &sum), DISTARR_ERR_ARG);
    EXPECT(distarr_reduce(DISTARR_REDUCE_SUM, a, -2, 0, &sum), DISTARR_ERR_ARG);
    CHECK(sum == 1000 * 1001 / 2);
    OK(distarr_free(a));
    /* min of an empty array: no identity */
    const int64_t zero[1] = {0};
    distarr_array e = 0;
    OK(distarr_create(1, zero, DISTARR_DTYPE_F64, NULL, &e));
    EXPECT(distarr_reduce(DISTARR_REDUCE_MIN, e, -1, 0, &mean), DISTARR_ERR_ARG);
    OK(distarr_reduce(DISTARR_REDUCE_SUM, e, -1, 0, &mean));
    CHECK(mean == 0.0);
    OK(distarr_free(e));

    /* along an axis */
    const int64_t shape[2] = {6, 8}, six[1] = {6}, eight[1] = {8};
    distarr_array m = make_f64(2, shape, lin), rows = 0, cols = 0, iarg = 0;
    OK(distarr_create(1, six, DISTARR_DTYPE_F64, NULL, &rows));
    OK(distarr_create(1, eight, DISTARR_DTYPE_F64, NULL, &cols));
    OK(distarr_create(1, eight, DISTARR_DTYPE_I64, NULL, &iarg));
    OK(distarr_reduce(DISTARR_REDUCE_SUM, m, 1, rows, NULL));
    double *g = gather_f64(rows, 6);
    if (g)
        for (int i = 0; i < 6; i++) {
            double want = 0;
            for (int j = 0; j < 8; j++) want += lin(i * 8 + j);
            CHECK(g[i] == want);
        }
    free(g);
    OK(distarr_reduce(DISTARR_REDUCE_MAX, m, 0, cols, NULL));
    g = gather_f64(cols, 8);
    if (g)
        for (int j = 0; j < 8; j++) CHECK(g[j] == lin(5 * 8 + j));
    free(g);
    OK(distarr_reduce(DISTARR_REDUCE_ARGMAX, m, 0, iarg, NULL));
    int64_t ia[8];
    const int64_t lo[1] = {0}, hi[1] = {8};
    OK(distarr_sync());
    OK(distarr_get_region(iarg, lo, hi, ia));
    for (int j = 0; j < 8; j++) CHECK(ia[j] == 5);
    EXPECT(distarr_reduce(DISTARR_REDUCE_SUM, m, 0, rows, NULL), DISTARR_ERR_SHAPE);
    EXPECT(distarr_reduce(DISTARR_REDUCE_MEAN, m, 0, iarg, NULL), DISTARR_ERR_DTYPE);
    EXPECT(distarr_reduce(DISTARR_REDUCE_SUM, m, 2, cols, NULL), DISTARR_ERR_ARG);
    EXPECT(distarr_reduce(DISTARR_REDUCE_SUM, m, 0, 0, NULL), DISTARR_ERR_HANDLE);

    /* matmul: (6,8)@(8,3), (6,8)@(8), (8)@(8,3), (8)@(8) */
    const int64_t s83[2] = {8, 3}, s63[2] = {6, 3}, three[1] = {3};
    distarr_array bm = make_f64(2, s83, small), c = 0, mv = 0, vm = 0, dot = 0;
    distarr_array v = make_f64(1, eight, small);
    OK(distarr_create(2, s63, DISTARR_DTYPE_F64, NULL, &c));
    OK(distarr_create(1, six, DISTARR_DTYPE_F64, NULL, &mv));
    OK(distarr_create(1, three, DISTARR_DTYPE_F64, NULL, &vm));
    OK(distarr_create(0, NULL, DISTARR_DTYPE_F64, NULL, &dot));
    OK(distarr_matmul(c, m, bm));
    OK(distarr_matmul(mv, m, v));
    OK(distarr_matmul(vm, v, bm));
    OK(distarr_matmul(dot, v, v));
    double *gc = gather_f64(c, 18), *gmv = gather_f64(mv, 6), *gvm = gather_f64(vm, 3);
    double *gd = gather_f64(dot, 1);
    if (gc) {
        for (int i = 0; i < 6; i++)
            for (int j = 0; j < 3; j++) {
                double want = 0;
                for (int k = 0; k < 8; k++) want += lin(i * 8 + k) * small(k * 3 + j);
                CHECK(gc[i * 3 + j] == want);
            }
        for (int i = 0; i < 6; i++) {
            double want = 0;
            for (int k = 0; k < 8; k++) want += lin(i * 8 + k) * small(k);
            CHECK(gmv[i] == want);
        }
        for (int j = 0; j < 3; j++) {
            double want = 0;
            for (int k = 0; k < 8; k++) want += small(k) * small(k * 3 + j);
            CHECK(gvm[j] == want);
        }
        double want = 0;
        for (int k = 0; k < 8; k++) want += small(k) * small(k);
        CHECK(gd[0] == want);
    }
    free(gc);
    free(gmv);
    free(gvm);
    free(gd);
    EXPECT(distarr_matmul(c, bm, m), DISTARR_ERR_SHAPE);
    EXPECT(distarr_matmul(mv, m, bm), DISTARR_ERR_SHAPE);
    EXPECT(distarr_matmul(iarg, v, v), DISTARR_ERR_SHAPE);

    /* copy: cast f64 -> i32, broadcast a row into a matrix */
    distarr_array ci = 0;
    OK(distarr_create(2, shape, DISTARR_DTYPE_I32, NULL, &ci));
    OK(distarr_copy(ci, m));
    OK(distarr_copy(m, v));
    int32_t *gi = me == root ? malloc(48 * sizeof *gi) : NULL;
    OK(distarr_gather(ci, root, gi));
    g = gather_f64(m, 48);
    if (gi)
        for (int k = 0; k < 48; k++) CHECK(gi[k] == (int32_t)lin(k) && g[k] == small(k % 8));
    free(gi);
    free(g);
    EXPECT(distarr_copy(v, m), DISTARR_ERR_SHAPE);

    distarr_array list[] = {m, rows, cols, iarg, bm, c, mv, vm, dot, v, ci};
    for (size_t k = 0; k < sizeof list / sizeof list[0]; k++) OK(distarr_free(list[k]));
}

static void scatter_gather_io(void) {
    const int64_t shape[3] = {3, 4, 5};
    distarr_array a = make_f64(3, shape, ident);
    double *g = gather_f64(a, 60);
    if (g)
        for (int k = 0; k < 60; k++) CHECK(g[k] == (double)k);
    free(g);
    /* root buffers: NULL on the root is an error on every rank */
    EXPECT(distarr_gather(a, root, NULL), DISTARR_ERR_NULL);
    EXPECT(distarr_scatter(a, root, NULL), DISTARR_ERR_NULL);
    EXPECT(distarr_gather(a, np, NULL), DISTARR_ERR_RANK);
    EXPECT(distarr_gather(a, -1, NULL), DISTARR_ERR_RANK);
    if (!spmd && np > 1) EXPECT(distarr_gather(a, 1, NULL), DISTARR_ERR_RANK);
    /* scatter into a view */
    distarr_array v = 0;
    const int64_t st[3] = {1, 0, 4}, sp[3] = {3, 4, -6}, step[3] = {1, 3, -2};
    OK(distarr_view(a, 3, st, sp, step, &v)); /* shape (2, 2, 3): cols 4, 2, 0 */
    double vals[12];
    for (int k = 0; k < 12; k++) vals[k] = 1000 + k;
    OK(distarr_scatter(v, root, vals));
    g = gather_f64(a, 60);
    if (g) {
        int k = 0;
        for (int i = 1; i < 3; i++)
            for (int j = 0; j < 4; j += 3)
                for (int l = 4; l >= 0; l -= 2) CHECK(g[i * 20 + j * 5 + l] == 1000 + k++);
        CHECK(g[0] == 0 && g[21] == 21);
    }
    free(g);

    /* save and load: the same path on every rank */
    char path[128];
    snprintf(path, sizeof path, "/tmp/distarr_c_arrays_%ld_%s.npy", (long)getppid(),
             spmd ? "spmd" : "seq");
    OK(distarr_save_npy(a, path));
    distarr_array b = 0;
    OK(distarr_load_npy(path, &b));
    int64_t bs[3];
    int32_t dt = -1;
    OK(distarr_shape(b, bs));
    OK(distarr_dtype(b, &dt));
    CHECK(bs[0] == 3 && bs[1] == 4 && bs[2] == 5 && dt == DISTARR_DTYPE_F64);
    double *ga = gather_f64(a, 60), *gb = gather_f64(b, 60);
    if (ga)
        for (int k = 0; k < 60; k++) CHECK(ga[k] == gb[k]);
    free(ga);
    free(gb);
    /* a view saves its own elements */
    OK(distarr_save_npy(v, path));
    distarr_array c = 0;
    OK(distarr_load_npy(path, &c));
    double *gc = gather_f64(c, 12);
    if (gc)
        for (int k = 0; k < 12; k++) CHECK(gc[k] == 1000 + k);
    free(gc);
    OK(distarr_sync());
    if (me == 0) unlink(path);
    OK(distarr_sync());
    distarr_array none = 77;
    EXPECT(distarr_load_npy(path, &none), DISTARR_ERR_IO);
    EXPECT(distarr_load_npy("/proc/self/status", &none), DISTARR_ERR_IO);
    EXPECT(distarr_load_npy(NULL, &none), DISTARR_ERR_NULL);
    EXPECT(distarr_load_npy("", &none), DISTARR_ERR_ARG);
    EXPECT(distarr_load_npy(path, NULL), DISTARR_ERR_NULL);
    CHECK(none == 77);
    EXPECT(distarr_save_npy(a, NULL), DISTARR_ERR_NULL);
    EXPECT(distarr_save_npy(a, "/nonexistent-dir/x.npy"), DISTARR_ERR_IO);
    OK(distarr_free(c));
    OK(distarr_free(b));
    OK(distarr_free(v));
    OK(distarr_free(a));
}

static void error_paths(void) {
    const int64_t shape[2] = {4, 6}, neg[2] = {4, -1}, blk0[2] = {0, 2};
    distarr_array a = 0, out = 123;
    OK(distarr_create(2, shape, DISTARR_DTYPE_F64, NULL, &a));
    /* creation */
    EXPECT(distarr_create(2, shape, DISTARR_DTYPE_F64, NULL, NULL), DISTARR_ERR_NULL);
    EXPECT(distarr_create(2, NULL, DISTARR_DTYPE_F64, NULL, &out), DISTARR_ERR_NULL);
    EXPECT(distarr_create(2, neg, DISTARR_DTYPE_F64, NULL, &out), DISTARR_ERR_SHAPE);
    EXPECT(distarr_create(-1, shape, DISTARR_DTYPE_F64, NULL, &out), DISTARR_ERR_ARG);
    EXPECT(distarr_create(65, shape, DISTARR_DTYPE_F64, NULL, &out), DISTARR_ERR_ARG);
    EXPECT(distarr_create(2, shape, 10, NULL, &out), DISTARR_ERR_DTYPE);
    EXPECT(distarr_create(2, shape, -1, NULL, &out), DISTARR_ERR_DTYPE);
    EXPECT(distarr_create(2, shape, DISTARR_DTYPE_F64, blk0, &out), DISTARR_ERR_ARG);
    if (spmd && P > 1) { /* ranks asking for different shapes: refused on every rank */
        const int64_t mine[1] = {4 + (int64_t)me};
        EXPECT(distarr_create(1, mine, DISTARR_DTYPE_F64, NULL, &out), DISTARR_ERR_COLLECTIVE);
    }
    EXPECT(distarr_create_layout(2, shape, DISTARR_DTYPE_F64, 9, NULL, 0, &out), DISTARR_ERR_ARG);
    EXPECT(distarr_create_layout(2, shape, DISTARR_DTYPE_F64, DISTARR_LAYOUT_BLOCK_CYCLIC, NULL, 0,
                                 &out),
           DISTARR_ERR_NULL);
    EXPECT(distarr_create_layout(2, shape, DISTARR_DTYPE_F64, DISTARR_LAYOUT_ON_RANK, NULL, np,
                                 &out),
           DISTARR_ERR_RANK);
    EXPECT(distarr_create_layout(2, shape, DISTARR_DTYPE_F64, DISTARR_LAYOUT_ON_RANK, NULL, -1,
                                 &out),
           DISTARR_ERR_RANK);
    const int64_t huge[2] = {INT64_MAX, INT64_MAX};
    EXPECT(distarr_create(2, huge, DISTARR_DTYPE_F64, NULL, &out), DISTARR_ERR_SHAPE);
    const int64_t big[1] = {(int64_t)1 << 45};
    EXPECT(distarr_create(1, big, DISTARR_DTYPE_F64, NULL, &out), DISTARR_ERR_NOMEM);
    EXPECT(distarr_arange(0, 1, 0, DISTARR_DTYPE_F64, &out), DISTARR_ERR_ARG);
    EXPECT(distarr_arange(0, INFINITY, 1, DISTARR_DTYPE_F64, &out), DISTARR_ERR_ARG);
    EXPECT(distarr_arange(0, 1, 1, 77, &out), DISTARR_ERR_DTYPE);
    EXPECT(distarr_arange(0, 1, 1, DISTARR_DTYPE_F64, NULL), DISTARR_ERR_NULL);
    CHECK(out == 123);

    /* handles: 0, negative, forged, other kind, stale */
    distarr_array dead = 0;
    OK(distarr_create(2, shape, DISTARR_DTYPE_F64, NULL, &dead));
    OK(distarr_free(dead));
    const distarr_array bad[] = {0, -1, 1, 12345, a + 1, a ^ ((int64_t)1 << 40),
                                 ((int64_t)1 << 56) | ((int64_t)1 << 32) | 1, dead, INT64_MAX};
    const double x = 1.0;
    double buf[24];
    const int64_t lo[2] = {0, 0}, hi[2] = {1, 1}, idx[2] = {0, 0};
    for (size_t k = 0; k < sizeof bad / sizeof bad[0]; k++) {
        distarr_array h = bad[k];
        int32_t i32 = 5;
        int64_t i64 = 5;
        uint64_t u64 = 5;
        uint32_t seg = 5;
        void *p = NULL;
        EXPECT(distarr_free(h), DISTARR_ERR_HANDLE);
        EXPECT(distarr_ndim(h, &i32), DISTARR_ERR_HANDLE);
        EXPECT(distarr_shape(h, &i64), DISTARR_ERR_HANDLE);
        EXPECT(distarr_size(h, &i64), DISTARR_ERR_HANDLE);
        EXPECT(distarr_dtype(h, &i32), DISTARR_ERR_HANDLE);
        EXPECT(distarr_segment(h, &seg), DISTARR_ERR_HANDLE);
        EXPECT(distarr_fill(h, &x), DISTARR_ERR_HANDLE);
        EXPECT(distarr_random(h, 1), DISTARR_ERR_HANDLE);
        EXPECT(distarr_random_normal(h, 1), DISTARR_ERR_HANDLE);
        EXPECT(distarr_copy(h, a), DISTARR_ERR_HANDLE);
        EXPECT(distarr_copy(a, h), DISTARR_ERR_HANDLE);
        EXPECT(distarr_view(h, 0, NULL, NULL, NULL, &out), DISTARR_ERR_HANDLE);
        EXPECT(distarr_transpose(h, &out), DISTARR_ERR_HANDLE);
        EXPECT(distarr_unary(DISTARR_UFUNC_SQRT, a, h), DISTARR_ERR_HANDLE);
        EXPECT(distarr_unary(DISTARR_UFUNC_SQRT, h, a), DISTARR_ERR_HANDLE);
        EXPECT(distarr_binary(DISTARR_UFUNC_ADD, a, a, h), DISTARR_ERR_HANDLE);
        EXPECT(distarr_binary_scalar(DISTARR_UFUNC_ADD, h, a, &x, DISTARR_DTYPE_F64, 0),
               DISTARR_ERR_HANDLE);
        EXPECT(distarr_reduce(DISTARR_REDUCE_SUM, h, -1, 0, buf), DISTARR_ERR_HANDLE);
        EXPECT(distarr_matmul(h, a, a), DISTARR_ERR_HANDLE);
        EXPECT(distarr_gather(h, root, buf), DISTARR_ERR_HANDLE);
        EXPECT(distarr_scatter(h, root, buf), DISTARR_ERR_HANDLE);
        EXPECT(distarr_save_npy(h, "/tmp/never-written.npy"), DISTARR_ERR_HANDLE);
        EXPECT(distarr_get_region(h, lo, hi, buf), DISTARR_ERR_HANDLE);
        EXPECT(distarr_put_region(h, lo, hi, buf), DISTARR_ERR_HANDLE);
        EXPECT(distarr_acc_region(h, lo, hi, buf, DISTARR_OP_SUM), DISTARR_ERR_HANDLE);
        EXPECT(distarr_locate(h, idx, &i32, &u64), DISTARR_ERR_HANDLE);
        EXPECT(distarr_local_block(h, &p, &i64, &i64), DISTARR_ERR_HANDLE);
        CHECK(i32 == 5 && i64 == 5 && u64 == 5 && seg == 5 && p == NULL && out == 123);
    }

    /* NULL pointers */
    int32_t r32 = 0;
    uint64_t off = 0;
    void *p = NULL;
    int64_t l2[2], h2[2];
    EXPECT(distarr_ndim(a, NULL), DISTARR_ERR_NULL);
    EXPECT(distarr_shape(a, NULL), DISTARR_ERR_NULL);
    EXPECT(distarr_size(a, NULL), DISTARR_ERR_NULL);
    EXPECT(distarr_dtype(a, NULL), DISTARR_ERR_NULL);
    EXPECT(distarr_segment(a, NULL), DISTARR_ERR_NULL);
    EXPECT(distarr_fill(a, NULL), DISTARR_ERR_NULL);
    EXPECT(distarr_view(a, 0, NULL, NULL, NULL, NULL), DISTARR_ERR_NULL);
    EXPECT(distarr_transpose(a, NULL), DISTARR_ERR_NULL);
    EXPECT(distarr_get_region(a, NULL, hi, buf), DISTARR_ERR_NULL);
    EXPECT(distarr_get_region(a, lo, NULL, buf), DISTARR_ERR_NULL);
    EXPECT(distarr_get_region(a, lo, hi, NULL), DISTARR_ERR_NULL);
    EXPECT(distarr_put_region(a, lo, hi, NULL), DISTARR_ERR_NULL);
    EXPECT(distarr_acc_region(a, lo, hi, NULL, DISTARR_OP_SUM), DISTARR_ERR_NULL);
    EXPECT(distarr_locate(a, NULL, &r32, &off), DISTARR_ERR_NULL);
    EXPECT(distarr_locate(a, idx, NULL, &off), DISTARR_ERR_NULL);
    EXPECT(distarr_locate(a, idx, &r32, NULL), DISTARR_ERR_NULL);
    EXPECT(distarr_local_block(a, NULL, l2, h2), DISTARR_ERR_NULL);
    EXPECT(distarr_local_block(a, &p, NULL, h2), DISTARR_ERR_NULL);
    EXPECT(distarr_local_block(a, &p, l2, NULL), DISTARR_ERR_NULL);

    /* regions and indices out of range */
    const int64_t out_hi[2] = {5, 6}, neg_lo[2] = {-1, 0}, inv_lo[2] = {3, 0}, inv_hi[2] = {2, 6};
    const int64_t bad_idx[2] = {4, 0}, neg_idx[2] = {0, -1};
    EXPECT(distarr_get_region(a, lo, out_hi, buf), DISTARR_ERR_BOUNDS);
    EXPECT(distarr_put_region(a, lo, out_hi, buf), DISTARR_ERR_BOUNDS);
    EXPECT(distarr_acc_region(a, lo, out_hi, buf, DISTARR_OP_SUM), DISTARR_ERR_BOUNDS);
    EXPECT(distarr_get_region(a, neg_lo, hi, buf), DISTARR_ERR_BOUNDS);
    EXPECT(distarr_get_region(a, inv_lo, inv_hi, buf), DISTARR_ERR_BOUNDS);
    EXPECT(distarr_locate(a, bad_idx, &r32, &off), DISTARR_ERR_BOUNDS);
    EXPECT(distarr_locate(a, neg_idx, &r32, &off), DISTARR_ERR_BOUNDS);
    /* accumulate ops and dtypes */
    EXPECT(distarr_acc_region(a, lo, hi, buf, DISTARR_OP_NO_OP), DISTARR_ERR_OP);
    EXPECT(distarr_acc_region(a, lo, hi, buf, 99), DISTARR_ERR_OP);
    EXPECT(distarr_acc_region(a, lo, hi, buf, DISTARR_OP_BAND), DISTARR_ERR_DTYPE);
    distarr_array bl = 0, rep = 0;
    OK(distarr_create(2, shape, DISTARR_DTYPE_BOOL, NULL, &bl));
    EXPECT(distarr_acc_region(bl, lo, hi, buf, DISTARR_OP_BOR), DISTARR_ERR_DTYPE);
    OK(distarr_create_layout(2, shape, DISTARR_DTYPE_F64, DISTARR_LAYOUT_REPLICATED, NULL, 0, &rep));
    EXPECT(distarr_acc_region(rep, lo, hi, buf, DISTARR_OP_SUM), DISTARR_ERR_ARG);
    /* views */
    const int64_t zero_step[1] = {0};
    EXPECT(distarr_view(a, 1, NULL, NULL, zero_step, &out), DISTARR_ERR_ARG);
    EXPECT(distarr_view(a, 3, NULL, NULL, NULL, &out), DISTARR_ERR_ARG);
    EXPECT(distarr_view(a, -1, NULL, NULL, NULL, &out), DISTARR_ERR_ARG);
    /* a request id is not an array id */
    uint32_t seg = 0;
    double d = 0;
    distarr_request req = 0;
    OK(distarr_gmem_alloc(8, &seg));
    OK(distarr_get_nb(&d, 0, seg, 0, 8, &req));
    EXPECT(distarr_fill(req, &x), DISTARR_ERR_HANDLE);
    OK(distarr_wait(&req));
    OK(distarr_gmem_free(seg));
    CHECK(out == 123);
    OK(distarr_free(rep));
    OK(distarr_free(bl));
    /* `a` is left for distarr_finalize to free */
}

int main(int argc, char **argv) {
    test_start(DISTARR_MODE_ENV);

    distarr_array a = 5;
    const int64_t shape[1] = {4};
    EXPECT(distarr_create(1, shape, DISTARR_DTYPE_F64, NULL, &a), DISTARR_ERR_STATE);
    EXPECT(distarr_free(a), DISTARR_ERR_STATE);
    CHECK(a == 5);

    test_init(&argc, &argv, DISTARR_MODE_ENV); /* only rank 0 returns in sequential mode */
    root = spmd ? np - 1 : 0;

    creation_and_metadata();
    regions_locate_local();
    arange_random();
    views();
    ufuncs();
    reductions_matmul_copy();
    scatter_gather_io();
    error_paths();

    /* arrays still alive at finalize are freed by it (collectively) */
    distarr_array keep = 0, keep_view = 0;
    OK(distarr_create(1, shape, DISTARR_DTYPE_F64, NULL, &keep));
    OK(distarr_transpose(keep, &keep_view));
    OK(distarr_finalize());
    int32_t nd = 0;
    EXPECT(distarr_ndim(keep, &nd), DISTARR_ERR_STATE);
    EXPECT(distarr_free(keep_view), DISTARR_ERR_STATE);

    printf("c_arrays: %d checks passed on rank %d of %d (%s mode)\n", checks, me, np,
           spmd ? "SPMD" : "sequential");
    printf("distarr-test: ok rank=%d\n", me);
    return 0;
}
