#!/usr/bin/env bash
# Performance of `pprl serve` against `pprl match` (not part of .ci/run: run it by hand on a
# release build, on a quiet machine, and record the figures in docs/benchmarks.md).
#
#   server/ci/perf.sh [PPRL_BIN]     (default: $CARGO_TARGET_DIR/release/pprl)
#
# 1. A PERF_RECORDS x PERF_RECORDS run (default 100,000 each, threshold 0.8, no blocking,
#    greedy) through the service (`pprl remote run --wait`: queue, match on the server's
#    rayon pool, write the views, and the client's polling at 0.25 s) against `pprl match` on
#    the same files, interleaved PERF_REPEAT times (default 3); the ratio of the medians.
# 2. (Measured first, so the server's peak RSS covers only it.) Upload throughput on loopback: one party's PERF_UPLOAD_RECORDS-record `.clk` file
#    (default 1,500,000, about 200 MB) sent in one PATCH; the transfer (all bytes but the last:
#    streamed to disk) and the commit (the last byte: SHA-256 and every record checked) are
#    timed apart; PERF_UPLOAD_REPEAT times (default 3, each into a new project), medians.
#    PERF_REPEAT=0 measures only the upload.
set -euo pipefail
cd "$(dirname "$0")/../.."
repo=$PWD
PPRL=${1:-${CARGO_TARGET_DIR:-target}/release/pprl}
PPRL=$(cd "$(dirname "$PPRL")" && pwd)/$(basename "$PPRL")
N=${PERF_RECORDS:-100000}
NU=${PERF_UPLOAD_RECORDS:-1500000}
REPEAT=${PERF_REPEAT:-3}
UREPEAT=${PERF_UPLOAD_REPEAT:-3}
TMP=$(mktemp -d "${TMPDIR:-/tmp}/pprl-perf.XXXXXX")
SERVER_PID=
cleanup() {
    if [ -n "$SERVER_PID" ]; then kill "$SERVER_PID" 2>/dev/null || true; wait "$SERVER_PID" 2>/dev/null || true; fi
    rm -rf "$TMP"
}
trap cleanup EXIT
cd "$TMP"
now() { date +%s.%N; }

"$PPRL" keygen -o project.key >/dev/null
"$PPRL" synth --records "$N" --parties 2 --seed 7 --out-dir synth >/dev/null 2>&1
for p in a b; do
    "$PPRL" encode --quiet --schema "$repo/examples/person.toml" --secret-file project.key \
        "synth/party_$p.csv" -o "$p.clk" >/dev/null
done
head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n' > admin.token
chmod 600 admin.token
"$PPRL" serve --data-dir data --listen 127.0.0.1:0 --admin-token-file admin.token \
    > serve.out 2> serve.log &
SERVER_PID=$!
for _ in $(seq 1 100); do grep -q '^listening on ' serve.out 2>/dev/null && break; sleep 0.1; done
BASE=$(sed -n 's/^listening on //p' serve.out)
R=("$PPRL" remote --server "$BASE")
join_all() { # dir codes.json
    python3 - "$1" <<'PY'
import json, sys
d = sys.argv[1]
codes = json.load(open(f"{d}/codes.json"))
open(f"{d}/id", "w").write(codes["project_id"])
for c in codes["join_codes"]:
    name = f"party{c['party']}" if c.get("party") is not None else c["role"]
    open(f"{d}/{name}.code", "w").write(c["code"])
PY
    for c in "$1"/*.code; do "${R[@]}" join --code-file "$c" -o "${c%.code}.tok" >/dev/null; done
}
mkdir run
"${R[@]}" create-project --admin-token-file admin.token --like a.clk --parties 2 -o run/codes.json >/dev/null
join_all run
P=$(cat run/id)
"${R[@]}" upload --token-file run/party0.tok --project "$P" a.clk >/dev/null
"${R[@]}" upload --token-file run/party1.tok --project "$P" b.clk >/dev/null

# Upload throughput.
"$PPRL" synth --records "$NU" --parties 1 --seed 8 --out-dir big >/dev/null 2>&1
"$PPRL" encode --quiet --schema "$repo/examples/person.toml" --secret-file project.key \
    big/party_a.csv -o big.clk >/dev/null
ups=()
for u in $(seq 1 "$UREPEAT"); do
    mkdir "up$u"
    "${R[@]}" create-project --admin-token-file admin.token --like big.clk --parties 1 \
        -o "up$u/codes.json" >/dev/null
    join_all "up$u"
    ups+=("$(python3 - "$BASE" "$(cat "up$u/id")" "$(cat "up$u/party0.tok")" big.clk "$SERVER_PID" <<'PY'
import hashlib, http.client, json, os, sys, time, urllib.parse
base, project, token, path, pid = sys.argv[1:]
def cpu():  # the server's CPU seconds (user + system) so far
    f = open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()
    return (int(f[11]) + int(f[12])) / os.sysconf("SC_CLK_TCK")
u = urllib.parse.urlparse(base)
size = os.path.getsize(path)
h = hashlib.sha256()
with open(path, "rb") as f:
    for b in iter(lambda: f.read(1 << 20), b""):
        h.update(b)
auth = {"Authorization": f"Bearer {token}"}
c = http.client.HTTPConnection(u.hostname, u.port)
c.request("POST", f"/api/v1/projects/{project}/uploads",
          json.dumps({"length": size, "sha256": h.hexdigest()}),
          {**auth, "content-type": "application/json"})
r = c.getresponse(); uid = json.loads(r.read())["upload_id"]
uri = f"/api/v1/projects/{project}/uploads/{uid}"
def patch(offset, length):
    with open(path, "rb") as f:
        f.seek(offset)
        body = f.read(length)
    t, c0 = time.perf_counter(), cpu()
    c.request("PATCH", uri, body, {**auth, "upload-offset": str(offset),
              "content-type": "application/offset+octet-stream"})
    r = c.getresponse(); r.read()
    return time.perf_counter() - t, cpu() - c0, r.status
t_send, c_send, s1 = patch(0, size - 1)
t_commit, c_commit, s2 = patch(size - 1, 1)
assert (s1, s2) == (204, 200), (s1, s2)
print(f"{size} {t_send} {t_commit} {c_send} {c_commit}")
PY
)")
done
hwm=$(awk '/^VmHWM/ {print $2}' "/proc/$SERVER_PID/status")
python3 - "$hwm" "${ups[@]}" <<'PY'
import statistics, sys
hwm, ups = sys.argv[1], [[float(x) for x in u.split()] for u in sys.argv[2:]]
size = ups[0][0]
send = [size / 1e6 / u[1] for u in ups]
e2e = [size / 1e6 / (u[1] + u[2]) for u in ups]
print(f"perf.sh: upload of {size / 1e6:.1f} MB, {len(ups)} times: transfer "
      f"{', '.join(f'{u[1]:.2f}' for u in ups)} s (median {statistics.median(send):.0f} MB/s); "
      f"commit check {', '.join(f'{u[2]:.2f}' for u in ups)} s; end to end median "
      f"{statistics.median(e2e):.0f} MB/s; server CPU seconds: transfer "
      f"{', '.join(f'{u[3]:.2f}' for u in ups)}, commit {', '.join(f'{u[4]:.2f}' for u in ups)} "
      f"(median {size / 1e6 / statistics.median(u[3] + u[4] for u in ups):.0f} MB per server "
      f"CPU second); server peak RSS up to then {int(hwm) / 1024:.0f} MiB")
PY
[ "$REPEAT" -gt 0 ] || exit 0

match_t=()
serve_t=()
match_cpu=()
serve_cpu=()
# CPU seconds (user + system) of the server process so far.
server_cpu() { python3 -c "import os; f = open('/proc/$SERVER_PID/stat').read().rsplit(')', 1)[1].split(); print((int(f[11]) + int(f[12])) / os.sysconf('SC_CLK_TCK'))"; }
for i in $(seq 1 "$REPEAT"); do
    t0=$(now)
    c=$(python3 -c 'import resource, subprocess, sys; subprocess.run(sys.argv[1:], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=True); r = resource.getrusage(resource.RUSAGE_CHILDREN); print(r.ru_utime + r.ru_stime)' \
        "$PPRL" match -t 0.8 --no-scores -o "m$i.csv" a.clk b.clk)
    t1=$(now)
    s0=$(server_cpu)
    "${R[@]}" run --token-file run/admin.tok --project "$P" -t 0.8 --wait > "run$i.log"
    t2=$(now)
    s1=$(server_cpu)
    grep -q completed "run$i.log"
    match_t+=("$(python3 -c "print($t1 - $t0)")")
    serve_t+=("$(python3 -c "print($t2 - $t1)")")
    match_cpu+=("$c")
    serve_cpu+=("$(python3 -c "print($s1 - $s0)")")
done
RUN=$(grep -oE '[0-9a-f]{16}' "run$REPEAT.log" | head -1)
"${R[@]}" result --token-file run/reader.tok --project "$P" --run "$RUN" -o served.csv >/dev/null
cmp -s served.csv "m$REPEAT.csv" || { echo "perf.sh: the service's links differ from pprl match" >&2; exit 1; }

python3 - "$N" "$REPEAT" "${match_t[*]}" "${serve_t[*]}" "$(($(wc -l < served.csv) - 1))" "${match_cpu[*]}" "${serve_cpu[*]}" <<'PY'
import statistics, sys
n, rep, m, s, links, mc, sc = sys.argv[1:]
mc = [float(x) for x in mc.split()]; sc = [float(x) for x in sc.split()]
m = [float(x) for x in m.split()]; s = [float(x) for x in s.split()]
print(f"perf.sh: {n} x {n} at 0.8 ({links} links): pprl match {', '.join(f'{x:.2f}' for x in m)} s; "
      f"through the service {', '.join(f'{x:.2f}' for x in s)} s; ratio of medians "
      f"{statistics.median(s) / statistics.median(m):.3f}")
print(f"perf.sh: CPU seconds: pprl match {', '.join(f'{x:.2f}' for x in mc)}; the server during "
      f"each run {', '.join(f'{x:.2f}' for x in sc)}; ratio of medians "
      f"{statistics.median(sc) / statistics.median(mc):.3f}")
PY
