# Transactions and iterators: commit, abort, conflicts, lifetime against the db.
use strict;
use warnings;
use Test::More;
use FindBin;
BEGIN { require "$FindBin::Bin/lib.pl" }
use cellardb;

my $dir = cellar_tmpdir();
my $db = cellardb::open("$dir/txn.cellar");

# commit and abort
my $t = $db->begin;
isa_ok($t, 'cellardb::CellarTxn');
ok($t->active, 'a new transaction is active');
$t->put('a', '1');
$t->put_ttl('b', '2', 100_000);
is($t->get('a'), '1', 'the transaction reads its own write');
ok($t->exists('a'), 'and sees it exist');
ok(!$db->exists('a'), 'uncommitted writes are invisible outside');
$t->commit;
ok(!$t->active, 'commit ends it');
is($db->get('a'), '1', 'committed');
is(cellar_errname_of { $t->put('c', '3') }, 'CELLAR_ECLOSED', 'using an ended transaction');
is(cellar_errname_of { $t->commit }, 'CELLAR_ECLOSED', 'committing twice');
$t->abort;
pass('abort after commit is a no-op');

$t = $db->begin;
$t->delete('a');
is(cellar_errname_of { $t->get('a') }, 'CELLAR_ENOTFOUND', 'deleted inside the transaction');
is(cellar_errname_of { $t->delete('zzz') }, 'CELLAR_ENOTFOUND', 'txn delete of absent key');
$t->abort;
is($db->get('a'), '1', 'abort drops the writes');

# conflicts: a read key changed by another commit
my $t1 = $db->begin;
is($t1->get('a'), '1', 't1 reads a');
$db->put('a', 'changed');
$t1->put('a', 'from t1');
is(cellar_errname_of { $t1->commit }, 'CELLAR_ECONFLICT', 'conflict on commit');
is($db->get('a'), 'changed', 'the conflicting write was not applied');
my $w1 = $db->begin;
my $w2 = $db->begin;
$w1->put('w', '1');
$w2->put('w', '2');
$w1->commit;
$w2->commit;
is($db->get('w'), '2', 'write-only transactions do not conflict: last commit wins');

# read-only transactions
my $r = $db->begin(1);
is($r->get('w'), '2', 'read-only txn reads');
is(cellar_errname_of { $r->put('x', '1') }, 'CELLAR_EREADONLY', 'read-only txn refuses writes');
$r->abort;

# the scoped form
$db->transaction(sub { my $txn = shift; $txn->put('s1', 'x'); $txn->put('s2', 'y') });
is($db->get('s2'), 'y', 'transaction(sub) commits on return');
my $died = cellar_error_of {
    $db->transaction(sub { my $txn = shift; $txn->put('s3', 'z'); die "boom\n" });
};
is($died, "boom\n", 'transaction(sub) rethrows');
ok(!$db->exists('s3'), 'and aborts');
is(scalar $db->transaction(sub { 42 }), 42, 'transaction returns what the sub returns');
$db->transaction(sub {
    my $txn = shift;
    $db->put('outside', '1');    # the db is usable from inside the sub
    $txn->put('inside', '1');
});
ok($db->exists('outside') && $db->exists('inside'), 'db calls inside a transaction sub');

# iteration
$db->put_many([map {"k$_"} 1 .. 50], [map {"v$_"} 1 .. 50]);
my $n = $db->count;
my $it = $db->iterate;
isa_ok($it, 'cellardb::CellarIter');
is(cellar_errname_of { $it->key }, 'CELLAR_EINVAL', 'key before the first advance');
my $seen = 0;
while ($it->advance) {
    $seen++;
    $db->put('during', 'iteration') if $seen == 3;    # writes while iterating: no crash
}
ok($seen >= $n, "iterated every record present throughout ($seen >= $n)");
ok(!$it->advance, 'the end is sticky');
$it->close;
$it->close;
pass('closing an iterator twice is harmless');
is(cellar_errname_of { $it->advance }, 'CELLAR_ECLOSED', 'advance after close');

# children of a closed database are dead, never a crash
my $live_t = $db->begin;
$live_t->put('late', '1');
my $live_it = $db->iterate;
$db->close;
is(cellar_errname_of { $live_t->put('x', '1') }, 'CELLAR_ECLOSED', 'txn after its db closed');
is(cellar_errname_of { $live_t->commit }, 'CELLAR_ECLOSED', 'commit after its db closed');
is(cellar_errname_of { $live_it->advance }, 'CELLAR_ECLOSED', 'iterator after its db closed');
undef $live_t;
undef $live_it;
pass('freeing dead children is harmless');

# a transaction keeps its database open when the db object goes first
{
    my $db2 = cellardb::open("$dir/keep.cellar");
    my $txn = $db2->begin;
    undef $db2;
    $txn->put('kept', 'yes');
    $txn->commit;
    my $again = cellardb::open("$dir/keep.cellar");
    is($again->get('kept'), 'yes', 'a txn outliving its db object still commits');
    $again->close;
}

# many objects freed in any order
for my $round (1 .. 20) {
    my $d = cellardb::open("$dir/churn.cellar");
    my @kids = map { $_ % 2 ? $d->begin : $d->iterate } 1 .. 6;
    undef $d if $round % 2;
    @kids = reverse @kids if $round % 3;
}
pass('churn of dbs, transactions and iterators');
done_testing();
