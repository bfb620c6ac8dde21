# The methods of cellardb::CellarDB, with byte strings of every kind.
use strict;
use warnings;
use Test::More;
use FindBin;
BEGIN { require "$FindBin::Bin/lib.pl" }
use cellardb;

my $dir = cellar_tmpdir();
my $clock = cellardb::CellarClock->new(1_700_000_000_000);
my $db = cellardb::open("$dir/basic.cellar", clock => $clock);
isa_ok($db, 'cellardb::CellarDB');
is($db->path, "$dir/basic.cellar", 'path');
ok(!$db->closed, 'open');
like(cellardb::version(), qr/^\d+\.\d+\.\d+$/, 'version');

# get / put / delete / exists / count
$db->put('alpha', 'one');
is($db->get('alpha'), 'one', 'get after put');
ok($db->exists('alpha'), 'exists');
ok(!$db->exists('beta'), 'absent key does not exist');
is($db->count, 1, 'count');
$db->put('alpha', 'uno');
is($db->get('alpha'), 'uno', 'put replaces');
$db->delete('alpha');
ok(!$db->exists('alpha'), 'deleted');
is($db->count, 0, 'count after delete');

# binary safety: every byte value, NULs, empty key and value, 1 MiB
my $all = join '', map { chr } 0 .. 255;
$db->put($all, scalar reverse $all);
is($db->get($all), scalar reverse($all), 'all 256 byte values round-trip');
$db->put("a\0b", "\0\0\0");
is($db->get("a\0b"), "\0\0\0", 'NUL bytes in key and value');
$db->put('', '');
ok($db->exists(''), 'empty key exists');
is($db->get(''), '', 'empty value is a present, empty value');
my $big = 'x' x (1 << 20);
$db->put('big', $big);
is(length $db->get('big'), 1 << 20, '1 MiB value');
my $latin = "caf\x{e9}";    # a character string with no char above 0xFF
$db->put($latin, $latin);
is($db->get("caf\xe9"), "caf\xe9", 'latin-1 string stored as its bytes');
my $utf8 = "\x{263a}";
utf8::encode($utf8);
$db->put('smile', $utf8);
is($db->get('smile'), "\xe2\x98\xba", 'UTF-8 bytes stay bytes');
ok(!utf8::is_utf8($db->get('smile')), 'values come back as byte strings');

# incr / decr
is($db->incr('n'), 1, 'incr of absent counts from 0');
is($db->incr('n', 41), 42, 'incr by delta');
is($db->decr('n', 2), 40, 'decr by delta');
is($db->decr('n'), 39, 'decr by 1');
is($db->get('n'), '39', 'stored as decimal ASCII');

# cas and its null forms
$db->put('c', 'old');
$db->cas('c', 'old', 'new');
is($db->get('c'), 'new', 'cas swaps on match');
is(cellar_errname_of { $db->cas('c', 'old', 'x') }, 'CELLAR_EMISMATCH', 'cas mismatch');
$db->cas('fresh', undef, 'v');
is($db->get('fresh'), 'v', 'cas with undef expected inserts when absent');
$db->cas('fresh', 'v', undef);
ok(!$db->exists('fresh'), 'cas with undef new deletes');
$db->insert('ins', '1');
is(cellar_errname_of { $db->insert('ins', '2') }, 'CELLAR_EMISMATCH', 'insert only if absent');
$db->delete_if('ins', '1');
ok(!$db->exists('ins'), 'delete_if on match');

# TTL with the manual clock
$db->put_ttl('t', 'v', 1000);
is($db->ttl('t'), 1000, 'ttl right after put_ttl');
$clock->advance(400);
is($db->ttl('t'), 600, 'ttl follows the clock');
$db->persist('t');
is($db->ttl('t'), -1, 'persist removes the TTL');
$db->expire('t', 10);
$clock->advance(10);
ok(!$db->exists('t'), 'expired at T + ttl');
is(cellar_errname_of { $db->ttl('t') }, 'CELLAR_ENOTFOUND', 'ttl of expired key');
is($clock->now, 1_700_000_000_410, 'clock now');

# batches
$db->put_many(['k1', 'k2', 'k3'], ['v1', 'v2', 'v3']);
is_deeply($db->get_many(['k1', 'nope', 'k3']), ['v1', undef, 'v3'], 'get_many, undef for absent');
is_deeply($db->get_many([]), [], 'get_many of nothing');

# iteration sees every record once
my %seen;
my $it = $db->iterate;
while (my ($k, $v) = $it->next) { $seen{$k}++ }
$it->close;
is($seen{k2}, 1, 'iterate yields k2 once');
is(scalar(grep { $_ != 1 } values %seen), 0, 'no record twice');
is(scalar(keys %seen), $db->count, 'iterate yields count records');

# maintenance
my $stats = $db->stats;
isa_ok($stats, 'cellardb::CellarStats');
ok($stats->{records} >= $db->count, 'stats records (expired ones not yet swept count too)');
ok($stats->{page_size} >= 4096, 'stats page size');
$db->sync;
$db->checkpoint;
$db->compact;
is_deeply($db->check, [], 'check finds no problem');
$db->backup("$dir/copy.cellar");
my $copy = cellardb::open("$dir/copy.cellar", readonly => 1);
is($copy->get('k2'), 'v2', 'backup holds the data');
is($copy->count, $db->count, 'backup has every record');
$copy->close;
$db->dump("$dir/dump.txt");
my $loaded = cellardb::open("$dir/loaded.cellar");
$loaded->load("$dir/dump.txt");
is(eval { $loaded->get($all) }, scalar reverse($all), 'dump + load is lossless for binary data')
    or diag("load: $@");
$loaded->close;

# options
my $o = cellardb::options(sync => 'full', page_size => 8192, cache_size => 1 << 20,
                          lock_timeout => 10, wal_limit => 1 << 20, mode => 0600);
isa_ok($o, 'cellardb::CellarOptions');
my $db2 = cellardb::CellarDB->new("$dir/opts.cellar", $o);
$db2->put('a', 'b');
is($db2->stats->{page_size}, 8192, 'page_size option');
$db2->close;

$db->close;
ok($db->closed, 'closed');
$db->close;
pass('close twice is harmless');
done_testing();
