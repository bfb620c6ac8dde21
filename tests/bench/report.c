/*
 * report.c - cellar_bench's output: machine info, the ops/s table, the
 * cellardb/peer ratio table, per-store notes, and CSV / JSON files.
 *
 * Tables have one row per workload and one column per store, so adding
 * threads or workloads adds rows, and 9 stores fit in about 115 columns.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include "report.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/statfs.h>
#include <sys/utsname.h>
#include <time.h>
#include <unistd.h>

static const char *const workload_names[W_COUNT] = {
    "fill_random", "read_random", "read_missing", "read_mt", "overwrite", "mixed",
    "scan", "delete_random", "fill_sync", "sync_mt", "size"};

const char *bench_workload_name(int w)
{
    return w >= 0 && w < W_COUNT ? workload_names[w] : "?";
}

/* ---- machine ---------------------------------------------------------------- */

static void trim(char *s)
{
    size_t n = strlen(s);
    while (n > 0 && (s[n - 1] == '\n' || s[n - 1] == ' ' || s[n - 1] == '\t'))
        s[--n] = '\0';
}

static const char *fs_name(long type)
{
    switch ((unsigned long)type) {
    case 0xEF53: return "ext4";
    case 0x01021994: return "tmpfs (fsync is free: fill_sync means nothing)";
    case 0x58465342: return "xfs";
    case 0x9123683E: return "btrfs";
    case 0x794c7630: return "overlayfs";
    case 0x2FC12FC1: return "zfs";
    case 0x6969: return "nfs";
    default: return "other";
    }
}

void bench_machine_info(bench_run *run)
{
    char line[512];
    FILE *f = fopen("/proc/cpuinfo", "r");
    struct utsname u;
    struct statfs sf;
    time_t t = time(NULL);
    struct tm tm;

    snprintf(run->cpu, sizeof run->cpu, "unknown CPU");
    if (f != NULL) {
        while (fgets(line, sizeof line, f) != NULL) {
            if (strncmp(line, "model name", 10) == 0) {
                char *p = strchr(line, ':');
                if (p != NULL) {
                    p++;
                    while (*p == ' ')
                        p++;
                    trim(p);
                    snprintf(run->cpu, sizeof run->cpu, "%s", p);
                }
                break;
            }
        }
        fclose(f);
    }
    run->nproc = sysconf(_SC_NPROCESSORS_ONLN);
    run->mem_bytes = (uint64_t)sysconf(_SC_PHYS_PAGES) * (uint64_t)sysconf(_SC_PAGESIZE);
    if (uname(&u) == 0)
        snprintf(run->kernel, sizeof run->kernel, "%s %s", u.sysname, u.release);
    gmtime_r(&t, &tm);
    strftime(run->date, sizeof run->date, "%Y-%m-%d %H:%M:%S UTC", &tm);
    snprintf(run->fs, sizeof run->fs, "%s",
             statfs(run->dir, &sf) == 0 ? fs_name((long)sf.f_type) : "unknown");
    getloadavg(run->load_start, 3);
}

/* ---- text ------------------------------------------------------------------- */

#define COLW 10

static double ops_per_sec(const bench_result *r)
{
    return r->seconds > 0 ? (double)r->ops / r->seconds : 0.0;
}

static void fmt_rate(char *out, size_t cap, double v)
{
    if (v >= 1e6)
        snprintf(out, cap, "%.2fM", v / 1e6);
    else if (v >= 1e4)
        snprintf(out, cap, "%.1fk", v / 1e3);
    else
        snprintf(out, cap, "%.0f", v);
}

static const char *status_cell(int status)
{
    switch (status) {
    case R_SKIPPED: return "skip";
    case R_FAILED: return "FAIL";
    default: return "-";
    }
}

static int cellar_index(const bench_run *run)
{
    int i;
    for (i = 0; i < run->nstores; i++)
        if (strcmp(run->stores[i].be->name, "cellardb") == 0)
            return i;
    return -1;
}

static void header_row(const bench_run *run, FILE *f, const char *title, int skip)
{
    int i;
    fprintf(f, "%-16s", title);
    for (i = 0; i < run->nstores; i++)
        if (i != skip)
            fprintf(f, " %*.*s", COLW, COLW, run->stores[i].be->name);
    fprintf(f, "\n");
}

static void row_label(const bench_run *run, FILE *f, int w)
{
    char label[40];
    int threads = 0, i;
    for (i = 0; i < run->nstores; i++)
        if (run->stores[i].r[w].threads > threads)
            threads = run->stores[i].r[w].threads;
    if (w == W_READ_MT || w == W_MIXED || w == W_SYNC_MT)
        snprintf(label, sizeof label, "%s x%d", workload_names[w],
                 threads > 0 ? threads : run->threads);
    else
        snprintf(label, sizeof label, "%s", workload_names[w]);
    fprintf(f, "%-16s", label);
}

static void mib(char *out, size_t cap, uint64_t bytes)
{
    snprintf(out, cap, "%.1f", (double)bytes / 1048576.0);
}

void bench_report_text(const bench_run *run, FILE *f)
{
    uint64_t raw = run->n * (uint64_t)(run->key_size + run->value_size);
    int ci = cellar_index(run), i, w;
    char cell[64];

    fprintf(f, "\ncellar_bench: N=%llu records, key %zu B + value %zu B (raw %.1f MiB), "
               "fill_sync %llu commits, threads %d\n",
            (unsigned long long)run->n, run->key_size, run->value_size,
            (double)raw / 1048576.0, (unsigned long long)run->sync_ops, run->threads);
    fprintf(f, "machine: %ld CPUs (nproc), %s, %.1f GiB RAM, %s; %s\n", run->nproc, run->cpu,
            (double)run->mem_bytes / 1073741824.0, run->kernel, run->date);
    fprintf(f, "files: %s on %s; load average %.2f %.2f %.2f at start, %.2f %.2f %.2f at end\n",
            run->dir, run->fs, run->load_start[0], run->load_start[1], run->load_start[2],
            run->load_end[0], run->load_end[1], run->load_end[2]);
    if (run->cache_bytes)
        fprintf(f, "cache budget: %.1f MiB (--cache) for the stores with their own cache; ",
                (double)run->cache_bytes / 1048576.0);
    else
        fprintf(f, "cache: every store's own default; ");
    fprintf(f, "reads %s an untimed warm-up pass", run->warm ? "after" : "without");
    if (run->repeat > 1)
        fprintf(f, "; best of %d rounds", run->repeat);
    fprintf(f, "\n");

    fprintf(f, "\nops/s (higher is better)\n");
    header_row(run, f, "workload", -1);
    for (w = 0; w < W_COUNT; w++) {
        if (!run->selected[w] || w == W_SIZE)
            continue;
        row_label(run, f, w);
        for (i = 0; i < run->nstores; i++) {
            const bench_result *r = &run->stores[i].r[w];
            if (r->status == R_OK)
                fmt_rate(cell, sizeof cell, ops_per_sec(r));
            else
                snprintf(cell, sizeof cell, "%s", status_cell(r->status));
            fprintf(f, " %*s", COLW, cell);
        }
        fprintf(f, "\n");
    }
    if (run->selected[W_SIZE]) {
        fprintf(f, "%-16s", "size MiB");
        for (i = 0; i < run->nstores; i++) {
            const bench_result *r = &run->stores[i].r[W_SIZE];
            if (r->status == R_OK)
                mib(cell, sizeof cell, r->bytes);
            else
                snprintf(cell, sizeof cell, "%s", status_cell(r->status));
            fprintf(f, " %*s", COLW, cell);
        }
        fprintf(f, "\n%-16s", "size / raw");
        for (i = 0; i < run->nstores; i++) {
            const bench_result *r = &run->stores[i].r[W_SIZE];
            if (r->status == R_OK)
                snprintf(cell, sizeof cell, "%.2f", (double)r->bytes / (double)raw);
            else
                snprintf(cell, sizeof cell, "%s", status_cell(r->status));
            fprintf(f, " %*s", COLW, cell);
        }
        fprintf(f, "\n");
    }

    if (ci >= 0 && run->nstores > 1) {
        const bench_store_run *c = &run->stores[ci];
        fprintf(f, "\ncellardb / peer, same run (ops/s: > 1 = cellardb faster; "
                   "size: < 1 = cellardb smaller)\n");
        header_row(run, f, "workload", ci);
        for (w = 0; w < W_COUNT; w++) {
            if (!run->selected[w])
                continue;
            if (w == W_SIZE)
                fprintf(f, "%-16s", "size");
            else
                row_label(run, f, w);
            for (i = 0; i < run->nstores; i++) {
                const bench_result *r = &run->stores[i].r[w];
                if (i == ci)
                    continue;
                if (r->status != R_OK || c->r[w].status != R_OK)
                    snprintf(cell, sizeof cell, "%s",
                             r->status != R_OK ? status_cell(r->status) : "-");
                else if (w == W_SIZE)
                    snprintf(cell, sizeof cell, "%.2f",
                             r->bytes ? (double)c->r[w].bytes / (double)r->bytes : 0.0);
                else
                    snprintf(cell, sizeof cell, "%.2f",
                             ops_per_sec(r) > 0 ? ops_per_sec(&c->r[w]) / ops_per_sec(r) : 0.0);
                fprintf(f, " %*s", COLW, cell);
            }
            fprintf(f, "\n");
        }
    }

    fprintf(f, "\nstores (version; cache; non-durable / durable mode; threads):\n");
    for (i = 0; i < run->nstores; i++) {
        const bench_backend *be = run->stores[i].be;
        fprintf(f, "  %-12s %s; %s; %s; %s\n", be->name, be->version(), be->cache_note,
                be->mode_note, be->mt_note);
    }
    for (i = 0; i < run->nstores; i++) {
        const bench_store_run *s = &run->stores[i];
        int skipped = 0;
        for (w = 0; w < W_COUNT; w++) {
            if (s->r[w].status == R_FAILED)
                fprintf(f, "  %s %s FAILED: %s\n", s->be->name, workload_names[w],
                        s->r[w].note);
        }
        for (w = 0; w < W_COUNT; w++) {
            if (s->r[w].status != R_SKIPPED)
                continue;
            if (!skipped)
                fprintf(f, "  %s skipped", s->be->name);
            fprintf(f, "%s %s", skipped ? "," : "", workload_names[w]);
            skipped = 1;
        }
        if (skipped)
            fprintf(f, ": %s\n", s->be->mt_note);
    }
#ifdef BENCH_MISSING_STORES
    if (BENCH_MISSING_STORES[0] != '\0')
        fprintf(f, "  not built (library missing at build time): %s\n", BENCH_MISSING_STORES);
#endif
}

/* ---- CSV and JSON -------------------------------------------------------------- */

static FILE *open_out(const char *path)
{
    FILE *f = strcmp(path, "-") == 0 ? stdout : fopen(path, "w");
    if (f == NULL)
        fprintf(stderr, "cellar_bench: cannot write %s\n", path);
    return f;
}

static int close_out(FILE *f)
{
    if (f == stdout)
        return fflush(f) == 0 ? 0 : -1;
    return fclose(f) == 0 ? 0 : -1;
}

static const char *status_name(int s)
{
    switch (s) {
    case R_OK: return "ok";
    case R_SKIPPED: return "skipped";
    case R_FAILED: return "failed";
    default: return "not_run";
    }
}

/* cellardb/peer for one result, or a negative number when there is none. */
static double ratio_of(const bench_run *run, int i, int w)
{
    int ci = cellar_index(run);
    const bench_result *c, *r = &run->stores[i].r[w];
    if (ci < 0)
        return -1;
    c = &run->stores[ci].r[w];
    if (c->status != R_OK || r->status != R_OK)
        return -1;
    if (w == W_SIZE)
        return r->bytes ? (double)c->bytes / (double)r->bytes : -1;
    return ops_per_sec(r) > 0 ? ops_per_sec(c) / ops_per_sec(r) : -1;
}

static void csv_str(FILE *f, const char *s)
{
    fputc('"', f);
    for (; *s; s++) {
        if (*s == '"')
            fputc('"', f);
        fputc(*s, f);
    }
    fputc('"', f);
}

int bench_report_csv(const bench_run *run, const char *path)
{
    uint64_t raw = run->n * (uint64_t)(run->key_size + run->value_size);
    FILE *f = open_out(path);
    int i, w;
    if (f == NULL)
        return -1;
    fprintf(f, "store,version,workload,threads,ops,seconds,ops_per_sec,bytes,size_over_raw,"
               "cellardb_over_store,status,note\n");
    for (i = 0; i < run->nstores; i++) {
        const bench_backend *be = run->stores[i].be;
        for (w = 0; w < W_COUNT; w++) {
            const bench_result *r = &run->stores[i].r[w];
            double ratio = ratio_of(run, i, w);
            if (!run->selected[w])
                continue;
            fprintf(f, "%s,", be->name);
            csv_str(f, be->version());
            fprintf(f, ",%s,%d,%llu,%.6f,", workload_names[w], r->threads,
                    (unsigned long long)r->ops, r->seconds);
            if (w == W_SIZE)
                fprintf(f, ",%llu,%.4f,", (unsigned long long)r->bytes,
                        (double)r->bytes / (double)raw);
            else
                fprintf(f, "%.1f,,,", ops_per_sec(r));
            if (ratio >= 0)
                fprintf(f, "%.4f", ratio);
            fprintf(f, ",%s,", status_name(r->status));
            csv_str(f, r->note);
            fprintf(f, "\n");
        }
    }
    return close_out(f);
}

static void json_str(FILE *f, const char *s)
{
    fputc('"', f);
    for (; *s; s++) {
        unsigned char ch = (unsigned char)*s;
        if (ch == '"' || ch == '\\')
            fprintf(f, "\\%c", ch);
        else if (ch < 0x20)
            fprintf(f, "\\u%04x", ch);
        else
            fputc(ch, f);
    }
    fputc('"', f);
}

int bench_report_json(const bench_run *run, const char *path)
{
    uint64_t raw = run->n * (uint64_t)(run->key_size + run->value_size);
    FILE *f = open_out(path);
    int i, w, first = 1;
    if (f == NULL)
        return -1;
    fprintf(f, "{\n  \"machine\": {\"nproc\": %ld, \"cpu\": ", run->nproc);
    json_str(f, run->cpu);
    fprintf(f, ", \"mem_bytes\": %llu, \"kernel\": ", (unsigned long long)run->mem_bytes);
    json_str(f, run->kernel);
    fprintf(f, ", \"date\": ");
    json_str(f, run->date);
    fprintf(f, ", \"filesystem\": ");
    json_str(f, run->fs);
    fprintf(f, ", \"load_start\": [%.2f, %.2f, %.2f], \"load_end\": [%.2f, %.2f, %.2f]},\n",
            run->load_start[0], run->load_start[1], run->load_start[2], run->load_end[0],
            run->load_end[1], run->load_end[2]);
    fprintf(f, "  \"config\": {\"records\": %llu, \"key_size\": %zu, \"value_size\": %zu, "
               "\"raw_bytes\": %llu, \"sync_ops\": %llu, \"threads\": %d, \"cache_bytes\": %zu, "
               "\"tkrzw_buckets\": %llu, \"warm\": %s, \"repeat\": %d},\n",
            (unsigned long long)run->n, run->key_size, run->value_size,
            (unsigned long long)raw, (unsigned long long)run->sync_ops, run->threads,
            run->cache_bytes, (unsigned long long)run->tkrzw_buckets,
            run->warm ? "true" : "false", run->repeat);
    fprintf(f, "  \"stores\": [\n");
    for (i = 0; i < run->nstores; i++) {
        const bench_backend *be = run->stores[i].be;
        fprintf(f, "    {\"name\": ");
        json_str(f, be->name);
        fprintf(f, ", \"version\": ");
        json_str(f, be->version());
        fprintf(f, ", \"cache\": ");
        json_str(f, be->cache_note);
        fprintf(f, ", \"modes\": ");
        json_str(f, be->mode_note);
        fprintf(f, ", \"threads\": ");
        json_str(f, be->mt_note);
        fprintf(f, "}%s\n", i + 1 < run->nstores ? "," : "");
    }
    fprintf(f, "  ],\n  \"results\": [\n");
    for (i = 0; i < run->nstores; i++) {
        for (w = 0; w < W_COUNT; w++) {
            const bench_result *r = &run->stores[i].r[w];
            double ratio = ratio_of(run, i, w);
            if (!run->selected[w])
                continue;
            fprintf(f, "%s    {\"store\": ", first ? "" : ",\n");
            first = 0;
            json_str(f, run->stores[i].be->name);
            fprintf(f, ", \"workload\": ");
            json_str(f, workload_names[w]);
            fprintf(f, ", \"status\": ");
            json_str(f, status_name(r->status));
            if (w == W_SIZE)
                fprintf(f, ", \"bytes\": %llu, \"size_over_raw\": %.4f",
                        (unsigned long long)r->bytes, (double)r->bytes / (double)raw);
            else
                fprintf(f, ", \"threads\": %d, \"ops\": %llu, \"seconds\": %.6f, "
                           "\"ops_per_sec\": %.1f",
                        r->threads, (unsigned long long)r->ops, r->seconds, ops_per_sec(r));
            if (ratio >= 0)
                fprintf(f, ", \"cellardb_over_store\": %.4f", ratio);
            if (r->note[0] != '\0') {
                fprintf(f, ", \"note\": ");
                json_str(f, r->note);
            }
            fprintf(f, "}");
        }
    }
    fprintf(f, "\n  ]\n}\n");
    return close_out(f);
}
