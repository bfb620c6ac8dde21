-- The Lua 5.4 module of cellardb, built from the core sources with the
-- builtin backend (no make, no cmake, no network):
--   luarocks --lua-version=5.4 make packaging/cellardb-0.1.0-1.rockspec
-- run at the root of the source tree. The list of sources must name every
-- core/src/*/*.c and bindings/lua/*.c file (tests/lua/interop_spec.lua
-- checks it).
rockspec_format = "3.0"
package = "cellardb"
version = "0.1.0-1"
source = {
   url = "git+file://./cellardb",
   tag = "v0.1.0",
}
description = {
   summary = "Embedded key-value store: on-disk extendible hashing, LRU cache, WAL",
   detailed = [[
cellardb keeps byte-string keys and values in one crash-safe file, indexed on
disk by extendible hashing and read through a bounded page cache. This rock is
the native Lua 5.4 module: cellardb.open(path [, opts]) returns a database
with get/put/delete/has/incr/cas/TTL/batches, streaming db:pairs(), to-be-
closed handles and db:transaction(fn). The same file is readable from C,
Python, Node.js, Java, Perl and Tcl.
]],
   license = "MIT",
   labels = { "database", "key-value", "storage" },
}
dependencies = {
   "lua >= 5.4, < 5.5",
}
build = {
   type = "builtin",
   modules = {
      cellardb = {
         sources = {
            "bindings/lua/clock.c",
            "bindings/lua/db.c",
            "bindings/lua/error.c",
            "bindings/lua/iter.c",
            "bindings/lua/maint.c",
            "bindings/lua/module.c",
            "bindings/lua/txn.c",
            "core/src/cache/cache.c",
            "core/src/cache/space.c",
            "core/src/common/checksum.c",
            "core/src/common/error.c",
            "core/src/common/util.c",
            "core/src/db/dump.c",
            "core/src/db/iter.c",
            "core/src/db/maint.c",
            "core/src/db/open.c",
            "core/src/db/ops.c",
            "core/src/db/txn.c",
            "core/src/hash/bucket.c",
            "core/src/hash/hash.c",
            "core/src/hash/scan.c",
            "core/src/os/fault.c",
            "core/src/os/os.c",
            "core/src/os/posix.c",
            "core/src/wal/wal.c",
         },
         incdirs = { "core/include", "core/src" },
         defines = { "CELLAR_BUILDING", "_GNU_SOURCE" },
         libraries = { "pthread" },
      },
   },
   copy_directories = {},
}
