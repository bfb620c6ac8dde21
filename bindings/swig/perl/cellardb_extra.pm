# cellardb_extra.pm - the Perl side of the cellardb binding, appended to the
# cellardb.pm that SWIG generates (see cellardb_perl.swg).
#
#   use cellardb;
#   my $db = cellardb::open('data.cellar', sync => 'full');
#   $db->put("k", "v");  my $v = $db->get("k");
#   $db->transaction(sub { my $txn = shift; $txn->put("a", "1"); });
#   my $it = $db->iterate;  while (my ($k, $v) = $it->next) { ... }
#   tie my %h, 'cellardb::Hash', 'data.cellar';  $h{k} = 'v';
#
# Every failure dies with a cellardb::Error (->code, ->name, ->message).

# One block, so that its pragmas (strict, warnings) end with it and do not
# reach the generated code after it.
{
package cellardb::Error;
use strict;
use warnings;
use overload
    '""'     => sub { "$_[0]{message} ($_[0]{name})" },
    'bool'   => sub { 1 },
    fallback => 1;

sub code    { $_[0]{code} }
sub name    { $_[0]{name} }
sub message { $_[0]{message} }

# Raise an error from Perl code with the same shape as the C layer's.
sub throw {
    my ($class, $code, $message) = @_;
    die bless { code => $code, name => cellardb::errname($code),
                message => cellardb::strerror($code) . ": $message" }, $class;
}

package cellardb;
use strict;
use warnings;
use Scalar::Util ();

my %OPTION_SETTERS = (
    readonly     => 'set_readonly',
    create       => 'set_create',
    truncate     => 'set_truncate',
    cache_size   => 'set_cache_size',
    page_size    => 'set_page_size',
    sync         => 'set_sync',
    mode         => 'set_mode',
    lock_timeout => 'set_lock_timeout',
    wal_limit    => 'set_wal_limit',
    clock        => 'set_clock',
    flags        => 'set_flags',
);

# A CellarOptions from named options (readonly => 1, sync => 'full', ...).
sub options {
    my (%opt) = @_;
    my $o = cellardb::CellarOptions->new;
    for my $name (sort keys %opt) {
        my $setter = $OPTION_SETTERS{$name}
            or cellardb::Error->throw($cellardb::EINVAL, "unknown option '$name'");
        my $v = $opt{$name};
        $v = $v ? 1 : 0 if $name eq 'readonly' || $name eq 'create' || $name eq 'truncate';
        $o->$setter($v);
    }
    return $o;
}

# cellardb::open($path, %options): the database, or dies with a cellardb::Error.
sub open {    ## no critic (ProhibitBuiltinHomonyms)
    my ($path, @opt) = @_;
    cellardb::Error->throw($cellardb::EINVAL, "options come in name => value pairs")
        if @opt % 2;
    return cellardb::CellarDB->new($path, options(@opt));
}

# Perl threads copy every variable into a new thread; a copy of one of these
# objects would point at the C object without owning it, and be left
# dangling when the original is freed (a crash). So, as DBI does with its
# handles, they are not copied: in a new thread they are unblessed, unusable
# references. A thread opens the file itself (the core shares the one open
# database).
for my $class (qw(CellarDB CellarTxn CellarIter CellarOptions CellarClock CellarStats)) {
    no strict 'refs';
    *{"cellardb::${class}::CLONE_SKIP"} = sub { 1 };
}

# Databases still open when the program ends are closed here. At global
# destruction Perl frees what is left in no set order, and the generated
# destructors then often find their bookkeeping gone and free nothing: a
# database kept in a global, in a reference cycle, or only by a transaction
# would end without its final checkpoint.
END {
    local ($@, $!, $?);
    cellardb::close_all();
}

package cellardb::CellarDB;

# Run $code->($txn) in a transaction: commit when it returns, abort and
# rethrow when it dies. Returns what $code returned.
sub transaction {
    my ($self, $code, %opt) = @_;
    cellardb::Error->throw($cellardb::EINVAL, "transaction wants a code reference")
        unless ref $code eq 'CODE' || (Scalar::Util::blessed($code) && overload::Method($code, '&{}'));
    my $txn = $self->begin($opt{readonly} ? 1 : 0);
    my @result;
    my $ok = eval {
        @result = wantarray ? $code->($txn) : scalar $code->($txn);
        $txn->commit if $txn->active;
        1;
    };
    if (!$ok) {
        my $err = $@;
        $txn->abort;
        die $err;
    }
    return wantarray ? @result : $result[0];
}

package cellardb::CellarIter;

# ($key, $value) of the next record, or the empty list at the end.
sub next {    ## no critic (ProhibitBuiltinHomonyms)
    my ($self) = @_;
    return () unless $self->advance;
    return ($self->key, $self->value);
}

# cellardb::Hash: tie a hash to a database file, as GDBM_File or DB_File do.
#   tie my %h, 'cellardb::Hash', $path, %options;
# Reading an absent key gives undef; delete returns the old value.
package cellardb::Hash;
use strict;
use warnings;

sub TIEHASH {
    my ($class, $path, %opt) = @_;
    return bless { db => cellardb::open($path, %opt), it => undef }, $class;
}

sub db { $_[0]{db} }

sub FETCH {
    my ($self, $key) = @_;
    my $v = eval { $self->{db}->get($key) };
    return $v unless $@;
    return undef if ref $@ && $@->code == $cellardb::ENOTFOUND;
    die $@;
}

sub STORE  { $_[0]{db}->put($_[1], $_[2]); }
sub EXISTS { $_[0]{db}->exists($_[1]) ? 1 : 0 }

sub DELETE {
    my ($self, $key) = @_;
    my $old = $self->FETCH($key);
    return undef unless defined $old;
    eval { $self->{db}->delete($key); 1 }
        or (ref $@ && $@->code == $cellardb::ENOTFOUND) or die $@;
    return $old;
}

sub CLEAR {
    my ($self) = @_;
    my @keys;
    my $it = $self->{db}->iterate;
    while ($it->advance) { push @keys, $it->key }
    $it->close;
    for my $k (@keys) {
        eval { $self->{db}->delete($k); 1 }
            or (ref $@ && $@->code == $cellardb::ENOTFOUND) or die $@;
    }
}

sub FIRSTKEY {
    my ($self) = @_;
    $self->{it}->close if $self->{it};
    $self->{it} = $self->{db}->iterate;
    return $self->NEXTKEY;
}

sub NEXTKEY {
    my ($self) = @_;
    my $it = $self->{it} or return undef;
    return $it->key if $it->advance;
    $it->close;
    $self->{it} = undef;
    return undef;
}

sub SCALAR { $_[0]{db}->count }

sub UNTIE {
    my ($self) = @_;
    $self->{it}->close if $self->{it};
    $self->{it} = undef;
    $self->{db}->close;
}

}
