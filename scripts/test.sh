#!/usr/bin/env bash
# scripts/test.sh — `make test`: make sure PostgreSQL and Redis answer for TEST_DATABASE_URL and
# TEST_REDIS_URL (reusing or starting them exactly like `make run` does), then run the tests.
#
#   TEST_DATABASE_URL  default postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable
#                      (the test helper creates its own databases on that server)
#   TEST_REDIS_URL     default redis://127.0.0.1:6379/0
#   GOTESTFLAGS        extra flags for go test, e.g. GOTESTFLAGS='-run TestOrganizations -v'
#   PKGS               packages (default ./...)
#
# go test's own output goes to stdout unchanged (CI reads its summary lines); this script's
# messages go to stderr. Services it starts keep running afterwards (`make stop` stops them).
set -euo pipefail
cd "$(dirname "$0")/.."
# shellcheck source=scripts/services.sh
source scripts/services.sh

_have go || { echo "test: go not found (install Go, or put /usr/local/go/bin on PATH)" >&2; exit 1; }
devstack_ensure_test || { echo "test: PostgreSQL/Redis for the tests are not available (see above)" >&2; exit 1; }
export TEST_DATABASE_URL TEST_REDIS_URL

if [[ -x /usr/bin/chromium ]]; then
  echo "test: browser tests will run (/usr/bin/chromium found)" >&2
else
  echo "test: browser tests will be SKIPPED: /usr/bin/chromium not found (apt-get install chromium)" >&2
fi

# shellcheck disable=SC2086 # GOTESTFLAGS and PKGS are word lists on purpose
exec go test -race -count=1 ${GOTESTFLAGS:-} ${PKGS:-./...}
