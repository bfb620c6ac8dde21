#!/usr/bin/env bash
# cli_test.sh - tests of the `cellardb` command-line program: every command,
# binary-safe round trips (raw, --hex, --escape, stdin), and exit codes.
#   tests/spec/cli_test.sh PATH/TO/cellardb
# Prints one line per failure and "N passed, N failed"; exits 1 on failure.
set -u
CLI="${1:?usage: cli_test.sh PATH/TO/cellardb}"
base="${CELLAR_TEST_TMP:-${TMPDIR:-/tmp}}"
mkdir -p "$base"
T="$(mktemp -d "$base/cellar-cli-XXXXXX")"
trap 'rm -rf "$T"' EXIT
DB="$T/db"
pass=0
fail=0

ok()  { pass=$((pass + 1)); }
bad() { fail=$((fail + 1)); echo "FAIL: $*" >&2; }

# expect_rc CODE CMD... : the command exits with CODE
expect_rc() {
  local want="$1"; shift
  "$@" >"$T/out" 2>"$T/err"
  local rc=$?
  if [ "$rc" = "$want" ]; then ok; else bad "$* -> exit $rc, want $want; stderr: $(head -c 300 "$T/err")"; fi
}

# expect_out TEXT CMD... : exits 0 and prints exactly TEXT (plus the shell's newline handling)
expect_out() {
  local want="$1"; shift
  local got
  got="$("$@" 2>"$T/err")"
  local rc=$?
  if [ "$rc" = 0 ] && [ "$got" = "$want" ]; then ok; else bad "$* -> exit $rc, output '$got', want '$want'; stderr: $(head -c 300 "$T/err")"; fi
}

# expect_grep PATTERN FILE : FILE contains PATTERN
expect_grep() {
  if grep -q -- "$1" "$2"; then ok; else bad "'$1' not in $2: $(head -c 300 "$2")"; fi
}

c() { "$CLI" "$@"; }

# ---- help, version, usage errors ----
expect_rc 0 c --help
expect_grep "Exit status" "$T/out"
expect_rc 0 c -h
expect_rc 0 c help get
expect_grep "get KEY" "$T/out"
expect_rc 0 c "$DB" put --help
expect_grep "put KEY" "$T/out"
expect_out "cellardb 0.1.0" c --version
expect_rc 2 c
expect_rc 2 c "$DB"
expect_rc 2 c "$DB" frobnicate
expect_rc 2 c --no-such-option "$DB" count
expect_rc 2 c "$DB" get
expect_rc 2 c "$DB" get a b
expect_rc 2 c "$DB" count --prefix x
expect_rc 2 c --sync sometimes "$DB" count
expect_rc 2 c --cache-size lots "$DB" count
expect_rc 2 c help frobnicate
expect_grep "unknown command" "$T/err"

# ---- a missing file is not created by read commands ----
expect_rc 3 c "$T/missing" get k
expect_grep "CELLAR_ENOENT" "$T/err"
if [ -e "$T/missing" ]; then bad "get created $T/missing"; else ok; fi

# ---- put / get / del / exists ----
expect_rc 0 c "$DB" put hello world
expect_out "world" c "$DB" get hello
expect_rc 1 c "$DB" get nope
expect_grep "CELLAR_ENOTFOUND" "$T/err"
expect_out "yes" c "$DB" exists hello
expect_rc 1 c "$DB" exists nope
expect_grep "^no$" "$T/out"
expect_rc 0 c "$DB" put hello again
expect_out "again" c "$DB" get hello
expect_rc 0 c "$DB" del hello
expect_rc 1 c "$DB" del hello
expect_rc 1 c "$DB" get hello
expect_rc 0 c "$DB" delete --help

# empty value vs absent
expect_rc 0 c "$DB" put empty ""
expect_rc 0 c "$DB" get empty
if [ -s "$T/out" ]; then bad "get of an empty value printed something"; else ok; fi
expect_out "yes" c "$DB" exists empty
# empty key
expect_rc 0 c "$DB" put "" "empty key"
expect_out "empty key" c "$DB" get ""

# ---- binary safety ----
# raw: every byte value through stdin and back, byte for byte
printf '%b' "$(for i in $(seq 0 255); do printf '\\%03o' "$i"; done)" >"$T/allbytes"
expect_rc 0 c "$DB" put binval - <"$T/allbytes"
c "$DB" get binval >"$T/got" 2>/dev/null
if cmp -s "$T/allbytes" "$T/got"; then ok; else bad "raw round trip of all 256 bytes differs"; fi
# hex keys and values
expect_rc 0 c --hex "$DB" put 00ff0a 000102fe
expect_out "000102fe" c --hex "$DB" get 00ff0a
expect_out "000102fe" c "$DB" get 00ff0a --hex
expect_rc 2 c --hex "$DB" get 0g
expect_rc 2 c --hex "$DB" get abc
expect_rc 1 c --hex "$DB" get 00ff
# hex value from stdin (whitespace and newline ignored)
echo "de ad be ef" | c --hex "$DB" put 6b - >/dev/null 2>&1
expect_out "deadbeef" c --hex "$DB" get 6b
# escapes
expect_rc 0 c --escape "$DB" put 'tab\there' 'nul\0and\xffbyte\n'
expect_out 'nul\0and\xffbyte\n' c --escape "$DB" get 'tab\there'
expect_out "6e756c00616e64ff627974650a" c --hex "$DB" get 7461620968657265
expect_rc 2 c --escape "$DB" get 'bad\q'
expect_rc 2 c --escape "$DB" get 'bad\x4'
# a key made of one NUL byte, and a key differing after the NUL
expect_rc 0 c --hex "$DB" put 00 "6f6e65"
expect_rc 0 c --hex "$DB" put 0000 "74776f"
expect_out "one" c --escape "$DB" get '\0'
expect_out "two" c --escape "$DB" get '\0\0'

# ---- scan ----
S="$T/scan.db"
expect_rc 0 c "$S" put user:1 alice
expect_rc 0 c "$S" put user:2 bob
expect_rc 0 c "$S" put item:1 "line
break"
expect_out "$(printf 'user:1\talice\nuser:2\tbob')" sh -c "'$CLI' '$S' scan --prefix user: | sort"
expect_out 'item:1	line\nbreak' c "$S" scan --prefix item
expect_out "$(printf 'item:1\nuser:1\nuser:2')" sh -c "'$CLI' '$S' scan --keys | sort"
expect_out "7573" sh -c "'$CLI' --hex '$S' scan --keys --prefix 7573 | cut -c1-4 | sort -u"
expect_out "3" c "$S" count
expect_rc 0 c "$S" stats
expect_grep "^records" "$T/out"
expect_grep "file_size" "$T/out"

# ---- incr / decr ----
expect_out "1" c "$DB" incr counter
expect_out "6" c "$DB" incr counter 5
expect_out "4" c "$DB" decr counter 2
expect_out "1" c "$DB" incr counter -3
expect_out "0" c "$DB" decr counter
expect_out "0" c "$DB" get counter
expect_out "-5" c "$DB" decr fresh 5
expect_rc 0 c "$DB" put word abc
expect_rc 5 c "$DB" incr word
expect_grep "CELLAR_ENAN" "$T/err"
expect_rc 0 c "$DB" put big 9223372036854775807
expect_rc 5 c "$DB" incr big
expect_grep "CELLAR_EOVERFLOW" "$T/err"
expect_rc 2 c "$DB" incr counter notanumber

# ---- ttl / expire / persist ----
expect_rc 0 c "$DB" put --ttl 100000 session data
c "$DB" ttl session >"$T/ttl" 2>&1
t="$(cat "$T/ttl")"
if [ "$t" -gt 0 ] 2>/dev/null && [ "$t" -le 100000 ]; then ok; else bad "ttl after put --ttl 100000: '$t'"; fi
expect_out "-1" c "$DB" ttl word
expect_rc 1 c "$DB" ttl nope
expect_rc 0 c "$DB" expire word 500000
c "$DB" ttl word >"$T/ttl" 2>&1
t="$(cat "$T/ttl")"
if [ "$t" -gt 100000 ] 2>/dev/null && [ "$t" -le 500000 ]; then ok; else bad "ttl after expire 500000: '$t'"; fi
expect_rc 0 c "$DB" persist word
expect_out "-1" c "$DB" ttl word
expect_rc 1 c "$DB" persist nope
expect_rc 1 c "$DB" expire nope 10
expect_rc 2 c "$DB" expire word soon
expect_rc 2 c "$DB" get word --ttl 5
expect_rc 0 c "$DB" expire word 0
expect_rc 1 c "$DB" get word

# ---- dump / load ----
expect_rc 0 c "$DB" dump "$T/db.dump"
expect_grep "^cellardb-dump 1" "$T/db.dump"
expect_rc 0 c "$T/copy.db" load "$T/db.dump"
expect_grep "records now" "$T/out"
c "$DB" scan | sort >"$T/a.scan"
c "$T/copy.db" scan | sort >"$T/b.scan"
if cmp -s "$T/a.scan" "$T/b.scan" && [ -s "$T/a.scan" ]; then ok; else bad "dump/load to a file: contents differ"; fi
c "$T/copy.db" get binval >"$T/got2" 2>/dev/null
if cmp -s "$T/allbytes" "$T/got2"; then ok; else bad "binary value differs after dump/load"; fi
# through a pipe: stdout to stdin
c "$DB" dump | c -q "$T/piped.db" load >"$T/out" 2>"$T/err"
c "$T/piped.db" scan | sort >"$T/c.scan"
if cmp -s "$T/a.scan" "$T/c.scan"; then ok; else bad "dump | load: contents differ: $(cat "$T/err")"; fi
# a dump keeps TTLs
c "$T/copy.db" ttl session >"$T/ttl" 2>&1
t="$(cat "$T/ttl")"
if [ "$t" -gt 0 ] 2>/dev/null && [ "$t" -le 100000 ]; then ok; else bad "ttl after dump/load: '$t'"; fi
# --progress draws whole lines when stderr is not a terminal; without it, nothing
expect_rc 0 c --progress "$T/progress.db" load "$T/db.dump"
expect_grep "^load: 100%" "$T/err"
expect_rc 0 c "$T/progress2.db" load "$T/db.dump"
if [ -s "$T/err" ]; then bad "load wrote to stderr without --progress: $(head -c 200 "$T/err")"; else ok; fi
# hand-written dump text
printf 'cellardb-dump 1\nalpha\t1\nbeta\t%%00%%01\n' | c -q "$T/hand.db" load
expect_out "1" c "$T/hand.db" get alpha
expect_out "0001" c --hex "$T/hand.db" get 62657461
printf 'not a dump\n' >"$T/garbage"
expect_rc 3 c "$T/hand.db" load "$T/garbage"
expect_grep "not a cellardb dump" "$T/err"
expect_rc 3 c "$T/hand.db" load "$T/no-such-file"

# ---- check / salvage / compact / backup ----
expect_rc 0 c "$DB" check
expect_grep "^ok" "$T/out"
expect_rc 0 c "$DB" check --salvage "$T/salvaged.db"
expect_grep "salvaged" "$T/out"
expect_out "$(c "$DB" count)" c "$T/salvaged.db" count
expect_rc 0 c "$DB" compact
expect_rc 0 c "$DB" backup "$T/backup.db"
expect_out "$(c "$DB" count)" c "$T/backup.db" count
expect_out "world" sh -c "'$CLI' '$T/backup.db' put hello world && '$CLI' '$T/backup.db' get hello"
expect_rc 2 c "$DB" backup

# ---- a damaged file: check reports it (exit 4), salvage copies what is readable ----
D="$T/damaged.db"
{ echo "cellardb-dump 1"; for i in $(seq 1 400); do printf 'key%d\tvalue %d\n' "$i" "$i"; done; } | c -q "$D" load
expect_rc 0 c "$D" check
size=$(wc -c <"$D")
for off in $(seq 4296 4096 "$size"); do   # 200 bytes into every page after the first
  printf 'GARBAGE-GARBAGE-GARBAGE' | dd of="$D" bs=1 seek="$off" conv=notrunc 2>/dev/null
done
expect_rc 4 c "$D" check
if grep -q "CELLAR_ECORRUPT\|problem" "$T/err" "$T/out"; then ok; else bad "check of a damaged file said nothing useful"; fi
expect_rc 0 c "$D" check --salvage "$T/rescued.db"
expect_rc 0 c "$T/rescued.db" check

# ---- options ----
expect_rc 3 c --readonly "$DB" put x y
expect_grep "CELLAR_EREADONLY" "$T/err"
expect_rc 0 c --sync full "$DB" put durable yes
expect_rc 0 c --sync=off "$DB" put fast yes
expect_rc 0 c --cache-size 1M "$DB" get durable
expect_rc 0 c --cache-size=262144 "$DB" count
expect_rc 0 c -- "$DB" get durable
# a non-database file
printf 'this is not a database, just some text that is long enough to matter\n%.0s' $(seq 1 200) >"$T/notdb"
expect_rc 3 c "$T/notdb" count

# ---- bench ----
expect_rc 0 c -q bench 3000
expect_grep "ops/s" "$T/out"
expect_grep "read_hit" "$T/out"
expect_rc 2 c bench zero

echo "$pass passed, $fail failed"
[ "$fail" = 0 ]
