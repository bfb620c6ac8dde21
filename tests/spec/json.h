/*
 * json.h - a small JSON reader for the conformance runner (tests/spec).
 *
 * It reads exactly what tests/spec/README.md allows: objects, arrays,
 * strings (all escapes, \uXXXX with surrogate pairs, decoded to UTF-8),
 * integers that fit in int64, true, false and null. Fractions and exponents
 * are rejected: the suite never needs them. Nesting is bounded (JSON_MAX_DEPTH)
 * so a hostile file cannot exhaust the stack.
 */
#ifndef CELLAR_SPEC_JSON_H
#define CELLAR_SPEC_JSON_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#define JSON_MAX_DEPTH 64

typedef enum json_type { JSON_NULL, JSON_BOOL, JSON_INT, JSON_STR, JSON_ARR, JSON_OBJ } json_type;

typedef struct json_val json_val;
struct json_val {
    json_type type;
    int64_t num;        /* JSON_INT value; JSON_BOOL: 0 or 1 */
    char *str;          /* JSON_STR: bytes (NUL-terminated as well), length in len */
    size_t len;         /* JSON_STR: byte length; JSON_ARR/JSON_OBJ: item count */
    json_val *items;    /* JSON_ARR: elements; JSON_OBJ: values */
    char **keys;        /* JSON_OBJ: keys (NUL-terminated), parallel to items */
};

/**
 * Parse `len` bytes of `text` into *out. Returns 0, or -1 with a message
 * ("line 3: expected ','") in err (errlen bytes). Free with json_free.
 */
int json_parse(json_val *out, const char *text, size_t len, char *err, size_t errlen);

/** Read and parse a whole file; as json_parse (err also covers I/O errors). */
int json_parse_file(json_val *out, const char *path, char *err, size_t errlen);

/** Free what json_parse allocated inside v (not v itself). */
void json_free(json_val *v);

/** The member `key` of object `obj`, or NULL (also when obj is not an object). */
const json_val *json_get(const json_val *obj, const char *key);

/** Write v as compact JSON, cutting strings longer than max_str bytes ("..."). */
void json_print(FILE *f, const json_val *v, size_t max_str);

#endif
