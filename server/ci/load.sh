#!/usr/bin/env bash
# A load test of `pprl serve` on loopback: PROJECTS projects of PARTIES parties each, every
# party uploading a RECORDS-record `.clk` file at the same time (PROJECTS x PARTIES concurrent
# `pprl remote upload`s), then every project's run at once. Checks that everything completes
# without an error, that every project's result equals `pprl match` on the same files, and that
# the server's resident memory stays bounded while it receives the uploads (they stream to
# disk). Prints the figures.
#
#   server/ci/load.sh [PPRL_BIN]     (default: $CARGO_TARGET_DIR/debug/pprl)
#
# Environment: LOAD_PROJECTS (20), LOAD_PARTIES (3), LOAD_RECORDS (10000), LOAD_SCHEMA
# (examples/person_blocking.toml) and LOAD_BLOCKING (keys: a debug build compares the
# 3 x 10^8 pairs of an unblocked project too slowly for CI, and LSH took 448 s for the 20 runs
# there; `none` with examples/person.toml for the release measurement),
# LOAD_MAX_UPLOAD_RSS_MB (the bound on the server's peak RSS while uploading: 160, twice the
# 78 MiB measured with a debug build at the default sizes).
set -euo pipefail
# PPRL_SERVE_DATABASE: a PostgreSQL URL for `pprl serve --database` (default: SQLite in the
# data directory); server/ci/postgres.sh sets it.
DB_ARGS=()
[ -z "${PPRL_SERVE_DATABASE:-}" ] || DB_ARGS=(--database "$PPRL_SERVE_DATABASE")
cd "$(dirname "$0")/../.."
repo=$PWD
PPRL=${1:-${CARGO_TARGET_DIR:-target}/debug/pprl}
PPRL=$(cd "$(dirname "$PPRL")" && pwd)/$(basename "$PPRL")
test -x "$PPRL" || { echo "load.sh: $PPRL is not an executable pprl" >&2; exit 1; }
NP=${LOAD_PROJECTS:-20}
NK=${LOAD_PARTIES:-3}
NR=${LOAD_RECORDS:-10000}
BLOCKING=${LOAD_BLOCKING:-keys}
SCHEMA=${LOAD_SCHEMA:-$repo/examples/person_blocking.toml}
MAX_RSS_MB=${LOAD_MAX_UPLOAD_RSS_MB:-160}

TMP=$(mktemp -d "${TMPDIR:-/tmp}/pprl-load.XXXXXX")
SERVER_PID=
SAMPLER_PID=
cleanup() {
    [ -z "$SAMPLER_PID" ] || kill "$SAMPLER_PID" 2>/dev/null || true
    if [ -n "$SERVER_PID" ]; then kill "$SERVER_PID" 2>/dev/null || true; wait "$SERVER_PID" 2>/dev/null || true; fi
    rm -rf "$TMP"
}
trap cleanup EXIT
cd "$TMP"
now() { date +%s.%N; }

"$PPRL" synth --records "$NR" --parties "$NK" --seed 15 --out-dir synth >/dev/null 2>&1
"$PPRL" keygen -o project.key >/dev/null
FILES=()
for f in synth/party_*.csv; do
    out=$(basename "$f" .csv).clk
    "$PPRL" encode --quiet --schema "$SCHEMA" --secret-file project.key "$f" -o "$out" >/dev/null
    FILES+=("$out")
done
"$PPRL" match -t 0.8 --blocking "$BLOCKING" --no-scores -o want.csv "${FILES[@]}" >/dev/null 2>&1

head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n' > admin.token
chmod 600 admin.token
printf 'max_parties = %s\n' "$NK" > serve.toml
"$PPRL" serve --data-dir data "${DB_ARGS[@]}" --listen 127.0.0.1:0 --admin-token-file admin.token \
    --config serve.toml > serve.out 2> serve.log &
SERVER_PID=$!
for _ in $(seq 1 100); do grep -q '^listening on ' serve.out 2>/dev/null && break; sleep 0.1; done
BASE=$(sed -n 's/^listening on //p' serve.out)
test -n "$BASE" || { echo "load.sh: the server did not start" >&2; cat serve.log >&2; exit 1; }
R=("$PPRL" remote --server "$BASE")
# The server's resident memory, sampled every 0.1 s (kB), into rss.log.
( while kill -0 "$SERVER_PID" 2>/dev/null; do
      awk '/^VmRSS/ {print $2}' "/proc/$SERVER_PID/status" 2>/dev/null || true
      sleep 0.1
  done ) > rss.log &
SAMPLER_PID=$!

for p in $(seq 1 "$NP"); do
    mkdir "p$p"
    "${R[@]}" create-project --admin-token-file admin.token --like "${FILES[0]}" \
        --parties "$NK" --name "load $p" -o "p$p/codes.json" >/dev/null
    python3 - "p$p" <<'PY'
import json, sys
d = sys.argv[1]
codes = json.load(open(f"{d}/codes.json"))
open(f"{d}/id", "w").write(codes["project_id"])
for c in codes["join_codes"]:
    name = f"party{c['party']}" if c.get("party") is not None else c["role"]
    open(f"{d}/{name}.code", "w").write(c["code"])
PY
    for c in "p$p"/*.code; do "${R[@]}" join --code-file "$c" -o "${c%.code}.tok" >/dev/null; done
done
BYTES=0
for f in "${FILES[@]}"; do BYTES=$((BYTES + $(stat -c%s "$f"))); done
BYTES=$((BYTES * NP))

lines_before=$(wc -l < rss.log)
t0=$(now)
pids=()
for p in $(seq 1 "$NP"); do
    for k in $(seq 0 $((NK - 1))); do
        # Each upload from its own copy (the state file `FILE.pprl-upload` is per file).
        cp "${FILES[$k]}" "p$p/party$k.clk"
        "${R[@]}" upload --token-file "p$p/party$k.tok" --project "$(cat "p$p/id")" \
            "p$p/party$k.clk" > "p$p/upload$k.log" 2>&1 &
        pids+=($!)
    done
done
fails=0
for pid in "${pids[@]}"; do wait "$pid" || fails=$((fails + 1)); done
t1=$(now)
[ "$fails" -eq 0 ] || { echo "load.sh: $fails uploads failed" >&2; cat p*/upload*.log | grep -v committed | head >&2; exit 1; }
upload_rss=$(tail -n +"$((lines_before + 1))" rss.log | sort -n | tail -1)

t2=$(now)
pids=()
for p in $(seq 1 "$NP"); do
    "${R[@]}" run --token-file "p$p/admin.tok" --project "$(cat "p$p/id")" -t 0.8 \
        --blocking "$BLOCKING" --wait > "p$p/run.log" 2>&1 &
    pids+=($!)
done
fails=0
for pid in "${pids[@]}"; do wait "$pid" || fails=$((fails + 1)); done
t3=$(now)
[ "$fails" -eq 0 ] || { echo "load.sh: $fails runs failed" >&2; cat p*/run.log | head -20 >&2; exit 1; }
for p in $(seq 1 "$NP"); do
    grep -q completed "p$p/run.log" || { echo "load.sh: project $p's run did not complete" >&2; cat "p$p/run.log" >&2; exit 1; }
    run=$(grep -oE '[0-9a-f]{16}' "p$p/run.log" | head -1)
    "${R[@]}" result --token-file "p$p/reader.tok" --project "$(cat "p$p/id")" --run "$run" \
        -o "p$p/result.csv" >/dev/null
    cmp -s want.csv "p$p/result.csv" || { echo "load.sh: project $p's result differs from pprl match" >&2; exit 1; }
done
peak_rss=$(sort -n rss.log | tail -1)
if grep -E ' (5[0-9][0-9]) ' serve.log | grep -q 'pprl_server::http'; then
    echo "load.sh: the server answered with a 5xx" >&2; grep ' 5[0-9][0-9] ' serve.log | head >&2; exit 1
fi
"$PPRL" serve audit verify --data-dir data "${DB_ARGS[@]}" >/dev/null
python3 - "$NP" "$NK" "$NR" "$BYTES" "$t0" "$t1" "$t2" "$t3" "$upload_rss" "$peak_rss" "$BLOCKING" "$(($(wc -l < want.csv) - 1))" <<'PY'
import sys
np_, nk, nr, b, t0, t1, t2, t3, up_rss, peak, blocking, rows = sys.argv[1:]
b, t0, t1, t2, t3 = int(b), float(t0), float(t1), float(t2), float(t3)
print(f"load.sh: {np_} projects x {nk} parties x {nr} records: {int(np_) * int(nk)} concurrent uploads "
      f"of {b / 1e6:.1f} MB in {t1 - t0:.2f} s ({b / 1e6 / (t1 - t0):.1f} MB/s, commit checks included); "
      f"server peak RSS while uploading {int(up_rss) / 1024:.0f} MiB; {np_} runs (blocking {blocking}, "
      f"{rows} result rows each, all equal to pprl match) in {t3 - t2:.2f} s; peak RSS overall "
      f"{int(peak) / 1024:.0f} MiB")
PY
if [ "$((upload_rss / 1024))" -gt "$MAX_RSS_MB" ]; then
    echo "load.sh: the server's RSS reached $((upload_rss / 1024)) MiB while uploading (bound $MAX_RSS_MB MiB)" >&2
    exit 1
fi
echo "load.sh: ok"
