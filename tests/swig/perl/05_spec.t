# The conformance suite (tests/spec/cases/*.json, format in tests/spec/README.md),
# run through the Perl binding: one test per case.
use strict;
use warnings;
use Test::More;
use FindBin;
use JSON::PP;
BEGIN { require "$FindBin::Bin/lib.pl" }
use cellardb;

my $cases_dir = $ENV{CELLAR_SPEC_CASES} || "$FindBin::Bin/../../spec/cases";
my @files = sort glob("$cases_dir/*.json");
plan skip_all => "no conformance cases in $cases_dir" unless @files;
my $only = $ENV{CELLAR_SPEC_ONLY};    # run one case by name

# ---- BYTES / values ----------------------------------------------------------
sub bytes_of {
    my ($j) = @_;
    return undef unless defined $j;
    if (!ref $j) {
        my $s = $j;
        utf8::encode($s);
        return $s;
    }
    if (ref $j eq 'HASH' && exists $j->{hex}) { return pack 'H*', $j->{hex} }
    if (ref $j eq 'HASH' && exists $j->{repeat}) {
        my $s = $j->{repeat};
        utf8::encode($s);
        return $s x $j->{count};
    }
    die "bad BYTES: " . encode_json([$j]);
}

# Canonical text of results, so expected and actual compare as strings.
sub canon_bytes { defined $_[0] ? 'b:' . unpack('H*', $_[0]) : 'null' }

sub canon_expected {
    my ($op, $v) = @_;
    return 'null' unless defined $v;
    if ($op eq 'get' || $op eq 'txn_get') { return canon_bytes(bytes_of($v)) }
    if ($op eq 'exists' || $op eq 'txn_exists') { return 'bool:' . ($v ? 1 : 0) }
    if ($op eq 'get_many') { return '[' . join(',', map { canon_bytes(bytes_of($_)) } @$v) . ']' }
    if ($op eq 'iterate') {
        return '{' . join(',', sort map { canon_bytes(bytes_of($_->[0])) . '=' . canon_bytes(bytes_of($_->[1])) } @$v) . '}';
    }
    return 'i:' . $v;
}

# ---- running a case ------------------------------------------------------------
sub options_for {
    my ($opts, $clock) = @_;
    my %o = (clock => $clock);
    $o{page_size} = $opts->{page_size} if exists $opts->{page_size};
    $o{cache_size} = $opts->{cache_size} if exists $opts->{cache_size};
    $o{sync} = $opts->{sync} if exists $opts->{sync};
    $o{readonly} = ($opts->{readonly} ? 1 : 0) if exists $opts->{readonly};
    return %o;
}

sub run_case {
    my ($case) = @_;
    my $dir = cellar_tmpdir();
    my $path = "$dir/db";
    my $opts = $case->{options} || {};
    my $clock = cellardb::CellarClock->new($opts->{clock} // 1_700_000_000_000);
    my ($db, %txns);

    my $call = sub {    # returns ('ok', canon) or ('error', name)
        my ($code) = @_;
        my $r = eval { [$code->()] };
        if (!$r) {
            my $e = $@;
            return ('error', ref $e && $e->isa('cellardb::Error') ? $e->name : "NOT-CELLAR: $e");
        }
        return ('ok', $r->[0]);
    };
    my $open = sub {
        my ($over) = @_;
        my %merged = (%$opts, %{ $over || {} });
        $db = cellardb::open($path, options_for(\%merged, $clock));
        return 'null';
    };

    my $expect_open = $case->{open_expect} || { ok => undef };
    my ($kind, $got) = $call->(sub { $open->() });
    my $want_open = exists $expect_open->{error} ? "error $expect_open->{error}" : 'ok null';
    return "open: expected $want_open, got $kind $got" if "$kind $got" ne $want_open;

    my %ops = (
        get       => sub { canon_bytes($db->get(bytes_of($_[0]))) },
        put       => sub { $db->put(bytes_of($_[0]), bytes_of($_[1])); 'null' },
        put_ttl   => sub { $db->put_ttl(bytes_of($_[0]), bytes_of($_[1]), $_[2]); 'null' },
        delete    => sub { $db->delete(bytes_of($_[0])); 'null' },
        exists    => sub { 'bool:' . ($db->exists(bytes_of($_[0])) ? 1 : 0) },
        count     => sub { 'i:' . $db->count },
        incr      => sub { 'i:' . $db->incr(bytes_of($_[0]), @_ > 1 ? $_[1] : 1) },
        decr      => sub { 'i:' . $db->decr(bytes_of($_[0]), @_ > 1 ? $_[1] : 1) },
        cas       => sub { $db->cas(bytes_of($_[0]), bytes_of($_[1]), bytes_of($_[2])); 'null' },
        expire    => sub { $db->expire(bytes_of($_[0]), $_[1]); 'null' },
        ttl       => sub { 'i:' . $db->ttl(bytes_of($_[0])) },
        persist   => sub { $db->persist(bytes_of($_[0])); 'null' },
        get_many  => sub {
            '[' . join(',', map { canon_bytes($_) } @{ $db->get_many([map { bytes_of($_) } @{ $_[0] }]) }) . ']';
        },
        put_many  => sub {
            $db->put_many([map { bytes_of($_->[0]) } @{ $_[0] }], [map { bytes_of($_->[1]) } @{ $_[0] }]);
            'null';
        },
        iterate   => sub {
            my @pairs;
            my $it = $db->iterate;
            while (my ($k, $v) = $it->next) { push @pairs, canon_bytes($k) . '=' . canon_bytes($v) }
            $it->close;
            '{' . join(',', sort @pairs) . '}';
        },
        advance_clock => sub { $clock->advance($_[0]); 'null' },
        close     => sub { $db->close; 'null' },
        reopen    => sub { $db->close if $db; $open->($_[0]) },
        txn_begin => sub {
            my $ro = @_ > 1 && $_[1] eq 'readonly';
            $txns{ $_[0] } = $db->begin($ro ? 1 : 0);
            'null';
        },
        txn_get     => sub { canon_bytes(txn($_[0])->get(bytes_of($_[1]))) },
        txn_exists  => sub { 'bool:' . (txn($_[0])->exists(bytes_of($_[1])) ? 1 : 0) },
        txn_put     => sub { txn($_[0])->put(bytes_of($_[1]), bytes_of($_[2])); 'null' },
        txn_put_ttl => sub { txn($_[0])->put_ttl(bytes_of($_[1]), bytes_of($_[2]), $_[3]); 'null' },
        txn_delete  => sub { txn($_[0])->delete(bytes_of($_[1])); 'null' },
        txn_commit  => sub { my $t = delete $txns{ $_[0] } or die "no txn $_[0]\n"; $t->commit; 'null' },
        txn_abort   => sub { my $t = delete $txns{ $_[0] } or die "no txn $_[0]\n"; $t->abort; 'null' },
    );
    local *txn = sub { $txns{ $_[0] } or die "no transaction named $_[0]\n" };

    my $i = 0;
    my $failure;
    for my $step (@{ $case->{steps} || [] }) {
        my $op = $step->{op};
        my $fn = $ops{$op};
        if (!$fn) { $failure = "step $i: unknown op $op"; last }
        my @args = @{ $step->{args} || [] };
        my ($k, $got) = $call->(sub { $fn->(@args) });
        if (my $ex = $step->{expect}) {
            my $want = exists $ex->{error} ? "error $ex->{error}" : 'ok ' . canon_expected($op, $ex->{ok});
            if ("$k $got" ne $want) { $failure = "step $i ($op): expected $want, got $k $got"; last }
        } elsif ($k ne 'ok') {
            $failure = "step $i ($op): expected success, got $k $got";
            last;
        }
        $i++;
    }
    $_->abort for values %txns;
    $db->close if $db;
    return $failure;
}

my ($passed, $failed) = (0, 0);
for my $file (@files) {
    open my $fh, '<:raw', $file or die "$file: $!";
    my $doc = JSON::PP->new->utf8->decode(do { local $/; <$fh> });
    for my $case (@{ $doc->{cases} }) {
        next if $only && $case->{name} ne $only;
        my $failure = run_case($case);
        ok(!defined $failure, $case->{name}) or diag("$case->{name}: $failure");
        defined $failure ? $failed++ : $passed++;
    }
}
diag("$passed passed, $failed failed");
done_testing();
