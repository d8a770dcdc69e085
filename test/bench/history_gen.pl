#!/usr/bin/env perl
# Writes a deterministic history for the history benchmark: N versions of a text
# of about SIZE bytes, each version 1-3 line edits (replace 70%, insert 15%,
# delete 15%) away from the previous one, as DIR/00001.txt ... DIR/0NNNN.txt.
#   history_gen.pl DIR [N=1000] [SIZE=100000]
use strict;
use warnings;

my ($dir, $n, $size) = @ARGV;
die "usage: $0 DIR [N] [SIZE]\n" unless defined $dir;
$n //= 1000;
$size //= 100_000;
srand(20261202);
my @words = qw(
  const let return if else for while function class struct self this new delete
  value index count total buffer length offset result error status config option
  file path line text block node version session lock merge base ours theirs head
  user author project change event cursor clock draft conflict region range start
  end size limit table row column key hash list map set queue stack tree graph edge
  read write open close flush sync update insert remove append split join move copy
  the a of to in and is for with on by from as at be this that it not or are was);
my @ops = qw(= == != < > <= >= + - * / && || -> ::);

sub line {
  my $indent = '    ' x int(rand(4));
  my $s = $indent;
  my $len = 30 + int(rand(50));
  while (length($s) < $len) {
    $s .= $words[int(rand(@words))];
    $s .= rand() < 0.3 ? ' ' . $ops[int(rand(@ops))] . ' ' : rand() < 0.2 ? '(' : ' ';
  }
  $s =~ s/\s+$//;
  return $s . (rand() < 0.5 ? ';' : '') . "\n";
}

my @lines;
my $bytes = 0;
while ($bytes < $size) { my $l = line(); push @lines, $l; $bytes += length $l; }
mkdir $dir;
for my $v (1 .. $n) {
  if ($v > 1) {
    for (1 .. 1 + int(rand(3))) {
      my $r = rand();
      my $at = int(rand(@lines));
      if ($r < 0.70) { $lines[$at] = line(); }
      elsif ($r < 0.85) { splice @lines, $at, 0, line(); }
      elsif (@lines > 1) { splice @lines, $at, 1; }
    }
  }
  open my $fh, '>', sprintf('%s/%05d.txt', $dir, $v) or die "$dir: $!";
  print $fh @lines;
  close $fh;
}
