#!/usr/bin/env bash
# make check-generators: api/openapi.yaml as teams outside this toolkit take
# it, through other generators and linters, each pinned:
#   - openapi-typescript's types accept a small TypeScript client (group
#     acknowledgement included) under tsc --noEmit (ts/client.ts);
#   - Spectral (spectral:oas) and Redocly (recommended) find no error;
#   - ogen generates a Go client, which walks the reference server with no
#     disagreement (ogen/main.go).
# Node and npm come from the distribution, the npm packages from
# ts/package-lock.json (npm ci). Without node or npm the check is skipped,
# except under CI=true, where it fails.
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
spec=$root/api/openapi.yaml
OGEN_VERSION=v1.25.0

need() {
	if ! command -v "$1" >/dev/null 2>&1; then
		if [ "${CI:-}" = true ]; then
			echo "check-generators: CI=true but $1 is not installed ($2)" >&2
			exit 1
		fi
		echo "check-generators: skipped: $1 is not installed ($2)" >&2
		exit 0
	fi
}
need node "apt-get install -y nodejs npm"
need npm "apt-get install -y nodejs npm"
need curl "apt-get install -y curl"

cd "$root/internal/othergen/ts"
echo "== npm ci (openapi-typescript, typescript, Spectral, Redocly: ts/package-lock.json)"
npm ci --no-audit --no-fund --ignore-scripts --loglevel=error
echo "== openapi-typescript, then tsc --noEmit on ts/client.ts"
npx --no-install openapi-typescript "$spec" -o generated/api.d.ts
npx --no-install tsc --noEmit -p .
echo "== Spectral (spectral:oas): no error"
npx --no-install spectral lint --ruleset .spectral.yaml --fail-severity error "$spec"
echo "== Redocly (recommended): no error"
REDOCLY_TELEMETRY=off REDOCLY_SUPPRESS_UPDATE_NOTICE=true npx --no-install redocly lint --config redocly.yaml "$spec"

cd "$root/internal/othergen/ogen"
echo "== ogen $OGEN_VERSION generates a client"
go run "github.com/ogen-go/ogen/cmd/ogen@$OGEN_VERSION" --target oas --package oas --clean "$spec"
tmp=$(mktemp -d)
go build -o "$tmp/ogen-walk" .
(cd "$root" && go build -o "$tmp/interop" ./cmd/interop)
echo "== the ogen client walks the reference server"
"$tmp/interop" serve --demo --addr 127.0.0.1:0 --db "$tmp/interop.db" --log-level warn >"$tmp/serve.out" 2>&1 &
srv=$!
trap 'kill $srv 2>/dev/null; wait $srv 2>/dev/null; rm -rf "$tmp"' EXIT
base=""
for _ in $(seq 120); do
	base=$(sed -n 's/^  base URL: *\(http[^ ]*\)$/\1/p' "$tmp/serve.out")
	[ -n "$base" ] && break
	kill -0 $srv 2>/dev/null || { cat "$tmp/serve.out" >&2; exit 1; }
	sleep 0.5
done
[ -n "$base" ] || { echo "check-generators: the reference server did not start" >&2; cat "$tmp/serve.out" >&2; exit 1; }
"$tmp/ogen-walk" -base-url "$base"
