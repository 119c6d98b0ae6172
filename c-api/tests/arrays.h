/*
 * arrays.h - helpers shared by the C array tests (c_arrays.c, c_array_ops.c): Python's
 * slice.indices, arrays written from C-order buffers by a scatter from the root, gathers to
 * the root. Include after check.h's rank variables are set by the test's main.
 */
#ifndef DISTARR_TEST_ARRAYS_H
#define DISTARR_TEST_ARRAYS_H

#include "check.h"

#include <math.h>
#include <stdint.h>
#include <stdlib.h>

static int root = 0; /* gather/scatter root: the last rank in SPMD mode, 0 in sequential mode */

static inline int close_to(double a, double b) { return fabs(a - b) <= 1e-12 * (1.0 + fabs(b)); }

/* Python's slice.indices: fills idx with the selected indices, returns their count. */
static inline int64_t py_slice(int64_t n, int64_t start, int64_t stop, int64_t step, int64_t *idx) {
    int64_t lo, hi;
    if (step > 0) {
        lo = start == DISTARR_SLICE_NONE ? 0 : start < 0 ? start + n : start;
        hi = stop == DISTARR_SLICE_NONE ? n : stop < 0 ? stop + n : stop;
        if (lo < 0) lo = 0;
        if (lo > n) lo = n;
        if (hi < 0) hi = 0;
        if (hi > n) hi = n;
    } else {
        lo = start == DISTARR_SLICE_NONE ? n - 1 : start < 0 ? start + n : start;
        hi = stop == DISTARR_SLICE_NONE ? -1 : stop < 0 ? stop + n : stop;
        if (lo < -1) lo = -1;
        if (lo > n - 1) lo = n - 1;
        if (hi < -1) hi = -1;
        if (hi > n - 1) hi = n - 1;
    }
    int64_t k = 0;
    for (int64_t i = lo; step > 0 ? i < hi : i > hi; i += step) idx[k++] = i;
    return k;
}

static inline int64_t elems(int32_t ndim, const int64_t *shape) {
    int64_t n = 1;
    for (int d = 0; d < ndim; d++) n *= shape[d];
    return n;
}

/* A new array of `shape` and `dtype` holding `data` (C order; only the root's is read). */
static inline distarr_array make_array(int32_t ndim, const int64_t *shape, int32_t dtype,
                                       const void *data) {
    distarr_array a = 0;
    OK(distarr_create(ndim, shape, dtype, NULL, &a));
    OK(distarr_scatter(a, root, me == root ? data : NULL));
    return a;
}

/* A f64 array of `shape` with a[i] = f(C-order index), written by scatter from the root. */
static inline distarr_array make_f64(int32_t ndim, const int64_t *shape, double (*f)(int64_t)) {
    int64_t n = elems(ndim, shape);
    double *buf = malloc((size_t)(n ? n : 1) * sizeof *buf);
    for (int64_t i = 0; i < n; i++) buf[i] = f(i);
    distarr_array a = make_array(ndim, shape, DISTARR_DTYPE_F64, buf);
    free(buf);
    return a;
}

/* Gathers `n` elements of `size` bytes to the root: a malloc'ed buffer there, NULL elsewhere. */
static inline void *gather_any(distarr_array a, int64_t n, size_t size) {
    void *buf = me == root ? malloc((size_t)(n ? n : 1) * size) : NULL;
    OK(distarr_gather(a, root, buf));
    return buf;
}

/* Gathers a f64 array to the root; returns a malloc'ed buffer there, NULL elsewhere. */
static inline double *gather_f64(distarr_array a, int64_t n) { return gather_any(a, n, 8); }

#endif
