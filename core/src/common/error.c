/*
 * error.c - error codes, their texts, and the per-thread last error.
 *
 * The last error lives in a thread-local struct with a fixed message buffer,
 * so recording an error never allocates (out-of-memory included).
 */
#include "common.h"

#include <errno.h>
#include <stdio.h>

#define CELLAR_MSG_MAX 512

typedef struct {
    cellar_error pub;
    char buf[CELLAR_MSG_MAX];
} thread_error;

static _Thread_local thread_error t_err = { { 0, 0, "" }, { 0 } };

CELLAR_API const char *cellar_strerror(int code)
{
    switch (code) {
#define CELLAR__MSG(name, value, msg) case (value): return msg;
    CELLAR_ERROR_LIST(CELLAR__MSG)
#undef CELLAR__MSG
    default: return "unknown error";
    }
}

CELLAR_API const char *cellar_errname(int code)
{
    switch (code) {
#define CELLAR__NAME(name, value, msg) case (value): return "CELLAR_" #name;
    CELLAR_ERROR_LIST(CELLAR__NAME)
#undef CELLAR__NAME
    default: return "CELLAR_EUNKNOWN";
    }
}

CELLAR_API const cellar_error *cellar_error_last(void)
{
    if (t_err.pub.message == NULL)
        t_err.pub.message = "";
    return &t_err.pub;
}

CELLAR_API void cellar_error_clear(void)
{
    t_err.pub.code = 0;
    t_err.pub.sys_errno = 0;
    t_err.buf[0] = '\0';
    t_err.pub.message = t_err.buf;
}

/* The text of an errno value, thread-safe (strerror may share one buffer
 * between threads). strerror_r returns an int (POSIX) or the text (GNU);
 * _Generic reads whichever this libc declares, without an #ifdef. */
static const char *errno_text_posix(int r, const char *buf) { return r == 0 ? buf : "unknown error"; }
static const char *errno_text_gnu(const char *text, const char *buf) { (void)buf; return text; }
#define ERRNO_TEXT(call, buf) _Generic((call), int: errno_text_posix, default: errno_text_gnu)((call), (buf))

int cellar__err(int code, int sys_errno, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(t_err.buf, sizeof t_err.buf, fmt, ap);
    va_end(ap);
    if (n >= 0 && sys_errno != 0 && (size_t)n < sizeof t_err.buf - 2) {
        char text[128];
        /* a message cut short at the buffer's end is still worth keeping */
        (void)snprintf(t_err.buf + n, sizeof t_err.buf - (size_t)n, ": %s",
                       ERRNO_TEXT(strerror_r(sys_errno, text, sizeof text), text));
    }
    t_err.pub.code = code;
    t_err.pub.sys_errno = sys_errno;
    t_err.pub.message = t_err.buf;
    return code;
}

void cellar__err_oom_note(void)
{
    static const char msg[] = "out of memory";
    memcpy(t_err.buf, msg, sizeof msg);
    t_err.pub.code = CELLAR_ENOMEM;
    t_err.pub.sys_errno = ENOMEM;
    t_err.pub.message = t_err.buf;
}

int cellar__errno_code(int e)
{
    switch (e) {
    case ENOENT: return CELLAR_ENOENT;
    case EACCES: case EPERM: case EROFS: return CELLAR_EACCES;
    case ENOSPC: case EDQUOT: case EFBIG: return CELLAR_ENOSPC;
    case ENOMEM: return CELLAR_ENOMEM;
    case EWOULDBLOCK: return CELLAR_ELOCKED;
    case ELOOP: case EISDIR: case ENOTDIR: case ENAMETOOLONG: case EINVAL: return CELLAR_EINVAL;
    default: return CELLAR_EIO;
    }
}
