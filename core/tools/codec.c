/*
 * codec.c - keys and values on the command line and in output.
 *
 * Three forms, chosen by the global options:
 *   raw       (default)   the argument's bytes as they are
 *   --hex                 two hex digits per byte ("00ff"); spaces are ignored on input
 *   --escape              C-style escapes: \n \t \r \0 \a \b \f \v \\ \" \' \xHH;
 *                         any other byte stands for itself
 * Output in escape form writes every byte outside printable ASCII as \xHH (or
 * its short escape), so it is plain ASCII and decodes back to the same bytes.
 */
#include "cli.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static int hexval(int c)
{
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

int cli_decode(cli_codec codec, const char *text, size_t len, cli_bytes *out, char *err, size_t errlen)
{
    out->data = malloc(len + 1);
    out->len = 0;
    if (!out->data) {
        (void)snprintf(err, errlen, "out of memory");
        return -1;
    }
    unsigned char *o = out->data;
    const unsigned char *s = (const unsigned char *)text;
    if (codec == CODEC_RAW) {
        memcpy(o, s, len);
        out->len = len;
        return 0;
    }
    if (codec == CODEC_HEX) {
        int hi = -1;
        for (size_t i = 0; i < len; i++) {
            if (s[i] == ' ' || s[i] == '\t' || s[i] == '\n' || s[i] == '\r')
                continue;
            int v = hexval(s[i]);
            if (v < 0) {
                (void)snprintf(err, errlen, "not a hex digit: '%c'", s[i] >= 0x20 && s[i] < 0x7f ? s[i] : '?');
                goto bad;
            }
            if (hi < 0) {
                hi = v;
            } else {
                o[out->len++] = (unsigned char)(hi << 4 | v);
                hi = -1;
            }
        }
        if (hi >= 0) {
            (void)snprintf(err, errlen, "odd number of hex digits");
            goto bad;
        }
        return 0;
    }
    for (size_t i = 0; i < len; i++) {
        if (s[i] != '\\') {
            o[out->len++] = s[i];
            continue;
        }
        if (++i == len) {
            (void)snprintf(err, errlen, "trailing backslash");
            goto bad;
        }
        unsigned char c;
        switch (s[i]) {
        case 'n': c = '\n'; break;
        case 't': c = '\t'; break;
        case 'r': c = '\r'; break;
        case '0': c = '\0'; break;
        case 'a': c = '\a'; break;
        case 'b': c = '\b'; break;
        case 'f': c = '\f'; break;
        case 'v': c = '\v'; break;
        case 'e': c = 0x1b; break;
        case '\\': case '"': case '\'': c = s[i]; break;
        case 'x': {
            int h = i + 1 < len ? hexval(s[i + 1]) : -1, l = i + 2 < len ? hexval(s[i + 2]) : -1;
            if (h < 0 || l < 0) {
                (void)snprintf(err, errlen, "\\x needs two hex digits");
                goto bad;
            }
            c = (unsigned char)(h << 4 | l);
            i += 2;
            break;
        }
        default:
            (void)snprintf(err, errlen, "unknown escape '\\%c'", s[i] >= 0x20 && s[i] < 0x7f ? s[i] : '?');
            goto bad;
        }
        o[out->len++] = c;
    }
    return 0;
bad:
    free(out->data);
    out->data = NULL;
    out->len = 0;
    return -1;
}

static int write_escaped(FILE *f, const unsigned char *p, size_t n)
{
    static const char hex[] = "0123456789abcdef";
    size_t run = 0;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = p[i];
        if (c >= 0x20 && c < 0x7f && c != '\\')
            continue;
        if (i > run && fwrite(p + run, 1, i - run, f) != i - run)
            return EOF;
        char buf[4];
        size_t bl = 2;
        buf[0] = '\\';
        switch (c) {
        case '\\': buf[1] = '\\'; break;
        case '\n': buf[1] = 'n'; break;
        case '\t': buf[1] = 't'; break;
        case '\r': buf[1] = 'r'; break;
        case '\0': buf[1] = '0'; break;
        default:
            buf[1] = 'x';
            buf[2] = hex[c >> 4];
            buf[3] = hex[c & 15];
            bl = 4;
        }
        /* "\0" followed by a digit would still decode right (\0 is one byte), so no special case */
        if (fwrite(buf, 1, bl, f) != bl)
            return EOF;
        run = i + 1;
    }
    if (n > run && fwrite(p + run, 1, n - run, f) != n - run)
        return EOF;
    return 0;
}

int cli_write(FILE *f, cli_codec codec, const void *data, size_t len, int line_safe)
{
    const unsigned char *p = data;
    if (codec == CODEC_HEX) {
        static const char hex[] = "0123456789abcdef";
        for (size_t i = 0; i < len; i++)
            if (putc(hex[p[i] >> 4], f) == EOF || putc(hex[p[i] & 15], f) == EOF)
                return EOF;
        return 0;
    }
    if (codec == CODEC_ESCAPE || line_safe)
        return write_escaped(f, p, len);
    return len && fwrite(p, 1, len, f) != len ? EOF : 0;
}

int cli_read_stdin(cli_bytes *out)
{
    size_t cap = 65536;
    out->len = 0;
    out->data = malloc(cap);
    if (!out->data)
        return -1;
    for (;;) {
        if (out->len == cap) {
            unsigned char *nd = realloc(out->data, cap * 2);
            if (!nd) {
                free(out->data);
                out->data = NULL;
                errno = ENOMEM;
                return -1;
            }
            out->data = nd;
            cap *= 2;
        }
        ssize_t got = read(0, out->data + out->len, cap - out->len);
        if (got == 0)
            return 0;
        if (got < 0) {
            if (errno == EINTR)
                continue;
            free(out->data);
            out->data = NULL;
            return -1;
        }
        out->len += (size_t)got;
    }
}
