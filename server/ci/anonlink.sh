#!/usr/bin/env bash
# The anonlink-entity-service compatibility check with the real client: anonlink-client 0.1.5
# (the last release with the service commands) in a throwaway virtual environment drives a
# `pprl serve` on loopback through its whole flow, and the result must equal `pprl match` on
# the same CLKs.
#
#   server/ci/anonlink.sh [PPRL_BIN]        (default: $CARGO_TARGET_DIR/debug/pprl)
#
# Two departments hash FEBRL 1 (originals / duplicates) with `anonlink hash`; the server admin
# creates a `groups` project with `anonlink create-project` (its token from a netrc file, sent
# as HTTP Basic); department A uploads with `anonlink upload`, department B with
# `anonlink upload --blocks` (blocks from `anonlink block`) and its token from a netrc file
# too; the analyst creates a run and fetches the groups with the result token; then
# `anonlink status`, `anonlink delete` (the run) and `anonlink delete-project`.
# Set ANONLINK_VENV to reuse a virtual environment that has the client.
set -euo pipefail
# PPRL_SERVE_DATABASE: a PostgreSQL URL for `pprl serve --database` (default: SQLite in the
# data directory); server/ci/postgres.sh sets it.
DB_ARGS=()
[ -z "${PPRL_SERVE_DATABASE:-}" ] || DB_ARGS=(--database "$PPRL_SERVE_DATABASE")
cd "$(dirname "$0")/../.."
repo=$PWD
PPRL=${1:-${CARGO_TARGET_DIR:-target}/debug/pprl}
PPRL=$(cd "$(dirname "$PPRL")" && pwd)/$(basename "$PPRL")
test -x "$PPRL" || { echo "anonlink.sh: $PPRL is not an executable pprl" >&2; exit 1; }

TMP=$(mktemp -d "${TMPDIR:-/tmp}/pprl-anonlink.XXXXXX")
SERVER_PID=
cleanup() {
    if [ -n "$SERVER_PID" ]; then kill "$SERVER_PID" 2>/dev/null || true; wait "$SERVER_PID" 2>/dev/null || true; fi
    rm -rf "$TMP"
}
trap cleanup EXIT

VENV=${ANONLINK_VENV:-$TMP/venv}
if [ ! -x "$VENV/bin/anonlink" ]; then
    python3 -m venv "$VENV"
    # blocklib 0.1.9 and later dropped the `verbose` argument that anonlink-client 0.1.5's
    # `block` command passes; 0.1.7 is the release it was made with.
    "$VENV/bin/pip" install --quiet --disable-pip-version-check "setuptools<81" \
        anonlink-client==0.1.5 blocklib==0.1.7
fi
AN="$VENV/bin/anonlink"
PY="$VENV/bin/python"
BLOCKING_SCHEMA=$("$PY" -c 'import anonlinkclient, os; print(os.path.join(os.path.dirname(anonlinkclient.__file__), "data", "blocking_schema.json"))')
SCHEMA=$repo/testdata/febrl/febrl.schema.json

cd "$TMP"
"$PY" - "$repo/testdata/febrl/febrl1.csv" <<'PY'
import csv, sys
rows = list(csv.reader(open(sys.argv[1], newline="")))
for name, keep in (("a.csv", lambda r: r[0].endswith("-org")), ("b.csv", lambda r: not r[0].endswith("-org"))):
    with open(name, "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(rows[0])
        w.writerows(r for r in rows[1:] if keep(r))
PY
# The departments' shared secret is an argument of `anonlink hash` (the client's design).
"$AN" hash a.csv ci-shared-secret "$SCHEMA" a.json 2>/dev/null
"$AN" hash b.csv ci-shared-secret "$SCHEMA" b.json 2>/dev/null
"$AN" block b.json "$BLOCKING_SCHEMA" b_blocks.json >/dev/null 2>&1

# The server: the anonlink API is opt-in.
"$PY" -c 'import secrets; print(secrets.token_hex(32))' > admin.token
chmod 600 admin.token
printf 'anonlink_compat = true\n' > serve.toml
"$PPRL" serve --data-dir data "${DB_ARGS[@]}" --listen 127.0.0.1:0 --admin-token-file admin.token \
    --config serve.toml > serve.out 2> serve.log &
SERVER_PID=$!
for _ in $(seq 1 100); do grep -q '^listening on ' serve.out 2>/dev/null && break; sleep 0.1; done
BASE=$(sed -n 's/^listening on //p' serve.out)
test -n "$BASE" || { echo "anonlink.sh: the server did not start" >&2; cat serve.log >&2; exit 1; }
S=(--server "$BASE/anonlink")
netrc() { printf 'machine 127.0.0.1 login pprl password %s\n' "$1" > "$2"; chmod 600 "$2"; }

"$AN" status "${S[@]}" -o status.json
grep -q '"status": "ok"' status.json

netrc "$(cat admin.token)" admin.netrc
NETRC=$PWD/admin.netrc "$AN" create-project "${S[@]}" --schema "$SCHEMA" --type groups \
    --name ci-febrl -o project.json 2>/dev/null
P=$("$PY" -c 'import json; print(json.load(open("project.json"))["project_id"])')
TA=$("$PY" -c 'import json; print(json.load(open("project.json"))["update_tokens"][0])')
TB=$("$PY" -c 'import json; print(json.load(open("project.json"))["update_tokens"][1])')
TR=$("$PY" -c 'import json; print(json.load(open("project.json"))["result_token"])')

# Department A: the token as the client takes it (--apikey).
"$AN" upload a.json "${S[@]}" --project "$P" --apikey "$TA" -o up_a.json > up_a.log 2>&1 \
    || { cat up_a.log >&2; exit 1; }
# Department B: with blocks, and its token from a netrc file (requests sends it as HTTP Basic,
# replacing the --apikey header), so it is on no command line.
netrc "$TB" b.netrc
NETRC=$PWD/b.netrc "$AN" upload b.json --blocks b_blocks.json "${S[@]}" --project "$P" \
    --apikey from-netrc -o up_b.json > up_b.log 2>&1 || { cat up_b.log >&2; exit 1; }
grep -q receipt_token up_a.json && grep -q receipt_token up_b.json

"$AN" create "${S[@]}" --project "$P" --apikey "$TR" -t 0.8 --name ci -o run.json 2>/dev/null
RUN=$("$PY" -c 'import json; print(json.load(open("run.json"))["run_id"])')
"$AN" results "${S[@]}" --project "$P" --apikey "$TR" --run "$RUN" -w -o result.json 2>results.log \
    || { cat results.log >&2; exit 1; }

"$PPRL" match a.json b.json -t 0.8 -o links.csv 2>/dev/null
"$PY" - <<'PY'
import csv, json
groups = json.load(open("result.json"))["groups"]
got = sorted((g[0][1], g[1][1]) if g[0][0] == 0 else (g[1][1], g[0][1]) for g in groups)
want = sorted((int(r["a_id"]), int(r["b_id"])) for r in csv.DictReader(open("links.csv")))
assert all(len(g) == 2 for g in groups), "a group of more than two records in a two-party run"
assert len(want) > 400, f"only {len(want)} links from pprl match"
assert got == want, f"the service's {len(got)} groups differ from pprl match's {len(want)} links"
print(f"anonlink.sh: {len(got)} groups from anonlink-client equal pprl match's links")
PY

"$AN" delete "${S[@]}" --project "$P" --run "$RUN" --apikey "$TR" 2>delete.log
grep -q "Run deleted" delete.log
"$AN" delete-project "${S[@]}" --project "$P" --apikey "$TR" 2>delete.log
grep -q "Project deleted" delete.log
test ! -e "data/uploads/$P" || { echo "anonlink.sh: the encodings outlived the project" >&2; exit 1; }
"$PPRL" serve audit verify --data-dir data "${DB_ARGS[@]}"
# No token in the server's log.
for t in "$TA" "$TB" "$TR" "$(cat admin.token)"; do
    if grep -qF "$t" serve.log; then echo "anonlink.sh: a token is in the server log" >&2; exit 1; fi
done
echo "anonlink.sh: ok"
