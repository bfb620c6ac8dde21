# cellardb::Hash: a database file tied to a Perl hash, as with GDBM_File.
use strict;
use warnings;
use Test::More;
use FindBin;
BEGIN { require "$FindBin::Bin/lib.pl" }
use cellardb;

my $dir = cellar_tmpdir();
my %h;
my $obj = tie %h, 'cellardb::Hash', "$dir/tie.cellar";
ok($obj, 'tie');
$h{a} = 1;
$h{b} = "two\0bytes";
is($h{a}, '1', 'fetch');
is($h{b}, "two\0bytes", 'binary value');
ok(exists $h{a}, 'exists');
ok(!exists $h{zz}, 'not exists');
is($h{zz}, undef, 'absent key reads as undef');
is(scalar(%h), 2, 'scalar gives the count');
is_deeply([sort keys %h], ['a', 'b'], 'keys');
my %copy = %h;
is_deeply(\%copy, { a => 1, b => "two\0bytes" }, 'each / list context');
is(delete $h{a}, '1', 'delete returns the old value');
is(delete $h{a}, undef, 'delete of absent key gives undef');
is($obj->db->count, 1, 'the underlying db');
%h = ();
is(scalar(keys %h), 0, 'clear');
$h{persist} = 'yes';
undef $obj;
untie %h;

tie my %again, 'cellardb::Hash', "$dir/tie.cellar", readonly => 1;
is($again{persist}, 'yes', 'data survives untie and a read-only tie');
ok(!defined eval { $again{x} = 1; 1 }, 'store into a read-only tie dies');
is($@->name, 'CELLAR_EREADONLY', 'with CELLAR_EREADONLY') if ref $@;
untie %again;
done_testing();
