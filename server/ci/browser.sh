#!/usr/bin/env bash
# The operator's page in a real browser: Debian's chromium, headless, against a `pprl serve`
# on loopback after a whole flow with `pprl remote` (a project with both uploads committed and
# a completed run, and a second project with nothing uploaded yet). It checks the page's
# content as the browser built it (--dump-dom) and saves a screenshot.
#
#   server/ci/browser.sh [PPRL_BIN]     (default: $CARGO_TARGET_DIR/debug/pprl)
#
# The screenshot goes to $PPRL_SCREENSHOT_DIR (default: $CARGO_TARGET_DIR/ci-artifacts).
# Without chromium the check is skipped with a loud message, except under CI=true, where it
# fails (.ci/run installs chromium).
set -euo pipefail
# PPRL_SERVE_DATABASE: a PostgreSQL URL for `pprl serve --database` (default: SQLite in the
# data directory); server/ci/postgres.sh sets it.
DB_ARGS=()
[ -z "${PPRL_SERVE_DATABASE:-}" ] || DB_ARGS=(--database "$PPRL_SERVE_DATABASE")
cd "$(dirname "$0")/../.."
repo=$PWD
PPRL=${1:-${CARGO_TARGET_DIR:-target}/debug/pprl}
PPRL=$(cd "$(dirname "$PPRL")" && pwd)/$(basename "$PPRL")
test -x "$PPRL" || { echo "browser.sh: $PPRL is not an executable pprl" >&2; exit 1; }
CHROMIUM=$(command -v chromium || command -v chromium-browser || true)
if [ -z "$CHROMIUM" ]; then
    if [ "${CI:-}" = true ]; then
        echo "browser.sh: chromium is not installed; the operator's page was NOT tested" >&2
        exit 1
    fi
    echo "###############################################################################" >&2
    echo "## browser.sh: SKIPPED: chromium is not installed (apt-get install chromium). ##" >&2
    echo "## The operator's page was NOT tested in a browser.                          ##" >&2
    echo "###############################################################################" >&2
    exit 0
fi
SHOTS=${PPRL_SCREENSHOT_DIR:-${CARGO_TARGET_DIR:-$repo/target}/ci-artifacts}
mkdir -p "$SHOTS"

TMP=$(mktemp -d "${TMPDIR:-/tmp}/pprl-browser.XXXXXX")
SERVER_PID=
cleanup() {
    if [ -n "$SERVER_PID" ]; then kill "$SERVER_PID" 2>/dev/null || true; wait "$SERVER_PID" 2>/dev/null || true; fi
    rm -rf "$TMP"
}
trap cleanup EXIT
cd "$TMP"

"$PPRL" keygen -o project.key >/dev/null
for d in a b; do
    "$PPRL" encode --quiet --schema "$repo/examples/person.toml" --secret-file project.key \
        "$repo/testdata/sample/dept_$d.csv" -o "$d.clk" >/dev/null
done
head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n' > admin.token
chmod 600 admin.token
"$PPRL" serve --data-dir data "${DB_ARGS[@]}" --listen 127.0.0.1:0 --admin-token-file admin.token \
    > serve.out 2> serve.log &
SERVER_PID=$!
for _ in $(seq 1 100); do grep -q '^listening on ' serve.out 2>/dev/null && break; sleep 0.1; done
BASE=$(sed -n 's/^listening on //p' serve.out)
test -n "$BASE" || { echo "browser.sh: the server did not start" >&2; cat serve.log >&2; exit 1; }
R=("$PPRL" remote --server "$BASE")

"${R[@]}" create-project --admin-token-file admin.token --like a.clk --parties 2 \
    --name "hospital registry" -o codes.json >/dev/null
"${R[@]}" create-project --admin-token-file admin.token --like a.clk --parties 2 \
    --name "waiting <for> uploads" -o codes2.json >/dev/null
P=$(python3 -c 'import json; print(json.load(open("codes.json"))["project_id"])')
P2=$(python3 -c 'import json; print(json.load(open("codes2.json"))["project_id"])')
python3 - <<'PY'
import json
for c in json.load(open("codes.json"))["join_codes"]:
    name = f"party{c['party']}" if c.get("party") is not None else c["role"]
    open(f"{name}.code", "w").write(c["code"])
PY
for who in admin reader party0 party1; do
    "${R[@]}" join --code-file "$who.code" -o "$who.tok" >/dev/null
done
"${R[@]}" upload --token-file party0.tok --project "$P" a.clk >/dev/null
"${R[@]}" upload --token-file party1.tok --project "$P" b.clk >/dev/null
"${R[@]}" run --token-file admin.tok --project "$P" -t 0.8 --wait > run.out
RUN=$(grep -oE '[0-9a-f]{16}' run.out | head -1)

# Chromium takes the admin token as the Basic password in the URL (a test token only: a
# person types it into the browser's sign-in prompt).
URL="http://operator:$(cat admin.token)@${BASE#http://}/operator"
CH=("$CHROMIUM" --headless --no-sandbox --disable-gpu --disable-dev-shm-usage
    --no-first-run --user-data-dir="$TMP/profile")
timeout 120 "${CH[@]}" --dump-dom "$URL" > dom.html 2> chromium.log || { cat chromium.log >&2; exit 1; }
fail() { echo "browser.sh: the operator's page lacks $1" >&2; sed 's/></>\n</g' dom.html | head -80 >&2; exit 1; }
grep -q "$P" dom.html || fail "the project $P"
grep -q "$P2" dom.html || fail "the second project $P2"
grep -q "hospital registry" dom.html || fail "the project's name"
grep -q "waiting &lt;for&gt; uploads" dom.html || fail "the escaped name of the second project"
[ "$(grep -o 'party [01]: <span class="ok">committed</span>' dom.html | wc -l)" -eq 2 ] || fail "both committed uploads"
grep -q "nothing yet" dom.html || fail "the second project's missing uploads"
grep -q "$RUN" dom.html || fail "the run $RUN"
grep -q '>completed<' dom.html || fail "the completed run"
grep -q 'links at threshold 0.8' dom.html || fail "the run's outcome"
grep -q '<span class="ok">intact</span>' dom.html || fail "the audit chain's state"
if grep -qF "$(cat party0.tok)" dom.html; then echo "browser.sh: a token is on the page" >&2; exit 1; fi
# Without the token the browser gets the sign-in answer, not the page.
timeout 120 "${CH[@]}" --dump-dom "$BASE/operator" > denied.html 2>>chromium.log || true
if grep -q "$P" denied.html; then echo "browser.sh: the page is shown without the token" >&2; exit 1; fi
timeout 120 "${CH[@]}" --screenshot="$SHOTS/operator.png" --window-size=1400,1000 \
    --hide-scrollbars "$URL" >/dev/null 2>>chromium.log || { cat chromium.log >&2; exit 1; }
test -s "$SHOTS/operator.png" || { echo "browser.sh: no screenshot" >&2; exit 1; }
echo "browser.sh: ok ($("$CHROMIUM" --version 2>/dev/null | head -1)); screenshot $SHOTS/operator.png"
