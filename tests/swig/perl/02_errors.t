# Every failure is a cellardb::Error; hostile input gets a clear error, never a crash.
use strict;
use warnings;
use Test::More;
use FindBin;
BEGIN { require "$FindBin::Bin/lib.pl" }
use cellardb;

my $dir = cellar_tmpdir();
my $db = cellardb::open("$dir/err.cellar");

# the error object
my $e = cellar_error_of { $db->get('missing') };
isa_ok($e, 'cellardb::Error');
is($e->code, $cellardb::ENOTFOUND, 'code is the number');
is($e->code, -1, 'ENOTFOUND is -1');
is($e->name, 'CELLAR_ENOTFOUND', 'name is the symbolic name');
like($e->message, qr/key not found/, 'message says what happened');
like("$e", qr/key not found.*\(CELLAR_ENOTFOUND\)/, 'stringifies to message (NAME)');
is(cellardb::errname($cellardb::ECONFLICT), 'CELLAR_ECONFLICT', 'errname');
is(cellardb::strerror($cellardb::ENOTFOUND), 'key not found', 'strerror');

# absent keys
is(cellar_errname_of { $db->delete('missing') }, 'CELLAR_ENOTFOUND', 'delete of absent key');
is(cellar_errname_of { $db->expire('missing', 5) }, 'CELLAR_ENOTFOUND', 'expire of absent key');
is(cellar_errname_of { $db->persist('missing') }, 'CELLAR_ENOTFOUND', 'persist of absent key');

# limits
my $max = 'k' x 65536;
$db->put($max, 'v');
is($db->get($max), 'v', 'a 64 KiB key is allowed');
is(cellar_errname_of { $db->put('k' x 65537, 'v') }, 'CELLAR_ETOOBIG', 'key over 64 KiB on put');
is(cellar_errname_of { $db->get('k' x 65537) }, 'CELLAR_ETOOBIG', 'key over 64 KiB on get');
is(cellar_errname_of { $db->exists('k' x 65537) }, 'CELLAR_ETOOBIG', 'key over 64 KiB on exists');

# incr on something that is not a number
$db->put('s', 'abc');
is(cellar_errname_of { $db->incr('s') }, 'CELLAR_ENAN', 'incr of text');
$db->put('max', '9223372036854775807');
is(cellar_errname_of { $db->incr('max') }, 'CELLAR_EOVERFLOW', 'incr past int64');
is($db->get('max'), '9223372036854775807', 'value unchanged after overflow');

# wrong types and bad values
is(cellar_errname_of { $db->put([1], 'v') }, 'CELLAR_EINVAL', 'a reference as key');
is(cellar_errname_of { $db->put("\x{263a}", 'v') }, 'CELLAR_EINVAL', 'wide characters in a key');
is(cellar_errname_of { $db->put('k', undef) }, 'CELLAR_EINVAL', 'undef value');
is(cellar_errname_of { $db->get(undef) }, 'CELLAR_EINVAL', 'undef key');
is(cellar_errname_of { $db->get_many('notalist') }, 'CELLAR_EINVAL', 'get_many wants an array ref');
is(cellar_errname_of { $db->get_many(['a', undef]) }, 'CELLAR_EINVAL', 'undef in a key list');
is(cellar_errname_of { $db->put_many(['a', 'b'], ['1']) }, 'CELLAR_EINVAL', 'put_many lengths differ');
is(cellar_errname_of { $db->put_ttl('k', 'v', -1) }, 'CELLAR_EINVAL', 'negative ttl');
isnt(cellar_errname_of { $db->put('k') }, '', 'missing argument dies');

# bad options
is(cellar_errname_of { cellardb::open("$dir/o.cellar", sync => 'sometimes') }, 'CELLAR_EINVAL',
   'unknown sync mode');
is(cellar_errname_of { cellardb::open("$dir/o.cellar", colour => 'blue') }, 'CELLAR_EINVAL',
   'unknown option');
is(cellar_errname_of { cellardb::open("$dir/o.cellar", page_size => 1000) }, 'CELLAR_EINVAL',
   'page size not a power of two');
is(cellar_errname_of { cellardb::open("$dir/o.cellar", page_size => 1 << 20) }, 'CELLAR_EINVAL',
   'page size too large');
is(cellar_errname_of { cellardb::open("$dir/o.cellar", cache_size => -5) }, 'CELLAR_EINVAL',
   'negative cache size');
is(cellar_errname_of { cellardb::open("$dir/o.cellar", flags => 0x100) }, 'CELLAR_EINVAL',
   'unknown open flags');
is(cellar_errname_of { cellardb::open("$dir/none.cellar", create => 0) }, 'CELLAR_ENOENT',
   'no file and no create');
is(cellar_errname_of { cellardb::open("$dir/none.cellar", readonly => 1) }, 'CELLAR_ENOENT',
   'read-only open of a missing file');
is(cellar_errname_of { cellardb::CellarDB->new(undef) }, 'CELLAR_EINVAL', 'undef path');
{
    open my $fh, '>', "$dir/junk" or die;
    print $fh 'this is not a database, only some text' x 200;
    close $fh;
}
my $junk = cellar_errname_of { cellardb::open("$dir/junk") };
ok($junk eq 'CELLAR_ENOTDB' || $junk eq 'CELLAR_ECORRUPT', "a text file is refused ($junk)");

# a damaged file: whatever happens is a clean cellardb error, never a crash
{
    my $p = "$dir/damaged.cellar";
    my $d = cellardb::open($p);
    $d->put_many([map {"key$_"} 1 .. 2000], [map { "value$_" x 10 } 1 .. 2000]);
    $d->close;
    my $size = -s $p;
    open my $fh, '+<', $p or die "$p: $!";
    binmode $fh;
    srand(7);
    for (my $off = 4096; $off < $size; $off += 3 * 4096) {
        seek $fh, $off + 64, 0;
        print $fh join '', map { chr int rand 256 } 1 .. 512;
    }
    close $fh;
    my @errors;
    my $note = sub { push @errors, ref $@ && $@->isa('cellardb::Error') ? $@->name : "NOT-CELLAR: $@" };
    my $h = eval { cellardb::open($p) } or $note->();
    if ($h) {
        eval { $h->check; 1 } or $note->();
        eval { my $it = $h->iterate; 1 while $it->advance; 1 } or $note->();
        for my $i (1 .. 2000) { eval { $h->get("key$i"); 1 } or $note->() }
        $h->close;
    }
    is(scalar(grep { !/^CELLAR_/ } @errors), 0, 'damaged file: only cellardb errors')
        or diag(join ', ', @errors);
}

# read-only
$db->put('ro', '1');
$db->close;
my $ro = cellardb::open("$dir/err.cellar", readonly => 1);
is($ro->get('ro'), '1', 'read-only open reads');
is(cellar_errname_of { $ro->put('x', 'y') }, 'CELLAR_EREADONLY', 'read-only put');
is(cellar_errname_of { $ro->begin }, 'CELLAR_EREADONLY', 'read-write txn on a read-only db');
$ro->close;

# closed handles
is(cellar_errname_of { $db->get('ro') }, 'CELLAR_ECLOSED', 'get after close');
is(cellar_errname_of { $db->put('a', 'b') }, 'CELLAR_ECLOSED', 'put after close');
is(cellar_errname_of { $db->count }, 'CELLAR_ECLOSED', 'count after close');
is(cellar_errname_of { $db->iterate }, 'CELLAR_ECLOSED', 'iterate after close');
is(cellar_errname_of { $db->begin }, 'CELLAR_ECLOSED', 'begin after close');
is(cellar_errname_of { $db->stats }, 'CELLAR_ECLOSED', 'stats after close');
is(cellar_errname_of { $db->close }, '', 'close again is harmless');
done_testing();
