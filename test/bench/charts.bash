# Chart data of the benchmarks (sourced by test/bench/*.sh; not a benchmark itself).
# Each benchmark writes tab-separated points into $CHART_DIR (default
# $BUILD/bench-charts); scripts/bench-charts.sh copies them into docs/img/data and
# renders docs/img/*.svg with gnuplot.
#
#   chart_reset NAME                     empties NAME.tsv (call once per benchmark run)
#   chart_point NAME SERIES X Y          appends a point
#   chart_speed NAME LABEL OURS PEER up|down
#       appends LABEL with our speed relative to the peer (above 1: faster): OURS/PEER
#       for rates (up: higher is better), PEER/OURS for times (down: lower is better).
CHART_DIR=${CHART_DIR:-$BUILD/bench-charts}
chart_reset() { mkdir -p "$CHART_DIR"; : > "$CHART_DIR/$1.tsv"; }
chart_point() { printf '%s\t%s\t%s\n' "$2" "$3" "$4" >> "$CHART_DIR/$1.tsv"; }
chart_speed() {
  local s
  s=$(awk -v a="$3" -v b="$4" -v d="$5" 'BEGIN { if (a <= 0 || b <= 0) print 0; else printf "%.3f", (d == "up" ? a / b : b / a) }')
  chart_point "$1" "$2" - "$s"
}
