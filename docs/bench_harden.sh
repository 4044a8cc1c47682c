#!/usr/bin/env bash
# Encoding rate with each hardening step (docs/hardening.md): 100,000 synthetic records from
# `pprl synth`, encoded with examples/person.toml and each `[filter] harden` list; best of
# REPEATS runs, wall-clock from `pprl encode`'s own summary line.
#
#   bash docs/bench_harden.sh [PPRL_BINARY] [THREADS] [REPEATS]
set -euo pipefail
here="$(cd "$(dirname "$0")/.." && pwd)"
pprl="${1:-$here/target/release/pprl}"
threads="${2:-1}"
repeats="${3:-3}"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
head -c 32 /dev/urandom > "$work/secret.key"; chmod 600 "$work/secret.key"
"$pprl" synth --records 100000 --parties 1 --seed 7 --out-dir "$work/synth" >/dev/null 2>&1
settings=(
  "none|"
  "balance|\"balance\""
  "xor-fold|\"xor-fold\""
  "rule90|\"rule90\""
  "blip|{ blip = { epsilon = 300.0 } }"
  "diffusion t=3|{ diffusion = { t = 3 } }"
  "salt|{ salt = { field = \"date_of_birth\", prefix = 4 } }"
  "diffusion t=3 + balance|{ diffusion = { t = 3 } }, \"balance\""
)
echo "| harden | records/s (best of $repeats, $threads thread(s)) | vs none |"
echo "|---|---|---|"
base=""
for s in "${settings[@]}"; do
  name="${s%%|*}"; list="${s#*|}"
  schema="$work/schema.toml"
  if [ -z "$list" ]; then cp "$here/examples/person.toml" "$schema"
  else sed "s/^hashing = \"hmac-sha256\".*/hashing = \"hmac-sha256\"\nharden = [$list]/" "$here/examples/person.toml" > "$schema"; fi
  best=0
  for _ in $(seq "$repeats"); do
    rm -f "$work/out.clk"*
    start=$(date +%s.%N)
    "$pprl" encode --schema "$schema" --secret-file "$work/secret.key" --threads "$threads" \
      "$work/synth/party_a.csv" -o "$work/out.clk" >/dev/null 2>&1
    end=$(date +%s.%N)
    rate=$(python3 -c "print(int(100000/($end-$start)))")
    [ "$rate" -gt "$best" ] && best=$rate
  done
  [ -z "$base" ] && base=$best
  echo "| $name | $best | $(python3 -c "print('%.2f' % ($best/$base))") |"
done
