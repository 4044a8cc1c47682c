#!/usr/bin/env bash
# Graceful shutdown of `pprl serve` on loopback, as a process gets it from systemd or ctrl-c:
#
# 1. SIGTERM while a chunk of an upload is half sent: the server stops accepting connections
#    but finishes that request (the rest of the chunk arrives, the upload commits with 200),
#    then exits 0.
# 2. SIGTERM while a run is matching (one match thread, so the match takes seconds): the
#    match unwinds at its next progress report and the server exits 0 in less than 3/4 of the
#    time the whole run takes after the restart (measured: 0.3 of it on a debug build) (so long before the match would have ended:
#    the process cannot end while a match's thread runs); the run's lease is given back, so the next start picks the run up at once (lease_s is 60 here, and the
#    run must complete within 30 s of the restart), with attempts = 2 and the links of
#    `pprl match` on the same files.
# 3. The audit chain verifies and records both stops (`server.stopped`).
#
#   server/ci/shutdown.sh [PPRL_BIN]     (default: $CARGO_TARGET_DIR/debug/pprl)
#
# SHUTDOWN_RECORDS (2500 per party: 6 x 10^6 comparisons, several seconds on one thread of a
# debug build) sizes the run.
set -euo pipefail
# PPRL_SERVE_DATABASE: a PostgreSQL URL for `pprl serve --database` (default: SQLite in the
# data directory); server/ci/postgres.sh sets it.
DB_ARGS=()
[ -z "${PPRL_SERVE_DATABASE:-}" ] || DB_ARGS=(--database "$PPRL_SERVE_DATABASE")
cd "$(dirname "$0")/../.."
repo=$PWD
PPRL=${1:-${CARGO_TARGET_DIR:-target}/debug/pprl}
PPRL=$(cd "$(dirname "$PPRL")" && pwd)/$(basename "$PPRL")
test -x "$PPRL" || { echo "shutdown.sh: $PPRL is not an executable pprl" >&2; exit 1; }
N=${SHUTDOWN_RECORDS:-2500}

TMP=$(mktemp -d "${TMPDIR:-/tmp}/pprl-shutdown.XXXXXX")
SERVER_PID=
cleanup() {
    if [ -n "$SERVER_PID" ]; then kill -9 "$SERVER_PID" 2>/dev/null || true; wait "$SERVER_PID" 2>/dev/null || true; fi
    rm -rf "$TMP"
}
trap cleanup EXIT
cd "$TMP"
now() { date +%s.%N; }
fail() { echo "shutdown.sh: $*" >&2; sed 's/^/  serve.log: /' serve.log >&2 || true; exit 1; }

"$PPRL" keygen -o project.key >/dev/null
"$PPRL" synth --records "$N" --parties 2 --seed 21 --out-dir synth >/dev/null 2>&1
for p in a b; do
    "$PPRL" encode --quiet --schema "$repo/examples/person.toml" --secret-file project.key \
        "synth/party_$p.csv" -o "$p.clk" >/dev/null
done
"$PPRL" match -t 0.8 --no-scores -o want.csv a.clk b.clk >/dev/null 2>&1
head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n' > admin.token
chmod 600 admin.token
printf 'lease_s = 60\nmatch_threads = 1\n' > serve.toml

start() {
    : > serve.out
    "$PPRL" serve --data-dir data "${DB_ARGS[@]}" --listen 127.0.0.1:0 \
        --admin-token-file admin.token --config serve.toml > serve.out 2>> serve.log &
    SERVER_PID=$!
    for _ in $(seq 1 100); do grep -q '^listening on ' serve.out 2>/dev/null && break; sleep 0.1; done
    BASE=$(sed -n 's/^listening on //p' serve.out)
    test -n "$BASE" || fail "the server did not start"
}
# SIGTERM; sets EXIT_S to the seconds until the process ended; fails unless it exited 0.
term() {
    local t0 rc=0
    t0=$(now)
    kill -TERM "$SERVER_PID"
    wait "$SERVER_PID" || rc=$?
    SERVER_PID=
    [ "$rc" -eq 0 ] || fail "the server exited $rc after SIGTERM"
    EXIT_S=$(python3 -c "print(f'{$(now) - $t0:.2f}')")
}

start
R=("$PPRL" remote --server "$BASE")
"${R[@]}" create-project --admin-token-file admin.token --like a.clk --parties 2 -o codes.json >/dev/null
P=$(python3 - <<'PY'
import json
codes = json.load(open("codes.json"))
for c in codes["join_codes"]:
    name = f"party{c['party']}" if c.get("party") is not None else c["role"]
    open(f"{name}.code", "w").write(c["code"])
print(codes["project_id"])
PY
)
for who in admin reader party0 party1; do
    "${R[@]}" join --code-file "$who.code" -o "$who.tok" >/dev/null
done
"${R[@]}" upload --token-file party0.tok --project "$P" a.clk >/dev/null

# 1. Party 1's whole file in one PATCH, sent in two halves with SIGTERM in between.
python3 - "$BASE" "$P" "$(cat party1.tok)" b.clk "$SERVER_PID" <<'PY' || fail "the upload in flight at SIGTERM did not commit"
import hashlib, http.client, json, os, signal, sys, time, urllib.parse
base, project, token, path, pid = sys.argv[1:]
u = urllib.parse.urlparse(base)
data = open(path, "rb").read()
auth = {"Authorization": f"Bearer {token}"}
c = http.client.HTTPConnection(u.hostname, u.port)
c.request("POST", f"/api/v1/projects/{project}/uploads",
          json.dumps({"length": len(data), "sha256": hashlib.sha256(data).hexdigest()}),
          {**auth, "content-type": "application/json"})
r = c.getresponse(); uid = json.loads(r.read())["upload_id"]
c.putrequest("PATCH", f"/api/v1/projects/{project}/uploads/{uid}")
for k, v in {**auth, "upload-offset": "0", "content-type": "application/offset+octet-stream",
             "content-length": str(len(data))}.items():
    c.putheader(k, v)
c.endheaders()
half = len(data) // 2
c.send(data[:half])
time.sleep(0.3)
os.kill(int(pid), signal.SIGTERM)
time.sleep(0.5)
c.send(data[half:])
r = c.getresponse(); body = json.loads(r.read())
assert r.status == 200 and body["state"] == "committed", (r.status, body)
PY
wait "$SERVER_PID" || fail "the server did not exit 0 after the upload in flight"
SERVER_PID=

# 2. A run, stopped mid-match.
start
R=("$PPRL" remote --server "$BASE")
"${R[@]}" run --token-file admin.tok --project "$P" -t 0.8 > run.out
RUN=$(grep -oE '[0-9a-f]{16}' run.out | head -1)
state() { "${R[@]}" status --token-file admin.tok --project "$P" --run "$RUN" \
    | python3 -c 'import json, sys; v = json.load(sys.stdin); print(v["state"], v["progress"], v["attempts"])'; }
t0=$(now)
while :; do
    read -r st progress attempts < <(state)
    [ "$st" = running ] && [ "$progress" -gt 0 ] && break
    [ "$st" = queued ] || [ "$st" = running ] || fail "the run ended $st before SIGTERM: make SHUTDOWN_RECORDS larger"
    python3 -c "import sys; sys.exit($(now) - $t0 > 60)" || fail "the run did not start matching"
    sleep 0.1
done
term
exit_s=$EXIT_S

start
R=("$PPRL" remote --server "$BASE")
t0=$(now)
while :; do
    read -r st progress attempts < <(state)
    [ "$st" = queued ] || [ "$st" = running ] || break
    python3 -c "import sys; sys.exit($(now) - $t0 > 30)" \
        || fail "the run was not picked up within 30 s of the restart (lease_s is 60: was the lease given back?)"
    sleep 0.2
done
[ "$st" = completed ] || fail "the run ended $st after the restart"
# The whole match on the same thread count: stopping must take well under what was left of it.
rerun_s=$(python3 -c "print(f'{$(now) - $t0:.2f}')")
python3 -c "import sys; sys.exit($rerun_s < 2)" \
    || fail "the run took only $rerun_s s: make SHUTDOWN_RECORDS larger, or the drill shows nothing"
python3 -c "import sys; sys.exit(4 * $exit_s > 3 * $rerun_s)" \
    || fail "the server took $exit_s s to stop during a run, the whole run $rerun_s s: the match did not stop"
[ "$attempts" = 2 ] || fail "the run took $attempts attempts (2 expected)"
"${R[@]}" result --token-file reader.tok --project "$P" --run "$RUN" -o served.csv >/dev/null
cmp -s served.csv want.csv || fail "the links after the restart differ from pprl match"
term

"$PPRL" serve audit verify --data-dir data "${DB_ARGS[@]}" > verify.out || fail "the audit chain does not verify"
Q="SELECT COUNT(*) FROM audit WHERE action = 'server.stopped'"
if [ -n "${PPRL_SERVE_DATABASE:-}" ]; then
    stops=$(psql "$PPRL_SERVE_DATABASE" -tAc "$Q")
else
    stops=$(python3 -c 'import sqlite3, sys; print(sqlite3.connect("data/pprl.db").execute(sys.argv[1]).fetchone()[0])' "$Q")
fi
[ "$stops" -ge 3 ] || fail "$stops shutdowns recorded (3 expected)"
echo "shutdown.sh: ok: an upload in flight at SIGTERM committed; SIGTERM mid-run: exit in $exit_s s (the whole run: $rerun_s s), the run picked up at once after the restart (attempts 2, links equal to pprl match); $(cat verify.out)"
