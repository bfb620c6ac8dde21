/*
 * report.h - what cellar_bench measured, and how it prints it.
 *
 * The runner (bench.c) fills one bench_result per store and workload; the
 * report (report.c) prints the human table, the ratio table (cellardb over
 * each peer, all measured in the same run), the per-store notes, and the
 * optional CSV / JSON files.
 */
#ifndef CELLAR_BENCH_REPORT_H
#define CELLAR_BENCH_REPORT_H

#include "bench.h"

#include <stdint.h>
#include <stdio.h>

/** Workloads, in the order they run against one store and are printed. */
enum bench_workload {
    W_FILL,     /* fill_random: N puts of new keys into an empty store */
    W_READ,     /* read_random: N gets of present keys, random order */
    W_MISS,     /* read_missing: N gets of absent keys */
    W_READ_MT,  /* read_mt: read_random split over --threads threads */
    W_OVER,     /* overwrite: N puts replacing present keys, random order */
    W_MIXED,    /* mixed: --threads threads, 4 reads per overwrite */
    W_SCAN,     /* scan: iterate every record once */
    W_DELETE,   /* delete_random: N deletes, random order */
    W_SYNC,     /* fill_sync: M durable commits, one thread */
    W_SYNC_MT,  /* sync_mt: fill_sync split over --threads threads */
    W_SIZE,     /* size: bytes on disk after fill_random (closed) */
    W_COUNT
};

enum bench_status { R_NOT_RUN = 0, R_OK, R_SKIPPED, R_FAILED };

typedef struct bench_result {
    int status;          /* enum bench_status */
    int threads;
    uint64_t ops;        /* operations timed */
    double seconds;
    uint64_t bytes;      /* W_SIZE: bytes on disk */
    char note[512];      /* why skipped / what failed */
} bench_result;

typedef struct bench_store_run {
    const bench_backend *be;
    bench_result r[W_COUNT];
} bench_store_run;

typedef struct bench_run {
    /* configuration */
    uint64_t n;
    uint64_t sync_ops;
    size_t key_size;
    size_t value_size;
    int threads;
    size_t cache_bytes;
    uint64_t tkrzw_buckets;
    int warm;
    int repeat;           /* rounds; the best of them is kept */
    const char *dir;
    int selected[W_COUNT];
    /* machine */
    char cpu[128];
    char kernel[2 * 65 + 2];
    char date[64];
    char fs[64];
    long nproc;
    uint64_t mem_bytes;
    double load_start[3];
    double load_end[3];
    /* results */
    bench_store_run *stores;
    int nstores;
} bench_run;

/** The workload's name as --workloads spells it. */
const char *bench_workload_name(int w);

/** Fill the machine fields of run (CPU model, nproc, kernel, date, filesystem). */
void bench_machine_info(bench_run *run);

/** Print the tables and notes to f. */
void bench_report_text(const bench_run *run, FILE *f);

/** Write all results as CSV / JSON to path ("-" = stdout). 0 or -1. */
int bench_report_csv(const bench_run *run, const char *path);
int bench_report_json(const bench_run *run, const char *path);

#endif /* CELLAR_BENCH_REPORT_H */
