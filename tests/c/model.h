/*
 * model.h - an in-memory model of a key-value store for the randomized tests:
 * keys are small integers (rendered to byte strings by mkey), values are byte
 * strings. Deliberately simple, so that it is obviously right.
 */
#ifndef CELLAR_TEST_MODEL_H
#define CELLAR_TEST_MODEL_H

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "testutil.h"

typedef struct mval {
    int present;
    uint8_t *v;
    size_t n;
} mval;

typedef struct model {
    size_t nkeys;
    mval *m;
} model;

static inline void model_init(model *md, size_t nkeys)
{
    md->nkeys = nkeys;
    md->m = calloc(nkeys, sizeof(mval));
}
static inline void model_set(model *md, size_t k, const uint8_t *v, size_t n)
{
    free(md->m[k].v);
    md->m[k].v = malloc(n ? n : 1);
    if (n)
        memcpy(md->m[k].v, v, n);
    md->m[k].n = n;
    md->m[k].present = 1;
}
static inline void model_del(model *md, size_t k)
{
    free(md->m[k].v);
    md->m[k].v = NULL;
    md->m[k].n = 0;
    md->m[k].present = 0;
}
static inline void model_free(model *md)
{
    for (size_t i = 0; i < md->nkeys; i++)
        free(md->m[i].v);
    free(md->m);
}
static inline size_t model_count(const model *md)
{
    size_t c = 0;
    for (size_t i = 0; i < md->nkeys; i++)
        c += md->m[i].present;
    return c;
}

/* Key k as bytes: some keys are binary, one is empty, some are long. */
static inline size_t mkey(size_t k, uint8_t *buf /* >= 600 bytes */)
{
    if (k == 0)
        return 0; /* the empty key */
    if (k % 97 == 1) { /* binary with NULs */
        for (int i = 0; i < 12; i++)
            buf[i] = (uint8_t)((k >> (i % 8)) * (i + 1));
        buf[0] = 0;
        buf[11] = 0xff;
        return 12;
    }
    if (k % 101 == 3) { /* long */
        size_t n = 300 + k % 250;
        for (size_t i = 0; i < n; i++)
            buf[i] = (uint8_t)('a' + (k + i) % 26);
        return n;
    }
    return (size_t)snprintf((char *)buf, 32, "key-%zu", k);
}
/* Parse back a key rendered by mkey (by searching; the key space is small). */

/* Fill v with n pseudo-random bytes. */
static inline void mfill(tu_rng *r, uint8_t *v, size_t n)
{
    for (size_t i = 0; i < n; i++)
        v[i] = (uint8_t)tu_next(r);
}

#endif
