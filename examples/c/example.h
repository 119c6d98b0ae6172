/*
 * example.h - helpers shared by the C examples: stop with distarr's own message when a call
 * fails, and the line the test harness expects from every rank in check mode.
 * Each example defines EXAMPLE_NAME before including this file.
 */
#ifndef DISTARR_EXAMPLE_H
#define DISTARR_EXAMPLE_H

#include <distarr.h>

#include <stdio.h>
#include <stdlib.h>

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

#endif
