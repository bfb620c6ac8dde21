/*
 * progress.c - a one-line progress display on stderr for long operations
 * (load, dump, compact, backup, check, bench), drawn only when stderr is a
 * terminal, at most 10 times a second, and erased when the operation ends.
 * With --progress it is also shown when stderr is a file or pipe (a CI log):
 * then as whole lines, at most one a second.
 * Ctrl-C sets cli_interrupted, and the next progress call cancels the
 * operation cleanly (the library returns CELLAR_ECANCELED).
 */
#include "cli.h"

#include <string.h>
#include <time.h>
#include <unistd.h>

volatile int cli_interrupted;
int cli_force_progress;

uint64_t cli_now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

void cli_progress_init(cli_progress *p, const char *label, int bytes, int quiet)
{
    memset(p, 0, sizeof *p);
    p->label = label;
    p->bytes = bytes;
    int tty = isatty(2);
    p->enabled = !quiet && (tty || cli_force_progress);
    p->plain = !tty;
    p->start_ns = cli_now_ns();
}

static void amount(char *buf, size_t n, int bytes, uint64_t v)
{
    if (bytes)
        (void)snprintf(buf, n, "%.1f MiB", (double)v / (1024.0 * 1024.0));
    else
        (void)snprintf(buf, n, "%llu", (unsigned long long)v);
}

int cli_progress_cb(uint64_t done, uint64_t total, void *payload)
{
    cli_progress *p = payload;
    if (cli_interrupted)
        return 1;
    if (!p || !p->enabled)
        return 0;
    uint64_t now = cli_now_ns();
    uint64_t every = p->plain ? 1000000000u : 100000000u; /* a log gets a line a second */
    int finished = total && done >= total;
    if (p->drawn && now - p->last_ns < every && !finished)
        return 0;
    if (p->plain && finished && p->drawn == 2)
        return 0; /* the 100% line once */
    p->last_ns = now;
    p->drawn = 1;
    double secs = (double)(now - p->start_ns) / 1e9;
    char d[32], t[32];
    amount(d, sizeof d, p->bytes, done);
    if (total) {
        amount(t, sizeof t, p->bytes, total);
        int width = 30, pct = (int)(done >= total ? 100 : done * 100 / total);
        int fill = pct * width / 100;
        char bar[32];
        memset(bar, '#', (size_t)fill);
        memset(bar + fill, '-', (size_t)(width - fill));
        bar[width] = '\0';
        if (p->plain)
            (void)fprintf(stderr, "%s: %3d%%  %s / %s  %.1fs\n", p->label, pct, d, t, secs);
        else
            (void)fprintf(stderr, "\r%-8s [%s] %3d%%  %s / %s  %.1fs \x1b[K", p->label, bar, pct, d, t, secs);
        if (finished)
            p->drawn = 2;
    } else if (p->plain) {
        (void)fprintf(stderr, "%s: %s  %.1fs\n", p->label, d, secs);
    } else {
        (void)fprintf(stderr, "\r%-8s %s  %.1fs \x1b[K", p->label, d, secs);
    }
    (void)fflush(stderr);
    return 0;
}

void cli_progress_done(cli_progress *p)
{
    if (p && p->enabled && p->drawn && !p->plain) {
        (void)fputs("\r\x1b[K", stderr);
        (void)fflush(stderr);
    }
}
