/*
 * example.h - helpers shared by the C examples: stop with distarr's own message when a call
 * fails, and the line the test harness expects from every rank in check mode.
 * Each example defines EXAMPLE_NAME before including this file.
 */
#ifndef DISTARR_EXAMPLE_H
#define DISTARR_EXAMPLE_H

#include <distarr.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static int check_mode = 0, env_rank = 0;

static void die(const char *what, int rc) {
    fprintf(stderr, "%s: %s failed: %s (%s)\n", EXAMPLE_NAME, what, distarr_strerror(rc), distarr_last_error());
    exit(1);
}

#define TRY(call)                                                                             \
    do {                                                                                      \
        int rc_ = (call);                                                                     \
        if (rc_ != DISTARR_OK) die(#call, rc_);                                               \
    } while (0)

/* Sequential mode: the serving ranks exit(0) inside distarr_init; say they got there. */
static void worker_ok(void) {
    if (check_mode && env_rank != 0) printf("distarr-test: ok rank=%d\n", env_rank);
}

/* Reads the check flag (`--check` or DISTARR_CHECK=1) and the launcher's rank, arranges for the
 * serving ranks of sequential mode to print their ok line, and initializes distarr. */
static void example_init(int *argc, char ***argv) {
    check_mode = (*argc > 1 && strcmp((*argv)[1], "--check") == 0) ||
                 (getenv("DISTARR_CHECK") && strcmp(getenv("DISTARR_CHECK"), "1") == 0);
    const char *r = getenv("OMPI_COMM_WORLD_RANK") ? getenv("OMPI_COMM_WORLD_RANK") : getenv("PMI_RANK");
    env_rank = r ? atoi(r) : 0;
    const char *mode = getenv("DISTARR_MODE");
    if (mode && strcmp(mode, "sequential") == 0) atexit(worker_ok);
    TRY(distarr_init(argc, argv));
}

/* The k-th (from 0) number on the command line, `--check` skipped, or `dflt` when there are
 * fewer; exits with a usage message on anything that is not a positive integer. Call it after
 * example_init (distarr_init may remove the launcher's arguments). */
static long long example_arg(int argc, char **argv, int k, long long dflt, const char *usage) {
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--check") == 0) continue;
        if (k-- > 0) continue;
        char *end;
        errno = 0;
        long long v = strtoll(argv[i], &end, 10);
        if (errno != 0 || *end != '\0' || end == argv[i] || v < 1) {
            fprintf(stderr, "usage: %s\n", usage);
            exit(2);
        }
        return v;
    }
    return dflt;
}

/* Wall-clock seconds, for timing a loop. */
static double example_now(void) {
    struct timespec ts;
    timespec_get(&ts, TIME_UTC);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

#endif
