/* Opens a database, puts and gets a key, prints OK: the smallest program
 * against an installed cellardb (built by find_package and by pkg-config). */
#include <cellardb.h>
#include <stdio.h>
#include <string.h>

int main(int argc, char **argv) {
    if (argc != 2) {
        fprintf(stderr, "usage: %s DBFILE\n", argv[0]);
        return 2;
    }
    cellar_db *db;
    cellar_options opts = CELLAR_OPTIONS_INIT;
    opts.flags = CELLAR_CREATE | CELLAR_TRUNCATE;
    int rc = cellar_open(&db, argv[1], &opts);
    if (rc != CELLAR_OK) {
        fprintf(stderr, "open: %s\n", cellar_error_last()->message);
        return 1;
    }
    void *val = NULL;
    size_t len = 0;
    rc = cellar_put(db, "hello", 5, "world", 5);
    if (rc == CELLAR_OK) rc = cellar_get(db, "hello", 5, &val, &len);
    int ok = rc == CELLAR_OK && len == 5 && memcmp(val, "world", 5) == 0;
    if (!ok) fprintf(stderr, "put/get: %s\n", cellar_errname(rc));
    cellar_free(val);
    if (cellar_close(db) != CELLAR_OK) ok = 0;
    if (strcmp(cellar_version(), CELLAR_VERSION_STRING) != 0) {
        fprintf(stderr, "header %s, library %s\n", CELLAR_VERSION_STRING, cellar_version());
        ok = 0;
    }
    if (!ok) return 1;
    printf("OK\n");
    return 0;
}
