# A file written by the Python binding reads the same from Perl (one core,
# one format). Skipped, with the reason, when the Python binding is not built.
use strict;
use warnings;
use Test::More;
use FindBin;
BEGIN { require "$FindBin::Bin/lib.pl" }
use cellardb;

my $dir = cellar_tmpdir();
my $path = "$dir/from_python.cellar";
my $python = $ENV{CELLAR_PYTHON} || 'python3';
local $ENV{PYTHONPATH} = join ':', grep { defined && length } $ENV{CELLAR_PYTHONPATH}, $ENV{PYTHONPATH};
my $out = `$python $FindBin::Bin/../python_writer.py $path 2>&1`;
my $rc = $? >> 8;
plan skip_all => "Python binding not available: $out" if $rc == 77 || $rc == 127;
is($rc, 0, 'the Python writer ran') or diag($out);

my $db = cellardb::open($path, readonly => 1);
is($db->get('from-python'), 'hello from python', 'a value written by Python');
is($db->get("binary\0key"), join('', map { chr } 0 .. 255), 'binary key and value');
is($db->get(''), '', 'empty key and value');
is($db->get('text'), "caf\xc3\xa9", 'Python str is stored as UTF-8 bytes');
is($db->count, 104, 'every record');
my $n = 0;
my $it = $db->iterate;
while (my ($k, $v) = $it->next) { $n++ if $k =~ /^n\d{3}$/ && $v eq int(substr $k, 1) }
is($n, 100, 'iteration sees what Python wrote');
is_deeply($db->check, [], 'the file checks clean');
$db->close;
done_testing();
