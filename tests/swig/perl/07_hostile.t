# Hostile input: wrong types for every method, keys and values over the
# limits, invalid options, and every method of closed or ended objects. Each
# gets a cellardb::Error (never a crash, never a plain string) and leaves the
# database as it was.
use strict;
use warnings;
use Test::More;
use FindBin;
BEGIN { require "$FindBin::Bin/lib.pl" }
use cellardb;

my $dir = cellar_tmpdir();
my $db = cellardb::open("$dir/hostile.cellar");
$db->put_many(['a', 'b', 'n'], ['1', '2', '5']);
my $txn = $db->begin;

sub unchanged {
    my ($what) = @_;
    is($db->count, 3, "$what: count unchanged");
    is($db->get('a'), '1', "$what: a unchanged");
    is($db->get('n'), '5', "$what: n unchanged");
    is_deeply($db->check, [], "$what: check clean");
}

# Every method that takes a key, as name => sub($key).
my @key_calls = (
    get         => sub { $db->get($_[0]) },
    exists      => sub { $db->exists($_[0]) },
    put         => sub { $db->put($_[0], 'v') },
    put_ttl     => sub { $db->put_ttl($_[0], 'v', 1000) },
    delete      => sub { $db->delete($_[0]) },
    incr        => sub { $db->incr($_[0]) },
    decr        => sub { $db->decr($_[0], 2) },
    cas         => sub { $db->cas($_[0], undef, 'v') },
    insert      => sub { $db->insert($_[0], 'v') },
    delete_if   => sub { $db->delete_if($_[0], 'v') },
    expire      => sub { $db->expire($_[0], 5) },
    ttl         => sub { $db->ttl($_[0]) },
    persist     => sub { $db->persist($_[0]) },
    get_many    => sub { $db->get_many(['a', $_[0]]) },
    put_many    => sub { $db->put_many(['z', $_[0]], ['1', '2']) },
    'txn get'     => sub { $txn->get($_[0]) },
    'txn exists'  => sub { $txn->exists($_[0]) },
    'txn put'     => sub { $txn->put($_[0], 'v') },
    'txn put_ttl' => sub { $txn->put_ttl($_[0], 'v', 1000) },
    'txn delete'  => sub { $txn->delete($_[0]) },
);

# wrong types as keys: undef, references of every kind, wide characters
my %bad_keys = (
    undef        => undef,
    'array ref'  => [1],
    'hash ref'   => {},
    'code ref'   => sub { 1 },
    'glob ref'   => \*STDOUT,
    'scalar ref' => \'k',
    'an object'  => $db,
    'wide chars' => "\x{263a}",
);
for (my $i = 0; $i < @key_calls; $i += 2) {
    my ($name, $call) = @key_calls[$i, $i + 1];
    for my $kind (sort keys %bad_keys) {
        is(cellar_errname_of { $call->($bad_keys{$kind}) }, 'CELLAR_EINVAL', "$name: $kind as key");
    }
}
# wrong types as values and expected values
for my $kind (sort keys %bad_keys) {
    my $v = $bad_keys{$kind};
    is(cellar_errname_of { $db->put('k', $v) }, 'CELLAR_EINVAL', "put: $kind as value");
    is(cellar_errname_of { $db->put_ttl('k', $v, 5) }, 'CELLAR_EINVAL', "put_ttl: $kind as value");
    is(cellar_errname_of { $db->insert('k', $v) }, 'CELLAR_EINVAL', "insert: $kind as value");
    is(cellar_errname_of { $db->put_many(['k'], [$v]) }, 'CELLAR_EINVAL', "put_many: $kind as value");
    is(cellar_errname_of { $txn->put('k', $v) }, 'CELLAR_EINVAL', "txn put: $kind as value");
    next unless defined $v;    # undef is "absent" for cas
    is(cellar_errname_of { $db->cas('a', $v, 'x') }, 'CELLAR_EINVAL', "cas: $kind as expected");
    is(cellar_errname_of { $db->cas('a', '1', $v) }, 'CELLAR_EINVAL', "cas: $kind as new value");
}
is(cellar_errname_of { $db->delete_if('a', undef) }, 'CELLAR_EINVAL', 'delete_if: undef as expected');

# wrong types where a number is wanted (undef and "" are not zero)
my %bad_numbers = (
    undef       => undef,
    empty       => '',
    text        => 'abc',
    'half text' => '12abc',
    fraction    => 1.5,
    huge        => 1e30,
    'array ref' => [1],
);
for my $kind (sort keys %bad_numbers) {
    my $n = $bad_numbers{$kind};
    is(cellar_errname_of { $db->incr('n', $n) }, 'CELLAR_EINVAL', "incr delta: $kind");
    is(cellar_errname_of { $db->decr('n', $n) }, 'CELLAR_EINVAL', "decr delta: $kind");
    is(cellar_errname_of { $db->put_ttl('k', 'v', $n) }, 'CELLAR_EINVAL', "put_ttl ttl: $kind");
    is(cellar_errname_of { $db->expire('a', $n) }, 'CELLAR_EINVAL', "expire ttl: $kind");
    is(cellar_errname_of { $txn->put_ttl('k', 'v', $n) }, 'CELLAR_EINVAL', "txn put_ttl ttl: $kind");
    is(cellar_errname_of { cellardb::open("$dir/o.cellar", cache_size => $n) }, 'CELLAR_EINVAL',
       "cache_size: $kind");
    is(cellar_errname_of { cellardb::CellarClock->new($n) }, 'CELLAR_EINVAL', "clock start: $kind");
}
like(cellar_error_of { $db->incr('n', 'abc') }->message, qr/delta must be an integer/,
     'the message names the argument');
is(cellar_errname_of { $db->put_ttl('k', 'v', -1) }, 'CELLAR_EINVAL', 'negative ttl');
is(cellar_errname_of { $db->incr('n', '9223372036854775807') }, 'CELLAR_EOVERFLOW', 'incr past int64');

# wrong lists, wrong objects, wrong argument counts, wrong code
is(cellar_errname_of { $db->get_many($_) }, 'CELLAR_EINVAL', 'get_many of ' . (ref $_ || $_ // 'undef'))
    for (undef, 'a', {}, \'a', sub { 1 });
is(cellar_errname_of { $db->put_many(['a'], $_) }, 'CELLAR_EINVAL', 'put_many values of ' . (ref $_ || $_ // 'undef'))
    for (undef, 'a', {});
is(cellar_errname_of { $db->put_many(['a', 'b'], ['1']) }, 'CELLAR_EINVAL', 'put_many lengths differ');
is(cellar_errname_of { my @sparse; $sparse[2] = 'x'; $db->get_many(\@sparse) }, 'CELLAR_EINVAL',
   'a sparse key list');
is(cellar_errname_of { $db->get }, 'CELLAR_EINVAL', 'too few arguments');
is(cellar_errname_of { $db->get('a', 'b') }, 'CELLAR_EINVAL', 'too many arguments');
is(cellar_errname_of { cellardb::CellarDB::get($txn, 'a') }, 'CELLAR_EINVAL', 'a transaction as the db');
is(cellar_errname_of { cellardb::CellarDB::get('cellardb::CellarDB', 'a') }, 'CELLAR_EINVAL',
   'the class as the db');
is(cellar_errname_of { cellardb::CellarDB::get(undef, 'a') }, 'CELLAR_ECLOSED', 'undef as the db');
is(cellar_errname_of { cellardb::CellarTxn::put(undef, 'a', 'b') }, 'CELLAR_ECLOSED', 'undef as the txn');
is(cellar_errname_of { cellardb::CellarIter::advance(undef) }, 'CELLAR_ECLOSED', 'undef as the iterator');
is(cellar_errname_of { cellardb::CellarOptions::set_flags(undef, 1) }, 'CELLAR_ECLOSED',
   'undef as the options (was a null dereference)');
is(cellar_errname_of { cellardb::CellarOptions::copy(undef) }, 'CELLAR_ECLOSED', 'undef options: copy');
is(cellar_errname_of { cellardb::CellarClock::now(undef) }, 'CELLAR_ECLOSED', 'undef as the clock');
is(cellar_errname_of { cellardb::CellarStats::swig_records_get(undef) }, 'CELLAR_ECLOSED',
   'undef as the stats (was a null dereference)');
is(cellar_errname_of { $db->transaction($_) }, 'CELLAR_EINVAL', 'transaction of ' . (ref $_ || $_ // 'undef'))
    for (undef, 'main::unchanged', [], {});
is(cellar_errname_of { $db->backup($_) }, 'CELLAR_EINVAL', 'backup to ' . (ref $_ || 'undef'))
    for (undef, []);
is(cellar_errname_of { $db->dump(undef) }, 'CELLAR_EINVAL', 'dump to undef');
is(cellar_errname_of { $db->load(undef) }, 'CELLAR_EINVAL', 'load from undef');
unchanged('after wrong types');

# keys over the limit, on every call that takes a key
my $over = 'k' x ($cellardb::MAX_KEY_SIZE + 1);
for (my $i = 0; $i < @key_calls; $i += 2) {
    my ($name, $call) = @key_calls[$i, $i + 1];
    is(cellar_errname_of { $call->($over) }, 'CELLAR_ETOOBIG', "$name: key over $cellardb::MAX_KEY_SIZE bytes");
}
is(cellar_errname_of { $db->put('k' x (16 << 20), 'v') }, 'CELLAR_ETOOBIG', 'a 16 MiB key');
$txn->put('in txn', '1');
$txn->commit;
is($db->get('in txn'), '1', 'the transaction that saw the bad input commits its good write');
$db->delete('in txn');
unchanged('after oversize keys');

# a value one byte over 1 GiB (not under valgrind: too slow there)
SKIP: {
    skip 'oversize value: not under valgrind', 2 if ($ENV{LD_PRELOAD} // '') =~ /vgpreload/;
    my $big = 'x' x ($cellardb::MAX_VALUE_SIZE + 1);
    is(cellar_errname_of { $db->put('big', $big) }, 'CELLAR_ETOOBIG', 'a value over 1 GiB');
    is(cellar_errname_of { $db->transaction(sub { $_[0]->put('big', $big) }) }, 'CELLAR_ETOOBIG',
       'a value over 1 GiB in a transaction');
}
unchanged('after an oversize value');

# invalid options
my $o = "$dir/o.cellar";
my @bad_options = (
    [sync => 'sometimes'], [sync => ''], [sync => 'FULL'], [sync => undef], [sync => []],
    [cache_size => -1], [page_size => -1], [page_size => 1000], [page_size => 3000],
    [page_size => 1 << 20], [flags => 0x100], [flags => -1], [flags => 'rw'], [mode => -1],
    [mode => 0x10000], [lock_timeout => -1], [lock_timeout => 2**40], [wal_limit => -1],
    [clock => 'x'], [clock => $db], [colour => 'blue'], ['sync'],
    [readonly => 1, truncate => 1],
);
for my $opt (@bad_options) {
    my $desc = join ' => ', map { defined $_ ? (ref $_ ? ref $_ : "'$_'") : 'undef' } @$opt;
    is(cellar_errname_of { cellardb::open($o, @$opt) }, 'CELLAR_EINVAL', "option $desc");
}
ok(!-e $o, 'no file was created by a refused open');
{
    # a huge cache size is a budget, not an allocation
    my $d = cellardb::open("$dir/absurd.cellar", cache_size => 4611686018427387904);
    $d->put('k', 'v');
    is($d->get('k'), 'v', 'an absurd cache size opens and works');
    $d->close;
}
is(cellar_errname_of { cellardb::open('') }, 'CELLAR_EINVAL', 'empty path');
mkdir "$dir/dir" or die;
like(cellar_errname_of { cellardb::open("$dir/dir") }, qr/^CELLAR_E/, 'a directory as path');
unchanged('after bad options');

# every method of a closed database
my $c = cellardb::open("$dir/closed.cellar");
my $live_txn = $c->begin;
my $live_it = $c->iterate;
$c->close;
my @closed_calls = (
    get => sub { $c->get('a') }, exists => sub { $c->exists('a') }, put => sub { $c->put('a', 'b') },
    put_ttl => sub { $c->put_ttl('a', 'b', 1) }, delete => sub { $c->delete('a') },
    incr => sub { $c->incr('a') }, decr => sub { $c->decr('a') },
    cas => sub { $c->cas('a', undef, 'b') }, insert => sub { $c->insert('a', 'b') },
    delete_if => sub { $c->delete_if('a', 'b') }, expire => sub { $c->expire('a', 1) },
    ttl => sub { $c->ttl('a') }, persist => sub { $c->persist('a') }, count => sub { $c->count },
    get_many => sub { $c->get_many(['a']) }, put_many => sub { $c->put_many(['a'], ['b']) },
    begin => sub { $c->begin }, 'begin(1)' => sub { $c->begin(1) }, iterate => sub { $c->iterate },
    transaction => sub { $c->transaction(sub { 1 }) }, stats => sub { $c->stats },
    sync => sub { $c->sync }, checkpoint => sub { $c->checkpoint }, compact => sub { $c->compact },
    check => sub { $c->check }, backup => sub { $c->backup("$dir/bk.cellar") },
    dump => sub { $c->dump("$dir/d.txt") }, load => sub { $c->load("$dir/none.txt") },
);
for (my $i = 0; $i < @closed_calls; $i += 2) {
    my ($name, $call) = @closed_calls[$i, $i + 1];
    is(cellar_errname_of { $call->() }, 'CELLAR_ECLOSED', "closed db: $name");
}
ok($c->closed, 'closed db: closed');
is($c->path, "$dir/closed.cellar", 'closed db: path');
is(cellar_errname_of { $c->close }, '', 'closed db: close again');

# every method of ended transactions: committed, aborted, dead (db closed)
my $committed = $db->begin;
$committed->commit;
my $aborted = $db->begin;
$aborted->abort;
for my $case ([committed => $committed], [aborted => $aborted], [dead => $live_txn]) {
    my ($w, $t) = @$case;
    is(cellar_errname_of { $t->get('a') }, 'CELLAR_ECLOSED', "$w txn: get");
    is(cellar_errname_of { $t->exists('a') }, 'CELLAR_ECLOSED', "$w txn: exists");
    is(cellar_errname_of { $t->put('a', 'x') }, 'CELLAR_ECLOSED', "$w txn: put");
    is(cellar_errname_of { $t->put_ttl('a', 'x', 5) }, 'CELLAR_ECLOSED', "$w txn: put_ttl");
    is(cellar_errname_of { $t->delete('a') }, 'CELLAR_ECLOSED', "$w txn: delete");
    is(cellar_errname_of { $t->commit }, 'CELLAR_ECLOSED', "$w txn: commit");
    is(cellar_errname_of { $t->abort }, '', "$w txn: abort is a no-op");
    ok(!$t->active, "$w txn: not active");
}

# exhausted, closed, dead and failed iterators
{
    my $it = $db->iterate;
    my $n = 0;
    $n++ while $it->advance;
    is($n, 3, 'iterated the 3 records');
    ok(!$it->advance && !$it->advance, 'exhausted: advance stays false');
    is_deeply([$it->next], [], 'exhausted: next is the empty list');
    is(cellar_errname_of { $it->key }, 'CELLAR_EINVAL', 'exhausted: key');
    is(cellar_errname_of { $it->value }, 'CELLAR_EINVAL', 'exhausted: value');
    $it->close;
    is(cellar_errname_of { $it->advance }, 'CELLAR_ECLOSED', 'closed: advance');
    is(cellar_errname_of { $it->key }, 'CELLAR_ECLOSED', 'closed: key');
    is(cellar_errname_of { $it->value }, 'CELLAR_ECLOSED', 'closed: value');
    is(cellar_errname_of { $it->next }, 'CELLAR_ECLOSED', 'closed: next');
    is(cellar_errname_of { $it->close }, '', 'closed: close again');
    is(cellar_errname_of { $live_it->advance }, 'CELLAR_ECLOSED', 'dead: advance');
    is(cellar_errname_of { $live_it->value }, 'CELLAR_ECLOSED', 'dead: value');

    my $stopped = $db->iterate;
    $stopped->advance;
    $db->compact;
    is(cellar_errname_of { $stopped->advance }, 'CELLAR_EBUSY', 'compacted under the iterator');
    is(cellar_errname_of { $stopped->advance }, 'CELLAR_EBUSY', 'the error is sticky, not the end');
    is(cellar_errname_of { $stopped->next }, 'CELLAR_EBUSY', 'next reports it too');
    is(cellar_errname_of { $stopped->key }, 'CELLAR_EBUSY', 'key after the error');
}
unchanged('after closed objects');

# A key whose stringification, run while a call converts its arguments (so
# after the object the call is on was looked up, before the call itself),
# closes the database, ends the transaction, or drops the last reference to
# the object the call is on. An ended object gives CELLAR_ECLOSED; a dropped
# one lives until the call returns (it used to be freed under the call).
# Many rounds, as the other languages' close races (CELLAR_LONG_TESTS=1:
# ten times as many).
{
    package Cellar::SneakyKey;
    use overload '""' => sub { $_[0]{hook}->(); $_[0]{key} }, fallback => 1;
    sub new { my ($class, $key, $hook) = @_; return bless { key => $key, hook => $hook }, $class }
}
{
    my $long = defined $ENV{CELLAR_LONG_TESTS} && $ENV{CELLAR_LONG_TESTS} !~ /^0?$/;
    my $rounds = $long ? 200 : 20;
    my $path = "$dir/sneaky.cellar";
    my $anchor = cellardb::open($path); # keeps the file open: the other handles are cheap
    my (%got, %want);
    for my $round (1 .. $rounds) {
        # [name, expected error name ('' for none), sub($db, $txn-ref) -> call]
        my @cases = (
            ['db put, db closed', 'CELLAR_ECLOSED', sub { my ($d) = @_;
                $d->put(Cellar::SneakyKey->new("k$round", sub { $d->close }), 'v') }],
            ['db get_many, db closed', 'CELLAR_ECLOSED', sub { my ($d) = @_;
                $d->get_many([Cellar::SneakyKey->new('k', sub { $d->close })]) }],
            ['txn put, aborted', 'CELLAR_ECLOSED', sub { my ($d, $t) = @_;
                $t->put(Cellar::SneakyKey->new("t$round", sub { $t->abort }), 'v') }],
            ['txn put, committed', 'CELLAR_ECLOSED', sub { my ($d, $t) = @_;
                $t->put(Cellar::SneakyKey->new("t$round", sub { $t->commit }), 'v') }],
            ['txn get, db closed', 'CELLAR_ECLOSED', sub { my ($d, $t) = @_;
                $t->get(Cellar::SneakyKey->new('k', sub { $d->close })) }],
            ['txn put, last reference dropped', '', sub { my $t = \$_[1];
                $$t->put(Cellar::SneakyKey->new("u$round", sub { undef $$t }), 'v') }],
            ['db put, last reference dropped', '', sub { undef $_[1]; my $d = \$_[0];
                $$d->put(Cellar::SneakyKey->new("d$round", sub { undef $$d }), 'v') }],
        );
        for my $case (@cases) {
            my ($name, $want, $call) = @$case;
            my $d = cellardb::open($path);
            my $t = $d->begin;
            $want{$name} = $want;
            # @_ aliases $d and $t, so a hook can drop the only reference
            # (of the db: once its transaction is gone too)
            $got{$name}{ cellar_errname_of { $call->($d, $t) } }++;
        }
    }
    for my $name (sort keys %want) {
        is_deeply([keys %{ $got{$name} }], [$want{$name}],
                  "$name: only '$want{$name}' in $rounds rounds");
    }
    ok($anchor->exists("d$rounds"), 'the put on a dropped db was made');
    ok(!$anchor->exists("u$rounds") && !$anchor->exists("t$rounds"),
       'writes of dropped and ended transactions are not there');
    is_deeply($anchor->check, [], 'the file is sound');
    $anchor->close;
}
$db->close;
done_testing();
