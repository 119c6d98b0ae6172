/*
 * c_array_ops.c - tests the array functions added for the NumPy front end against values
 * computed here with closed forms and plain loops: linspace, eye, astype; NumPy basic
 * indexing (distarr_index), permute, reshape, broadcast_to; where; boolean masks (select,
 * assign); roll; concatenate; reductions along an axis and matmul into views. Every error path
 * returns its documented status and the program continues. Run by tests/multirank.rs under
 * mpirun at 1-4 ranks in SPMD and sequential mode, and under valgrind.
 *
 * The data is written and read with collective calls (scatter, gather), except where a test
 * reads a region one-sidedly: then distarr_sync separates it from the collective operations
 * (the SPMD rule of the header's SYNCHRONISATION section).
 */
#include "arrays.h"

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static double ident(int64_t i) { return (double)i; }
static double wave(int64_t i) { return (double)((i * 37) % 23) * 0.5 - 4.0; }

/* A bool array of `shape` with mask[i] = pred(C-order index). */
static distarr_array make_mask(int32_t ndim, const int64_t *shape, int (*pred)(int64_t)) {
    int64_t n = elems(ndim, shape);
    uint8_t *buf = malloc((size_t)(n ? n : 1));
    for (int64_t i = 0; i < n; i++) buf[i] = (uint8_t)(pred(i) != 0);
    distarr_array m = make_array(ndim, shape, DISTARR_DTYPE_BOOL, buf);
    free(buf);
    return m;
}

static void expect_shape(distarr_array a, int32_t ndim, const int64_t *shape) {
    int32_t nd = -1;
    int64_t got[64];
    OK(distarr_ndim(a, &nd));
    CHECK(nd == ndim);
    OK(distarr_shape(a, got));
    for (int d = 0; d < ndim; d++) CHECK(got[d] == shape[d]);
}

static int32_t dtype_of(distarr_array a) {
    int32_t dt = -1;
    OK(distarr_dtype(a, &dt));
    return dt;
}

/* --- creation ---------------------------------------------------------------------------- */

static void linspace_eye_astype(void) {
    /* linspace: start + i * step, the last element exactly stop with an endpoint */
    const struct {
        double start, stop;
        int64_t num;
        int32_t endpoint;
    } cases[] = {{0.0, 1.0, 5, 1}, {0.1, 7.3, 1001, 1}, {2.0, 3.0, 4, 0}, {-1.0, 1.0, 1, 1},
                 {5.0, -5.0, 11, 1}, {1.0, 2.0, 0, 1}, {3.0, 3.0, 3, 0}};
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
        distarr_array a = 0;
        OK(distarr_linspace(cases[c].start, cases[c].stop, cases[c].num, cases[c].endpoint,
                            DISTARR_DTYPE_F64, &a));
        const int64_t n = cases[c].num, shape[1] = {n};
        expect_shape(a, 1, shape);
        CHECK(dtype_of(a) == DISTARR_DTYPE_F64);
        int64_t div = cases[c].endpoint ? n - 1 : n;
        double step = div > 0 ? (cases[c].stop - cases[c].start) / (double)div : 0.0;
        double *g = gather_f64(a, n);
        if (g)
            for (int64_t i = 0; i < n; i++) {
                double want = cases[c].endpoint && n > 1 && i == n - 1
                                  ? cases[c].stop
                                  : cases[c].start + (double)i * step;
                CHECK(g[i] == want);
            }
        free(g);
        OK(distarr_free(a));
    }
    /* an integer dtype: 0, 2, ..., 10 */
    distarr_array li = 0;
    OK(distarr_linspace(0, 10, 6, 1, DISTARR_DTYPE_I32, &li));
    CHECK(dtype_of(li) == DISTARR_DTYPE_I32);
    int32_t *gi = gather_any(li, 6, 4);
    if (gi)
        for (int i = 0; i < 6; i++) CHECK(gi[i] == 2 * i);
    free(gi);
    OK(distarr_free(li));
    distarr_array out = 77;
    EXPECT(distarr_linspace(0, 1, -1, 1, DISTARR_DTYPE_F64, &out), DISTARR_ERR_SHAPE);
    EXPECT(distarr_linspace(NAN, 1, 3, 1, DISTARR_DTYPE_F64, &out), DISTARR_ERR_ARG);
    EXPECT(distarr_linspace(0, INFINITY, 3, 1, DISTARR_DTYPE_F64, &out), DISTARR_ERR_ARG);
    EXPECT(distarr_linspace(0, 1, 3, 1, 99, &out), DISTARR_ERR_DTYPE);
    EXPECT(distarr_linspace(0, 1, 3, 1, DISTARR_DTYPE_F64, NULL), DISTARR_ERR_NULL);
    CHECK(out == 77);

    /* eye: ones where j - i == k */
    const int64_t eyes[][3] = {{5, 7, 2}, {4, 4, -1}, {3, 3, 0}, {6, 2, -5}, {2, 3, 9}, {0, 3, 0}};
    for (size_t c = 0; c < sizeof eyes / sizeof eyes[0]; c++) {
        const int64_t n = eyes[c][0], m = eyes[c][1], k = eyes[c][2], shape[2] = {n, m};
        distarr_array e = 0;
        OK(distarr_eye(n, m, k, DISTARR_DTYPE_I32, &e));
        expect_shape(e, 2, shape);
        int32_t *ge = gather_any(e, n * m, 4);
        if (ge)
            for (int64_t i = 0; i < n; i++)
                for (int64_t j = 0; j < m; j++) CHECK(ge[i * m + j] == (j - i == k));
        free(ge);
        OK(distarr_free(e));
    }
    distarr_array eb = 0;
    OK(distarr_eye(3, 3, 0, DISTARR_DTYPE_BOOL, &eb));
    CHECK(dtype_of(eb) == DISTARR_DTYPE_BOOL);
    uint8_t *gb = gather_any(eb, 9, 1);
    if (gb)
        for (int i = 0; i < 9; i++) CHECK(gb[i] == (i % 4 == 0));
    free(gb);
    OK(distarr_free(eb));
    EXPECT(distarr_eye(-1, 3, 0, DISTARR_DTYPE_F64, &out), DISTARR_ERR_SHAPE);
    EXPECT(distarr_eye(3, -3, 0, DISTARR_DTYPE_F64, &out), DISTARR_ERR_SHAPE);
    EXPECT(distarr_eye(INT64_MAX, INT64_MAX, 0, DISTARR_DTYPE_F64, &out), DISTARR_ERR_SHAPE);
    EXPECT(distarr_eye(3, 3, 0, -2, &out), DISTARR_ERR_DTYPE);
    EXPECT(distarr_eye(3, 3, 0, DISTARR_DTYPE_F64, NULL), DISTARR_ERR_NULL);
    CHECK(out == 77);

    /* astype: truncation toward zero to int32, != 0 to bool, a view's own elements */
    const int64_t shape[2] = {6, 8};
    distarr_array a = make_f64(2, shape, wave), ai = 0, ab = 0, ac = 0, v = 0, av = 0;
    OK(distarr_astype(a, DISTARR_DTYPE_I32, &ai));
    OK(distarr_astype(a, DISTARR_DTYPE_BOOL, &ab));
    OK(distarr_astype(a, DISTARR_DTYPE_C128, &ac));
    expect_shape(ai, 2, shape);
    CHECK(dtype_of(ai) == DISTARR_DTYPE_I32 && dtype_of(ab) == DISTARR_DTYPE_BOOL &&
          dtype_of(ac) == DISTARR_DTYPE_C128);
    int32_t *g32 = gather_any(ai, 48, 4);
    uint8_t *g8 = gather_any(ab, 48, 1);
    double *gc = gather_any(ac, 48, 16);
    if (g32)
        for (int i = 0; i < 48; i++) {
            CHECK(g32[i] == (int32_t)wave(i));
            CHECK(g8[i] == (wave(i) != 0.0));
            CHECK(gc[2 * i] == wave(i) && gc[2 * i + 1] == 0.0);
        }
    free(g32);
    free(g8);
    free(gc);
    const int64_t st[2] = {1, 7}, sp[2] = {DISTARR_SLICE_NONE, 0}, step[2] = {2, -3};
    OK(distarr_view(a, 2, st, sp, step, &v)); /* rows 1, 3, 5; cols 7, 4, 1 */
    OK(distarr_astype(v, DISTARR_DTYPE_F32, &av));
    const int64_t vs[2] = {3, 3};
    expect_shape(av, 2, vs);
    float *gf = gather_any(av, 9, 4);
    if (gf)
        for (int i = 0; i < 3; i++)
            for (int j = 0; j < 3; j++) CHECK(gf[i * 3 + j] == (float)wave((1 + 2 * i) * 8 + 7 - 3 * j));
    free(gf);
    /* the copy is independent of `a` */
    const double zero = 0.0;
    OK(distarr_fill(a, &zero));
    gf = gather_any(av, 9, 4);
    if (gf) CHECK(gf[0] == (float)wave(15));
    free(gf);
    EXPECT(distarr_astype(a, 10, &out), DISTARR_ERR_DTYPE);
    EXPECT(distarr_astype(a, DISTARR_DTYPE_F64, NULL), DISTARR_ERR_NULL);
    EXPECT(distarr_astype(0, DISTARR_DTYPE_F64, &out), DISTARR_ERR_HANDLE);
    CHECK(out == 77);
    distarr_array list[] = {av, v, ac, ab, ai, a};
    for (size_t k = 0; k < sizeof list / sizeof list[0]; k++) OK(distarr_free(list[k]));
}

/* --- views -------------------------------------------------------------------------------- */

/* NumPy basic indexing computed here: the view of a C-order base of `shape` selected by the
 * items, as an offset and per-axis extents and strides (in elements). Returns the view's ndim. */
static int ref_index(int32_t nd, const int64_t *shape, int32_t n, const int32_t *kind,
                     const int64_t *start, const int64_t *stop, const int64_t *step,
                     int64_t *offset, int64_t *vshape, int64_t *vstride) {
    int64_t cstride[32];
    for (int d = nd - 1, s = 1; d >= 0; d--) {
        cstride[d] = s;
        s *= (int)shape[d];
    }
    int consumed = 0;
    for (int k = 0; k < n; k++) consumed += kind[k] == DISTARR_INDEX_RANGE || kind[k] == DISTARR_INDEX_INT;
    int d = 0, vd = 0;
    *offset = 0;
    int64_t idx[64];
    for (int k = 0; k <= n; k++) {
        int32_t kd = k < n ? kind[k] : DISTARR_INDEX_ELLIPSIS; /* a trailing implicit `...` */
        if (k == n && d == nd) break;
        if (kd == DISTARR_INDEX_RANGE) {
            int64_t len = py_slice(shape[d], start[k], stop[k], step[k], idx);
            if (len > 0) *offset += idx[0] * cstride[d];
            vshape[vd] = len;
            vstride[vd++] = cstride[d] * step[k];
            d++;
        } else if (kd == DISTARR_INDEX_INT) {
            int64_t i = start[k] < 0 ? start[k] + shape[d] : start[k];
            *offset += i * cstride[d];
            d++;
        } else if (kd == DISTARR_INDEX_NEWAXIS) {
            vshape[vd] = 1;
            vstride[vd++] = 0;
        } else {
            for (int e = 0; e < nd - consumed; e++, d++) {
                vshape[vd] = shape[d];
                vstride[vd++] = cstride[d];
            }
        }
    }
    return vd;
}

/* Checks that the gathered view `v` of `base` (values ident) matches ref_index's view. */
static void check_view(distarr_array v, int vnd, int64_t offset, const int64_t *vshape,
                       const int64_t *vstride) {
    expect_shape(v, vnd, vshape);
    int64_t n = elems(vnd, vshape);
    double *g = gather_f64(v, n);
    if (g)
        for (int64_t k = 0; k < n; k++) {
            int64_t rem = k, src = offset;
            for (int d = vnd - 1; d >= 0; d--) {
                src += (rem % vshape[d]) * vstride[d];
                rem /= vshape[d];
            }
            CHECK(g[k] == (double)src);
        }
    free(g);
}

static void indexing_views(void) {
    const int64_t shape[3] = {4, 5, 6}, NONE = DISTARR_SLICE_NONE;
    const int32_t R = DISTARR_INDEX_RANGE, I = DISTARR_INDEX_INT, N = DISTARR_INDEX_NEWAXIS,
                  E = DISTARR_INDEX_ELLIPSIS;
    distarr_array a = make_f64(3, shape, ident);
    const struct {
        int32_t n;
        int32_t kind[6];
        int64_t start[6], stop[6], step[6];
    } cases[] = {
        {4, {R, I, N, E}, {1, -1, 0, 0}, {-1, 0, 0, 0}, {1, 1, 1, 1}},          /* a[1:-1, -1, None, ...] */
        {2, {E, I}, {0, 2}, {0, 0}, {1, 1}},                                   /* a[..., 2] */
        {3, {I, I, I}, {3, 4, -6}, {0, 0, 0}, {1, 1, 1}},                       /* a[3, 4, -6]: 0-d */
        {3, {N, R, N}, {0, NONE, 0}, {0, NONE, 0}, {1, -2, 1}},                 /* a[None, ::-2, None] */
        {3, {R, R, R}, {-100, 4, 1}, {100, NONE, 6}, {3, -1, 2}},               /* a[-100:100:3, 4::-1, 1:6:2] */
        {2, {R, R}, {3, 0}, {1, 5}, {1, 1}},                                   /* a[3:1, 0:5]: empty */
        {0, {0}, {0}, {0}, {0}},                                               /* a[()] */
        {5, {N, I, E, R, N}, {0, 1, 0, 5, 0}, {0, 0, 0, 0, 0}, {1, 1, 1, -2, 1}}, /* a[None, 1, ..., 5:0:-2, None] */
    };
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
        int64_t off, vshape[64], vstride[64];
        int vnd = ref_index(3, shape, cases[c].n, cases[c].kind, cases[c].start, cases[c].stop,
                            cases[c].step, &off, vshape, vstride);
        distarr_array v = 0;
        OK(distarr_index(a, cases[c].n, cases[c].kind, cases[c].start, cases[c].stop, cases[c].step,
                         &v));
        check_view(v, vnd, off, vshape, vstride);
        OK(distarr_free(v));
    }
    /* NULL start/stop/step: all omitted / step 1 (a[:, None]); a view of a view */
    const int32_t kn[2] = {R, N};
    distarr_array v1 = 0, v2 = 0;
    OK(distarr_index(a, 2, kn, NULL, NULL, NULL, &v1));
    const int64_t s1[4] = {4, 1, 5, 6};
    expect_shape(v1, 4, s1);
    const int32_t ki[2] = {I, R};
    const int64_t st2[2] = {2, 1}, sp2[2] = {0, NONE}, step2[2] = {1, 2};
    OK(distarr_index(v1, 2, ki, st2, sp2, step2, &v2)); /* v1[2, 1::2] = a[2, None][1::2]: (0, 5, 6) */
    const int64_t s2[3] = {0, 5, 6};
    expect_shape(v2, 3, s2);
    OK(distarr_free(v2));
    /* writing through an index view changes the array: a[1, :, ::5] = -1 */
    const int32_t kw[3] = {I, R, R};
    const int64_t stw[3] = {1, NONE, NONE}, spw[3] = {0, NONE, NONE}, stepw[3] = {1, 1, 5};
    OK(distarr_index(a, 3, kw, stw, spw, stepw, &v2));
    const double minus = -1.0;
    OK(distarr_fill(v2, &minus));
    double *g = gather_f64(a, 120);
    if (g)
        for (int i = 0; i < 120; i++) {
            int hit = i / 30 == 1 && (i % 6) % 5 == 0;
            CHECK(g[i] == (hit ? -1.0 : (double)i));
        }
    free(g);
    OK(distarr_free(v2));
    OK(distarr_free(v1));

    /* index errors */
    distarr_array out = 55;
    const int32_t kint[1] = {I}, k4[4] = {R, R, R, R}, kee[2] = {E, E}, kbad[1] = {7};
    const int64_t big[1] = {4}, negbig[1] = {-5}, zero1[4] = {0, 0, 0, 0}, none1[1] = {NONE};
    EXPECT(distarr_index(a, 1, kint, big, NULL, NULL, &out), DISTARR_ERR_BOUNDS);
    EXPECT(distarr_index(a, 1, kint, negbig, NULL, NULL, &out), DISTARR_ERR_BOUNDS);
    EXPECT(distarr_index(a, 1, kint, none1, NULL, NULL, &out), DISTARR_ERR_ARG);
    EXPECT(distarr_index(a, 1, kint, NULL, NULL, NULL, &out), DISTARR_ERR_ARG);
    EXPECT(distarr_index(a, 4, k4, NULL, NULL, NULL, &out), DISTARR_ERR_BOUNDS);
    EXPECT(distarr_index(a, 2, kee, NULL, NULL, NULL, &out), DISTARR_ERR_ARG);
    EXPECT(distarr_index(a, 1, kbad, NULL, NULL, NULL, &out), DISTARR_ERR_ARG);
    EXPECT(distarr_index(a, 1, k4, NULL, NULL, zero1, &out), DISTARR_ERR_ARG);
    EXPECT(distarr_index(a, 65, k4, NULL, NULL, NULL, &out), DISTARR_ERR_ARG);
    EXPECT(distarr_index(a, -1, k4, NULL, NULL, NULL, &out), DISTARR_ERR_ARG);
    EXPECT(distarr_index(a, 1, NULL, NULL, NULL, NULL, &out), DISTARR_ERR_NULL);
    EXPECT(distarr_index(a, 0, NULL, NULL, NULL, NULL, NULL), DISTARR_ERR_NULL);
    EXPECT(distarr_index(0, 0, NULL, NULL, NULL, NULL, &out), DISTARR_ERR_HANDLE);
    CHECK(out == 55);

    /* permute: axis k of the view is axis axes[k]; negative axes count from the end */
    OK(distarr_free(a));
    a = make_f64(3, shape, ident);
    const int64_t perms[][3] = {{2, 0, 1}, {-1, 0, -2}, {0, 1, 2}, {1, 2, 0}};
    for (size_t c = 0; c < sizeof perms / sizeof perms[0]; c++) {
        int64_t ax[3], vshape[3], vstride[3];
        const int64_t cst[3] = {30, 6, 1};
        for (int d = 0; d < 3; d++) {
            ax[d] = perms[c][d] < 0 ? perms[c][d] + 3 : perms[c][d];
            vshape[d] = shape[ax[d]];
            vstride[d] = cst[ax[d]];
        }
        distarr_array p = 0;
        OK(distarr_permute(a, 3, perms[c], &p));
        check_view(p, 3, 0, vshape, vstride);
        OK(distarr_free(p));
    }
    const int64_t rep[3] = {0, 0, 1}, far[3] = {0, 1, 3}, two[2] = {1, 0};
    EXPECT(distarr_permute(a, 3, rep, &out), DISTARR_ERR_ARG);
    EXPECT(distarr_permute(a, 3, far, &out), DISTARR_ERR_ARG);
    EXPECT(distarr_permute(a, 2, two, &out), DISTARR_ERR_ARG);
    EXPECT(distarr_permute(a, 65, two, &out), DISTARR_ERR_ARG);
    EXPECT(distarr_permute(a, 3, NULL, &out), DISTARR_ERR_NULL);
    EXPECT(distarr_permute(a, 3, rep, NULL), DISTARR_ERR_NULL);
    EXPECT(distarr_permute(-7, 3, rep, &out), DISTARR_ERR_HANDLE);
    CHECK(out == 55);

    /* reshape: a view of a contiguous array (writes show in `a`), a copy of a transposed one */
    distarr_array r = 0, t = 0, rt = 0;
    const int64_t want[3] = {2, -1, 3}, got_shape[3] = {2, 20, 3};
    OK(distarr_reshape(a, 3, want, &r));
    expect_shape(r, 3, got_shape);
    double *gr = gather_f64(r, 120);
    if (gr)
        for (int i = 0; i < 120; i++) CHECK(gr[i] == (double)i);
    free(gr);
    const int64_t one[3] = {1, 19, 2};
    const double seven = 7.0;
    distarr_array cell = 0;
    const int32_t k3[3] = {I, I, I};
    OK(distarr_index(r, 3, k3, one, NULL, NULL, &cell)); /* r[1, 19, 2]: flat 60 + 57 + 2 */
    OK(distarr_fill(cell, &seven));
    g = gather_f64(a, 120);
    if (g) CHECK(g[119] == 7.0 && g[118] == 118.0);
    free(g);
    OK(distarr_free(cell));
    OK(distarr_transpose(a, &t)); /* (6, 5, 4), not contiguous: reshape copies */
    const int64_t flat[1] = {-1};
    OK(distarr_reshape(t, 1, flat, &rt));
    const int64_t n120[1] = {120};
    expect_shape(rt, 1, n120);
    g = gather_f64(rt, 120);
    if (g)
        for (int k = 0; k < 120; k++) {
            int i = k / 20, j = (k / 4) % 5, l = k % 4; /* t[i, j, l] = a[l, j, i] */
            double expect = l * 30 + j * 6 + i;
            CHECK(g[k] == (l * 30 + j * 6 + i == 119 ? 7.0 : expect));
        }
    free(g);
    OK(distarr_fill(rt, &minus)); /* a copy: `a` keeps its values */
    g = gather_f64(a, 120);
    if (g) CHECK(g[0] == 0.0 && g[5] == 5.0);
    free(g);
    const int64_t two_unknown[2] = {-1, -1}, negtwo[2] = {-2, -60}, wrong[2] = {7, 17};
    const int64_t zero_d[1] = {0};
    EXPECT(distarr_reshape(a, 2, two_unknown, &out), DISTARR_ERR_SHAPE);
    EXPECT(distarr_reshape(a, 2, negtwo, &out), DISTARR_ERR_SHAPE);
    EXPECT(distarr_reshape(a, 2, wrong, &out), DISTARR_ERR_SHAPE);
    EXPECT(distarr_reshape(a, 1, zero_d, &out), DISTARR_ERR_SHAPE);
    EXPECT(distarr_reshape(a, 65, wrong, &out), DISTARR_ERR_ARG);
    EXPECT(distarr_reshape(a, 2, NULL, &out), DISTARR_ERR_NULL);
    EXPECT(distarr_reshape(a, 2, wrong, NULL), DISTARR_ERR_NULL);
    EXPECT(distarr_reshape(123, 2, wrong, &out), DISTARR_ERR_HANDLE);
    CHECK(out == 55);
    /* 0-d from a one-element array, and back */
    distarr_array o = 0, o0 = 0, o2 = 0;
    OK(distarr_arange(5, 6, 1, DISTARR_DTYPE_F64, &o));
    OK(distarr_reshape(o, 0, NULL, &o0));
    int32_t nd = -1;
    OK(distarr_ndim(o0, &nd));
    CHECK(nd == 0);
    const int64_t ones[2] = {1, -1};
    OK(distarr_reshape(o0, 2, ones, &o2));
    const int64_t s11[2] = {1, 1};
    expect_shape(o2, 2, s11);
    double *go = gather_f64(o2, 1);
    if (go) CHECK(go[0] == 5.0);
    free(go);
    distarr_array rl[] = {o2, o0, o, rt, t, r};
    for (size_t k = 0; k < sizeof rl / sizeof rl[0]; k++) OK(distarr_free(rl[k]));

    /* broadcast_to: a row repeated; read-only use */
    const int64_t row[1] = {6}, to[3] = {3, 4, 6}, col[2] = {5, 1}, to2[2] = {5, 3};
    distarr_array b = make_f64(1, row, wave), bb = 0, c = make_f64(2, col, ident), cb = 0;
    OK(distarr_broadcast_to(b, 3, to, &bb));
    expect_shape(bb, 3, to);
    g = gather_f64(bb, 72);
    if (g)
        for (int k = 0; k < 72; k++) CHECK(g[k] == wave(k % 6));
    free(g);
    OK(distarr_broadcast_to(c, 2, to2, &cb));
    g = gather_f64(cb, 15);
    if (g)
        for (int k = 0; k < 15; k++) CHECK(g[k] == (double)(k / 3));
    free(g);
    /* a broadcast view as an operand: out = bb * 2 */
    distarr_array prod = 0;
    OK(distarr_create(3, to, DISTARR_DTYPE_F64, NULL, &prod));
    const double twice = 2.0;
    OK(distarr_binary_scalar(DISTARR_UFUNC_MULTIPLY, prod, bb, &twice, DISTARR_DTYPE_F64, 0));
    g = gather_f64(prod, 72);
    if (g)
        for (int k = 0; k < 72; k++) CHECK(g[k] == 2 * wave(k % 6));
    free(g);
    const int64_t bad_to[2] = {4, 5}, neg_to[2] = {-1, 6}, short_to[1] = {1};
    EXPECT(distarr_broadcast_to(b, 2, bad_to, &out), DISTARR_ERR_SHAPE);
    EXPECT(distarr_broadcast_to(b, 2, neg_to, &out), DISTARR_ERR_SHAPE);
    EXPECT(distarr_broadcast_to(b, 1, short_to, &out), DISTARR_ERR_SHAPE);
    EXPECT(distarr_broadcast_to(b, 65, to, &out), DISTARR_ERR_ARG);
    EXPECT(distarr_broadcast_to(b, 3, NULL, &out), DISTARR_ERR_NULL);
    EXPECT(distarr_broadcast_to(b, 3, to, NULL), DISTARR_ERR_NULL);
    CHECK(out == 55);
    distarr_array bl[] = {prod, cb, c, bb, b, a};
    for (size_t k = 0; k < sizeof bl / sizeof bl[0]; k++) OK(distarr_free(bl[k]));
}

/* --- where --------------------------------------------------------------------------------- */

static int every_third(int64_t i) { return i % 3 == 0; }
static int pattern(int64_t i) { return (i * 31 + (i / 9) * 7) % 5 < 2; }

static void where_ops(void) {
    const int64_t shape[2] = {6, 8}, row[1] = {8};
    distarr_array cond = make_mask(2, shape, every_third), x = make_f64(2, shape, ident),
                  y = make_f64(1, row, wave), out = 0, iout = 0;
    OK(distarr_create(2, shape, DISTARR_DTYPE_F64, NULL, &out));
    OK(distarr_create(2, shape, DISTARR_DTYPE_I32, NULL, &iout));
    OK(distarr_where(out, cond, x, y)); /* y broadcast along rows */
    double *g = gather_f64(out, 48);
    if (g)
        for (int k = 0; k < 48; k++) CHECK(g[k] == (k % 3 == 0 ? (double)k : wave(k % 8)));
    free(g);
    /* scalars on either side; a scalar does not widen an int32 array */
    const double half = 0.5;
    const int32_t minus = -1;
    OK(distarr_where_scalar(out, cond, x, &half, DISTARR_DTYPE_F64, 0));
    g = gather_f64(out, 48);
    if (g)
        for (int k = 0; k < 48; k++) CHECK(g[k] == (k % 3 == 0 ? (double)k : 0.5));
    free(g);
    OK(distarr_copy(iout, x));
    OK(distarr_where_scalar(iout, cond, iout, &minus, DISTARR_DTYPE_I32, 1)); /* iout[cond] = -1 */
    int32_t *gi = gather_any(iout, 48, 4);
    if (gi)
        for (int k = 0; k < 48; k++) CHECK(gi[k] == (k % 3 == 0 ? -1 : k));
    free(gi);
    /* a non-bool condition: non-zero is true */
    OK(distarr_where_scalar(out, x, y, &half, DISTARR_DTYPE_F64, 1)); /* where(x, 0.5, y) */
    g = gather_f64(out, 48);
    if (g)
        for (int k = 0; k < 48; k++) CHECK(g[k] == (k != 0 ? 0.5 : wave(0)));
    free(g);
    /* errors */
    distarr_array r8 = 0;
    OK(distarr_create(1, row, DISTARR_DTYPE_F64, NULL, &r8));
    EXPECT(distarr_where(r8, cond, x, y), DISTARR_ERR_SHAPE);         /* out not the broadcast shape */
    EXPECT(distarr_where(iout, cond, x, y), DISTARR_ERR_DTYPE);       /* f64 into int32 */
    EXPECT(distarr_where_scalar(iout, cond, iout, &half, DISTARR_DTYPE_F64, 0), DISTARR_ERR_DTYPE);
    EXPECT(distarr_where(out, cond, x, 0), DISTARR_ERR_HANDLE);
    EXPECT(distarr_where(out, 12345, x, y), DISTARR_ERR_HANDLE);
    EXPECT(distarr_where_scalar(out, cond, x, NULL, DISTARR_DTYPE_F64, 0), DISTARR_ERR_NULL);
    EXPECT(distarr_where_scalar(out, cond, x, &half, 31, 0), DISTARR_ERR_DTYPE);
    distarr_array l[] = {r8, iout, out, y, x, cond};
    for (size_t k = 0; k < sizeof l / sizeof l[0]; k++) OK(distarr_free(l[k]));
}

/* --- boolean masks -------------------------------------------------------------------------- */

static int row_mask(int64_t j) { return j == 0 || j == 4 || j == 7; }
static int none(int64_t i) { return i < 0; }
static int all(int64_t i) { return i >= 0; }
static int tail_half(int64_t i) { return i >= 5; }

static void masks(void) {
    const int64_t shape[2] = {7, 9}, row[1] = {9};
    distarr_array a = make_f64(2, shape, ident), m = make_mask(2, shape, pattern), s = 0;
    /* a[mask]: the selected elements in C order */
    int64_t count = 0;
    for (int64_t i = 0; i < 63; i++) count += pattern(i);
    OK(distarr_mask_select(a, m, &s));
    const int64_t sshape[1] = {count};
    expect_shape(s, 1, sshape);
    CHECK(dtype_of(s) == DISTARR_DTYPE_F64);
    double *g = gather_f64(s, count);
    if (g)
        for (int64_t i = 0, k = 0; i < 63; i++)
            if (pattern(i)) CHECK(g[k++] == (double)i);
    free(g);
    OK(distarr_free(s));
    /* none and all selected; a broadcast row mask; a view as the indexed array */
    distarr_array mn = make_mask(2, shape, none), ma = make_mask(2, shape, all),
                  mr = make_mask(1, row, row_mask), v = 0, mv = 0;
    OK(distarr_mask_select(a, mn, &s));
    const int64_t zero[1] = {0}, all63[1] = {63}, rows[1] = {21};
    expect_shape(s, 1, zero);
    OK(distarr_free(s));
    OK(distarr_mask_select(a, ma, &s));
    expect_shape(s, 1, all63);
    g = gather_f64(s, 63);
    if (g)
        for (int i = 0; i < 63; i++) CHECK(g[i] == (double)i);
    free(g);
    OK(distarr_free(s));
    OK(distarr_mask_select(a, mr, &s));
    expect_shape(s, 1, rows);
    g = gather_f64(s, 21);
    if (g)
        for (int i = 0, k = 0; i < 7; i++)
            for (int j = 0; j < 9; j++)
                if (row_mask(j)) CHECK(g[k++] == (double)(i * 9 + j));
    free(g);
    OK(distarr_free(s));
    const int64_t vst[2] = {DISTARR_SLICE_NONE, 8}, vsp[2] = {DISTARR_SLICE_NONE, 0}, vstep[2] = {3, -2};
    OK(distarr_view(a, 2, vst, vsp, vstep, &v)); /* rows 0, 3, 6; cols 8, 6, 4, 2 */
    const int64_t vshape[2] = {3, 4};
    mv = make_mask(2, vshape, every_third);
    OK(distarr_mask_select(v, mv, &s));
    g = gather_f64(s, 4);
    if (g) /* view elements 0, 3, 6, 9: (0,8) (0,2) (1,4) (2,6) */
        CHECK(g[0] == 8.0 && g[1] == 2.0 && g[2] == 31.0 && g[3] == 60.0);
    free(g);
    OK(distarr_free(s));
    /* select errors */
    distarr_array out = 66, m78 = 0;
    const int64_t s78[2] = {7, 8};
    OK(distarr_create(2, s78, DISTARR_DTYPE_BOOL, NULL, &m78));
    EXPECT(distarr_mask_select(a, a, &out), DISTARR_ERR_DTYPE);
    EXPECT(distarr_mask_select(a, m78, &out), DISTARR_ERR_SHAPE);
    EXPECT(distarr_mask_select(a, m, NULL), DISTARR_ERR_NULL);
    EXPECT(distarr_mask_select(0, m, &out), DISTARR_ERR_HANDLE);
    EXPECT(distarr_mask_select(a, -3, &out), DISTARR_ERR_HANDLE);
    CHECK(out == 66);

    /* a[mask] = values, compacted: the i-th value goes to the i-th selected element */
    distarr_array vals = 0;
    OK(distarr_arange(1000, 1000 + (double)count, 1, DISTARR_DTYPE_F64, &vals));
    OK(distarr_mask_assign(a, m, vals));
    g = gather_f64(a, 63);
    if (g)
        for (int64_t i = 0, k = 0; i < 63; i++) CHECK(g[i] == (pattern(i) ? 1000.0 + (double)k++ : (double)i));
    free(g);
    OK(distarr_free(vals));
    /* broadcast: a[row_mask] = row values (where) */
    distarr_array rv = make_f64(1, row, wave);
    OK(distarr_mask_assign(a, mr, rv));
    g = gather_f64(a, 63);
    if (g)
        for (int64_t i = 0, k = 0; i < 63; i++) {
            double before = pattern(i) ? 1000.0 + (double)k++ : (double)i;
            CHECK(g[i] == (row_mask(i % 9) ? wave(i % 9) : before));
        }
    free(g);
    /* one value to every selected element, cast to the array's dtype (int32 gets 2) */
    distarr_array ai = 0, one = 0;
    OK(distarr_create(2, shape, DISTARR_DTYPE_I32, NULL, &ai));
    const int64_t s1[1] = {1};
    OK(distarr_create(1, s1, DISTARR_DTYPE_F64, NULL, &one));
    const double twoseven = 2.7;
    OK(distarr_fill(one, &twoseven));
    OK(distarr_mask_assign(ai, m, one));
    int32_t *gi = gather_any(ai, 63, 4);
    if (gi)
        for (int i = 0; i < 63; i++) CHECK(gi[i] == (pattern(i) ? 2 : 0));
    free(gi);
    /* compacted wins over broadcasting: 4 selected elements, values of shape (4,) on (3, 4) */
    const int64_t s34[2] = {3, 4};
    const uint8_t m34[12] = {1, 0, 0, 0, 0, 1, 1, 0, 0, 0, 0, 1};
    distarr_array z = 0, mz = make_array(2, s34, DISTARR_DTYPE_BOOL, m34), v4 = 0;
    OK(distarr_create(2, s34, DISTARR_DTYPE_F64, NULL, &z));
    OK(distarr_linspace(10, 40, 4, 1, DISTARR_DTYPE_F64, &v4)); /* 10 20 30 40 */
    OK(distarr_mask_assign(z, mz, v4));
    g = gather_f64(z, 12);
    if (g) {
        const double want[12] = {10, 0, 0, 0, 0, 20, 30, 0, 0, 0, 0, 40};
        for (int i = 0; i < 12; i++) CHECK(g[i] == want[i]);
    }
    free(g);
    /* values that overlap the array: x[x >= 5] = x[:5] */
    const int64_t ten[1] = {10};
    distarr_array xa = make_f64(1, ten, ident), xm = make_mask(1, ten, tail_half), head = 0;
    const int64_t hs[1] = {0}, he[1] = {5};
    OK(distarr_view(xa, 1, hs, he, NULL, &head));
    OK(distarr_mask_assign(xa, xm, head));
    g = gather_f64(xa, 10);
    if (g)
        for (int i = 0; i < 10; i++) CHECK(g[i] == (double)(i % 5));
    free(g);
    /* assign errors */
    distarr_array v5 = 0;
    const int64_t five[1] = {5};
    OK(distarr_create(1, five, DISTARR_DTYPE_F64, NULL, &v5));
    EXPECT(distarr_mask_assign(a, m, v5), DISTARR_ERR_SHAPE);   /* 1-D, wrong count, not (9,) */
    EXPECT(distarr_mask_assign(a, m, mz), DISTARR_ERR_SHAPE);   /* (3, 4) on (7, 9) */
    EXPECT(distarr_mask_assign(a, a, v5), DISTARR_ERR_DTYPE);   /* mask not bool */
    EXPECT(distarr_mask_assign(a, m78, v5), DISTARR_ERR_SHAPE); /* mask shape */
    EXPECT(distarr_mask_assign(a, m, 0), DISTARR_ERR_HANDLE);
    EXPECT(distarr_mask_assign(1, m, v5), DISTARR_ERR_HANDLE);
    g = gather_f64(a, 63); /* the failed calls changed nothing */
    if (g)
        for (int64_t i = 0, k = 0; i < 63; i++) {
            double before = pattern(i) ? 1000.0 + (double)k++ : (double)i;
            CHECK(g[i] == (row_mask(i % 9) ? wave(i % 9) : before));
        }
    free(g);
    distarr_array l[] = {v5, head, xm, xa, v4, mz, z, one, ai, rv, m78, mv, v, mr, ma, mn, m, a};
    for (size_t k = 0; k < sizeof l / sizeof l[0]; k++) OK(distarr_free(l[k]));
}

/* --- roll and concatenate ------------------------------------------------------------------ */

static int64_t mod(int64_t a, int64_t n) { return ((a % n) + n) % n; }

static void roll_concatenate(void) {
    const int64_t shape[2] = {5, 7};
    distarr_array a = make_f64(2, shape, ident), out = 0, lout = 0;
    OK(distarr_create(2, shape, DISTARR_DTYPE_F64, NULL, &out));
    OK(distarr_create(2, shape, DISTARR_DTYPE_I64, NULL, &lout));
    const struct {
        int64_t shift;
        int32_t axis;
    } cases[] = {{2, 0}, {-3, 1}, {10, -1}, {0, 0}, {-6, -2}, {13, DISTARR_AXIS_NONE},
                 {-40, DISTARR_AXIS_NONE}, {35, DISTARR_AXIS_NONE}};
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
        OK(distarr_roll(out, a, cases[c].shift, cases[c].axis));
        double *g = gather_f64(out, 35);
        if (g)
            for (int64_t i = 0; i < 5; i++)
                for (int64_t j = 0; j < 7; j++) {
                    int64_t src;
                    if (cases[c].axis == DISTARR_AXIS_NONE)
                        src = mod(i * 7 + j - cases[c].shift, 35);
                    else if (cases[c].axis == 0 || cases[c].axis == -2)
                        src = mod(i - cases[c].shift, 5) * 7 + j;
                    else
                        src = i * 7 + mod(j - cases[c].shift, 7);
                    CHECK(g[i * 7 + j] == (double)src);
                }
        free(g);
    }
    /* into another dtype; in place; into a view (not contiguous) of a bigger array */
    OK(distarr_roll(lout, a, 1, 1));
    int64_t *gl = gather_any(lout, 35, 8);
    if (gl)
        for (int k = 0; k < 35; k++) CHECK(gl[k] == (k / 7) * 7 + mod(k % 7 - 1, 7));
    free(gl);
    OK(distarr_roll(a, a, 1, 0));
    double *g = gather_f64(a, 35);
    if (g)
        for (int k = 0; k < 35; k++) CHECK(g[k] == (double)mod(k - 7, 35));
    free(g);
    const int64_t bshape[2] = {10, 7}, st[1] = {1}, step[1] = {2};
    distarr_array big = 0, bv = 0;
    OK(distarr_create(2, bshape, DISTARR_DTYPE_F64, NULL, &big));
    OK(distarr_view(big, 1, st, NULL, step, &bv)); /* rows 1, 3, 5, 7, 9 */
    OK(distarr_roll(bv, a, 3, DISTARR_AXIS_NONE));
    g = gather_f64(big, 70);
    if (g)
        for (int i = 0; i < 10; i++)
            for (int j = 0; j < 7; j++) {
                int k = (i / 2) * 7 + j; /* flat index in the view */
                CHECK(g[i * 7 + j] == (i % 2 ? (double)mod(mod(k - 3, 35) - 7, 35) : 0.0));
            }
    free(g);
    distarr_array o6 = 0;
    const int64_t s6[2] = {5, 6};
    OK(distarr_create(2, s6, DISTARR_DTYPE_F64, NULL, &o6));
    EXPECT(distarr_roll(out, a, 1, 2), DISTARR_ERR_ARG);
    EXPECT(distarr_roll(out, a, 1, -3), DISTARR_ERR_ARG);
    EXPECT(distarr_roll(o6, a, 1, 0), DISTARR_ERR_SHAPE);
    EXPECT(distarr_roll(0, a, 1, 0), DISTARR_ERR_HANDLE);
    EXPECT(distarr_roll(out, 0, 1, 0), DISTARR_ERR_HANDLE);

    /* concatenate along an axis (dtype promotion: int32 with float32 is float64) */
    const int64_t s25[2] = {2, 5}, s35[2] = {3, 5}, s15[2] = {1, 5}, s05[2] = {0, 5};
    distarr_array p = make_f64(2, s25, ident), q = 0, r = make_f64(2, s15, wave), e = 0, c = 0;
    OK(distarr_create(2, s35, DISTARR_DTYPE_I32, NULL, &q));
    const int32_t nine = 9;
    OK(distarr_fill(q, &nine));
    OK(distarr_create(2, s05, DISTARR_DTYPE_F32, NULL, &e));
    const distarr_array parts[4] = {p, e, q, r};
    OK(distarr_concatenate(4, parts, 0, &c));
    const int64_t s65[2] = {6, 5};
    expect_shape(c, 2, s65);
    CHECK(dtype_of(c) == DISTARR_DTYPE_F64);
    g = gather_f64(c, 30);
    if (g)
        for (int k = 0; k < 30; k++) CHECK(g[k] == (k < 10 ? (double)k : k < 25 ? 9.0 : wave(k - 25)));
    free(g);
    OK(distarr_free(c));
    /* along the last axis, with a transposed view */
    const int64_t s42[2] = {4, 2}, s34[2] = {3, 4};
    distarr_array u = make_f64(2, s42, ident), w = make_f64(2, s34, ident), wt = 0;
    OK(distarr_transpose(w, &wt)); /* (4, 3): wt[i, j] = 4 j + i */
    const distarr_array pair[2] = {u, wt};
    OK(distarr_concatenate(2, pair, -1, &c));
    const int64_t s45[2] = {4, 5};
    expect_shape(c, 2, s45);
    g = gather_f64(c, 20);
    if (g)
        for (int i = 0; i < 4; i++)
            for (int j = 0; j < 5; j++) CHECK(g[i * 5 + j] == (j < 2 ? i * 2 + j : 4 * (j - 2) + i));
    free(g);
    OK(distarr_free(c));
    /* axis None: the flattenings, a 0-d array too; bool with uint8 is uint8 */
    distarr_array zd = 0, b1 = make_mask(1, s15 + 1, every_third), u8 = 0;
    OK(distarr_create(0, NULL, DISTARR_DTYPE_F64, NULL, &zd));
    const double pi = 3.25;
    OK(distarr_fill(zd, &pi));
    const distarr_array flat[3] = {wt, zd, u};
    OK(distarr_concatenate(3, flat, DISTARR_AXIS_NONE, &c));
    const int64_t s21[1] = {21};
    expect_shape(c, 1, s21);
    g = gather_f64(c, 21);
    if (g)
        for (int k = 0; k < 21; k++)
            CHECK(g[k] == (k < 12 ? 4 * (k % 3) + k / 3 : k == 12 ? 3.25 : (double)(k - 13)));
    free(g);
    OK(distarr_free(c));
    OK(distarr_create(1, s15 + 1, DISTARR_DTYPE_U8, NULL, &u8));
    const distarr_array bu[2] = {b1, u8};
    OK(distarr_concatenate(2, bu, 0, &c));
    CHECK(dtype_of(c) == DISTARR_DTYPE_U8);
    uint8_t *g8 = gather_any(c, 10, 1);
    if (g8)
        for (int k = 0; k < 10; k++) CHECK(g8[k] == (k < 5 && k % 3 == 0));
    free(g8);
    OK(distarr_free(c));
    /* errors */
    distarr_array none_out = 44;
    const distarr_array mism[2] = {p, u}, dims[2] = {p, b1}, zeros2[2] = {zd, zd}, bad[2] = {p, 0};
    EXPECT(distarr_concatenate(0, parts, 0, &none_out), DISTARR_ERR_ARG);
    EXPECT(distarr_concatenate(-1, parts, 0, &none_out), DISTARR_ERR_ARG);
    EXPECT(distarr_concatenate(2, NULL, 0, &none_out), DISTARR_ERR_NULL);
    EXPECT(distarr_concatenate(2, pair, 0, NULL), DISTARR_ERR_NULL);
    EXPECT(distarr_concatenate(2, pair, 2, &none_out), DISTARR_ERR_ARG);
    EXPECT(distarr_concatenate(2, mism, 0, &none_out), DISTARR_ERR_SHAPE);
    EXPECT(distarr_concatenate(2, dims, 0, &none_out), DISTARR_ERR_SHAPE);
    EXPECT(distarr_concatenate(2, zeros2, 0, &none_out), DISTARR_ERR_SHAPE);
    EXPECT(distarr_concatenate(2, bad, 0, &none_out), DISTARR_ERR_HANDLE);
    CHECK(none_out == 44);
    distarr_array l[] = {u8, b1, zd, wt, w, u, e, r, q, p, o6, bv, big, lout, out, a};
    for (size_t k = 0; k < sizeof l / sizeof l[0]; k++) OK(distarr_free(l[k]));
}

/* --- reductions along an axis and matmul, into views and other dtypes ---------------------- */

static void reduce_matmul_into(void) {
    const int64_t shape[2] = {6, 8}, s86[2] = {8, 6}, s2[2] = {2, 6};
    distarr_array a = make_f64(2, shape, wave), big = 0, col = 0, f32 = 0;
    /* row sums into column 1 of a (6, 3) array */
    const int64_t s63[2] = {6, 3}, st[2] = {0, 1}, sp[2] = {DISTARR_SLICE_NONE, 2};
    const int32_t kinds[2] = {DISTARR_INDEX_RANGE, DISTARR_INDEX_INT};
    OK(distarr_create(2, s63, DISTARR_DTYPE_F64, NULL, &big));
    OK(distarr_index(big, 2, kinds, st, sp, NULL, &col));
    OK(distarr_reduce(DISTARR_REDUCE_SUM, a, 1, col, NULL));
    double *g = gather_f64(big, 18);
    if (g)
        for (int i = 0; i < 6; i++) {
            double want = 0;
            for (int j = 0; j < 8; j++) want += wave(i * 8 + j);
            CHECK(g[i * 3 + 1] == want && g[i * 3] == 0.0 && g[i * 3 + 2] == 0.0);
        }
    free(g);
    /* column maxima into float32 (same_kind) */
    const int64_t eight[1] = {8};
    OK(distarr_create(1, eight, DISTARR_DTYPE_F32, NULL, &f32));
    OK(distarr_reduce(DISTARR_REDUCE_MAX, a, 0, f32, NULL));
    float *gf = gather_any(f32, 8, 4);
    if (gf)
        for (int j = 0; j < 8; j++) {
            double want = wave(j);
            for (int i = 1; i < 6; i++) want = fmax(want, wave(i * 8 + j));
            CHECK(gf[j] == (float)want);
        }
    free(gf);
    double total = 0, want_total = 0;
    OK(distarr_reduce(DISTARR_REDUCE_SUM, a, DISTARR_AXIS_NONE, 0, &total));
    for (int k = 0; k < 48; k++) want_total += wave(k);
    CHECK(total == want_total);
    EXPECT(distarr_reduce(DISTARR_REDUCE_SUM, a, DISTARR_AXIS_NONE, 0, NULL), DISTARR_ERR_NULL);
    /* matmul into the transposed view of an (8, 6) array: out[j, i] = (a @ eye)[...] */
    distarr_array id = 0, t86 = 0, tv = 0, m2 = 0;
    OK(distarr_eye(8, 6, 0, DISTARR_DTYPE_F64, &id));  /* (8, 6) */
    OK(distarr_create(2, s86, DISTARR_DTYPE_F64, NULL, &t86));
    OK(distarr_transpose(t86, &tv));                   /* (6, 8) view */
    OK(distarr_create(2, s2, DISTARR_DTYPE_F64, NULL, &m2));
    distarr_array prod = 0;
    const int64_t s66[2] = {6, 6};
    OK(distarr_create(2, s66, DISTARR_DTYPE_F64, NULL, &prod));
    OK(distarr_matmul(prod, a, id)); /* a @ I(8, 6): the first 6 columns of a */
    g = gather_f64(prod, 36);
    if (g)
        for (int i = 0; i < 6; i++)
            for (int j = 0; j < 6; j++) CHECK(g[i * 6 + j] == wave(i * 8 + j));
    free(g);
    distarr_array eye8 = 0;
    OK(distarr_eye(8, 8, 1, DISTARR_DTYPE_F64, &eye8)); /* shift: (a @ E)[i, j] = a[i, j - 1] */
    OK(distarr_matmul(tv, a, eye8));
    g = gather_f64(t86, 48); /* t86[j, i] = tv[i, j] */
    if (g)
        for (int j = 0; j < 8; j++)
            for (int i = 0; i < 6; i++) CHECK(g[j * 6 + i] == (j == 0 ? 0.0 : wave(i * 8 + j - 1)));
    free(g);
    EXPECT(distarr_matmul(m2, a, id), DISTARR_ERR_SHAPE);
    distarr_array l[] = {eye8, prod, m2, tv, t86, id, f32, col, big, a};
    for (size_t k = 0; k < sizeof l / sizeof l[0]; k++) OK(distarr_free(l[k]));
}

/* --- one-sided region access after collective operations (the SPMD sync rule) ------------- */

static void sync_rule(void) {
    const int64_t n[1] = {40};
    distarr_array a = 0, m = 0, s = 0;
    OK(distarr_create(1, n, DISTARR_DTYPE_I64, NULL, &a));
    OK(distarr_sync()); /* the creation wrote zeros */
    /* program rank p writes elements p, p + P, ... one-sidedly */
    for (int64_t i = me; i < 40; i += P) {
        const int64_t lo[1] = {i}, hi[1] = {i + 1}, v = 3 * i;
        OK(distarr_put_region(a, lo, hi, &v));
    }
    OK(distarr_sync()); /* one-sided writes, then collective reads */
    const int64_t six = 6;
    OK(distarr_create(1, n, DISTARR_DTYPE_BOOL, NULL, &m));
    OK(distarr_binary_scalar(DISTARR_UFUNC_REMAINDER, a, a, &six, DISTARR_DTYPE_I64, 0)); /* a %= 6 */
    OK(distarr_binary_scalar(DISTARR_UFUNC_EQUAL, m, a, &(int64_t){0}, DISTARR_DTYPE_I64, 0));
    OK(distarr_mask_select(a, m, &s));
    int64_t cnt = -1;
    OK(distarr_size(s, &cnt));
    CHECK(cnt == 20); /* 3 i % 6 == 0 for even i */
    OK(distarr_sync()); /* collective writes, then one-sided reads */
    int64_t all[40];
    const int64_t lo[1] = {0}, hi[1] = {40};
    OK(distarr_get_region(a, lo, hi, all));
    for (int i = 0; i < 40; i++) CHECK(all[i] == (3 * i) % 6);
    OK(distarr_free(s));
    OK(distarr_free(m));
    OK(distarr_free(a));
}

/* --- freed and forged handles: every new function refuses them, writes no output ----------- */

static void stale_handles(void) {
    const int64_t shape[2] = {3, 4}, four[1] = {4}, s34[2] = {3, 4};
    distarr_array dead = 0, live = 0, mask = 0, view_of_dead = 0;
    OK(distarr_create(2, shape, DISTARR_DTYPE_F64, NULL, &dead));
    OK(distarr_transpose(dead, &view_of_dead));
    OK(distarr_free(dead));
    OK(distarr_create(2, shape, DISTARR_DTYPE_F64, NULL, &live));
    OK(distarr_create(2, shape, DISTARR_DTYPE_BOOL, NULL, &mask));
    const distarr_array bad[] = {dead, view_of_dead, 0, -1, live + 1, ((int64_t)1 << 56) | 1};
    const int32_t kinds[1] = {DISTARR_INDEX_RANGE};
    const int64_t axes[2] = {1, 0};
    const double one = 1.0;
    for (size_t k = 0; k < sizeof bad / sizeof bad[0]; k++) {
        distarr_array h = bad[k], out = 99;
        EXPECT(distarr_astype(h, DISTARR_DTYPE_I32, &out), DISTARR_ERR_HANDLE);
        EXPECT(distarr_index(h, 1, kinds, NULL, NULL, NULL, &out), DISTARR_ERR_HANDLE);
        EXPECT(distarr_permute(h, 2, axes, &out), DISTARR_ERR_HANDLE);
        EXPECT(distarr_reshape(h, 1, four, &out), DISTARR_ERR_HANDLE);
        EXPECT(distarr_broadcast_to(h, 2, s34, &out), DISTARR_ERR_HANDLE);
        EXPECT(distarr_where(live, mask, h, live), DISTARR_ERR_HANDLE);
        EXPECT(distarr_where(h, mask, live, live), DISTARR_ERR_HANDLE);
        EXPECT(distarr_where_scalar(live, h, live, &one, DISTARR_DTYPE_F64, 0), DISTARR_ERR_HANDLE);
        EXPECT(distarr_mask_select(h, mask, &out), DISTARR_ERR_HANDLE);
        EXPECT(distarr_mask_select(live, h, &out), DISTARR_ERR_HANDLE);
        EXPECT(distarr_mask_assign(live, mask, h), DISTARR_ERR_HANDLE);
        EXPECT(distarr_roll(h, live, 1, 0), DISTARR_ERR_HANDLE);
        EXPECT(distarr_roll(live, h, 1, DISTARR_AXIS_NONE), DISTARR_ERR_HANDLE);
        const distarr_array two[2] = {live, h};
        EXPECT(distarr_concatenate(2, two, 0, &out), DISTARR_ERR_HANDLE);
        EXPECT(distarr_reduce(DISTARR_REDUCE_SUM, live, 0, h, NULL), DISTARR_ERR_HANDLE);
        EXPECT(distarr_matmul(h, live, live), DISTARR_ERR_HANDLE);
        CHECK(out == 99);
    }
    OK(distarr_free(view_of_dead));
    OK(distarr_free(mask));
    OK(distarr_free(live));
}

/* --- results created without storage (DISTARR_LAYOUT_DEFERRED) and temporaries freed while
 * deferred operations use them: t = a + 1 (t created deferred), r = t * t, t freed before the
 * flush; r is (a + 1)^2, t is unusable, and a deferred array read before its first write is
 * refused, not garbage. ------------------------------------------------------------------ */

static void deferred_results(void) {
    const int64_t n[1] = {50};
    distarr_array a = 0, t = 0, r = 0, u = 0;
    OK(distarr_arange(0, 50, 1, DISTARR_DTYPE_F64, &a));
    OK(distarr_create_layout(1, n, DISTARR_DTYPE_F64, DISTARR_LAYOUT_BLOCK | DISTARR_LAYOUT_DEFERRED,
                             NULL, 0, &t));
    OK(distarr_create_layout(1, n, DISTARR_DTYPE_F64, DISTARR_LAYOUT_BLOCK | DISTARR_LAYOUT_DEFERRED,
                             NULL, 0, &r));
    OK(distarr_create_layout(1, n, DISTARR_DTYPE_F64, DISTARR_LAYOUT_BLOCK | DISTARR_LAYOUT_DEFERRED,
                             NULL, 0, &u));
    const int64_t lo[1] = {0}, hi[1] = {50};
    double got[50];
    /* no storage yet: a one-sided read is refused (SPMD; in sequential mode the read runs
     * after a synchronisation, which flushes, and u is still unwritten) */
    EXPECT(distarr_get_region(u, lo, hi, got), DISTARR_ERR_ARG);
    const double one = 1.0;
    OK(distarr_binary_scalar(DISTARR_UFUNC_ADD, t, a, &one, DISTARR_DTYPE_F64, 0));
    OK(distarr_binary(DISTARR_UFUNC_MULTIPLY, r, t, t));
    OK(distarr_free(t)); /* does not flush; t's storage goes with the queue */
    EXPECT(distarr_binary(DISTARR_UFUNC_ADD, r, t, t), DISTARR_ERR_HANDLE);
    OK(distarr_sync());
    OK(distarr_get_region(r, lo, hi, got));
    for (int i = 0; i < 50; i++) CHECK(got[i] == (double)((i + 1) * (i + 1)));
    OK(distarr_free(u));
    OK(distarr_free(r));
    OK(distarr_free(a));
}

int main(int argc, char **argv) {
    test_start(DISTARR_MODE_ENV);

    distarr_array a = 3;
    EXPECT(distarr_linspace(0, 1, 2, 1, DISTARR_DTYPE_F64, &a), DISTARR_ERR_STATE);
    EXPECT(distarr_roll(1, 1, 1, 0), DISTARR_ERR_STATE);
    CHECK(a == 3);

    test_init(&argc, &argv, DISTARR_MODE_ENV); /* only rank 0 returns in sequential mode */
    root = spmd ? np - 1 : 0;

    linspace_eye_astype();
    indexing_views();
    where_ops();
    masks();
    roll_concatenate();
    reduce_matmul_into();
    sync_rule();
    stale_handles();
    deferred_results();

    OK(distarr_finalize());
    EXPECT(distarr_mask_select(1, 2, &a), DISTARR_ERR_STATE);
    printf("c_array_ops: %d checks passed on rank %d of %d (%s mode)\n", checks, me, np,
           spmd ? "SPMD" : "sequential");
    printf("distarr-test: ok rank=%d\n", me);
    return 0;
}
