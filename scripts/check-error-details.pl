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
# has no detail or another one. An entry that is not a JSON object fails too, and so
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

# A JSON string literal (without its quotes) of a jsonlog line.
my $string = qr/((?:[^"\\]|\\.)*)/s;
my $json = JSON::PP->new->allow_nonref(1);
my ($passed, $failed, %codes) = (0, 0);
for my $file (@files) {
    open(my $fh, '<:raw', $file) or die "cannot read $file: $!\n";
    while (my $line = <$fh>) {
        # Only entries of class VC are decoded; their fields are picked out of the
        # line rather than decoding it whole (an entry quotes its statement, which
        # the bad-input tests make megabytes long).
        next unless index($line, '"state_code":"VC') >= 0;
        chomp $line;
        my ($code) = $line =~ /"state_code":"(VC[0-9A-Z]{3})"/;
        if ($line !~ /^\{.*\}$/s || !defined $code) {
            $failed++;
            print "not ok: $file:$.: not a jsonlog entry: ", substr($line, 0, 200), "\n";
            next;
        }
        $codes{$code}++;
        my ($message) = $line =~ /"message":"$string"/;
        my ($detail) = $line =~ /"detail":"$string"/;
        $detail = eval { $json->decode(qq("$detail")) } if defined $detail;
        my $parsed = defined $detail ? eval { $json->decode($detail) } : undef;
        if (ref $parsed eq 'HASH') {
            $passed++;
        } else {
            $failed++;
            print "not ok: $file:$.: $code \"", substr($message // '', 0, 200), "\": ",
                (defined $detail ? "DETAIL is not a JSON object: " . substr($detail, 0, 200) : 'no DETAIL'), "\n";
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
