/*
 * main.c - `cellardb`, the command-line program of cellardb.
 *
 *   cellardb [OPTIONS] FILE COMMAND [ARGS...]
 *   cellardb [OPTIONS] bench [N]
 *   cellardb help [COMMAND] | --help | --version
 *
 * Options may appear anywhere on the line (before "--"); a lone "-" and
 * negative numbers ("-5") are arguments, not options. Each command opens the
 * database with the least it needs: read-only for commands that only read
 * (so they can run beside other readers), read-write for the others, and
 * creating the file only for put, load and incr/decr.
 *
 * Output goes to stdout, errors to stderr ("cellardb: get: <message>
 * [CELLAR_E...]", the message from cellar_error_last()), and the exit status
 * says what happened (see exit_help below and cli.h).
 */
#include "cli.h"

#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

typedef struct cli {
    const char *file;
    const char *cmd;
    char **args;
    int nargs;
    int readonly, quiet, keys_only;
    int sync;
    size_t cache_size;
    cli_codec codec;
    const char *prefix, *salvage;
    uint64_t ttl;
    int ttl_set;
} cli;

typedef struct command {
    const char *name;
    int min_args, max_args;
    int mode; /* OPEN_READ, OPEN_WRITE, OPEN_CREATE, OPEN_NONE */
    int (*run)(cli *c, cellar_db *db);
    const char *synopsis;
    const char *help;
} command;

enum { OPEN_READ, OPEN_WRITE, OPEN_CREATE, OPEN_NONE };

static const char *prog = "cellardb";

static const char exit_help[] =
    "Exit status:\n"
    "  0    success (exists: the key exists)\n"
    "  1    key not found (get, del, exists, ttl, expire, persist)\n"
    "  2    usage error (bad command line, bad --hex/--escape text)\n"
    "  3    any other error (I/O, read-only, too large, no such file, ...)\n"
    "  4    the database is corrupt, or check found problems\n"
    "  5    incr/decr: the value is not an integer, or the result overflows\n"
    "  6    the database is locked by another process\n"
    "  130  interrupted (Ctrl-C) during a long operation\n";

/* ------------------------------------------------------------------------ */
/* Errors                                                                    */
/* ------------------------------------------------------------------------ */

static int exit_for(int rc)
{
    switch (rc) {
    case CELLAR_OK: return EXIT_OK_;
    case CELLAR_ENOTFOUND: return EXIT_NOTFOUND;
    case CELLAR_ECORRUPT: return EXIT_CORRUPT;
    case CELLAR_ENAN:
    case CELLAR_EOVERFLOW: return EXIT_NAN;
    case CELLAR_ELOCKED:
    case CELLAR_EBUSY: return EXIT_LOCKED;
    case CELLAR_ECANCELED: return cli_interrupted ? EXIT_INTERRUPTED : EXIT_ERROR;
    default: return EXIT_ERROR;
    }
}

/* Report a failed library call on stderr; returns the exit status. */
static int fail(int rc, const char *what)
{
    const cellar_error *e = cellar_error_last();
    const char *msg = (e->code == rc && e->message && e->message[0]) ? e->message : cellar_strerror(rc);
    if (rc == CELLAR_ECANCELED && cli_interrupted)
        msg = "interrupted";
    (void)fprintf(stderr, "%s: %s: %s [%s]\n", prog, what, msg, cellar_errname(rc));
    return exit_for(rc);
}

static int usage_error(const char *fmt, const char *arg)
{
    (void)fprintf(stderr, "%s: ", prog);
    (void)fprintf(stderr, fmt, arg);
    (void)fprintf(stderr, "\n(run '%s --help' for usage)\n", prog);
    return EXIT_USAGE;
}

static int out_error(void)
{
    (void)fprintf(stderr, "%s: cannot write output: %s\n", prog, strerror(errno));
    return EXIT_ERROR;
}

/* ------------------------------------------------------------------------ */
/* Arguments                                                                 */
/* ------------------------------------------------------------------------ */

/* Decode argument i with the chosen codec; 0 or an exit status. */
static int arg_bytes(cli *c, int i, const char *what, cli_bytes *out)
{
    char err[128];
    const char *a = c->args[i];
    if (cli_decode(c->codec, a, strlen(a), out, err, sizeof err) != 0) {
        (void)fprintf(stderr, "%s: %s: %s\n", prog, what, err);
        return EXIT_USAGE;
    }
    return 0;
}

/* A value argument: "-" reads standard input (decoded with the codec too,
 * a trailing newline dropped for --hex and --escape). */
static int value_arg(cli *c, int i, cli_bytes *out)
{
    if (strcmp(c->args[i], "-") != 0)
        return arg_bytes(c, i, "value", out);
    cli_bytes raw;
    if (cli_read_stdin(&raw) != 0) {
        (void)fprintf(stderr, "%s: reading standard input: %s\n", prog, strerror(errno));
        return EXIT_ERROR;
    }
    if (c->codec == CODEC_RAW) {
        *out = raw;
        return 0;
    }
    while (raw.len && (raw.data[raw.len - 1] == '\n' || raw.data[raw.len - 1] == '\r'))
        raw.len--;
    char err[128];
    int bad = cli_decode(c->codec, (const char *)raw.data, raw.len, out, err, sizeof err);
    free(raw.data);
    if (bad) {
        (void)fprintf(stderr, "%s: value on standard input: %s\n", prog, err);
        return EXIT_USAGE;
    }
    return 0;
}

static int parse_i64(const char *s, int64_t *out)
{
    char *end;
    errno = 0;
    long long v = strtoll(s, &end, 10);
    if (errno || end == s || *end)
        return -1;
    *out = v;
    return 0;
}

static int parse_u64(const char *s, uint64_t *out)
{
    char *end;
    if (*s == '-' || *s == '\0')
        return -1;
    errno = 0;
    unsigned long long v = strtoull(s, &end, 10);
    if (errno || end == s || *end)
        return -1;
    *out = v;
    return 0;
}

/* "64M", "1G", "65536", "512KiB" */
static int parse_size(const char *s, size_t *out)
{
    char *end;
    if (*s == '-')
        return -1;
    errno = 0;
    unsigned long long v = strtoull(s, &end, 10);
    if (errno || end == s)
        return -1;
    unsigned long long mul = 1;
    switch (*end) {
    case 'k': case 'K': mul = 1ull << 10; end++; break;
    case 'm': case 'M': mul = 1ull << 20; end++; break;
    case 'g': case 'G': mul = 1ull << 30; end++; break;
    default: break;
    }
    if (mul > 1 && (strcmp(end, "iB") == 0 || strcmp(end, "B") == 0))
        end += strlen(end);
    if (*end || (v && mul > ULLONG_MAX / v) || v * mul > SIZE_MAX)
        return -1;
    *out = (size_t)(v * mul);
    return 0;
}

/* ------------------------------------------------------------------------ */
/* Commands                                                                  */
/* ------------------------------------------------------------------------ */

/* Print a value: raw bytes exactly (a newline added only on a terminal), or
 * encoded with a newline. */
static int print_value(cli *c, const void *v, size_t len)
{
    if (cli_write(stdout, c->codec, v, len, 0) == EOF)
        return out_error();
    if (c->codec != CODEC_RAW || isatty(1))
        putchar('\n');
    return 0;
}

static int cmd_get(cli *c, cellar_db *db)
{
    cli_bytes k;
    int st = arg_bytes(c, 0, "key", &k);
    if (st)
        return st;
    void *v;
    size_t vl;
    int rc = cellar_get(db, k.data, k.len, &v, &vl);
    free(k.data);
    if (rc)
        return fail(rc, "get");
    st = print_value(c, v, vl);
    cellar_free(v);
    return st;
}

static int cmd_put(cli *c, cellar_db *db)
{
    cli_bytes k, v;
    int st = arg_bytes(c, 0, "key", &k);
    if (st)
        return st;
    if ((st = value_arg(c, 1, &v)) != 0) {
        free(k.data);
        return st;
    }
    int rc = c->ttl_set ? cellar_put_ttl(db, k.data, k.len, v.data, v.len, c->ttl)
                        : cellar_put(db, k.data, k.len, v.data, v.len);
    free(k.data);
    free(v.data);
    return rc ? fail(rc, "put") : 0;
}

/* del, exists, persist: one key, no output but the status */
static int key_op(cli *c, cellar_db *db, const char *what, int (*fn)(cellar_db *, const void *, size_t))
{
    cli_bytes k;
    int st = arg_bytes(c, 0, "key", &k);
    if (st)
        return st;
    int rc = fn(db, k.data, k.len);
    free(k.data);
    return rc ? fail(rc, what) : 0;
}

static int cmd_del(cli *c, cellar_db *db) { return key_op(c, db, "del", cellar_delete); }
static int cmd_persist(cli *c, cellar_db *db) { return key_op(c, db, "persist", cellar_persist); }

static int cmd_exists(cli *c, cellar_db *db)
{
    cli_bytes k;
    int st = arg_bytes(c, 0, "key", &k);
    if (st)
        return st;
    int rc = cellar_exists(db, k.data, k.len);
    free(k.data);
    if (rc != CELLAR_OK && rc != CELLAR_ENOTFOUND)
        return fail(rc, "exists");
    puts(rc == CELLAR_OK ? "yes" : "no");
    return rc == CELLAR_OK ? EXIT_OK_ : EXIT_NOTFOUND;
}

static int cmd_scan(cli *c, cellar_db *db)
{
    cli_bytes prefix = { NULL, 0 };
    char err[128];
    if (c->prefix && cli_decode(c->codec, c->prefix, strlen(c->prefix), &prefix, err, sizeof err)) {
        (void)fprintf(stderr, "%s: --prefix: %s\n", prog, err);
        return EXIT_USAGE;
    }
    cellar_iter *it;
    int rc = cellar_iter_open(&it, db);
    if (rc) {
        free(prefix.data);
        return fail(rc, "scan");
    }
    const void *k, *v;
    size_t kl, vl;
    int st = 0;
    while ((rc = cellar_iter_next(it, &k, &kl, &v, &vl)) == CELLAR_OK) {
        if (prefix.len && (kl < prefix.len || memcmp(k, prefix.data, prefix.len) != 0))
            continue;
        if (cli_write(stdout, c->codec, k, kl, 1) == EOF ||
            (!c->keys_only && (putchar('\t') == EOF || cli_write(stdout, c->codec, v, vl, 1) == EOF)) ||
            putchar('\n') == EOF) {
            st = out_error();
            break;
        }
    }
    cellar_iter_close(it);
    free(prefix.data);
    if (!st && rc != CELLAR_ENOTFOUND)
        st = fail(rc, "scan");
    return st;
}

static int cmd_count(cli *c, cellar_db *db)
{
    (void)c;
    uint64_t n;
    int rc = cellar_count(db, &n);
    if (rc)
        return fail(rc, "count");
    printf("%" PRIu64 "\n", n);
    return 0;
}

static int cmd_stats(cli *c, cellar_db *db)
{
    cellar_stats s;
    memset(&s, 0, sizeof s);
    s.version = CELLAR_STATS_VERSION;
    int rc = cellar_stats_get(db, &s);
    if (rc)
        return fail(rc, "stats");
    uint64_t hits = s.cache_hits, all = s.cache_hits + s.cache_misses;
    printf("file             %s\n", c->file);
    printf("records          %" PRIu64 "\n", s.records);
    printf("file_size        %" PRIu64 " (%.1f MiB)\n", s.file_size, (double)s.file_size / 1048576.0);
    printf("page_size        %" PRIu64 "\n", s.page_size);
    printf("pages            %" PRIu64 "\n", s.pages);
    printf("  bucket         %" PRIu64 "\n", s.bucket_pages);
    printf("  overflow       %" PRIu64 "\n", s.overflow_pages);
    printf("  value          %" PRIu64 "\n", s.value_pages);
    printf("  directory      %" PRIu64 "\n", s.directory_pages);
    printf("  free           %" PRIu64 "\n", s.free_pages);
    printf("global_depth     %" PRIu32 "\n", s.global_depth);
    printf("fill_factor      %.3f\n", s.fill_factor);
    printf("cache_capacity   %" PRIu64 "\n", s.cache_capacity);
    printf("cache_used       %" PRIu64 "\n", s.cache_used);
    printf("cache_hits       %" PRIu64 "\n", s.cache_hits);
    printf("cache_misses     %" PRIu64 "\n", s.cache_misses);
    printf("cache_hit_rate   %.3f\n", all ? (double)hits / (double)all : 0.0);
    printf("wal_size         %" PRIu64 "\n", s.wal_size);
    printf("commits          %" PRIu64 "\n", s.commits);
    printf("checkpoints      %" PRIu64 "\n", s.checkpoints);
    return 0;
}

static void on_problem(uint64_t page, const char *message, void *payload)
{
    uint64_t *n = payload;
    (*n)++;
    if (page)
        printf("page %" PRIu64 ": %s\n", page, message);
    else
        printf("%s\n", message);
}

typedef struct check_ctx {
    uint64_t problems;
    cli_progress prog;
} check_ctx;

static void on_problem_ctx(uint64_t page, const char *message, void *payload)
{
    check_ctx *x = payload;
    cli_progress_done(&x->prog); /* do not print over the progress line */
    x->prog.drawn = 0;
    on_problem(page, message, &x->problems);
}

static int progress_ctx(uint64_t done, uint64_t total, void *payload)
{
    return cli_progress_cb(done, total, &((check_ctx *)payload)->prog);
}

static int cmd_check(cli *c, cellar_db *db)
{
    if (c->salvage) {
        cli_progress p;
        cli_progress_init(&p, "salvage", 0, c->quiet);
        uint64_t n = 0;
        int rc = cellar_salvage(c->file, c->salvage, cli_progress_cb, &p, &n);
        cli_progress_done(&p);
        if (rc)
            return fail(rc, "check --salvage");
        printf("salvaged %" PRIu64 " records from %s into %s\n", n, c->file, c->salvage);
        return 0;
    }
    check_ctx x;
    memset(&x, 0, sizeof x);
    cli_progress_init(&x.prog, "check", 0, c->quiet);
    uint64_t count = 0;
    int rc = cellar_check(db, on_problem_ctx, progress_ctx, &x, &count);
    cli_progress_done(&x.prog);
    if (rc == CELLAR_OK) {
        uint64_t records = 0;
        cellar_count(db, &records);
        printf("ok: %s: no problems found (%" PRIu64 " records)\n", c->file, records);
        return 0;
    }
    if (rc == CELLAR_ECORRUPT) {
        uint64_t n = count > x.problems ? count : x.problems;
        printf("%s: %" PRIu64 " problem%s found (try: %s %s check --salvage NEW_FILE)\n", c->file, n,
               n == 1 ? "" : "s", prog, c->file);
        return EXIT_CORRUPT;
    }
    return fail(rc, "check");
}

static int cmd_compact(cli *c, cellar_db *db)
{
    cellar_stats before, after;
    memset(&before, 0, sizeof before);
    memset(&after, 0, sizeof after);
    before.version = after.version = CELLAR_STATS_VERSION;
    cellar_stats_get(db, &before);
    cli_progress p;
    cli_progress_init(&p, "compact", 0, c->quiet);
    int rc = cellar_compact(db, cli_progress_cb, &p);
    cli_progress_done(&p);
    if (rc)
        return fail(rc, "compact");
    cellar_stats_get(db, &after);
    if (!c->quiet)
        printf("compacted %s: %" PRIu64 " -> %" PRIu64 " bytes\n", c->file, before.file_size, after.file_size);
    return 0;
}

static int cmd_backup(cli *c, cellar_db *db)
{
    cli_progress p;
    cli_progress_init(&p, "backup", 0, c->quiet);
    int rc = cellar_backup(db, c->args[0], cli_progress_cb, &p);
    cli_progress_done(&p);
    if (rc)
        return fail(rc, "backup");
    if (!c->quiet)
        printf("backed up %s to %s\n", c->file, c->args[0]);
    return 0;
}

static int cmd_dump(cli *c, cellar_db *db)
{
    const char *out = c->nargs ? c->args[0] : "-";
    cli_progress p;
    /* no progress line in the middle of a dump shown on the same terminal */
    cli_progress_init(&p, "dump", 0, c->quiet || (strcmp(out, "-") == 0 && isatty(1)));
    int rc = cellar_dump(db, out, cli_progress_cb, &p);
    cli_progress_done(&p);
    return rc ? fail(rc, "dump") : 0;
}

static int cmd_load(cli *c, cellar_db *db)
{
    const char *in = c->nargs ? c->args[0] : "-";
    cli_progress p;
    cli_progress_init(&p, "load", 1, c->quiet);
    uint64_t t0 = cli_now_ns();
    int rc = cellar_load(db, in, cli_progress_cb, &p);
    cli_progress_done(&p);
    if (rc)
        return fail(rc, "load");
    uint64_t n = 0;
    if (!c->quiet && cellar_count(db, &n) == CELLAR_OK)
        printf("loaded %s into %s in %.2fs: %" PRIu64 " records now\n", strcmp(in, "-") ? in : "<stdin>",
               c->file, (double)(cli_now_ns() - t0) / 1e9, n);
    return 0;
}

static int do_incr(cli *c, cellar_db *db, int sign)
{
    cli_bytes k;
    int64_t delta = 1, out = 0;
    if (c->nargs > 1 && (parse_i64(c->args[1], &delta) || (sign < 0 && delta == INT64_MIN)))
        return usage_error("not an integer delta: '%s'", c->args[1]);
    int st = arg_bytes(c, 0, "key", &k);
    if (st)
        return st;
    int rc = cellar_incr(db, k.data, k.len, sign * delta, &out);
    free(k.data);
    if (rc)
        return fail(rc, sign > 0 ? "incr" : "decr");
    printf("%" PRId64 "\n", out);
    return 0;
}

static int cmd_incr(cli *c, cellar_db *db) { return do_incr(c, db, 1); }
static int cmd_decr(cli *c, cellar_db *db) { return do_incr(c, db, -1); }

static int cmd_ttl(cli *c, cellar_db *db)
{
    cli_bytes k;
    int st = arg_bytes(c, 0, "key", &k);
    if (st)
        return st;
    int64_t ms = 0;
    int rc = cellar_ttl(db, k.data, k.len, &ms);
    free(k.data);
    if (rc)
        return fail(rc, "ttl");
    printf("%" PRId64 "\n", ms);
    return 0;
}

static int cmd_expire(cli *c, cellar_db *db)
{
    uint64_t ms;
    if (parse_u64(c->args[1], &ms))
        return usage_error("not a number of milliseconds: '%s'", c->args[1]);
    cli_bytes k;
    int st = arg_bytes(c, 0, "key", &k);
    if (st)
        return st;
    int rc = cellar_expire(db, k.data, k.len, ms);
    free(k.data);
    return rc ? fail(rc, "expire") : 0;
}

static const command commands[] = {
    { "get", 1, 1, OPEN_READ, cmd_get, "get KEY", "print the value of KEY" },
    { "put", 2, 2, OPEN_CREATE, cmd_put, "put KEY VALUE|- [--ttl MS]",
      "store VALUE (- reads stdin) under KEY [with a TTL]" },
    { "del", 1, 1, OPEN_WRITE, cmd_del, "del KEY", "delete KEY" },
    { "exists", 1, 1, OPEN_READ, cmd_exists, "exists KEY", "print yes or no; exit 0 or 1" },
    { "scan", 0, 0, OPEN_READ, cmd_scan, "scan [--prefix P] [--keys]",
      "list records as KEY<TAB>VALUE lines (escaped)" },
    { "count", 0, 0, OPEN_READ, cmd_count, "count", "print the number of records" },
    { "stats", 0, 0, OPEN_READ, cmd_stats, "stats", "print file, page, cache and log figures" },
    { "check", 0, 0, OPEN_READ, cmd_check, "check [--salvage OUT]",
      "verify every page; --salvage: copy what is readable" },
    { "compact", 0, 0, OPEN_WRITE, cmd_compact, "compact", "rebuild the file without free space" },
    { "backup", 1, 1, OPEN_READ, cmd_backup, "backup DEST", "write a consistent copy to DEST" },
    { "dump", 0, 1, OPEN_READ, cmd_dump, "dump [OUT]", "write every record as text (default: stdout)" },
    { "load", 0, 1, OPEN_CREATE, cmd_load, "load [IN]", "store the records of a dump (default: stdin)" },
    { "incr", 1, 2, OPEN_CREATE, cmd_incr, "incr KEY [DELTA]", "add DELTA (default 1); print the result" },
    { "decr", 1, 2, OPEN_CREATE, cmd_decr, "decr KEY [DELTA]", "subtract DELTA (default 1); print the result" },
    { "ttl", 1, 1, OPEN_READ, cmd_ttl, "ttl KEY", "print the time-to-live left in ms (-1: none)" },
    { "expire", 2, 2, OPEN_WRITE, cmd_expire, "expire KEY MS", "give KEY a time-to-live of MS ms" },
    { "persist", 1, 1, OPEN_WRITE, cmd_persist, "persist KEY", "remove the time-to-live of KEY" },
    { NULL, 0, 0, 0, NULL, NULL, NULL }
};

static const command *find_command(const char *name)
{
    if (strcmp(name, "delete") == 0 || strcmp(name, "rm") == 0)
        name = "del";
    for (const command *c = commands; c->name; c++)
        if (strcmp(c->name, name) == 0)
            return c;
    return NULL;
}

static void print_help(FILE *f)
{
    (void)fprintf(f,
                  "cellardb %s - command-line tool for cellardb databases\n"
                  "\n"
                  "Usage:\n"
                  "  %s [OPTIONS] FILE COMMAND [ARGS...]\n"
                  "  %s [OPTIONS] bench [N]       quick fill/read benchmark on a temporary file\n"
                  "  %s help [COMMAND]\n"
                  "\n"
                  "Commands:\n",
                  cellar_version(), prog, prog, prog);
    for (const command *c = commands; c->name; c++)
        (void)fprintf(f, "  %-27s %s\n", c->synopsis, c->help);
    (void)fprintf(f,
                  "\n"
                  "Options (anywhere on the line; '--' ends them):\n"
                  "  -h, --help          this help, or a command's (cellardb FILE put --help)\n"
                  "  -V, --version       print the version\n"
                  "  -q, --quiet         no progress display or summaries\n"
                  "  --progress          show progress even when stderr is not a terminal\n"
                  "  --readonly          open the database read-only\n"
                  "  --sync MODE         durability: normal (default), full or off\n"
                  "  --cache-size SIZE   page cache budget, e.g. 64M (default: the library's)\n"
                  "  --hex               keys and values are given and printed as hex (\"00ff\")\n"
                  "  --escape            keys and values use C escapes (\\n \\t \\0 \\\\ \\xHH)\n"
                  "  --ttl MS            put: store with a time-to-live of MS milliseconds\n"
                  "  --prefix P          scan: only keys starting with P\n"
                  "  --keys              scan: print keys only\n"
                  "  --salvage OUT       check: copy every readable record into the new file OUT\n"
                  "\n"
                  "Binary data: without --hex/--escape, arguments are taken as they are and get\n"
                  "prints the value's exact bytes (plus a newline only on a terminal). 'put KEY -'\n"
                  "reads the value from standard input.\n"
                  "\n"
                  "%s",
                  exit_help);
}

static void print_command_help(const command *c)
{
    printf("Usage: %s [OPTIONS] FILE %s\n  %s\n\n%s", prog, c->synopsis, c->help, exit_help);
}

/* ------------------------------------------------------------------------ */
/* main                                                                      */
/* ------------------------------------------------------------------------ */

static void on_sigint(int sig)
{
    (void)sig;
    if (cli_interrupted) /* second Ctrl-C: give up at once */
        _exit(EXIT_INTERRUPTED);
    cli_interrupted = 1;
}

/* Options that take a value. */
static const char *const valued[] = { "sync", "cache-size", "ttl", "prefix", "salvage", NULL };

static int set_option(cli *c, const char *name, const char *val, int *help, int *version)
{
    if (strcmp(name, "help") == 0) *help = 1;
    else if (strcmp(name, "version") == 0) *version = 1;
    else if (strcmp(name, "quiet") == 0) c->quiet = 1;
    else if (strcmp(name, "progress") == 0) cli_force_progress = 1;
    else if (strcmp(name, "readonly") == 0) c->readonly = 1;
    else if (strcmp(name, "hex") == 0) c->codec = CODEC_HEX;
    else if (strcmp(name, "escape") == 0) c->codec = CODEC_ESCAPE;
    else if (strcmp(name, "keys") == 0) c->keys_only = 1;
    else if (strcmp(name, "prefix") == 0) c->prefix = val;
    else if (strcmp(name, "salvage") == 0) c->salvage = val;
    else if (strcmp(name, "sync") == 0) {
        if (strcmp(val, "normal") == 0) c->sync = CELLAR_SYNC_NORMAL;
        else if (strcmp(val, "full") == 0) c->sync = CELLAR_SYNC_FULL;
        else if (strcmp(val, "off") == 0) c->sync = CELLAR_SYNC_OFF;
        else return usage_error("--sync must be normal, full or off, not '%s'", val);
    } else if (strcmp(name, "cache-size") == 0) {
        if (parse_size(val, &c->cache_size))
            return usage_error("bad --cache-size '%s' (e.g. 65536, 512K, 64M, 1G)", val);
    } else if (strcmp(name, "ttl") == 0) {
        if (parse_u64(val, &c->ttl))
            return usage_error("bad --ttl '%s' (milliseconds)", val);
        c->ttl_set = 1;
    } else {
        return usage_error("unknown option '--%s'", name);
    }
    return 0;
}

static int run(int argc, char **argv, char **pos)
{
    cli c;
    memset(&c, 0, sizeof c);
    c.sync = CELLAR_SYNC_NORMAL;
    int help = 0, version = 0, npos = 0, st;

    for (int i = 1, opts = 1; i < argc; i++) {
        char *a = argv[i];
        if (opts && strcmp(a, "--") == 0) {
            opts = 0;
        } else if (opts && strncmp(a, "--", 2) == 0) {
            char name[64];
            const char *eq = strchr(a + 2, '='), *val = NULL;
            size_t nl = eq ? (size_t)(eq - a - 2) : strlen(a + 2);
            if (nl >= sizeof name)
                return usage_error("unknown option '%s'", a);
            memcpy(name, a + 2, nl);
            name[nl] = '\0';
            int takes = 0;
            for (int j = 0; valued[j]; j++)
                takes |= strcmp(valued[j], name) == 0;
            if (takes) {
                if (eq)
                    val = eq + 1;
                else if (i + 1 < argc)
                    val = argv[++i];
                else
                    return usage_error("option '%s' needs a value", a);
            } else if (eq) {
                return usage_error("option '%s' takes no value", a);
            }
            if ((st = set_option(&c, name, val, &help, &version)) != 0)
                return st;
        } else if (opts && (strcmp(a, "-h") == 0 || strcmp(a, "-V") == 0 || strcmp(a, "-q") == 0)) {
            if ((st = set_option(&c, a[1] == 'h' ? "help" : a[1] == 'V' ? "version" : "quiet", NULL, &help,
                                 &version)) != 0)
                return st;
        } else {
            pos[npos++] = a;
        }
    }

    if (version) {
        printf("cellardb %s\n", cellar_version());
        return 0;
    }
    if (npos >= 1 && strcmp(pos[0], "help") == 0) {
        const command *cmd = npos >= 2 ? find_command(pos[1]) : NULL;
        if (npos >= 2 && !cmd)
            return usage_error("unknown command '%s'", pos[1]);
        if (cmd)
            print_command_help(cmd);
        else
            print_help(stdout);
        return 0;
    }
    if (npos >= 1 && strcmp(pos[0], "bench") == 0) {
        if (help) {
            printf("Usage: %s [--sync MODE] [--cache-size SIZE] bench [N]\n"
                   "  fill N records (default 100000; 16-byte keys, 100-byte values) into a\n"
                   "  temporary file, then read them back, and print ops/s for each phase.\n",
                   prog);
            return 0;
        }
        uint64_t n = 100000;
        if (npos > 2 || (npos == 2 && (parse_u64(pos[1], &n) || n == 0)))
            return usage_error("usage: bench [N], N a positive number%s", "");
        cellar_options o = CELLAR_OPTIONS_INIT;
        o.sync = c.sync;
        o.cache_size = c.cache_size;
        (void)signal(SIGINT, on_sigint);
        return cli_bench(n, &o, c.quiet);
    }
    if (help && npos < 2) {
        print_help(stdout);
        return 0;
    }
    if (npos < 2) {
        if (npos == 0) {
            print_help(stderr);
            return EXIT_USAGE;
        }
        return usage_error("missing COMMAND after FILE '%s'", pos[0]);
    }

    c.file = pos[0];
    c.cmd = pos[1];
    c.args = pos + 2;
    c.nargs = npos - 2;
    const command *cmd = find_command(c.cmd);
    if (!cmd)
        return usage_error("unknown command '%s'", c.cmd);
    if (help) {
        print_command_help(cmd);
        return 0;
    }
    if (c.nargs < cmd->min_args || c.nargs > cmd->max_args) {
        (void)fprintf(stderr, "%s: %s: wrong number of arguments\nusage: %s FILE %s\n", prog, cmd->name, prog,
                      cmd->synopsis);
        return EXIT_USAGE;
    }
    if (c.prefix && cmd->run != cmd_scan)
        return usage_error("--prefix is only for scan%s", "");
    if (c.keys_only && cmd->run != cmd_scan)
        return usage_error("--keys is only for scan%s", "");
    if (c.salvage && cmd->run != cmd_check)
        return usage_error("--salvage is only for check%s", "");
    if (c.ttl_set && cmd->run != cmd_put)
        return usage_error("--ttl is only for put%s", "");

    (void)signal(SIGINT, on_sigint);
    if (cmd->run == cmd_check && c.salvage)
        return cmd_check(&c, NULL); /* salvage reads the file itself: it may not open */

    cellar_options o = CELLAR_OPTIONS_INIT;
    o.sync = c.sync;
    o.cache_size = c.cache_size;
    if (c.readonly || cmd->mode == OPEN_READ)
        o.flags = CELLAR_RDONLY;
    else
        o.flags = cmd->mode == OPEN_CREATE ? CELLAR_CREATE : 0;
    cellar_db *db;
    int rc = cellar_open(&db, c.file, &o);
    if (rc) {
        /* the library's message names the file already */
        const cellar_error *e = cellar_error_last();
        if (e->code == rc && e->message && strstr(e->message, c.file))
            (void)fprintf(stderr, "%s: %s [%s]\n", prog, e->message, cellar_errname(rc));
        else
            fail(rc, c.file);
        if (rc == CELLAR_ECORRUPT)
            (void)fprintf(stderr, "%s: to copy every readable record into a new file: %s %s check --salvage NEW_FILE\n",
                          prog, prog, c.file);
        return exit_for(rc);
    }
    st = cmd->run(&c, db);
    if (fflush(stdout) == EOF && st == 0)
        st = out_error();
    rc = cellar_close(db);
    if (rc && st == 0)
        st = fail(rc, "close");
    return st;
}

int main(int argc, char **argv)
{
    char **pos = calloc((size_t)argc + 1, sizeof *pos); /* the positional arguments */
    if (!pos) {
        (void)fprintf(stderr, "%s: out of memory\n", prog);
        return EXIT_ERROR;
    }
    int st = run(argc, argv, pos);
    free(pos);
    return st;
}
