/*
 * test_dump.c - cellar_dump / cellar_load: the text format, binary round
 * trips, TTLs, progress and cancel, "-" for stdout/stdin, and bad input.
 */
#include "testutil.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static uint64_t fake_now;
static uint64_t fake_clock(void *payload)
{
    (void)payload;
    return fake_now;
}

static cellar_db *open_db(const char *name)
{
    cellar_db *db;
    cellar_options o = CELLAR_OPTIONS_INIT;
    o.sync = CELLAR_SYNC_OFF;
    TU_OK(cellar_open(&db, tu_path(name), &o));
    return db;
}

static void write_file(const char *path, const char *text)
{
    FILE *f = fopen(path, "wb");
    ck_assert_ptr_nonnull(f);
    ck_assert_uint_eq(fwrite(text, 1, strlen(text), f), strlen(text));
    ck_assert_int_eq(fclose(f), 0);
}

static char *read_file(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    ck_assert_ptr_nonnull(f);
    size_t cap = 1 << 16, n = 0, got;
    char *buf = malloc(cap + 1);
    while ((got = fread(buf + n, 1, cap - n, f)) > 0) {
        n += got;
        if (n == cap)
            buf = realloc(buf, (cap *= 2) + 1);
    }
    fclose(f);
    buf[n] = '\0';
    if (len)
        *len = n;
    return buf;
}

static void expect_value(cellar_db *db, const void *k, size_t kl, const void *v, size_t vl)
{
    void *got;
    size_t gl;
    TU_OK(cellar_get(db, k, kl, &got, &gl));
    ck_assert_uint_eq(gl, vl);
    ck_assert(vl == 0 || memcmp(got, v, vl) == 0);
    cellar_free(got);
}

/* Every record of a is in b with the same value, and the counts agree. */
static void expect_same(cellar_db *a, cellar_db *b)
{
    uint64_t na, nb, seen = 0;
    TU_OK(cellar_count(a, &na));
    TU_OK(cellar_count(b, &nb));
    ck_assert_uint_eq(na, nb);
    cellar_iter *it;
    TU_OK(cellar_iter_open(&it, a));
    const void *k, *v;
    size_t kl, vl;
    int rc;
    while ((rc = cellar_iter_next(it, &k, &kl, &v, &vl)) == CELLAR_OK) {
        expect_value(b, k, kl, v, vl);
        seen++;
    }
    ck_assert_int_eq(rc, CELLAR_ENOTFOUND);
    cellar_iter_close(it);
    ck_assert_uint_eq(seen, na);
}

START_TEST(test_format_exact)
{
    cellar_db *db = open_db("a.db");
    TU_OK(cellar_put(db, "a", 1, "1", 1));
    TU_OK(cellar_put(db, "a b%#\t\n\xff", 8, "", 0));
    const char *dump = tu_path("a.dump");
    TU_OK(cellar_dump(db, dump, NULL, NULL));
    char *text = read_file(dump, NULL);
    const char *header = "cellardb-dump 1\n#";
    ck_assert_msg(strncmp(text, header, strlen(header)) == 0, "header: %s", text);
    ck_assert_msg(strstr(text, "\na\t1\n"), "record a: %s", text);
    ck_assert_msg(strstr(text, "\na b%25%23%09%0A%FF\t\n"), "encoded record: %s", text);
    for (const char *p = text; *p; p++) /* printable ASCII, TAB and LF only */
        ck_assert_msg((*p >= 0x20 && *p < 0x7f) || *p == '\t' || *p == '\n', "byte %02x", (unsigned char)*p);
    free(text);
    cellar_close(db);
}
END_TEST

START_TEST(test_roundtrip_binary)
{
    cellar_db *src = open_db("src.db");
    unsigned char all[256], key[300];
    for (int i = 0; i < 256; i++)
        all[i] = (unsigned char)i;
    TU_OK(cellar_put(src, all, 256, all, 256));
    TU_OK(cellar_put(src, "", 0, "empty key", 9));
    TU_OK(cellar_put(src, "empty value", 11, "", 0));
    TU_OK(cellar_put(src, "\0", 1, "\0\0", 2));
    TU_OK(cellar_put(src, "\r\n", 2, "\r\n\t %", 6));
    TU_OK(cellar_put(src, "utf8 \xd0\xba", 7, "\xe5\x80\xa4", 3));
    size_t big = 200000;
    unsigned char *bigv = malloc(big);
    tu_rng rng = { 42 };
    for (size_t i = 0; i < big; i++)
        bigv[i] = (unsigned char)tu_next(&rng);
    TU_OK(cellar_put(src, "big", 3, bigv, big));
    for (int i = 0; i < 3000; i++) { /* enough for several load batches */
        size_t kl = 1 + tu_below(&rng, sizeof key - 1);
        for (size_t j = 0; j < kl; j++)
            key[j] = (unsigned char)tu_next(&rng);
        TU_OK(cellar_put(src, key, kl, key, kl / 2));
    }
    const char *dump = tu_path("src.dump");
    TU_OK(cellar_dump(src, dump, NULL, NULL));

    cellar_db *dst = open_db("dst.db");
    TU_OK(cellar_load(dst, dump, NULL, NULL));
    expect_same(src, dst);
    expect_same(dst, src);
    expect_value(dst, "big", 3, bigv, big);
    expect_value(dst, "", 0, "empty key", 9);
    expect_value(dst, "empty value", 11, "", 0);
    free(bigv);
    cellar_close(src);
    cellar_close(dst);
}
END_TEST

START_TEST(test_empty_db)
{
    cellar_db *db = open_db("e.db");
    const char *dump = tu_path("e.dump");
    TU_OK(cellar_dump(db, dump, NULL, NULL));
    cellar_db *dst = open_db("e2.db");
    TU_OK(cellar_load(dst, dump, NULL, NULL));
    uint64_t n = 1;
    TU_OK(cellar_count(dst, &n));
    ck_assert_uint_eq(n, 0);
    cellar_close(db);
    cellar_close(dst);
}
END_TEST

START_TEST(test_ttl_preserved)
{
    cellar_db *db;
    cellar_options o = CELLAR_OPTIONS_INIT;
    fake_now = 1700000000000ULL;
    o.clock = fake_clock;
    TU_OK(cellar_open(&db, tu_path("t.db"), &o));
    TU_OK(cellar_put_ttl(db, "soon", 4, "v", 1, 600000));
    TU_OK(cellar_put(db, "forever", 7, "w", 1));
    TU_OK(cellar_put_ttl(db, "gone", 4, "x", 1, 10));
    fake_now += 10; /* "gone" has expired: it is not dumped */
    const char *dump = tu_path("t.dump");
    TU_OK(cellar_dump(db, dump, NULL, NULL));
    char *text = read_file(dump, NULL);
    ck_assert_msg(strstr(text, "\nsoon\tv\texpires="), "%s", text);
    ck_assert_msg(strstr(text, "\nforever\tw\n"), "%s", text);
    ck_assert_msg(!strstr(text, "gone"), "%s", text);
    free(text);

    cellar_db *dst = open_db("t2.db"); /* wall clock */
    TU_OK(cellar_load(dst, dump, NULL, NULL));
    int64_t ttl = 0;
    TU_OK(cellar_ttl(dst, "soon", 4, &ttl));
    ck_assert_msg(ttl > 500000 && ttl <= 600000, "ttl %lld", (long long)ttl);
    TU_OK(cellar_ttl(dst, "forever", 7, &ttl));
    ck_assert_int_eq(ttl, -1);
    TU_RC(cellar_exists(dst, "gone", 4), CELLAR_ENOTFOUND);
    cellar_close(db);
    cellar_close(dst);
}
END_TEST

START_TEST(test_load_handwritten)
{
    const char *in = tu_path("hand.dump");
    write_file(in, "cellardb-dump 1\r\n"
                   "# a comment\n"
                   "\n"
                   "plain\tvalue with spaces\r\n"
                   "raw utf8 \xd0\xba\xd0\xbb\xd1\x8e\xd1\x87\t\xe5\x80\xa4\n"
                   "hex%00%ff\t%41%62c\n"
                   "dup\tfirst\n"
                   "dup\tsecond\n"
                   "\tempty key\n"
                   "expired\tx\texpires=1000\n"
                   "later\ty\texpires=99999999999999\n"
                   "last\tno newline at the end");
    cellar_db *db = open_db("hand.db");
    TU_OK(cellar_load(db, in, NULL, NULL));
    expect_value(db, "plain", 5, "value with spaces", 17);
    expect_value(db, "raw utf8 \xd0\xba\xd0\xbb\xd1\x8e\xd1\x87", 17, "\xe5\x80\xa4", 3);
    expect_value(db, "hex\0\xff", 5, "Abc", 3);
    expect_value(db, "dup", 3, "second", 6);
    expect_value(db, "", 0, "empty key", 9);
    expect_value(db, "last", 4, "no newline at the end", 21);
    TU_RC(cellar_exists(db, "expired", 7), CELLAR_ENOTFOUND);
    int64_t ttl = 0;
    TU_OK(cellar_ttl(db, "later", 5, &ttl));
    ck_assert_int_gt(ttl, 0);
    uint64_t n;
    TU_OK(cellar_count(db, &n));
    ck_assert_uint_eq(n, 7);
    cellar_close(db);
}
END_TEST

static void expect_load_error(const char *text, int code)
{
    const char *in = tu_path("bad.dump");
    write_file(in, text);
    cellar_db *db = open_db("bad.db");
    TU_RC(cellar_load(db, in, NULL, NULL), code);
    ck_assert_str_ne(cellar_error_last()->message, "");
    cellar_close(db);
}

START_TEST(test_load_bad_input)
{
    expect_load_error("", CELLAR_EINVAL);
    expect_load_error("hello\n", CELLAR_EINVAL);
    expect_load_error("cellardb-dump\n", CELLAR_EINVAL);
    expect_load_error("cellardb-dump x\n", CELLAR_EINVAL);
    expect_load_error("cellardb-dump 2\nk\tv\n", CELLAR_EVERSION);
    expect_load_error("cellardb-dump 1\nno tab here\n", CELLAR_EINVAL);
    expect_load_error("cellardb-dump 1\nk%4\tv\n", CELLAR_EINVAL);
    expect_load_error("cellardb-dump 1\nk\tv%zz\n", CELLAR_EINVAL);
    expect_load_error("cellardb-dump 1\nk\tv%\n", CELLAR_EINVAL);
    expect_load_error("cellardb-dump 1\nk\tv\tcolor=red\n", CELLAR_EINVAL);
    expect_load_error("cellardb-dump 1\nk\tv\texpires=12x\n", CELLAR_EINVAL);

    char *big = malloc(CELLAR_MAX_KEY_SIZE + 64);
    strcpy(big, "cellardb-dump 1\n");
    size_t n = strlen(big);
    memset(big + n, 'k', CELLAR_MAX_KEY_SIZE + 1);
    strcpy(big + n + CELLAR_MAX_KEY_SIZE + 1, "\tv\n");
    expect_load_error(big, CELLAR_ETOOBIG);
    free(big);

    cellar_db *db = open_db("nofile.db");
    TU_RC(cellar_load(db, tu_path("does-not-exist.dump"), NULL, NULL), CELLAR_ENOENT);
    TU_RC(cellar_load(NULL, "x", NULL, NULL), CELLAR_EINVAL);
    TU_RC(cellar_load(db, NULL, NULL, NULL), CELLAR_EINVAL);
    TU_RC(cellar_dump(NULL, "x", NULL, NULL), CELLAR_EINVAL);
    TU_RC(cellar_dump(db, tu_path("no/such/dir/x.dump"), NULL, NULL), CELLAR_ENOENT);
    cellar_close(db);
}
END_TEST

/* The errno's text appears once in the message (it used to be appended twice:
 * once by the message's own %s, once by cellar__err for the errno). */
static void expect_errno_text_once(int e)
{
    const char *msg = cellar_error_last()->message, *text = strerror(e);
    const char *first = strstr(msg, text);
    ck_assert_msg(first != NULL, "no \"%s\" in \"%s\"", text, msg);
    ck_assert_msg(strstr(first + strlen(text), text) == NULL, "\"%s\" twice in \"%s\"", text, msg);
}

START_TEST(test_open_error_names_errno_once)
{
    cellar_db *db = open_db("errmsg.db");
    TU_RC(cellar_load(db, tu_path("does-not-exist.dump"), NULL, NULL), CELLAR_ENOENT);
    expect_errno_text_once(ENOENT);
    TU_RC(cellar_dump(db, tu_path("no/such/dir/x.dump"), NULL, NULL), CELLAR_ENOENT);
    expect_errno_text_once(ENOENT);
    cellar_close(db);
}
END_TEST

START_TEST(test_load_partial_batches_kept)
{
    /* A bad line after a full batch: the batches before it are stored. */
    const char *in = tu_path("partial.dump");
    FILE *f = fopen(in, "w");
    fprintf(f, "cellardb-dump 1\n");
    for (int i = 0; i < 5000; i++)
        fprintf(f, "k%d\tv%d\n", i, i);
    fprintf(f, "broken line\n");
    fclose(f);
    cellar_db *db = open_db("partial.db");
    TU_RC(cellar_load(db, in, NULL, NULL), CELLAR_EINVAL);
    ck_assert_msg(strstr(cellar_error_last()->message, "line 5002"), "%s", cellar_error_last()->message);
    uint64_t n;
    TU_OK(cellar_count(db, &n));
    ck_assert_uint_gt(n, 0);
    ck_assert_uint_le(n, 5000);
    cellar_close(db);
}
END_TEST

typedef struct prog {
    uint64_t calls, last_done, last_total, cancel_at;
    int monotonic;
} prog;

static int on_progress(uint64_t done, uint64_t total, void *payload)
{
    prog *p = payload;
    if (done < p->last_done)
        p->monotonic = 0;
    p->calls++;
    p->last_done = done;
    p->last_total = total;
    return p->cancel_at && done >= p->cancel_at;
}

START_TEST(test_progress_and_cancel)
{
    cellar_db *db = open_db("p.db");
    enum { N = 20000 };
    cellar_slice ks[1000], vs[1000];
    char kb[1000][16];
    for (int b = 0; b < N / 1000; b++) {
        for (int i = 0; i < 1000; i++) {
            int len = snprintf(kb[i], sizeof kb[i], "key%06d", b * 1000 + i);
            ks[i] = (cellar_slice){ kb[i], (size_t)len };
            vs[i] = (cellar_slice){ "value", 5 };
        }
        TU_OK(cellar_put_many(db, 1000, ks, vs));
    }
    const char *dump = tu_path("p.dump");
    prog p = { 0, 0, 0, 0, 1 };
    TU_OK(cellar_dump(db, dump, on_progress, &p));
    ck_assert_uint_ge(p.calls, N / 4096);
    ck_assert(p.monotonic);
    ck_assert_uint_eq(p.last_done, N);
    ck_assert_uint_eq(p.last_total, N);

    size_t size;
    free(read_file(dump, &size));
    cellar_db *dst = open_db("p2.db");
    prog q = { 0, 0, 0, 0, 1 };
    TU_OK(cellar_load(dst, dump, on_progress, &q));
    ck_assert_uint_ge(q.calls, N / 4096);
    ck_assert(q.monotonic);
    ck_assert_uint_eq(q.last_done, size);
    ck_assert_uint_eq(q.last_total, size);
    expect_same(db, dst);

    prog c = { 0, 0, 0, 5000, 1 };
    TU_RC(cellar_dump(db, tu_path("c.dump"), on_progress, &c), CELLAR_ECANCELED);
    ck_assert_int_ne(access(tu_path("c.dump"), F_OK), 0); /* no half dump left behind */
    cellar_db *dst2 = open_db("p3.db");
    prog d = { 0, 0, 0, 1, 1 };
    TU_RC(cellar_load(dst2, dump, on_progress, &d), CELLAR_ECANCELED);
    cellar_close(db);
    cellar_close(dst);
    cellar_close(dst2);
}
END_TEST

START_TEST(test_stdout_stdin)
{
    cellar_db *db = open_db("s.db");
    TU_OK(cellar_put(db, "k\x01", 2, "v\x02", 2));
    TU_OK(cellar_put(db, "k2", 2, "", 0));
    const char *dump = tu_path("s.dump");
    /* dump "-": point fd 1 at a file for the call */
    fflush(stdout);
    int saved = dup(1);
    int fd = open(dump, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    ck_assert_int_ge(fd, 0);
    dup2(fd, 1);
    close(fd);
    int rc = cellar_dump(db, "-", NULL, NULL);
    fflush(stdout);
    dup2(saved, 1);
    close(saved);
    TU_RC(rc, CELLAR_OK);
    char *text = read_file(dump, NULL);
    ck_assert_msg(strstr(text, "\nk%01\tv%02\n"), "%s", text);
    free(text);

    /* load "-": point stdin at the dump */
    ck_assert_ptr_nonnull(freopen(dump, "r", stdin));
    cellar_db *dst = open_db("s2.db");
    TU_OK(cellar_load(dst, "-", NULL, NULL));
    expect_same(db, dst);
    cellar_close(db);
    cellar_close(dst);
}
END_TEST

START_TEST(test_load_readonly)
{
    cellar_db *db = open_db("ro.db");
    TU_OK(cellar_put(db, "a", 1, "1", 1));
    const char *dump = tu_path("ro.dump");
    TU_OK(cellar_dump(db, dump, NULL, NULL));
    cellar_close(db);
    cellar_options o = CELLAR_OPTIONS_INIT;
    o.flags = CELLAR_RDONLY;
    TU_OK(cellar_open(&db, tu_path("ro.db"), &o));
    TU_RC(cellar_load(db, dump, NULL, NULL), CELLAR_EREADONLY);
    TU_OK(cellar_dump(db, tu_path("ro2.dump"), NULL, NULL)); /* dumping a read-only db works */
    cellar_close(db);
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("dump");
    TCase *tc = tcase_create("dump");
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, test_format_exact);
    tcase_add_test(tc, test_roundtrip_binary);
    tcase_add_test(tc, test_empty_db);
    tcase_add_test(tc, test_ttl_preserved);
    tcase_add_test(tc, test_load_handwritten);
    tcase_add_test(tc, test_load_bad_input);
    tcase_add_test(tc, test_open_error_names_errno_once);
    tcase_add_test(tc, test_load_partial_batches_kept);
    tcase_add_test(tc, test_progress_and_cancel);
    tcase_add_test(tc, test_stdout_stdin);
    tcase_add_test(tc, test_load_readonly);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return tu_run(suite());
}
