/*
 * check.h - the checking helpers shared by the C tests of libdistarr: CHECK/EXPECT/OK count
 * checks and stop with the rank, place and distarr's last error message; the launcher's rank
 * before init; the success line that the workers of sequential mode print at exit.
 */
#ifndef DISTARR_CHECK_H
#define DISTARR_CHECK_H

#include <distarr.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int me = -1; /* rank, from the launcher's environment before init */
static int np = 1;  /* ranks */
static int P = 1;   /* ranks running the program: np in SPMD, 1 in sequential mode */
static int spmd = 1;
static int checks = 0;

static void fail(const char *file, int line, const char *what) {
    fprintf(stderr, "[rank %d] %s:%d: check failed: %s (last error: %s)\n", me, file, line, what,
            distarr_last_error());
    fflush(stderr);
    exit(1);
}

#define CHECK(cond)                                                                           \
    do {                                                                                      \
        checks++;                                                                             \
        if (!(cond)) fail(__FILE__, __LINE__, #cond);                                         \
    } while (0)

/* EXPECT(call, code): the call returns `code`; the message of a failure is non-empty. */
#define EXPECT(call, code)                                                                    \
    do {                                                                                      \
        int rc_ = (call);                                                                     \
        checks++;                                                                             \
        if (rc_ != (code)) {                                                                  \
            fprintf(stderr, "[rank %d] %s:%d: %s returned %d (%s), expected %d (%s)\n", me,   \
                    __FILE__, __LINE__, #call, rc_, distarr_strerror(rc_), (int)(code),       \
                    distarr_strerror(code));                                                  \
            fail(__FILE__, __LINE__, "status code");                                          \
        }                                                                                     \
        if ((code) != DISTARR_OK && strlen(distarr_last_error()) < 10)                        \
            fail(__FILE__, __LINE__, "failure without a message");                            \
    } while (0)
#define OK(call) EXPECT(call, DISTARR_OK)

static int env_rank(void) {
    const char *vars[] = {"OMPI_COMM_WORLD_RANK", "PMI_RANK", "PMIX_RANK"};
    for (size_t i = 0; i < sizeof vars / sizeof vars[0]; i++) {
        const char *v = getenv(vars[i]);
        if (v) return atoi(v);
    }
    return 0;
}

static int worker_expected = 0;
static void worker_exit_marker(void) {
    /* Runs on the workers of sequential mode, which exit(0) inside distarr_init. */
    if (worker_expected) {
        printf("distarr-test: ok rank=%d\n", me);
        fflush(stdout);
    }
}

/* Before init: the launcher's rank, and the success line for the workers of sequential mode
 * (`mode`: DISTARR_MODE_ENV reads DISTARR_MODE like distarr_init). */
static inline void test_start(int32_t mode) {
    me = env_rank();
    const char *env = getenv("DISTARR_MODE");
    int seq = mode == DISTARR_MODE_SEQUENTIAL ||
              (mode == DISTARR_MODE_ENV && env && strcmp(env, "sequential") == 0);
    worker_expected = seq && me != 0;
    atexit(worker_exit_marker);
}

/* distarr_init_mode, then the rank variables (only rank 0 returns in sequential mode). */
static inline void test_init(int *argc, char ***argv, int32_t mode) {
    OK(distarr_init_mode(argc, argv, mode));
    int32_t r, n, m;
    OK(distarr_rank(&r));
    OK(distarr_nranks(&n));
    OK(distarr_mode(&m));
    me = r;
    np = n;
    spmd = m == DISTARR_MODE_SPMD;
    P = spmd ? np : 1;
    CHECK(spmd || me == 0);
}

#endif
