# Calls back into the database from inside an iteration or a transaction,
# closing while iterators and transactions are alive, destruction in any
# order (global destruction included), and threads. Clear errors, no crash,
# and what was committed before a close is there on reopen.
use strict;
use warnings;
use Config;
use Test::More;
use FindBin;
BEGIN { require "$FindBin::Bin/lib.pl" }
use cellardb;

my $dir = cellar_tmpdir();
my $path = "$dir/rec.cellar";
my $db = cellardb::open($path);
$db->put_many([map {"k$_"} 0 .. 39], [map {"v$_"} 0 .. 39]);

# ---- inside an iteration: every call of the db works -------------------------
{
    my $it = $db->iterate;
    my ($n, @errors) = (0);
    while (my ($k, $v) = $it->next) {
        $n++;
        for my $call (
            sub { $db->put("new$n", $v) },
            sub { $db->get('k0') },
            sub { $db->exists('k1') },
            $n == 2 ? sub { $db->delete('k39') } : (),
            $n == 3 ? sub {
                my $inner = $db->iterate;
                my $c = 0;
                $c++ while $inner->advance;
                die "nested iteration saw $c\n" if $c < 39;
            } : (),
            $n == 4 ? sub { $db->transaction(sub { $_[0]->put('from txn in iteration', 1) }) } : (),
            $n == 5 ? sub { $db->put_many(['m1'], ['1']) } : (),
            $n == 6 ? sub { $db->count } : (),
            $n == 7 ? sub { my $t = $db->begin; $t->put('t7', 1); $t->commit } : (),
        ) {
            my $e = cellar_errname_of { $call->() };
            push @errors, $e if $e ne '';
        }
    }
    is_deeply(\@errors, [], 'calls inside an iteration all succeed');
    cmp_ok($n, '>=', 39, "the iteration went on to the end ($n)");
    ok($db->exists('from txn in iteration') && $db->exists('m1') && $db->exists('t7'),
       'writes made during the iteration are there');
}
{
    my $it = $db->iterate;
    $it->advance;
    $it->advance;
    $db->compact;
    is(cellar_errname_of { $it->next }, 'CELLAR_EBUSY', 'compact inside an iteration: the next step says EBUSY');
    is_deeply($db->check, [], 'compact inside an iteration: the db is fine');
}
{
    my $it = $db->iterate;
    $it->advance;
    $db->close;
    is(cellar_errname_of { $it->next }, 'CELLAR_ECLOSED', 'close inside an iteration: the next step says ECLOSED');
    is(cellar_errname_of { $it->key }, 'CELLAR_ECLOSED', 'and key');
    $db = cellardb::open($path);
    is($db->get('k5'), 'v5', 'close inside an iteration: committed data is there on reopen');
}
{
    # the tied hash: writes and deletes inside each()
    tie my %h, 'cellardb::Hash', $path;
    my $n = 0;
    while (my ($k, $v) = each %h) {
        $h{"each$n"} = 1 if $n < 3;
        delete $h{k10} if $n == 3;
        $n++;
    }
    cmp_ok($n, '>=', 39, 'each over the tied hash with writes inside');
    ok(exists $h{each0} && !exists $h{k10}, 'and the writes are there');
    untie %h;
}

# ---- inside transaction(sub): the db, a nested transaction, the txn itself ----
{
    my $r = $db->transaction(sub {
        my $t = shift;
        $t->put('outer', 1);
        $db->put('direct', 1);
        die "direct write not visible\n" unless $db->get('direct') eq '1';
        die "open transaction visible outside\n" if $db->exists('outer');
        $db->transaction(sub { $_[0]->put('inner', 1) });
        die "nested commit not visible\n" unless $t->exists('inner');
        my $it = $db->iterate;
        while (my ($k, $v) = $it->next) { $t->put("copy:$k", $v) }
        $db->compact;
        $t->put('after compact', 1);
        7;
    });
    is($r, 7, 'a transaction with calls back into the db returns');
    ok((!grep { !$db->exists($_) } 'outer', 'inner', 'direct', 'copy:k7', 'after compact'),
       'outer, inner, direct and copied writes committed');
}
$db->transaction(sub {
    my $t = shift;
    $t->put('self-committed', 1);
    $t->commit;
    is(cellar_errname_of { $t->put('x', 1) }, 'CELLAR_ECLOSED', 'after its own commit the txn is ended');
    is(cellar_errname_of { $t->commit }, 'CELLAR_ECLOSED', 'committing twice');
});
ok($db->exists('self-committed'), 'a sub that commits itself: committed once, no error');
$db->transaction(sub { my $t = shift; $t->put('self-aborted', 1); $t->abort });
ok(!$db->exists('self-aborted'), 'a sub that aborts itself: nothing written');
my $escaped;
$db->transaction(sub { $escaped = shift });
is(cellar_errname_of { $escaped->put('x', 1) }, 'CELLAR_ECLOSED', 'the txn used after transaction() returned');
{
    my $e = cellar_error_of { $db->transaction(sub { $db->get('missing') }) };
    is(ref $e && $e->name, 'CELLAR_ENOTFOUND', 'an error inside is rethrown as it was');
}
{
    my $before = $db->count;
    is(cellar_errname_of {
        $db->transaction(sub { $_[0]->put('lost', 1); $db->close; 1 });
    }, 'CELLAR_ECLOSED', 'closing the db inside transaction(sub)');
    $db = cellardb::open($path);
    ok(!$db->exists('lost'), 'the write of the interrupted transaction was dropped');
    is($db->count, $before, 'everything committed before is there');
}
{
    # dropping the db object inside the sub: the transaction keeps it open
    my $d = cellardb::open("$dir/drop.cellar");
    $d->transaction(sub { $_[0]->put('kept', 1); undef $d; });
    my $again = cellardb::open("$dir/drop.cellar");
    is($again->get('kept'), '1', 'the db object dropped inside transaction(sub): still commits');
    $again->close;
}

# ---- close while transactions and iterators are alive, then use them ---------
{
    my $d = cellardb::open("$dir/alive.cellar");
    $d->put_many([map {"x$_"} 1 .. 10], [map {"y$_"} 1 .. 10]);
    my $t = $d->begin;
    $t->put('pending', 1);
    my $it = $d->iterate;
    $it->advance;
    $d->close;
    is(cellar_errname_of { $t->get('x1') }, 'CELLAR_ECLOSED', 'txn of a closed db: get');
    is(cellar_errname_of { $t->commit }, 'CELLAR_ECLOSED', 'txn of a closed db: commit');
    is(cellar_errname_of { $it->next }, 'CELLAR_ECLOSED', 'iterator of a closed db: next');
    is(cellar_errname_of { $it->value }, 'CELLAR_ECLOSED', 'iterator of a closed db: value');
    undef $d;    # the proxy goes first, then the children
    undef $t;
    undef $it;
    my $again = cellardb::open("$dir/alive.cellar");
    is($again->count, 10, 'committed data is there; the pending write is not');
    $again->close;
}

# ---- global destruction: objects left alive at exit, in every order ---------
# The database must still be closed properly (its final checkpoint leaves the
# log as short as after an explicit close), and only committed data be there.
sub wal_size {
    my $ro = cellardb::open($_[0], readonly => 1);
    my $n = $ro->stats->{wal_size};
    $ro->close;
    return $n;
}
{
    my $ref = cellardb::open("$dir/closed-explicitly.cellar");
    $ref->put('committed', 'yes');
    $ref->close;
    my $clean = wal_size("$dir/closed-explicitly.cellar");
    my @inc = map {"-I$_"} @INC;
    for my $case (
        ['plain', ''],
        ['closed first', '$db->close;'],
        ['cycle', 'my $c = {}; $c->{self} = $c; $c->{db} = $db; $c->{t} = $db->begin; $c->{i} = $db->iterate;'],
        ['tied hash mid-each', 'tie our %h, q(cellardb::Hash), "$p.tie"; $h{a} = 1; my $k = each %h;'],
        ['only children left', 'our $t2 = $db->begin; our $i2 = $db->iterate; undef $db;'],
    ) {
        my ($name, $extra) = @$case;
        my $p = "$dir/exit-" . join('', map { lc } $name =~ /(\w)/g) . '.cellar';
        my $script = <<"EOS";
use strict; use warnings; use cellardb;
my \$p = '$p';
our \$db = cellardb::open(\$p);
\$db->put('committed', 'yes');
our \$t = \$db->begin; \$t->put('uncommitted', 1);
our \$it = \$db->iterate; \$it->advance;
our \$stats = \$db->stats;
our \$clock = cellardb::CellarClock->new(5);
$extra
exit 0;
EOS
        for my $level (0, 2) {
            local $ENV{PERL_DESTRUCT_LEVEL} = $level;
            open my $fh, '|-', $^X, @inc, '-' or die "cannot run perl: $!";
            print $fh $script;
            close $fh;
            is($?, 0, "exit with live objects ($name, destruct level $level): clean exit");
        }
        is(wal_size($p), $clean, "exit with live objects ($name): the database was closed");
        my $again = cellardb::open($p);
        ok($again->exists('committed') && !$again->exists('uncommitted'),
           "exit with live objects ($name): committed data only");
        $again->close;
    }
}

# ---- threads: objects are not shared; each thread opens the file itself -------
SKIP: {
    skip 'perl without threads', 7 unless $Config{useithreads};
    skip 'threads under valgrind are too slow', 7 if ($ENV{LD_PRELOAD} // '') =~ /vgpreload/;
    require threads;
    my $p = "$dir/threads.cellar";
    my $d = cellardb::open($p);
    $d->put('main', 1);
    my $t = $d->begin;
    my $it = $d->iterate;

    # the thread's copies are undef: using them dies, and freeing the
    # originals meanwhile crashes nothing (they used to dangle)
    my $thr = threads->create(sub {
        my @r;
        push @r, eval { $d->put('from thread', 1); 1 } ? 'used' : 'refused';
        push @r, eval { $t->put('x', 1); 1 } ? 'used' : 'refused';
        push @r, eval { $it->advance; 1 } ? 'used' : 'refused';
        my $own = cellardb::open($p);    # shares the one open database
        $own->put("thread's own", 1);
        push @r, $own->get('main');
        $own->close;
        return join ',', @r;
    });
    is($thr->join, 'refused,refused,refused,1', 'objects are undef in a thread; its own handle works');
    ok($d->exists("thread's own") && !$d->exists('from thread'), "the thread's write is there");

    # a database object handed back by join is undef too (its original is gone)
    my ($back) = threads->create(sub { my $x = cellardb::open($p); $x->put('returned', 1); $x })->join;
    ok(!eval { $back->get('returned'); 1 }, 'an object returned by join is not usable');
    ok($d->exists('returned'), 'what the thread wrote is there');

    # close races: threads write through their own handles while main closes its own
    my @workers = map {
        my $id = $_;
        threads->create(sub {
            my $own = cellardb::open($p);
            my $last;
            for my $i (1 .. 300) {
                $own->put("w$id-$i", $i);
                $last = "w$id-$i";
            }
            $own->close;
            return $last;
        });
    } 1 .. 3;
    $t->abort;
    $it->close;
    $d->close;
    my @last = map { $_->join } @workers;
    my $again = cellardb::open($p);
    is(scalar(grep { $again->exists($_) } @last), 3, 'every thread committed through the close of another handle');
    is($again->count, 3 + 900, 'every write is there');
    is_deeply($again->check, [], 'check clean');
    $again->close;
}

$db->close;
done_testing();
