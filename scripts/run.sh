#!/usr/bin/env bash
# shellcheck disable=SC2016,SC2317 # bash -c snippets take arguments; trap handlers are called indirectly
# scripts/run.sh — `make run`: the whole local stack in one command.
#
#   1. PostgreSQL + Redis for DATABASE_URL / REDIS_URL (reused, or started; scripts/services.sh)
#   2. mailpit as the SMTP_URL mail catcher, web inbox on http://localhost:8025
#   3. go build bin/api bin/worker bin/smsfake; bin/api migrate; bin/api seed-demo
#   3a. the fake SMS provider (bin/smsfake) as SMS_URL, its page on http://localhost:8026,
#       unless SMS_URL is set
#   4. api and worker in the foreground, their logs interleaved as "api    | …" / "worker | …"
#   Ctrl-C (SIGINT) or SIGTERM stops everything this run started and exits.
#
#   scripts/run.sh migrate     only steps 1 and 3 up to the migration (make migrate)
#
# Works without a TTY: send SIGINT or SIGTERM to this script (or its process group) to stop it.
set -euo pipefail
cd "$(dirname "$0")/.."
# shellcheck source=scripts/services.sh
source scripts/services.sh

mode=${1:-run}
case $mode in run | migrate) ;; *) echo "usage: $0 [run|migrate]" >&2; exit 2 ;; esac

say() { printf 'run: %s\n' "$*" >&2; }
die() { printf 'run: error: %s\n' "$*" >&2; exit 1; }

_have go || die "go not found (install Go, or put /usr/local/go/bin on PATH)"
LOGDIR=$DEVSTACK/log
mkdir -p "$LOGDIR"

API_PID="" WORKER_PID="" STOPPING=""

cleanup() {
  local rc=$?
  [[ -n $STOPPING ]] && return
  STOPPING=1
  trap '' INT TERM
  local pids=()
  [[ -n $API_PID ]] && kill -0 "$API_PID" 2>/dev/null && pids+=("$API_PID")
  [[ -n $WORKER_PID ]] && kill -0 "$WORKER_PID" 2>/dev/null && pids+=("$WORKER_PID")
  if ((${#pids[@]})); then
    say "stopping api and worker…"
    kill -TERM "${pids[@]}" 2>/dev/null || true
    # the processes drain gracefully on SIGTERM; give them a bounded time
    _wait_for 30 bash -c 'for p; do kill -0 "$p" 2>/dev/null && exit 1; done; exit 0' _ "${pids[@]}" ||
      { say "still running after 30s; killing"; kill -KILL "${pids[@]}" 2>/dev/null || true; }
  fi
  rm -f "$DEVSTACK/started/api" "$DEVSTACK/started/worker"
  devstack_stop_started_now || true
  sleep 0.2 # let the log prefixers flush their last lines
  exit "$rc"
}
trap cleanup EXIT
trap 'say "interrupted"; exit 0' INT
trap 'say "terminated"; exit 0' TERM

t0=$SECONDS
devstack_ensure_app || die "PostgreSQL/Redis are not available (see above)"
mail_ok=1
if [[ $mode == run ]]; then devstack_ensure_mailpit || mail_ok=""; fi

[[ -d cmd/api && -d cmd/worker ]] || die "cmd/api or cmd/worker does not exist yet"
say "building bin/api and bin/worker…"
go build -o bin/api ./cmd/api
go build -o bin/worker ./cmd/worker
if [[ $mode == run ]]; then
  go build -o bin/smsfake ./cmd/smsfake
  devstack_ensure_smsfake || true
fi

if ! bin/api migrate </dev/null >"$LOGDIR/migrate.log" 2>&1; then
  cat "$LOGDIR/migrate.log" >&2
  die "bin/api migrate failed"
fi
if [[ $mode == migrate ]]; then
  say "migrations applied to $(_redact "$DATABASE_URL")"
  # like `make test`, leave any PostgreSQL/Redis started here running (`make stop` stops them)
  DEVSTACK_STARTED_NOW=()
  exit 0
fi

if ! bin/api seed-demo </dev/null >"$LOGDIR/seed.json" 2>"$LOGDIR/seed.log"; then
  cat "$LOGDIR/seed.log" "$LOGDIR/seed.json" >&2
  die "bin/api seed-demo failed"
fi
seed=$(grep '^[[:space:]]*{' "$LOGDIR/seed.json" | tail -n 1 || true)
field() { sed -n "s/.*\"$1\"[[:space:]]*:[[:space:]]*\"\([^\"]*\)\".*/\1/p" <<<"$seed"; }
TOKEN=$(field admin_token)
ORG_ID=$(field organization_id)
GROUP_ID=$(field permission_group_id)
[[ -n $TOKEN ]] || { cat "$LOGDIR/seed.json" >&2; die "seed-demo printed no admin_token"; }

# where to reach the api/worker from here
addr_port() { local a=${1:-}; echo "${a##*:}"; }
addr_host() {
  local a=${1%:*}
  a=${a#[}; a=${a%]}
  case $a in "" | 0.0.0.0 | :: | "*") echo localhost ;; *) echo "$a" ;; esac
}
API_ADDR_EFF=${API_ADDR:-:8080}
WORKER_ADDR_EFF=${WORKER_ADDR:-:9091}
API_URL="http://$(addr_host "$API_ADDR_EFF"):$(addr_port "$API_ADDR_EFF")"
WORKER_URL="http://$(addr_host "$WORKER_ADDR_EFF"):$(addr_port "$WORKER_ADDR_EFF")"
probe_host() { local h; h=$(addr_host "$1"); [[ $h == localhost ]] && h=127.0.0.1; echo "$h"; }

for pair in "api:$API_ADDR_EFF" "worker:$WORKER_ADDR_EFF"; do
  name=${pair%%:*} addr=${pair#*:}
  if _tcp_open "$(probe_host "$addr")" "$(addr_port "$addr")"; then
    die "something already listens on $addr ($name); a previous 'make run'? try 'make stop', or set ${name^^}_ADDR"
  fi
done

# http_status URL -> prints the status code (000 when nothing answers)
http_status() {
  if _have curl; then
    curl -s -o /dev/null -m 2 -w '%{http_code}' "$1" 2>/dev/null || true
  else
    local rest=${1#http://} hp path line
    hp=${rest%%/*} path=/${rest#*/}
    line=$(timeout 3 bash -c 'exec 3<>"/dev/tcp/$0/$1" || exit 1
      printf "GET %s HTTP/1.0\r\nHost: %s\r\n\r\n" "$2" "$0" >&3; IFS= read -r l <&3; printf "%s" "$l"' \
      "${hp%:*}" "${hp##*:}" "$path" 2>/dev/null) || true
    line=${line#HTTP/* }
    line=${line:0:3}
    echo "${line:-000}"
  fi
}

# prefix PREFIX: tag each line; ignores INT/TERM so that it outlives its process' last words
prefix() {
  trap '' INT TERM
  local line
  while IFS= read -r line || [[ -n $line ]]; do printf '%s | %s\n' "$1" "$line"; done
}

# Activation links derive from TOKEN_SECRET: keep one per checkout in .devstack, so links in
# the local inbox keep working across restarts (a production worker refuses to start without one).
if [[ -z ${TOKEN_SECRET:-} ]]; then
  secret_file=$DEVSTACK/token_secret
  if [[ ! -s $secret_file ]]; then
    (umask 077 && head -c 48 /dev/urandom | base64 | tr -d '\n' >"$secret_file")
  fi
  TOKEN_SECRET=$(<"$secret_file")
  export TOKEN_SECRET
fi

# own sessions (setsid): a terminal Ctrl-C reaches this script only, which then stops the
# processes with one SIGTERM each (no double signal during their graceful drain)
setsid bin/api serve </dev/null > >(prefix "api   ") 2>&1 &
API_PID=$!
_mark api kind=proc "pid=$API_PID" exe=bin/api
setsid bin/worker </dev/null > >(prefix "worker") 2>&1 &
WORKER_PID=$!
_mark worker kind=proc "pid=$WORKER_PID" exe=bin/worker

inbox=${DEVSTACK_MAIL_INBOX:-}
if [[ -n ${DEVSTACK_SMS_PAGE:-} ]]; then sms_line="$DEVSTACK_SMS_PAGE (the fake SMS provider's page)"
elif [[ -n ${SMS_URL:-} ]]; then sms_line="by $(_redact "$SMS_URL")"
else sms_line="none (SMS_URL unset: device rows get no SMS)"; fi
cat <<EOF

  +-- MultiLine onboarding: local stack ------------------------------------------
  | API                  $API_URL   (worker metrics: $WORKER_URL/metrics)
  | upload page          $API_URL/   (sign in with the admin token; queues: $API_URL/admin/queues/)
  | admin token          $TOKEN
  | organization id      $ORG_ID
  | permission group id  $GROUP_ID
  | mail inbox           ${inbox:-none (no local mail catcher; SMTP_URL=$SMTP_URL)}
  | SMS sent             $sms_line
  | database             $(_redact "$DATABASE_URL")
  |
  | try it:
  |   TOKEN=$TOKEN
  |   curl -H "Authorization: Bearer \$TOKEN" $API_URL/v1/organizations
  |
  | Ctrl-C stops everything this command started.
  +------------------------------------------------------------------------------
EOF
[[ -n $mail_ok ]] || say "warning: no mail catcher is running; emails will fail to send"

ready_url="http://$(probe_host "$API_ADDR_EFF"):$(addr_port "$API_ADDR_EFF")/readyz"
deadline=$((SECONDS + 60))
until [[ $(http_status "$ready_url") == 200 ]]; do
  kill -0 "$API_PID" 2>/dev/null || { wait "$API_PID" || rc=$?; die "api exited (status ${rc:-0}) before it was ready"; }
  kill -0 "$WORKER_PID" 2>/dev/null || { wait "$WORKER_PID" || rc=$?; die "worker exited (status ${rc:-0}) at start"; }
  ((SECONDS < deadline)) || die "api did not answer 200 on $ready_url within 60s (last: $(http_status "$ready_url"))"
  sleep 0.25
done
worker_health="http://$(probe_host "$WORKER_ADDR_EFF"):$(addr_port "$WORKER_ADDR_EFF")/healthz"
http_ok() { [[ $(http_status "$1") == 200 ]]; }
_wait_for 10 http_ok "$worker_health" || say "warning: worker does not answer 200 on $worker_health yet"
say "ready: $ready_url answers 200 (started in $((SECONDS - t0))s)"

# Run until one of them exits (a crash stops the rest) or we are told to stop (traps above).
status=0
wait -n "$API_PID" "$WORKER_PID" || status=$?
if ! kill -0 "$API_PID" 2>/dev/null; then who=api; else who=worker; fi
say "$who exited with status $status; stopping the rest"
exit $((status == 0 ? 1 : status))
