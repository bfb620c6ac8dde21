/*
 * cli.h - shared by the files of the `cellardb` command-line program.
 *
 * main.c parses the command line and runs the commands; codec.c turns
 * arguments into bytes and bytes into output (raw, --hex, --escape);
 * progress.c draws progress on a terminal; bench.c is `cellardb bench`.
 * The program uses only the public API (cellardb.h).
 */
#ifndef CELLAR_CLI_H
#define CELLAR_CLI_H

#include "cellardb.h"

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

/* Exit codes: documented in `cellardb --help` (keep main.c's text in step). */
enum {
    EXIT_OK_ = 0,
    EXIT_NOTFOUND = 1,  /* key not found */
    EXIT_USAGE = 2,     /* bad command line */
    EXIT_ERROR = 3,     /* any other error */
    EXIT_CORRUPT = 4,   /* corrupt file, or check found problems */
    EXIT_NAN = 5,       /* incr/decr: not an integer, or overflow */
    EXIT_LOCKED = 6,    /* another process holds the database */
    EXIT_INTERRUPTED = 130
};

/* How keys and values are written on the command line and printed. */
typedef enum cli_codec {
    CODEC_RAW,    /* bytes as they are */
    CODEC_HEX,    /* two hex digits per byte */
    CODEC_ESCAPE  /* C-style: \n \t \r \0 \\ \xHH; other bytes as they are */
} cli_codec;

/** A byte buffer owned by the caller (free data with free()). */
typedef struct cli_bytes {
    unsigned char *data;
    size_t len;
} cli_bytes;

/** Decode text (len bytes) given in codec into out. 0, or -1 with a message in err. */
int cli_decode(cli_codec codec, const char *text, size_t len, cli_bytes *out, char *err, size_t errlen);

/** Write bytes encoded with codec to f. For CODEC_RAW, line_safe escapes
 * what would break a line-based listing (as CODEC_ESCAPE). 0 or EOF. */
int cli_write(FILE *f, cli_codec codec, const void *data, size_t len, int line_safe);

/** Read all of stdin into out. 0 or -1 (errno set). */
int cli_read_stdin(cli_bytes *out);

/* ---- progress on a terminal ---- */

typedef struct cli_progress {
    const char *label;   /* "load", "compact", ... */
    int bytes;           /* units are bytes (show MiB) rather than records */
    int enabled;         /* stderr is a terminal (or --progress) and not --quiet */
    int plain;           /* not a terminal: whole lines, once a second, no escapes */
    uint64_t start_ns, last_ns;
    int drawn;
} cli_progress;

/** Set up p; it draws only if stderr is a terminal (or cli_force_progress)
 * and quiet is 0. */
void cli_progress_init(cli_progress *p, const char *label, int bytes, int quiet);
/** A cellar_progress_fn: payload is a cli_progress. Returns 1 after Ctrl-C. */
int cli_progress_cb(uint64_t done, uint64_t total, void *payload);
/** Erase the progress line (if one was drawn). */
void cli_progress_done(cli_progress *p);
/** Monotonic time in ns. */
uint64_t cli_now_ns(void);
/** Set once SIGINT arrives (long operations stop at the next progress call). */
extern volatile int cli_interrupted;
/** --progress: draw progress (as plain lines) even when stderr is not a terminal. */
extern int cli_force_progress;

/* ---- bench ---- */

/** `cellardb bench [N]`: returns an exit code. */
int cli_bench(uint64_t n, const cellar_options *base, int quiet);

#endif
