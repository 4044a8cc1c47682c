#!/usr/bin/env bash
# Reproduces the probabilistic-linkage figures of docs/probabilistic.md on the FEBRL sets:
# pprl (`match --model fs` on encodings, no ground truth) beside Splink on the clear text,
# for deduplication (febrl1, febrl2) and two parties (originals vs their first duplicate).
#
#   bash docs/eval_fs.sh [FEBRL_DIR] [PPRL_BINARY] [SPLINK_PYTHON]
#
# FEBRL_DIR defaults to /work/shared/data/febrl; PPRL_BINARY to target/release/pprl;
# SPLINK_PYTHON (a python with splink and pandas, e.g. a throwaway venv) is optional: without
# it only pprl runs. Extra schemas to compare: SCHEMAS="a.toml b.toml" (default: the hardened
# examples/febrl_fields.toml).
set -euo pipefail
here="$(cd "$(dirname "$0")/.." && pwd)"
data="${1:-/work/shared/data/febrl}"
pprl="${2:-$here/target/release/pprl}"
splink="${3:-}"
schemas="${SCHEMAS:-$here/examples/febrl_fields.toml}"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
"$pprl" keygen -o "$work/secret.txt" >/dev/null 2>&1

# Two parties: originals with a duplicate vs their first duplicate, truth by rec_id.
split_two() {
  python3 - "$1" "$2" "$3" "$4" <<'PY'
import csv, sys
rows = list(csv.DictReader(open(sys.argv[1])))
fields = list(rows[0].keys())
orgs = [r for r in rows if r["rec_id"].endswith("-org")]
dups = sorted((r for r in rows if r["rec_id"].endswith("-dup-0")), key=lambda r: r["rec_id"])
for path, part in ((sys.argv[2], orgs), (sys.argv[3], dups)):
    with open(path, "w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=fields); w.writeheader(); w.writerows(part)
with open(sys.argv[4], "w") as t:
    t.write("a_id,b_id\n")
    for r in dups:
        t.write("rec-%s-org,%s\n" % (r["rec_id"].split("-")[1], r["rec_id"]))
PY
}

f1() { "$pprl" eval --truth "$1" --matches "$2" 2>/dev/null | awk '$1 == "F1" {print $2}'; }

printf '| set | task | tool | encoding | F1 | seconds |\n|---|---|---|---|---|---|\n'
for n in 1 2; do
  csv="$data/febrl$n.csv"
  split_two "$csv" "$work/a$n.csv" "$work/b$n.csv" "$work/t$n.csv"
  for schema in $schemas; do
    name="$(basename "$schema" .toml)"
    extra=()
    grep -q '^harden' "$schema" || extra=(--allow-unhardened)
    for f in "$csv:d" "$work/a$n.csv:a" "$work/b$n.csv:b"; do
      "$pprl" encode --schema "$schema" --secret-file "$work/secret.txt" "${f%%:*}" \
        -o "$work/$name.$n.${f##*:}.clk" >/dev/null 2>&1
    done
    start=$(date +%s.%N)
    "$pprl" match "$work/$name.$n.d.clk" --model fs -t auto -o "$work/d.csv" -q "${extra[@]}"
    end=$(date +%s.%N)
    printf '| febrl%s | dedup | pprl fs | %s | %s | %.2f |\n' "$n" "$name" \
      "$(f1 "$data/febrl${n}_entities.csv" "$work/d.csv")" "$(echo "$end - $start" | bc)"
    start=$(date +%s.%N)
    "$pprl" match "$work/$name.$n.a.clk" "$work/$name.$n.b.clk" --model fs -t auto \
      -o "$work/l.csv" -q "${extra[@]}"
    end=$(date +%s.%N)
    printf '| febrl%s | two-party | pprl fs | %s | %s | %.2f |\n' "$n" "$name" \
      "$(f1 "$work/t$n.csv" "$work/l.csv")" "$(echo "$end - $start" | bc)"
  done
  if [ -n "$splink" ]; then
    start=$(date +%s.%N)
    "$splink" "$here/docs/fs_splink.py" dedup "$work/sd.csv" "$csv" >/dev/null 2>&1
    end=$(date +%s.%N)
    printf '| febrl%s | dedup | Splink | clear text | %s | %.2f |\n' "$n" \
      "$(f1 "$data/febrl${n}_entities.csv" "$work/sd.csv")" "$(echo "$end - $start" | bc)"
    start=$(date +%s.%N)
    "$splink" "$here/docs/fs_splink.py" link "$work/sl.csv" "$work/a$n.csv" "$work/b$n.csv" >/dev/null 2>&1
    end=$(date +%s.%N)
    printf '| febrl%s | two-party | Splink | clear text | %s | %.2f |\n' "$n" \
      "$(f1 "$work/t$n.csv" "$work/sl.csv")" "$(echo "$end - $start" | bc)"
  fi
done
