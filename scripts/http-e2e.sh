#!/usr/bin/env bash
# HTTP end to end, against the real server (issue #6): the sailing school from `purser demo`,
# `purser serve` on a free port, then
#   1. the browser test (headless Chromium): sign in, see a pending approval arrive live, approve
#      it, take over the session, reply, release — then the log is checked for each of those;
#   2. schemathesis against /openapi.json with an operator token: no request may get a 5xx, and
#      every answer must match the document (status, content type, body schema);
#   3. a graceful shutdown (SIGTERM) that closes the log, and `purser log verify` afterwards.
# Bounded in time; exits non-zero on any failure. Usage: scripts/http-e2e.sh [PURSER_BINARY]
set -euo pipefail
cd "$(dirname "$0")/.."
purser=${1:-.build/debug/purser}
[ -x "$purser" ] || swift build --product purser
work=$(mktemp -d "${TMPDIR:-/tmp}/purser-http-e2e.XXXXXX")
server_pid=""
cleanup() {
  [ -n "$server_pid" ] && kill "$server_pid" 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT
data="$work/data"

"$purser" demo --data "$data" > "$work/demo.out"
token=$("$purser" token create --data "$data" --org haff --role operator --label browser-test 2>/dev/null \
  | python3 -c 'import json,sys; print(json.load(sys.stdin)["token"])')

port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()')
"$purser" serve --data "$data" --port "$port" > "$work/serve.log" 2>&1 &
server_pid=$!
base="http://127.0.0.1:$port"
for _ in $(seq 1 100); do
  curl -sf "$base/healthz" > /dev/null 2>&1 && break
  sleep 0.2
done
curl -sf "$base/healthz" > /dev/null || { echo "http-e2e: the server did not come up"; cat "$work/serve.log"; exit 1; }

echo "http-e2e: browser test against $base" >&2
message='{"channel":"webchat","to":"haff-web","from":"visitor-e2e","text":"Was kostet der SBF Binnen?","externalMessageId":"web.e2e.1"}'
timeout 180 python3 scripts/browser-test.py --base-url "$base" --token "$token" --org haff \
  --on-ready "curl -s -o /dev/null -X POST $base/webhooks/webchat -d '$message'" > "$work/browser.json"
result=$(tail -1 "$work/browser.json")
approval=$(python3 -c 'import json,sys; print(json.loads(sys.argv[1])["approvalId"])' "$result")
session=$(python3 -c 'import json,sys; print(json.loads(sys.argv[1])["sessionId"])' "$result")

echo "http-e2e: checking the log for what the browser did" >&2
kill -TERM "$server_pid"
wait "$server_pid" || true
server_pid=""
grep -q "event log closed" "$work/serve.log" || { echo "http-e2e: no graceful shutdown"; cat "$work/serve.log"; exit 1; }
"$purser" log cat --data "$data" --org haff > "$work/haff.jsonl"
python3 - "$work/haff.jsonl" "$approval" "$session" <<'PY'
import json, sys
events = [json.loads(l) for l in open(sys.argv[1])]
approval, session = sys.argv[2], sys.argv[3]
def find(kind, pred):
    return [e for e in events if e["type"] == kind and pred(e)]
checks = {
  "approval granted by the browser-test token": find("approval.granted", lambda e: e["data"]["approvalId"] == approval and e["actor"] == {"kind": "human", "id": "browser-test"}),
  "taken over": find("session.handed_off", lambda e: e["data"]["sessionId"] == session and e["data"]["trigger"] == "takeover"),
  "human reply": find("message.sent", lambda e: e["data"].get("sessionId") == session and e["actor"]["kind"] == "human" and "browser" in e["data"]["text"]),
  "released": find("session.released", lambda e: e["data"]["sessionId"] == session),
}
failed = [name for name, found in checks.items() if not found]
if failed:
    sys.exit("http-e2e: missing in the log: " + ", ".join(failed))
print("http-e2e: log shows " + ", ".join(checks))
PY
"$purser" log verify --data "$data" > /dev/null

echo "http-e2e: schemathesis against $base/openapi.json" >&2
"$purser" serve --data "$data" --port "$port" > "$work/serve2.log" 2>&1 &
server_pid=$!
for _ in $(seq 1 100); do
  curl -sf "$base/healthz" > /dev/null 2>&1 && break
  sleep 0.2
done
venv="${PURSER_SCHEMATHESIS_VENV:-${TMPDIR:-/tmp}/purser-schemathesis}"
if [ ! -x "$venv/bin/st" ]; then
  python3 -m venv "$venv"
  "$venv/bin/pip" install -q schemathesis
fi
# Response-schema validation on: an answer whose status, content type or body does not match
# /openapi.json fails the run, as a server error does.
timeout 600 "$venv/bin/st" run "$base/openapi.json" \
  --checks not_a_server_error,status_code_conformance,content_type_conformance,response_schema_conformance \
  --header "Authorization: Bearer $token" --max-examples 25 --workers 1 2>&1 | tee "$work/schemathesis.log" | tail -25
status=${PIPESTATUS[0]}
kill -TERM "$server_pid"; wait "$server_pid" || true; server_pid=""
if grep -q '" 5[0-9][0-9] \| 500 ' "$work/serve2.log"; then echo "http-e2e: the server logged a 5xx"; exit 1; fi
[ "$status" -eq 0 ] || { echo "http-e2e: schemathesis found server errors or answers that do not match /openapi.json (exit $status)"; exit 1; }
"$purser" log verify --data "$data" > /dev/null
echo "http-e2e: ok" >&2
