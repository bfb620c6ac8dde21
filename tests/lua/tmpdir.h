/*
 * tmpdir.h - a scratch directory for the Lua C harnesses (oom_test.c,
 * states_test.c): made under $TMPDIR (or /tmp), removed with its files.
 */
#ifndef CELLAR_LUA_TMPDIR_H
#define CELLAR_LUA_TMPDIR_H

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* Make a fresh directory named after tag into dir (4096 bytes); 0, or -1
 * with the reason printed. */
static int tmpdir_make(char *dir, const char *tag)
{
    const char *tmp = getenv("TMPDIR");
    snprintf(dir, 4096, "%s/cellardb-%s.XXXXXX", tmp && *tmp ? tmp : "/tmp", tag);
    if (mkdtemp(dir) == NULL) {
        perror("mkdtemp");
        return -1;
    }
    return 0;
}

/* Remove dir and the files in it. */
static void tmpdir_remove(const char *dir)
{
    DIR *d = opendir(dir);
    if (d == NULL)
        return;
    struct dirent *e;
    char path[4096 + 256 + 2];
    while ((e = readdir(d)) != NULL) {
        if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
            continue;
        snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
        unlink(path);
    }
    closedir(d);
    rmdir(dir);
}

#endif
