/*
 * json.c - the small JSON reader of the conformance runner (see json.h).
 *
 * A recursive-descent parser over one buffer. Containers grow by doubling;
 * depth is bounded by JSON_MAX_DEPTH. On error everything parsed so far is
 * freed and the message names the line.
 */
#include "json.h"

#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

typedef struct parser {
    const char *p, *end, *start;
    char *err;
    size_t errlen;
    int failed;
} parser;

static int fail(parser *ps, const char *fmt, ...)
{
    if (!ps->failed) {
        int line = 1;
        for (const char *q = ps->start; q < ps->p && q < ps->end; q++)
            line += (*q == '\n');
        char msg[160];
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(msg, sizeof msg, fmt, ap);
        va_end(ap);
        if (ps->errlen)
            snprintf(ps->err, ps->errlen, "line %d: %s", line, msg);
        ps->failed = 1;
    }
    return -1;
}

static void skip_ws(parser *ps)
{
    while (ps->p < ps->end && (*ps->p == ' ' || *ps->p == '\t' || *ps->p == '\n' || *ps->p == '\r'))
        ps->p++;
}

static int parse_value(parser *ps, json_val *out, int depth);

/* Append one byte to a growing string buffer. */
static int sb_put(char **buf, size_t *len, size_t *cap, char c)
{
    if (*len + 1 >= *cap) {
        size_t ncap = *cap ? *cap * 2 : 16;
        char *nb = realloc(*buf, ncap);
        if (!nb)
            return -1;
        *buf = nb;
        *cap = ncap;
    }
    (*buf)[(*len)++] = c;
    return 0;
}

static int hex4(parser *ps, unsigned *out)
{
    if (ps->end - ps->p < 4)
        return fail(ps, "short \\u escape");
    unsigned v = 0;
    for (int i = 0; i < 4; i++) {
        char c = *ps->p++;
        v <<= 4;
        if (c >= '0' && c <= '9') v |= (unsigned)(c - '0');
        else if (c >= 'a' && c <= 'f') v |= (unsigned)(c - 'a' + 10);
        else if (c >= 'A' && c <= 'F') v |= (unsigned)(c - 'A' + 10);
        else return fail(ps, "bad \\u escape");
    }
    *out = v;
    return 0;
}

static int put_utf8(char **b, size_t *n, size_t *cap, unsigned cp)
{
    int rc = 0;
    if (cp < 0x80) {
        rc |= sb_put(b, n, cap, (char)cp);
    } else if (cp < 0x800) {
        rc |= sb_put(b, n, cap, (char)(0xC0 | (cp >> 6)));
        rc |= sb_put(b, n, cap, (char)(0x80 | (cp & 0x3F)));
    } else if (cp < 0x10000) {
        rc |= sb_put(b, n, cap, (char)(0xE0 | (cp >> 12)));
        rc |= sb_put(b, n, cap, (char)(0x80 | ((cp >> 6) & 0x3F)));
        rc |= sb_put(b, n, cap, (char)(0x80 | (cp & 0x3F)));
    } else {
        rc |= sb_put(b, n, cap, (char)(0xF0 | (cp >> 18)));
        rc |= sb_put(b, n, cap, (char)(0x80 | ((cp >> 12) & 0x3F)));
        rc |= sb_put(b, n, cap, (char)(0x80 | ((cp >> 6) & 0x3F)));
        rc |= sb_put(b, n, cap, (char)(0x80 | (cp & 0x3F)));
    }
    return rc;
}

/* ps->p is just past the opening quote. */
static int parse_string(parser *ps, char **out, size_t *out_len)
{
    char *b = NULL;
    size_t n = 0, cap = 0;
    for (;;) {
        if (ps->p >= ps->end) {
            free(b);
            return fail(ps, "unterminated string");
        }
        char c = *ps->p++;
        if (c == '"')
            break;
        if ((unsigned char)c < 0x20) {
            free(b);
            return fail(ps, "control character in string");
        }
        if (c != '\\') {
            if (sb_put(&b, &n, &cap, c)) goto oom;
            continue;
        }
        if (ps->p >= ps->end) {
            free(b);
            return fail(ps, "unterminated escape");
        }
        char e = *ps->p++;
        char lit = 0;
        switch (e) {
        case '"': lit = '"'; break;
        case '\\': lit = '\\'; break;
        case '/': lit = '/'; break;
        case 'b': lit = '\b'; break;
        case 'f': lit = '\f'; break;
        case 'n': lit = '\n'; break;
        case 'r': lit = '\r'; break;
        case 't': lit = '\t'; break;
        case 'u': {
            unsigned cp = 0, lo = 0;
            if (hex4(ps, &cp)) { free(b); return -1; }
            if (cp >= 0xD800 && cp <= 0xDBFF) {
                if (ps->end - ps->p < 6 || ps->p[0] != '\\' || ps->p[1] != 'u') {
                    free(b);
                    return fail(ps, "lone surrogate");
                }
                ps->p += 2;
                if (hex4(ps, &lo)) { free(b); return -1; }
                if (lo < 0xDC00 || lo > 0xDFFF) {
                    free(b);
                    return fail(ps, "bad surrogate pair");
                }
                cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
            } else if (cp >= 0xDC00 && cp <= 0xDFFF) {
                free(b);
                return fail(ps, "lone surrogate");
            }
            if (put_utf8(&b, &n, &cap, cp)) goto oom;
            continue;
        }
        default:
            free(b);
            return fail(ps, "bad escape \\%c", e);
        }
        if (sb_put(&b, &n, &cap, lit)) goto oom;
    }
    if (sb_put(&b, &n, &cap, '\0')) goto oom;
    *out = b;
    *out_len = n - 1;
    return 0;
oom:
    free(b);
    return fail(ps, "out of memory");
}

static int parse_number(parser *ps, json_val *out)
{
    int neg = 0;
    uint64_t mag = 0;
    if (ps->p < ps->end && *ps->p == '-') {
        neg = 1;
        ps->p++;
    }
    const char *digits = ps->p;
    while (ps->p < ps->end && *ps->p >= '0' && *ps->p <= '9') {
        unsigned d = (unsigned)(*ps->p - '0');
        if (mag > (UINT64_MAX - d) / 10)
            return fail(ps, "integer out of range");
        mag = mag * 10 + d;
        ps->p++;
    }
    if (ps->p == digits)
        return fail(ps, "expected a value");
    if (ps->p < ps->end && (*ps->p == '.' || *ps->p == 'e' || *ps->p == 'E'))
        return fail(ps, "only integers are supported");
    if ((!neg && mag > (uint64_t)INT64_MAX) || (neg && mag > (uint64_t)INT64_MAX + 1))
        return fail(ps, "integer out of range");
    out->type = JSON_INT;
    out->num = neg ? (int64_t)(0 - mag) : (int64_t)mag;
    return 0;
}

static int grow(json_val **items, char ***keys, size_t n, size_t *cap)
{
    if (n < *cap)
        return 0;
    size_t ncap = *cap ? *cap * 2 : 4;
    json_val *ni = realloc(*items, ncap * sizeof *ni);
    if (!ni)
        return -1;
    *items = ni;
    if (keys) {
        char **nk = realloc(*keys, ncap * sizeof *nk);
        if (!nk)
            return -1;
        *keys = nk;
    }
    *cap = ncap;
    return 0;
}

static int parse_container(parser *ps, json_val *out, int depth, int is_obj)
{
    size_t cap = 0;
    char close = is_obj ? '}' : ']';
    out->type = is_obj ? JSON_OBJ : JSON_ARR;
    skip_ws(ps);
    if (ps->p < ps->end && *ps->p == close) {
        ps->p++;
        return 0;
    }
    for (;;) {
        if (grow(&out->items, is_obj ? &out->keys : NULL, out->len, &cap))
            return fail(ps, "out of memory");
        if (is_obj) {
            skip_ws(ps);
            if (ps->p >= ps->end || *ps->p != '"')
                return fail(ps, "expected a string key");
            ps->p++;
            size_t klen;
            if (parse_string(ps, &out->keys[out->len], &klen))
                return -1;
            skip_ws(ps);
            if (ps->p >= ps->end || *ps->p != ':') {
                free(out->keys[out->len]);
                return fail(ps, "expected ':'");
            }
            ps->p++;
        }
        memset(&out->items[out->len], 0, sizeof out->items[0]);
        if (parse_value(ps, &out->items[out->len], depth + 1)) {
            json_free(&out->items[out->len]);
            if (is_obj)
                free(out->keys[out->len]);
            return -1;
        }
        out->len++;
        skip_ws(ps);
        if (ps->p < ps->end && *ps->p == ',') {
            ps->p++;
            continue;
        }
        if (ps->p < ps->end && *ps->p == close) {
            ps->p++;
            return 0;
        }
        return fail(ps, "expected ',' or '%c'", close);
    }
}

static int match(parser *ps, const char *word)
{
    size_t n = strlen(word);
    if ((size_t)(ps->end - ps->p) < n || memcmp(ps->p, word, n) != 0)
        return 0;
    ps->p += n;
    return 1;
}

static int parse_value(parser *ps, json_val *out, int depth)
{
    if (depth > JSON_MAX_DEPTH)
        return fail(ps, "nesting deeper than %d", JSON_MAX_DEPTH);
    skip_ws(ps);
    if (ps->p >= ps->end)
        return fail(ps, "unexpected end of input");
    char c = *ps->p;
    if (c == '{' || c == '[') {
        ps->p++;
        return parse_container(ps, out, depth, c == '{');
    }
    if (c == '"') {
        ps->p++;
        out->type = JSON_STR;
        return parse_string(ps, &out->str, &out->len);
    }
    if (match(ps, "true")) { out->type = JSON_BOOL; out->num = 1; return 0; }
    if (match(ps, "false")) { out->type = JSON_BOOL; out->num = 0; return 0; }
    if (match(ps, "null")) { out->type = JSON_NULL; return 0; }
    return parse_number(ps, out);
}

int json_parse(json_val *out, const char *text, size_t len, char *err, size_t errlen)
{
    parser ps = { text, text + len, text, err, errlen, 0 };
    memset(out, 0, sizeof *out);
    if (errlen)
        err[0] = '\0';
    if (parse_value(&ps, out, 0) == 0) {
        skip_ws(&ps);
        if (ps.p == ps.end)
            return 0;
        fail(&ps, "trailing characters");
    }
    json_free(out);
    return -1;
}

int json_parse_file(json_val *out, const char *path, char *err, size_t errlen)
{
    FILE *f = fopen(path, "rb");
    if (!f) {
        snprintf(err, errlen, "%s: cannot open", path);
        return -1;
    }
    char *buf = NULL;
    size_t n = 0, cap = 0, got;
    do {
        if (n == cap) {
            cap = cap ? cap * 2 : 65536;
            char *nb = realloc(buf, cap);
            if (!nb) {
                free(buf);
                fclose(f);
                snprintf(err, errlen, "%s: out of memory", path);
                return -1;
            }
            buf = nb;
        }
        got = fread(buf + n, 1, cap - n, f);
        n += got;
    } while (got > 0);
    int bad = ferror(f);
    fclose(f);
    if (bad) {
        free(buf);
        snprintf(err, errlen, "%s: read error", path);
        return -1;
    }
    char msg[200];
    int rc = json_parse(out, buf, n, msg, sizeof msg);
    free(buf);
    if (rc)
        snprintf(err, errlen, "%s: %s", path, msg);
    return rc;
}

void json_free(json_val *v)
{
    if (!v)
        return;
    if (v->type == JSON_STR)
        free(v->str);
    if (v->type == JSON_ARR || v->type == JSON_OBJ) {
        for (size_t i = 0; i < v->len; i++) {
            json_free(&v->items[i]);
            if (v->keys)
                free(v->keys[i]);
        }
        free(v->items);
        free(v->keys);
    }
    memset(v, 0, sizeof *v);
}

const json_val *json_get(const json_val *obj, const char *key)
{
    if (!obj || obj->type != JSON_OBJ)
        return NULL;
    for (size_t i = 0; i < obj->len; i++)
        if (strcmp(obj->keys[i], key) == 0)
            return &obj->items[i];
    return NULL;
}

static void print_str(FILE *f, const char *s, size_t len, size_t max_str)
{
    fputc('"', f);
    size_t n = len > max_str ? max_str : len;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c == '"' || c == '\\') fprintf(f, "\\%c", c);
        else if (c < 0x20) fprintf(f, "\\u%04x", c);
        else fputc(c, f);
    }
    if (n < len)
        fprintf(f, "...(%zu bytes)", len);
    fputc('"', f);
}

void json_print(FILE *f, const json_val *v, size_t max_str)
{
    switch (v->type) {
    case JSON_NULL: fputs("null", f); break;
    case JSON_BOOL: fputs(v->num ? "true" : "false", f); break;
    case JSON_INT: fprintf(f, "%lld", (long long)v->num); break;
    case JSON_STR: print_str(f, v->str, v->len, max_str); break;
    case JSON_ARR:
    case JSON_OBJ:
        fputc(v->type == JSON_ARR ? '[' : '{', f);
        for (size_t i = 0; i < v->len; i++) {
            if (i) fputs(", ", f);
            if (i >= 8) { fputs("...", f); break; }
            if (v->type == JSON_OBJ) {
                print_str(f, v->keys[i], strlen(v->keys[i]), max_str);
                fputs(": ", f);
            }
            json_print(f, &v->items[i], max_str);
        }
        fputc(v->type == JSON_ARR ? ']' : '}', f);
        break;
    }
}
