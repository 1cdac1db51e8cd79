#!/usr/bin/env bash
# CI: the README's quick start exactly as written (its demo command, `npx fedledger --help` and the five-minute tour), after
# `npm install && npm test` ran. The demo runs until it serves, then gets Ctrl-C (SIGINT to its process group).
# Prints one line per command and exits non-zero if one failed.
set -uo pipefail
cd "$(dirname "$0")/../.."
failed=0
check() { if [ "$2" -eq 0 ]; then echo "quick start ok: $1"; else echo "quick start FAILED: $1 ($3)"; failed=1; fi; }
written() { grep -qxF "$1" README.md; }

demo='npm install && npm run demo'
if written "$demo"; then
  out=$(mktemp)
  # Any free port: other servers may hold 4000 on a shared machine.
  PORT=0 setsid bash -c "$demo" >"$out" 2>&1 &
  pid=$!
  for _ in $(seq 1 600); do
    grep -q 'Ctrl-C stops the server' "$out" && break
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.5
  done
  if grep -q 'Ctrl-C stops the server' "$out" && grep -q '^staff token: ' "$out"; then
    kill -INT -- "-$pid"
    wait "$pid"
    code=$?
    # npm passes on the demo's exit; interrupted, a shell in between may report 130.
    if [ "$code" -eq 0 ] || [ "$code" -eq 130 ]; then check "$demo" 0; else check "$demo" 1 "exit $code after Ctrl-C"; fi
  else
    kill -KILL -- "-$pid" 2>/dev/null
    check "$demo" 1 "never served: $(tail -n 3 "$out" | tr '\n' ' ')"
  fi
  rm -f "$out"
else
  check "$demo" 1 'not in README.md any more: update scripts/ci/quick-start.sh'
fi

help='npx fedledger --help'
if written "$help" || grep -qF "\`$help\`" README.md; then
  out=$(bash -c "$help" 2>&1)
  code=$?
  if [ "$code" -eq 0 ] && [[ "$out" == "Usage: fedledger "* ]]; then check "$help" 0; else check "$help" 1 "exit $code: ${out:0:200}"; fi
else
  check "$help" 1 'not in README.md any more: update scripts/ci/quick-start.sh'
fi
tour='A five-minute tour'
# The tour's shell block as written (its data directory is ./tour-data); only its port is swapped for a free one.
block=$(awk '/^## A five-minute tour/{t=1} t&&/^```sh/{b=1;next} b&&/^```/{exit} b' README.md)
if [ -n "$block" ]; then
  port=$(node -e 'const s=require("net").createServer().listen(0,"127.0.0.1",()=>{console.log(s.address().port);s.close()})')
  rm -rf tour-data
  out=$(bash -ec "${block//4000/$port}" 2>&1)
  code=$?
  rm -rf tour-data
  if [ "$code" -eq 0 ] && [[ "$out" == *'"accountingSummary":{"rows":[{'* ]]; then check "$tour" 0; else check "$tour" 1 "exit $code: ${out: -300}"; fi
else
  check "$tour" 1 'no sh block under "## A five-minute tour" in README.md: update scripts/ci/quick-start.sh'
fi
exit "$failed"
