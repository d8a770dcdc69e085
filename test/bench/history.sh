#!/usr/bin/env bash
# History storage and speed: 1,000 versions of a ~100 kB text, 1-3 line edits per
# version (history_gen.pl), stored through write(), beside
#   - git: the same history committed with git fast-import, then git gc --aggressive;
#   - the hand-written peer (peer_write.sql), which stores every version in full.
# Prints the on-disk sizes (after VACUUM, and after VACUUM FULL), the write
# throughput of both, and read() latency of the head, the oldest version, the
# version with the longest delta chain and a random version.
#
#   HISTORY_BENCH_VERSIONS  versions (default 1000)
#   HISTORY_BENCH_BYTES     size of the text (default 100000)
#   HISTORY_BENCH_SECONDS   duration of one read pgbench run (default BENCH_SECONDS, 10)
set -euo pipefail
n=${HISTORY_BENCH_VERSIONS:-1000}
bytes=${HISTORY_BENCH_BYTES:-100000}
secs=${HISTORY_BENCH_SECONDS:-${BENCH_SECONDS:-10}}
here=$(cd "$(dirname "$0")" && pwd)
work=$BUILD/bench/history
rm -rf "$work"
mkdir -p "$work"
source "$here/pgbench.bash"
source "$here/charts.bash"
chart_reset ratio-history
perl "$here/history_gen.pl" "$work/v" "$n" "$bytes"
file_of() { printf '%s/v/%05d.txt' "$work" "$1"; }

# git: one commit per version, then the most compact pack git makes.
git init -q "$work/git"
perl -e '
  my ($dir, $n) = @ARGV;
  for my $i (1 .. $n) {
    my $f = sprintf("%s/%05d.txt", $dir, $i);
    open my $fh, "<", $f or die; local $/; my $c = <$fh>; close $fh;
    print "blob\nmark :$i\ndata ", length($c), "\n", $c, "\n";
    my $msg = "version $i\n";
    print "commit refs/heads/main\nmark :", 100000 + $i, "\ncommitter bench <bench\@example.com> ", 1700000000 + $i, " +0000\n";
    print "data ", length($msg), "\n$msg";
    print "from :", 100000 + $i - 1, "\n" if $i > 1;
    print "M 100644 :$i file.txt\n\n";
  }' "$work/v" "$n" | git -C "$work/git" fast-import --quiet
git -C "$work/git" gc --aggressive --prune=now --quiet
git_pack=$(cat "$work"/git/.git/objects/pack/*.pack | wc -c)
git_idx=$(cat "$work"/git/.git/objects/pack/*.idx | wc -c)
git_blobs=$(git -C "$work/git" verify-pack -v "$work"/git/.git/objects/pack/*.idx | awk '$2 == "blob" {s += $4} END {print s}')

# A database of its own, so relation sizes are this history's.
dropdb --if-exists history_bench
createdb history_bench
export PGDATABASE=history_bench
psql -qX -v ON_ERROR_STOP=1 -c "CREATE EXTENSION concurrent_edit" -o /dev/null -f "$here/peer_write.sql"
f=00000000-0000-0000-0000-00000000b001
p=bbbbbbbb-0000-0000-0000-00000000b001
a=aaaaaaaa-aaaa-aaaa-aaaa-aaaaaaaaaaaa
psql -qX -v ON_ERROR_STOP=1 -o /dev/null <<SQL
SELECT concurrent_edit.create_file('$p', 'big.txt', pg_read_file('$(file_of 1)'), '$a', file_id => '$f');
INSERT INTO peer_files VALUES ('$f', '$p', 1, '', NULL, now());
INSERT INTO peer_versions (file_id, version, content, content_hash)
VALUES ('$f', 1, pg_read_file('$(file_of 1)'), '');
SQL
# One write per transaction, each from the current head, as an editor saves.
for i in $(seq 2 "$n"); do
  echo "SELECT 1 FROM concurrent_edit.write('$f', pg_read_file('$(file_of "$i")'), $((i - 1)), '$a');"
done > "$work/ours.sql"
for i in $(seq 2 "$n"); do
  echo "SELECT peer_write('$f', pg_read_file('$(file_of "$i")'), $((i - 1)), '$a');"
done > "$work/peer.sql"
elapsed() { local t0 t1; t0=$(date +%s.%N); psql -qX -v ON_ERROR_STOP=1 -o /dev/null -f "$1"; t1=$(date +%s.%N); awk -v a="$t0" -v b="$t1" 'BEGIN {printf "%.3f", b - a}'; }
t_ours=$(elapsed "$work/ours.sql")
t_peer=$(elapsed "$work/peer.sql")

# Every version reads back exactly.
bad=$(psql -qAtX -c "SELECT count(*) FROM generate_series(1, $n) i
        WHERE (SELECT content FROM concurrent_edit.read('$f', i)) IS DISTINCT FROM pg_read_file(format('%s/v/%s.txt', '$work', lpad(i::text, 5, '0')))")
[[ "$bad" == 0 ]] || { echo "history bench: $bad versions read back wrong" >&2; exit 1; }

sizes() {
  psql -qAtX -F ' ' -c "SELECT pg_total_relation_size('concurrent_edit.file_versions') + pg_total_relation_size('concurrent_edit.files'),
                                pg_total_relation_size('peer_versions') + pg_total_relation_size('peer_files')"
}
psql -qX -c "VACUUM ANALYZE"
read -r ours_vac peer_vac <<<"$(sizes)"
psql -qX -c "VACUUM FULL"
read -r ours_full peer_full <<<"$(sizes)"
read -r deltas snapshots deepest deepest_v <<<"$(psql -qAtX -F ' ' -c "
  SELECT sum(octet_length(delta)), count(content), max(depth),
         (SELECT version FROM concurrent_edit.file_versions ORDER BY depth DESC, version LIMIT 1)
  FROM concurrent_edit.file_versions")"

kb() { awk -v b="$1" 'BEGIN {printf "%.0f kB", b / 1024}'; }
echo "$n versions of a ~$((bytes / 1000)) kB text, 1-3 line edits per version"
echo
echo "on-disk size (tables + TOAST + indexes; git: pack file)"
printf '  %-44s %10s\n' "git gc --aggressive: pack (+ idx $(kb "$git_idx"))" "$(kb "$git_pack")"
printf '  %-44s %10s   %sx git\n' "concurrent_edit after VACUUM FULL" "$(kb "$ours_full")" "$(ratio "$ours_full" "$git_pack")"
printf '  %-44s %10s   %sx git\n' "concurrent_edit after VACUUM" "$(kb "$ours_vac")" "$(ratio "$ours_vac" "$git_pack")"
printf '  %-44s %10s   %sx git\n' "peer (every version in full), VACUUM FULL" "$(kb "$peer_full")" "$(ratio "$peer_full" "$git_pack")"
echo "  git's blobs alone: $(kb "$git_blobs"); ours: deltas $(kb "$deltas"), $snapshots snapshot(s), longest chain $deepest (version $deepest_v)"
echo
echo "write throughput, $((n - 1)) writes, one per transaction, 1 client"
w_ours=$(awk -v s="$t_ours" -v n="$((n - 1))" 'BEGIN {printf "%.1f", n / s}')
w_peer=$(awk -v s="$t_peer" -v n="$((n - 1))" 'BEGIN {printf "%.1f", n / s}')
printf '  write() %s writes/s, peer %s writes/s, ratio %sx\n' "$w_ours" "$w_peer" "$(ratio "$w_ours" "$w_peer")"
chart_speed ratio-history "write() of a 100 kB file, 1 client, history" "$w_ours" "$w_peer" up

# read() latency: head, oldest, deepest chain, random version.
echo
echo "read() latency, 1 client, pgbench ${secs}s each, content transferred"
mk() { printf '%s\n' "$2" > "$work/$1.sql"; }
mk head   "SELECT content FROM concurrent_edit.read('$f');"
mk oldest "SELECT content FROM concurrent_edit.read('$f', 1);"
mk deep   "SELECT content FROM concurrent_edit.read('$f', $deepest_v);"
mk random "\\set v random(1, $n)
SELECT content FROM concurrent_edit.read('$f', :v);"
mk peer   "SELECT content FROM peer_versions WHERE file_id = '$f' AND version = 1;"
l_head=$(lat "$work/head.sql")
for c in oldest deep random peer; do
  l=$(lat "$work/$c.sql")
  printf '  %-8s %8s ms   %sx head (%s ms)\n' "$c" "$l" "$(ratio "$l" "$l_head")" "$l_head"
done
