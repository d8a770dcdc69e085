# Static checks of the generated install script: the security rules for
# extension scripts that are cheaper to check in the text than in a database.
use strict;
use warnings;
use Test::More;

my $root = $ENV{CE_ROOT} // '.';
use Digest::SHA qw(sha256_hex);

# Shipped install scripts are frozen: never edited again (docs/upgrading.md).
my %frozen = ('concurrent_edit--1.0.sql' => '940c19bf27354d80fffeaa7d3851ea78ee9514afd4a79c4151ca22b0c216d220');
for my $name (sort keys %frozen) {
    open(my $ff, '<:raw', "$root/src/sql/frozen/$name") or die "cannot open $name: $!";
    my $bytes = do { local $/; <$ff> };
    close $ff;
    is(sha256_hex($bytes), $frozen{$name}, "$name is the script shipped with that version");
}

# The generated install script of the current version, the update script to it,
# and the shard router's script (generated from the same fragments).
my $sql = '';
for my $file ("$root/concurrent_edit--1.1.sql", "$root/concurrent_edit--1.0--1.1.sql",
              "$root/concurrent_edit_router--1.1.sql") {
    open(my $fh, '<', $file) or die "cannot open $file: $!";
    $sql .= do { local $/; <$fh> };
    close $fh;
}

# Comments may mention forbidden words; strip them.
(my $code = $sql) =~ s/--[^\n]*//g;

unlike($code, qr/\bOR\s+REPLACE\b/i, 'no CREATE OR REPLACE');
unlike($code, qr/\b(?:CREATE|ADD)\s+(?:\w+\s+){0,3}IF\s+NOT\s+EXISTS\b/i, 'no CREATE ... IF NOT EXISTS');
like($sql, qr/\\quit/, 'refuses to be run from psql');

my @unqualified = ($code =~ /\bCREATE\s+(?:TABLE|FUNCTION|AGGREGATE|TYPE|OPERATOR\s+CLASS|OPERATOR\s+FAMILY|VIEW|SEQUENCE|PROCEDURE)\s+(?!concurrent_edit(?:_1_0)?\.)(\S+)/gi);
is_deeply(\@unqualified, [], 'every created object is qualified with concurrent_edit. (the update: or its scratch schema concurrent_edit_1_0.)');

# search_path pinning of SQL and PL/pgSQL functions is checked from the catalog in
# sql/foundation.sql (proconfig), which is authoritative.
# The VC SQLSTATEs are defined once (src/pg/sqlstates.hpp) and each is documented
# in docs/errors.md (and nothing else of class VC is).
open(my $sh, '<', "$root/src/pg/sqlstates.hpp") or die "sqlstates.hpp: $!";
my @defined = sort grep { /^VC/ } map { /X\(\w+, "(VC\d{3})"/ ? ($1) : () } <$sh>;
close $sh;
open(my $eh, '<', "$root/docs/errors.md") or die "errors.md: $!";
my @documented = sort map { /^\|\s*`(VC\d{3})`/ ? ($1) : () } <$eh>;
close $eh;
cmp_ok(scalar(@defined), '>=', 15, 'the VC SQLSTATEs are defined in src/pg/sqlstates.hpp');
is_deeply(\@documented, \@defined, 'docs/errors.md documents exactly the VC SQLSTATEs that are defined');
# No C++ file spells a VC code as a string or MAKE_SQLSTATE: they use the CE_ERRCODE_
# names (comments, and COMMENT ON texts of the SQL, may name codes).
my @spelled = grep { !/sqlstates\.hpp$/ } split /\n/, `grep -rlE 'MAKE_SQLSTATE[(].V.|"VC[0-9]{3}"' $root/src $root/include`;
is_deeply(\@spelled, [], 'no VC SQLSTATE is spelled outside sqlstates.hpp');

# The documentation stands alone: README, docs/ and the installed script (its
# COMMENT texts included) cite no document outside the repository.
my @outside = grep { length } split /\n/,
    `grep -rnIiE --exclude-dir=node_modules "\\bthe seed\\b|\\bseed's|\\bissue #[0-9]|§[0-9]" $root/README.md $root/docs $root/examples $root/concurrent_edit--1.1.sql $root/concurrent_edit_router--1.1.sql`;
is_deeply(\@outside, [], 'README, docs and the install script cite no outside document');

# The boundary rule of src/pg/boundary.hpp: PostgreSQL never longjmps through a
# C++ frame. A function of the glue that holds C++ objects (containers, strings,
# SPI connections and results, memory budgets) raises PostgreSQL errors and
# checks for interrupts only inside pg_call() (or run_in(), run_pg_try()); a
# CHECK_FOR_INTERRUPTS() in its body would skip their destructors on a cancel.
# A heuristic: from the start of the function (a line at column 0) to the call,
# no pg_call-like opening, and a C++ object declared in between.
my @raw_raises;
for my $file (glob("$root/src/pg/*.cpp")) {
    open(my $ch, '<', $file) or die "$file: $!";
    my ($in_pg, $fn, $cxx) = (0, 0, 0);
    while (my $line = <$ch>) {
        $in_pg = $. if $line =~ /\b(?:pg_call|run_pg_try|run_reporting_errors|run_in)\(/;
        if ($line =~ /^[A-Za-z].*\)\s*(?:const\s*)?(?:noexcept\s*)?\{\s*$/ || $line =~ /^[A-Za-z][^;]*\($/
            || $line =~ /^CE_[A-Z_]*FUNCTION/) {
            ($fn, $cxx) = ($., 0);
            next;
        }
        $cxx = $. if $line =~ /std::(?:vector|string|map|set|optional|unordered_map|unique_ptr)\b|\b(?:Spi|Rows|ApiCall|FileHead|Budget|Charge)\b/;
        push @raw_raises, "$file:$." if $line =~ /CHECK_FOR_INTERRUPTS\(\)|\bereport\(ERROR|\belog\(ERROR/ && $in_pg < $fn && $cxx;
    }
    close $ch;
}
is_deeply(\@raw_raises, [], 'no PostgreSQL error or interrupt check outside pg_call while C++ objects live');

# NOTIFY payloads are checked on real notifications of every event kind in
# test/t/014_notify_payloads.pl (NOTIFY is sent from C++, not from this script).

done_testing();
