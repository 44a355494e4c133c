#!/usr/bin/env bash
# Time one stage of `make rack`, or print every stage's duration at its end.
#   stage.sh --start           start the clock (empties $STAGES)
#   stage.sh NAME COMMAND...   run COMMAND; append "NAME<TAB>seconds" to $STAGES
#   stage.sh --report          print $STAGES as a table, and the wall-clock
#                              time since --start (stages that ran side by
#                              side overlap, so it is less than their sum)
# site.yml's own stages reach the same file through the pirack.cluster.stages
# callback (PIRACK_STAGES_FILE).
set -euo pipefail
STAGES="${PIRACK_STAGES_FILE:-build/rack-stages.txt}"
mkdir -p "$(dirname "$STAGES")"

if [ "${1:-}" = "--start" ]; then
    : > "$STAGES"
    date +%s.%N > "$STAGES.start"
    exit 0
fi

if [ "${1:-}" = "--report" ]; then
    echo
    echo "Stages of make rack (seconds):"
    awk -F '\t' -v start="$(cat "$STAGES.start")" -v now="$(date +%s.%N)" '
        { name[NR] = $1; secs[NR] = $2; if (length($1) > w) w = length($1) }
        END { for (i = 1; i <= NR; i++) printf "  %-*s %7.1f\n", w, name[i], secs[i]
              total = now - start
              printf "  %-*s %7.1f  (%d min %d s)\n", w, "total (wall clock)", total, total / 60, total % 60 }' "$STAGES"
    exit 0
fi

name="$1"
shift
start=$(date +%s.%N)
"$@"
end=$(date +%s.%N)
printf '%s\t%s\n' "$name" "$(awk -v a="$start" -v b="$end" 'BEGIN { printf "%.1f", b - a }')" >> "$STAGES"
