#!/usr/bin/env bash
# Reproduces the automatic-threshold and clustering figures of docs/threshold.md on the FEBRL
# sets: encode -> match --threshold auto -> eval, for deduplication (febrl1, febrl2) and for
# two-party linkage made by splitting them (originals vs their first duplicate), and the best
# F1 over a threshold sweep for comparison.
#
#   bash docs/eval_febrl.sh [FEBRL_DIR] [PPRL_BINARY] [SCHEMA]
#
# FEBRL_DIR holds febrl1.csv, febrl2.csv (default /work/shared/data/febrl; the README in
# testdata/febrl/ says where they come from). PPRL_BINARY defaults to target/release/pprl.
# The schema is testdata/febrl/febrl.schema.json (clkhash v3, 1024 bits: given_name, surname,
# address_1, suburb as bigrams; postcode and date_of_birth as positional unigrams). The secret
# is a fixed evaluation string: the figures do not depend on it beyond noise. SCHEMA replaces
# it, e.g. examples/febrl.toml (a pprl schema: the secret is then a fresh random key).
set -euo pipefail
here="$(cd "$(dirname "$0")/.." && pwd)"
data="${1:-/work/shared/data/febrl}"
pprl="${2:-$here/target/release/pprl}"
schema="${3:-$here/testdata/febrl/febrl.schema.json}"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
# Records are named by position under a clkhash schema, by their rec_id under a pprl schema.
by=row
case "$schema" in
  *.toml) by=rec_id; "$pprl" keygen -o "$work/secret.txt" >/dev/null 2>&1 ;;
  *) printf %s 'febrl evaluation secret, not a real one!' > "$work/secret.txt"; chmod 600 "$work/secret.txt" ;;
esac

field() { python3 -c "import json,sys; d=json.load(open(sys.argv[1])); print(eval(sys.argv[2]))" "$@"; }

encode() { "$pprl" encode --schema "$schema" --secret-file "$work/secret.txt" "$1" --format clk -o "$2" >/dev/null 2>&1; }

# Entities by row (the encodings name records by position).
entities_by_row() {
  python3 - "$1" "$2" "$by" <<'PY'
import csv, sys
rows = list(csv.DictReader(open(sys.argv[1])))
name = (lambda i, r: r["rec_id"]) if sys.argv[3] == "rec_id" else (lambda i, r: str(i))
with open(sys.argv[2], "w") as out:
    out.write("entity_id,record_id\n")
    for i, r in enumerate(rows):
        out.write("%s,%s\n" % (r["rec_id"].split("-")[1], name(i, r)))
PY
}

# Two parties: originals with a duplicate vs their first duplicate (dup-0), truth by row.
split_two() {
  python3 - "$1" "$2" "$3" "$4" "$by" <<'PY'
import csv, sys
rows = list(csv.DictReader(open(sys.argv[1])))
fields = list(rows[0].keys())
orgs = [r for r in rows if r["rec_id"].endswith("-org")]
dups = {r["rec_id"].split("-")[1]: r for r in rows if r["rec_id"].endswith("-dup-0")}
b = sorted(dups.values(), key=lambda r: r["rec_id"])
pos = {r["rec_id"].split("-")[1]: i for i, r in enumerate(b)}
for path, part in ((sys.argv[2], orgs), (sys.argv[3], b)):
    with open(path, "w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=fields); w.writeheader(); w.writerows(part)
with open(sys.argv[4], "w") as t:
    t.write("a_id,b_id\n")
    for i, r in enumerate(orgs):
        n = r["rec_id"].split("-")[1]
        if n in pos:
            if sys.argv[5] == "rec_id":
                t.write("%s,%s\n" % (r["rec_id"], b[pos[n]]["rec_id"]))
            else:
                t.write("%d,%d\n" % (i, pos[n]))
PY
}

printf '%-13s %-9s %-7s | %-6s %-6s %-6s | %-6s %-6s %-6s | %-7s %-6s\n' set mode auto_t est_p est_r est_f1 p r f1 best_t best_f1
for set in febrl1 febrl2; do
  encode "$data/$set.csv" "$work/$set.clk"
  entities_by_row "$data/$set.csv" "$work/$set.entities.csv"
  # Deduplication with the default clustering.
  "$pprl" match "$work/$set.clk" --threshold auto -o "$work/$set.m.csv" --format json -q > "$work/$set.m.json"
  "$pprl" eval --truth "$work/$set.entities.csv" --matches "$work/$set.m.csv" --format json > "$work/$set.e.json"
  best_t=0; best_f1=0
  for t in $(seq 0.60 0.01 0.95); do
    "$pprl" match "$work/$set.clk" -t "$t" -o "$work/sweep.csv" -q
    f=$("$pprl" eval --truth "$work/$set.entities.csv" --matches "$work/sweep.csv" --format json | python3 -c "import json,sys; print(json.load(sys.stdin)['f1'])")
    if python3 -c "import sys; sys.exit(0 if $f > $best_f1 else 1)"; then best_f1=$f; best_t=$t; fi
  done
  printf '%-13s %-9s %-7.4f | %-6.3f %-6.3f %-6.3f | %-6.3f %-6.3f %-6.3f | %-7s %-6.3f\n' "$set" dedup \
    "$(field "$work/$set.m.json" "d['threshold']")" \
    "$(field "$work/$set.m.json" "d['threshold_auto']['estimated_result']['precision']")" \
    "$(field "$work/$set.m.json" "d['threshold_auto']['estimated_result']['recall']")" \
    "$(field "$work/$set.m.json" "d['threshold_auto']['estimated_result']['f1']")" \
    "$(field "$work/$set.e.json" "d['precision']")" "$(field "$work/$set.e.json" "d['recall']")" \
    "$(field "$work/$set.e.json" "d['f1']")" "$best_t" "$best_f1"
  # The same with connected components (single linkage) for comparison.
  "$pprl" match "$work/$set.clk" --threshold auto --cluster components -o "$work/$set.c.csv" --format json -q > "$work/$set.c.json"
  "$pprl" eval --truth "$work/$set.entities.csv" --matches "$work/$set.c.csv" --format json > "$work/$set.ce.json"
  printf '%-13s %-9s %-7.4f | %-6.3f %-6.3f %-6.3f | %-6.3f %-6.3f %-6.3f |\n' "$set" components \
    "$(field "$work/$set.c.json" "d['threshold']")" \
    "$(field "$work/$set.c.json" "d['threshold_auto']['estimated_result']['precision']")" \
    "$(field "$work/$set.c.json" "d['threshold_auto']['estimated_result']['recall']")" \
    "$(field "$work/$set.c.json" "d['threshold_auto']['estimated_result']['f1']")" \
    "$(field "$work/$set.ce.json" "d['precision']")" "$(field "$work/$set.ce.json" "d['recall']")" \
    "$(field "$work/$set.ce.json" "d['f1']")"
  # Two parties.
  split_two "$data/$set.csv" "$work/$set.a.csv" "$work/$set.b.csv" "$work/$set.t.csv"
  encode "$work/$set.a.csv" "$work/$set.a.clk"
  encode "$work/$set.b.csv" "$work/$set.b.clk"
  "$pprl" match "$work/$set.a.clk" "$work/$set.b.clk" --threshold auto -o "$work/$set.l.csv" --format json -q > "$work/$set.l.json"
  "$pprl" match "$work/$set.a.clk" "$work/$set.b.clk" -t 0.5 --solver none -o "$work/$set.s.csv" -q
  "$pprl" eval --truth "$work/$set.t.csv" --matches "$work/$set.l.csv" --scores "$work/$set.s.csv" --one-to-one --format json > "$work/$set.le.json"
  printf '%-13s %-9s %-7.4f | %-6.3f %-6.3f %-6.3f | %-6.3f %-6.3f %-6.3f | %-7.4f %-6.3f\n' "$set split" two-party \
    "$(field "$work/$set.l.json" "d['threshold']")" \
    "$(field "$work/$set.l.json" "d['threshold_auto']['estimated_result']['precision']")" \
    "$(field "$work/$set.l.json" "d['threshold_auto']['estimated_result']['recall']")" \
    "$(field "$work/$set.l.json" "d['threshold_auto']['estimated_result']['f1']")" \
    "$(field "$work/$set.le.json" "d['precision']")" "$(field "$work/$set.le.json" "d['recall']")" \
    "$(field "$work/$set.le.json" "d['f1']")" \
    "$(field "$work/$set.le.json" "d['sweep']['best_f1']['threshold']")" \
    "$(field "$work/$set.le.json" "d['sweep']['best_f1']['f1']")"
done

# Synthetic deduplication (pprl synth --duplicates 0.45: groups of 1 to 6 or 7 records), with
# the example schema.
for seed in 5 6; do
  "$pprl" synth --records 4000 --parties 1 --duplicates 0.45 --seed "$seed" --out-dir "$work/syn$seed" >/dev/null
  "$pprl" keygen -o "$work/syn$seed/k.key" >/dev/null 2>&1
  "$pprl" encode --schema "$here/examples/person.toml" --secret-file "$work/syn$seed/k.key" "$work/syn$seed/party_a.csv" -o "$work/syn$seed/a.clk" >/dev/null 2>&1
  for cl in average components; do
    "$pprl" match "$work/syn$seed/a.clk" --threshold auto --cluster "$cl" -o "$work/syn$seed/m.csv" --format json -q > "$work/syn$seed/m.json"
    "$pprl" eval --truth "$work/syn$seed/truth.csv" --matches "$work/syn$seed/m.csv" --format json > "$work/syn$seed/e.json"
    printf '%-13s %-9s %-7.4f | %-6.3f %-6.3f %-6.3f | %-6.3f %-6.3f %-6.3f |\n' "synth seed $seed" "$cl" \
      "$(field "$work/syn$seed/m.json" "d['threshold']")" \
      "$(field "$work/syn$seed/m.json" "d['threshold_auto']['estimated_result']['precision']")" \
      "$(field "$work/syn$seed/m.json" "d['threshold_auto']['estimated_result']['recall']")" \
      "$(field "$work/syn$seed/m.json" "d['threshold_auto']['estimated_result']['f1']")" \
      "$(field "$work/syn$seed/e.json" "d['precision']")" "$(field "$work/syn$seed/e.json" "d['recall']")" \
      "$(field "$work/syn$seed/e.json" "d['f1']")"
  done
done
