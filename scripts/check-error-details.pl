#!/usr/bin/env perl
# Checks that every error of class VC the test servers logged carries a DETAIL that
# is a JSON object (docs/errors.md).
#
#   scripts/check-error-details.pl BUILD_DIR [SINCE_FILE]
#
# Reads the jsonlog files (log_destination 'jsonlog': one JSON object a line) of the
# test servers under BUILD_DIR: the */log/*.json files that scripts/test.sh
# (logging_conf) and test/perl/CETest.pm (new_node) configure, only those modified
# after SINCE_FILE when it is given (the current run's). An entry whose state_code
# starts with VC passes when its detail parses as a JSON object, and fails when it
# has no detail or another one. A line that is not a JSON object fails too, and so
# does finding no VC entry at all (the check cannot pass by seeing nothing). Ends
# with "errors: N passed, N failed"; exit status 1 on any failure.
use strict;
use warnings;
use File::Find;
use JSON::PP;

my ($build, $since) = @ARGV;
die "usage: $0 BUILD_DIR [SINCE_FILE]\n" unless defined $build && -d $build;
my $since_mtime = defined $since && -e $since ? (stat $since)[9] : undef;

my @files;
find({ no_chdir => 1, wanted => sub {
    return unless -f $_ && m{/log/[^/]+\.json$};
    return if defined $since_mtime && (stat $_)[9] < $since_mtime;
    push @files, $_;
} }, $build);
@files = sort @files;

my $json = JSON::PP->new->allow_nonref(0);
my ($passed, $failed, %codes) = (0, 0);
for my $file (@files) {
    open(my $fh, '<:raw', $file) or die "cannot read $file: $!\n";
    while (my $line = <$fh>) {
        chomp $line;
        next if $line eq '';
        my $entry = eval { $json->decode($line) };
        if (ref $entry ne 'HASH') {
            $failed++;
            print "not ok: $file:$.: not a JSON object: ", substr($line, 0, 200), "\n";
            next;
        }
        my $code = $entry->{state_code} // '';
        next unless $code =~ /^VC/;
        $codes{$code}++;
        my $detail = $entry->{detail};
        my $parsed = defined $detail ? eval { $json->decode($detail) } : undef;
        if (ref $parsed eq 'HASH') {
            $passed++;
        } else {
            $failed++;
            print "not ok: $file:$.: $code \"", ($entry->{message} // ''), "\": ",
                (defined $detail ? "DETAIL is not a JSON object: $detail" : 'no DETAIL'), "\n";
        }
    }
    close $fh;
}

printf "read %d jsonlog file(s)\n", scalar @files;
print "VC errors seen: ", (join(', ', map { "$_ x$codes{$_}" } sort keys %codes) || 'none'), "\n";
if ($passed + $failed == 0) {
    print "not ok: no VC error in any jsonlog file: nothing was checked\n";
    $failed = 1;
}
print "errors: $passed passed, $failed failed\n";
exit($failed ? 1 : 0);
