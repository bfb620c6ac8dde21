# The Perl side of the cross-language interop test (driven by interop.py).
# usage: perl -I PERLDIR worker.pl write PLAN DB | read PLAN DB...
# (the plan format is described in interop_c.c)
use strict;
use warnings;
use cellardb;

sub decode {
    my ($tok) = @_;
    if (substr($tok, 0, 1) eq 'p') {
        my $n = substr($tok, 1);
        my $pat = join '', map { chr } 0 .. 250;
        return substr($pat x (int($n / 251) + 1), 0, $n);
    }
    return pack 'H*', substr($tok, 1);
}

sub read_plan {
    my ($file) = @_;
    open my $fh, '<', $file or die "cannot open $file: $!";
    my @ops;
    while (my $line = <$fh>) {
        chomp $line;
        next if $line eq '' || $line =~ /^#/;
        my @t = split / /, $line, -1;
        my $op = { kind => shift @t, pairs => [], ttl => 0 };
        if ($op->{kind} eq 'ttl') {
            push @{ $op->{pairs} }, [ decode($t[0]), decode($t[1]) ];
            $op->{ttl} = $t[2];
        } else {
            while (@t) { my ($k, $v) = splice @t, 0, 2; push @{ $op->{pairs} }, [ decode($k), decode($v) ] }
        }
        push @ops, $op;
    }
    close $fh;
    return \@ops;
}

sub write_db {
    my ($ops, $file) = @_;
    my $db = cellardb::open($file, truncate => 1);
    for my $op (@$ops) {
        my ($k, $v) = @{ $op->{pairs}[0] };
        if ($op->{kind} eq 'put') {
            $db->put($k, $v);
        } elsif ($op->{kind} eq 'ttl') {
            $db->put_ttl($k, $v, $op->{ttl});
        } else {
            my $t = $db->begin;
            $t->put(@$_) for @{ $op->{pairs} };
            if ($op->{kind} eq 'commit') { $t->commit } else { $t->abort }
        }
    }
    $db->close;
}

sub verify {
    my ($ops, $file) = @_;
    my $db = cellardb::open($file, readonly => 1);
    my $present = 0;
    for my $op (@$ops) {
        my $i = -1;
        for my $p (@{ $op->{pairs} }) {
            my ($k, $v) = @$p;
            $i++;
            if ($op->{kind} eq 'abort') {
                return "key $i of the aborted transaction is present" if $db->exists($k);
                next;
            }
            return "$op->{kind} record (" . length($k) . "-byte key) is missing" unless $db->exists($k);
            my $got = $db->get($k);
            return "$op->{kind} record (" . length($k) . "-byte key): " . length($got)
                . "-byte value differs (want " . length($v) . " bytes)" if $got ne $v;
            $present++;
            if ($op->{kind} eq 'ttl') {
                my $left = $db->ttl($k);
                return "ttl of the TTL record is $left" if $left <= 0 || $left > $op->{ttl};
            }
        }
    }
    my $n = $db->count;
    $db->close;
    return "count $n, want $present" if $n != $present;
    return undef;
}

my ($mode, $plan, @dbs) = @ARGV;
if (!defined $mode || ($mode ne 'write' && $mode ne 'read') || !@dbs) {
    print STDERR "usage: perl worker.pl write PLAN DB | read PLAN DB...\n";
    exit 2;
}
my $ops = read_plan($plan);
if ($mode eq 'write') {
    write_db($ops, $dbs[0]);
    exit 0;
}
my $failed = 0;
for my $file (@dbs) {
    my $why = eval { verify($ops, $file) };
    $why = "error: $@" if $@;
    if (defined $why) { print "FAIL $file: $why\n"; $failed = 1 } else { print "PASS $file\n" }
}
exit $failed;
