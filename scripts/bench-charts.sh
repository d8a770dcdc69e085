#!/usr/bin/env bash
# Renders the benchmark charts shown in docs/benchmarks.md (gnuplot, SVG).
#
# Takes the chart data of the last `make bench` run (build/last-run/bench-charts
# when it ran as the postgres OS user, else build/bench-charts), copies each file
# over its namesake in docs/img/data (so a run of some benchmarks keeps the others'
# figures), then draws docs/img/*.svg from docs/img/data:
#   ratios.svg                  speed against each peer (all ratio-*.tsv)
#   lock-latency.svg            uncontended lock acquire latency, p50 and p99
#   write-latency-history.svg   write() latency against history length
#   write-latency-size.svg      write() latency against file size, with the peer's
#   write-throughput-projects.svg  write() throughput against the number of projects, with the peer's
#   feed-latency.svg            change-feed delivery latency, p50 and p99, with the peer's
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
BUILD=${BUILD:-$ROOT/build}
IMG=${CHART_IMG:-$ROOT/docs/img}   # CHART_IMG: elsewhere, e.g. to try the script
DATA=$IMG/data
command -v gnuplot >/dev/null || { echo "bench-charts: gnuplot is missing (scripts/bootstrap.sh installs gnuplot-nox)" >&2; exit 1; }
mkdir -p "$DATA"
src=""
for d in "$BUILD/last-run/bench-charts" "$BUILD/bench-charts"; do
  if [[ -d $d && ( -z $src || $d -nt $src ) ]]; then src=$d; fi
done
if [[ -n $src ]]; then
  for f in "$src"/*.tsv; do [[ -s $f ]] && cp "$f" "$DATA/"; done
fi

plot() { gnuplot 2>&1 | grep -v '^$' >&2 || true; }
common='set terminal svg size 900,480 dynamic font "sans,12" background "white"
set grid ytics lc rgb "#dddddd"
set border 3
set tics nomirror
set key top left
set termoption noenhanced'

# Speed against each peer: one bar per workload, log scale, a line at 1.
if compgen -G "$DATA/ratio-*.tsv" >/dev/null; then
  cat "$DATA"/ratio-*.tsv | awk -F'\t' '$3 > 0 {printf "\"%s\" %s\n", $1, $3}' > "$BUILD/ratios.dat"
  n=$(wc -l < "$BUILD/ratios.dat")
  plot <<GP
$common
set terminal svg size 900,$((260 + 22 * n)) dynamic font "sans,12" background "white"
set termoption noenhanced
set lmargin 48
set output "$IMG/ratios.svg"
set title "Speed against the peer a user would otherwise pick (above 1: faster)"
set style fill solid 0.8 border -1
set logscale x 2
set xrange [0.125:*]
set yrange [-0.5:$n - 0.5]
set ytics scale 0
set grid xtics lc rgb "#dddddd"
unset key
set arrow from 1, graph 0 to 1, graph 1 nohead lc rgb "#c00000" lw 2
plot "$BUILD/ratios.dat" using (\$2 >= 1 ? \$2 : 1):0:(\$2 >= 1 ? 1 : \$2):(\$2 >= 1 ? \$2 : 1):(\$0 - 0.35):(\$0 + 0.35):ytic(1) with boxxyerror lc rgb "#4a7ebb"
GP
fi

if [[ -s $DATA/lock-latency.tsv ]]; then
  awk -F'\t' '{v[$1 FS $2] = $3; k[$1] = 1} END {for (s in k) printf "\"%s\" %s %s\n", s, v[s FS "p50"], v[s FS "p99"]}' \
    "$DATA/lock-latency.tsv" | sort > "$BUILD/locklat.dat"
  plot <<GP
$common
set output "$IMG/lock-latency.svg"
set title "Uncontended lock acquire latency (ms), synchronous_commit=off"
set style data histograms
set style histogram clustered gap 1
set style fill solid 0.8 border -1
set ylabel "ms"
set yrange [0:*]
plot "$BUILD/locklat.dat" using 2:xtic(1) title "p50" lc rgb "#4a7ebb", "" using 3 title "p99" lc rgb "#e08a2c"
GP
fi

if [[ -s $DATA/write-latency-history.tsv ]]; then
  plot <<GP
$common
set output "$IMG/write-latency-history.svg"
set title "write() latency against history length (1 client)"
set logscale x 10
set xlabel "versions of the file"
set ylabel "ms per write"
set yrange [0:*]
set xrange [5:200000]
plot "$DATA/write-latency-history.tsv" using 2:3 with linespoints lw 2 pt 7 title "write()"
GP
fi

if [[ -s $DATA/write-latency-size.tsv ]]; then
  for s in ours peer; do awk -F'\t' -v s="$s" '$1 == s {print $2, $3}' "$DATA/write-latency-size.tsv" > "$BUILD/size-$s.dat"; done
  plot <<GP
$common
set output "$IMG/write-latency-size.svg"
set title "write() latency against file size (1 client, one line changed per write)"
set logscale xy 10
set format x "%.0s %cB"
set xlabel "file size"
set ylabel "ms per write"
plot "$BUILD/size-ours.dat" using 1:2 with linespoints lw 2 pt 7 title "write()", \
     "$BUILD/size-peer.dat" using 1:2 with linespoints lw 2 pt 5 title "PL/pgSQL peer"
GP
fi

if [[ -s $DATA/write-throughput-projects.tsv ]]; then
  for s in ours peer; do awk -F'\t' -v s="$s" '$1 == s {print $2, $3}' "$DATA/write-throughput-projects.tsv" > "$BUILD/projects-$s.dat"; done
  plot <<GP
$common
set output "$IMG/write-throughput-projects.svg"
set title "write() throughput against the number of projects written to (8 clients, read + write)"
set key bottom right
set logscale x 10
set xrange [0.5:20000]
set xlabel "projects"
set ylabel "transactions per second"
set yrange [0:*]
plot "$BUILD/projects-ours.dat" using 1:2 with linespoints lw 2 pt 7 title "write()", \
     "$BUILD/projects-peer.dat" using 1:2 with linespoints lw 2 pt 5 title "PL/pgSQL peer"
GP
fi

if [[ -s $DATA/feed-latency.tsv ]]; then
  # One cluster of bars per side, in the order of the benchmark's table.
  awk -F'\t' '!($1 in v) {k[++n] = $1} {v[$1]; w[$1 FS $2] = $3}
    END {for (i = 1; i <= n; i++) printf "\"%s\" %s %s\n", k[i], w[k[i] FS "p50"], w[k[i] FS "p99"]}' \
    "$DATA/feed-latency.tsv" > "$BUILD/feedlat.dat"
  plot <<GP
$common
set output "$IMG/feed-latency.svg"
set title "Change-feed delivery latency (ms), from just before COMMIT to the NOTIFY received"
set style data histograms
set style histogram clustered gap 1
set style fill solid 0.8 border -1
set ylabel "ms"
set yrange [0:*]
plot "$BUILD/feedlat.dat" using 2:xtic(1) title "p50" lc rgb "#4a7ebb", "" using 3 title "p99" lc rgb "#e08a2c"
GP
fi
ls "$IMG"/*.svg 2>/dev/null | sed 's|^|bench-charts: |' >&2 || true
