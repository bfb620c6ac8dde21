# lib.pl - shared helpers of the Perl binding tests (require'd by each .t).
use strict;
use warnings;
use File::Temp qw(tempdir);

# A fresh directory, removed when the test ends.
sub cellar_tmpdir { return tempdir('cellar-perl-XXXXXX', TMPDIR => 1, CLEANUP => 1); }

# Run $code and return the cellardb::Error it died with (undef if none).
sub cellar_error_of (&) {
    my ($code) = @_;
    local $@;
    return undef if eval { $code->(); 1 };
    return $@;
}

# The name of the error $code died with ('' if none, 'NOT-CELLAR: ...' if
# it died with something that is not a cellardb::Error).
sub cellar_errname_of (&) {
    my $e = &cellar_error_of($_[0]);
    return '' unless defined $e;
    return ref $e && $e->isa('cellardb::Error') ? $e->name : "NOT-CELLAR: $e";
}

1;
