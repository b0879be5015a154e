#!/usr/bin/env bash
# scripts/bench.sh — `make bench`: run the Go benchmarks and print them as a table.
#
# Hook for the project's benchmarks: add load tests or scenario runs below the marked line;
# keep printing a table at the end. Knobs: BENCH (regexp, default .), BENCHTIME (e.g. 2s or
# 100x), BENCHCOUNT (default 1), BENCHTIMEOUT (default 30m), PKGS (default ./...). Raw output:
# .devstack/bench.txt.
set -euo pipefail
cd "$(dirname "$0")/.."
# shellcheck source=scripts/services.sh
source scripts/services.sh

_have go || { echo "bench: go not found" >&2; exit 1; }
# benchmarks may talk to PostgreSQL/Redis like the tests do
devstack_ensure_test || { echo "bench: PostgreSQL/Redis are not available (see above)" >&2; exit 1; }
export TEST_DATABASE_URL TEST_REDIS_URL

mkdir -p "$DEVSTACK"
raw=$DEVSTACK/bench.txt
args=(-run '^$' -bench "${BENCH:-.}" -benchmem -count "${BENCHCOUNT:-1}" -timeout "${BENCHTIMEOUT:-30m}")
[[ -n ${BENCHTIME:-} ]] && args+=(-benchtime "$BENCHTIME")
# shellcheck disable=SC2086
go test "${args[@]}" ${PKGS:-./...} 2>&1 | tee "$raw"
rc=${PIPESTATUS[0]}

# ---- project benchmarks (lead: add scenario/load runs here, appending "Benchmark..." lines
# ---- in go test's format to "$raw" so that they land in the table below) -------------------

# table: one row per benchmark result line; any extra "value unit" metric pairs become columns
awk '
  /^pkg: / { pkg = $2; sub(/^github.com\/multiline\/onboarding\/?/, "", pkg); if (pkg == "") pkg = "." }
  /^Benchmark/ && NF >= 4 {
    n++; name[n] = $1; sub(/-[0-9]+$/, "", name[n]); p[n] = pkg; iters[n] = $2
    for (i = 3; i + 1 <= NF; i += 2) {
      unit = $(i + 1); val[n, unit] = $i
      if (!(unit in seen)) { seen[unit] = 1; units[++u] = unit }
    }
  }
  END {
    if (n == 0) { print "bench: no benchmarks ran"; exit }
    w = 9; for (i = 1; i <= n; i++) if (length(p[i] " " name[i]) > w) w = length(p[i] " " name[i])
    # each column as wide as its unit or its widest value
    for (j = 1; j <= u; j++) {
      cw[j] = length(units[j])
      for (i = 1; i <= n; i++) if (((i, units[j]) in val) && length(val[i, units[j]]) > cw[j]) cw[j] = length(val[i, units[j]])
    }
    printf "\n%-" w "s %10s", "benchmark", "iterations"
    for (j = 1; j <= u; j++) printf " %" cw[j] "s", units[j]
    printf "\n"
    for (i = 1; i <= n; i++) {
      printf "%-" w "s %10s", p[i] " " name[i], iters[i]
      for (j = 1; j <= u; j++) printf " %" cw[j] "s", ((i, units[j]) in val) ? val[i, units[j]] : "-"
      printf "\n"
    }
  }' "$raw"
exit "$rc"
