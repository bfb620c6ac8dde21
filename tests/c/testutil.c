#include "testutil.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#ifndef CELLAR_LONG_TESTS
#define CELLAR_LONG_TESTS 0
#endif

const char *tu_tmpdir(void)
{
    static char dir[512];
    static pid_t owner = 0;
    if (owner != getpid()) {
        const char *base = getenv("CELLAR_TEST_TMP");
        if (!base || !*base)
            base = "/tmp";
        mkdir(base, 0777);
        static unsigned seq = 0;
        snprintf(dir, sizeof dir, "%s/cellar-%d-%u-XXXXXX", base, (int)getpid(), seq++);
        if (!mkdtemp(dir)) {
            perror("mkdtemp");
            abort();
        }
        owner = getpid();
    }
    return dir;
}

const char *tu_path(const char *name)
{
    static char bufs[8][640];
    static int slot = 0;
    char *b = bufs[slot++ & 7];
    snprintf(b, 640, "%s/%s", tu_tmpdir(), name);
    return b;
}

int tu_long(void)
{
    const char *e = getenv("CELLAR_LONG_TESTS");
    return CELLAR_LONG_TESTS || (e && *e && strcmp(e, "0") != 0);
}

int tu_run(Suite *s)
{
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}

uint64_t tu_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

void tu_sleep_ms(unsigned ms)
{
    struct timespec ts = { (time_t)(ms / 1000u), (long)(ms % 1000u) * 1000000L };
    while (nanosleep(&ts, &ts) != 0) {
    }
}
