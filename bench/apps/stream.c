/*
 * stream.c - STREAM-like memory bandwidth of P MPI processes on one machine: each process streams
 * its own arrays (double a[n], b[n], c[n]), all processes at the same time:
 *     copy:  c = a        (16 bytes per element: read a, write c)
 *     add:   c = a + b    (24 bytes per element)
 * Bytes are counted as STREAM does (no write-allocate traffic). Each repetition starts with a
 * barrier; its aggregate bandwidth is P * bytes / (the slowest process's time), i.e. the sum of
 * the processes' bytes over the time in which they all streamed; per process = aggregate / P.
 * The best repetition is reported.
 *
 * Build:  mpicc -O3 stream.c -o stream
 * Run:    mpirun -n P ./stream [ELEMENTS [REPS]]   (default 2^25 elements per array, 10 reps)
 * Output (rank 0): one line per kernel,
 *     stream: kernel=copy procs=P elements=N reps=R best_s=T aggregate_gbs=G per_process_gbs=G
 */
#include <mpi.h>

#include <stdio.h>
#include <stdlib.h>

static void copy(double *restrict c, const double *restrict a, long n) {
    for (long i = 0; i < n; i++) c[i] = a[i];
}

static void add(double *restrict c, const double *restrict a, const double *restrict b, long n) {
    for (long i = 0; i < n; i++) c[i] = a[i] + b[i];
}

int main(int argc, char **argv) {
    MPI_Init(&argc, &argv);
    int me, np;
    MPI_Comm_rank(MPI_COMM_WORLD, &me);
    MPI_Comm_size(MPI_COMM_WORLD, &np);
    long n = argc > 1 ? atol(argv[1]) : 1L << 25;
    int reps = argc > 2 ? atoi(argv[2]) : 10;
    if (n < 1 || reps < 1) {
        if (me == 0) fprintf(stderr, "usage: stream [ELEMENTS [REPS]]\n");
        MPI_Abort(MPI_COMM_WORLD, 2);
    }
    double *a = malloc(n * sizeof *a), *b = malloc(n * sizeof *b), *c = malloc(n * sizeof *c);
    if (!a || !b || !c) {
        fprintf(stderr, "stream: rank %d: cannot allocate 3 x %ld doubles\n", me, n);
        MPI_Abort(MPI_COMM_WORLD, 1);
    }
    for (long i = 0; i < n; i++) { /* first touch: every page is mapped before timing */
        a[i] = 1.0 + (double)(i % 7);
        b[i] = 2.0;
        c[i] = 0.0;
    }
    const char *names[2] = {"copy", "add"};
    const double bytes[2] = {16.0 * (double)n, 24.0 * (double)n};
    double check = 0;
    for (int k = 0; k < 2; k++) {
        double best = 1e300;
        for (int r = 0; r < reps; r++) {
            MPI_Barrier(MPI_COMM_WORLD);
            double t0 = MPI_Wtime();
            if (k == 0)
                copy(c, a, n);
            else
                add(c, a, b, n);
            double t = MPI_Wtime() - t0, slowest;
            MPI_Allreduce(&t, &slowest, 1, MPI_DOUBLE, MPI_MAX, MPI_COMM_WORLD);
            if (slowest < best) best = slowest;
            check += c[(r * 7919L) % n];
        }
        if (me == 0) {
            double agg = np * bytes[k] / best / 1e9;
            printf("stream: kernel=%s procs=%d elements=%ld reps=%d best_s=%.6f aggregate_gbs=%.3f "
                   "per_process_gbs=%.3f\n",
                   names[k], np, n, reps, best, agg, agg / np);
        }
    }
    if (check < 0) printf("%g\n", check); /* keeps the kernels' results alive */
    free(a);
    free(b);
    free(c);
    MPI_Finalize();
    return 0;
}
