#!/usr/bin/env bash
# shellcheck disable=SC2016,SC2012 # single-quoted bash -c snippets take their arguments as $0 $1
# scripts/services.sh — local PostgreSQL, Redis and mail catcher for development and tests.
#
# Run it:                              Or source it (scripts/run.sh, test.sh, bench.sh do):
#   scripts/services.sh ensure           source scripts/services.sh
#   scripts/services.sh ensure-test      devstack_ensure_app        # DATABASE_URL + REDIS_URL
#   scripts/services.sh mail             devstack_ensure_test       # TEST_DATABASE_URL + TEST_REDIS_URL
#   scripts/services.sh up               devstack_ensure_mailpit    # SMTP_URL
#   scripts/services.sh status           devstack_stop_started_now  # what *this* process started
#   scripts/services.sh env              devstack_stop_all          # everything .devstack/ started
#   scripts/services.sh stop
#
# Policy, for each configured URL:
#   1. If a server answers there, reuse it. Nothing is started, nothing is changed
#      (except creating the application database when it is missing).
#   2. If it does not answer and the host is local:
#      - PostgreSQL: if we are root and a Debian cluster (pg_lsclusters) is configured for that
#        port, start it with pg_ctlcluster. Otherwise initdb a project-local cluster in
#        .devstack/pg-<port> (trust auth, superuser "postgres"; as root initdb runs as the
#        "postgres" OS user because initdb refuses root) and start it with pg_ctl.
#      - Redis: start redis-server daemonized, no persistence, in .devstack/redis-<port>.
#      - Server binaries missing: as root, apt-get install postgresql / redis-server (Debian),
#        then go on as above; otherwise print what to install and fail.
#   3. A non-local host that does not answer is an error (we never start remote things).
# Whatever is started is recorded in .devstack/started/<name> so that `stop` stops only that.
#
# Why the scripts default DATABASE_URL to postgres://postgres@localhost:5432/multiline:
#   the binaries' built-in default has no user, so libpq/lib/pq would log in as the OS user
#   (root in CI). A role named after the OS user exists only where somebody created one, while
#   a "postgres" superuser exists on every Debian install and in every cluster we initdb
#   (initdb -U postgres). So an explicit user is the one default that works everywhere with
#   trust auth. In clusters that we create or install ourselves we additionally create a
#   superuser role for the OS user, so the binaries' bare default works there too. On a
#   reused server we never create roles for the OS user.
#
# Environment knobs: DATABASE_URL REDIS_URL SMTP_URL TEST_DATABASE_URL TEST_REDIS_URL
#   DEVSTACK_DIR (default <repo>/.devstack)  PG_BINDIR (dir with initdb, pg_ctl)
#   REDIS_SERVER (redis-server binary)  MAILPIT (mailpit binary)
#   MAILPIT_UI_ADDR (127.0.0.1:8025)  MAILPIT_VERSION (v1.27.11)  DEVSTACK_VERBOSE=1
#   SMSFAKE_ADDR (127.0.0.1:8026, the fake SMS provider; see devstack_ensure_smsfake)  SMS_URL

# ---------------------------------------------------------------------------------------------
# paths, defaults
DEVSTACK_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
DEVSTACK=${DEVSTACK_DIR:-$DEVSTACK_ROOT/.devstack}
MAILPIT_VERSION=${MAILPIT_VERSION:-v1.27.11}
MAILPIT_UI_ADDR=${MAILPIT_UI_ADDR:-127.0.0.1:8025}
SMSFAKE_ADDR=${SMSFAKE_ADDR:-127.0.0.1:8026}

: "${DATABASE_URL:=postgres://postgres@localhost:5432/multiline?sslmode=disable}"
: "${REDIS_URL:=redis://localhost:6379/0}"
: "${SMTP_URL:=smtp://localhost:1025}"
: "${TEST_DATABASE_URL:=postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable}"
: "${TEST_REDIS_URL:=redis://127.0.0.1:6379/0}"
export DATABASE_URL REDIS_URL SMTP_URL TEST_DATABASE_URL TEST_REDIS_URL

# Go lives in /usr/local/go on our machines; make it findable for every script that sources us.
if ! command -v go >/dev/null 2>&1 && [[ -x /usr/local/go/bin/go ]]; then
  export PATH=$PATH:/usr/local/go/bin
fi

DEVSTACK_STARTED_NOW=()   # marker names started by this shell, in start order
DEVSTACK_INSTALLED_NOW="" # packages apt-get installed in this shell
DEVSTACK_MAIL_INBOX=""    # web inbox URL when we know it

# ---------------------------------------------------------------------------------------------
# small helpers
_say() { printf 'services: %s\n' "$*" >&2; }
_dbg() { [[ -n ${DEVSTACK_VERBOSE:-} ]] && printf 'services: %s\n' "$*" >&2; return 0; }
_die() { printf 'services: error: %s\n' "$*" >&2; return 1; }
_is_root() { [[ $(id -u) -eq 0 ]]; }
_have() { command -v "$1" >/dev/null 2>&1; }

# _parse_url URL -> U_SCHEME U_USERINFO U_USER U_PASS U_HOST U_PORT U_PATH U_QUERY
_parse_url() {
  local url=$1 rest hp
  U_SCHEME="" U_USERINFO="" U_USER="" U_PASS="" U_HOST="" U_PORT="" U_PATH="" U_QUERY=""
  [[ $url == *://* ]] || return 1
  U_SCHEME=${url%%://*}
  rest=${url#*://}
  if [[ $rest == *\?* ]]; then U_QUERY=${rest#*\?}; rest=${rest%%\?*}; fi
  if [[ $rest == */* ]]; then U_PATH=${rest#*/}; rest=${rest%%/*}; fi
  if [[ $rest == *@* ]]; then
    U_USERINFO=${rest%@*}; rest=${rest##*@}
    U_USER=${U_USERINFO%%:*}
    [[ $U_USERINFO == *:* ]] && U_PASS=${U_USERINFO#*:}
  fi
  if [[ $rest == \[* ]]; then # [v6]:port
    U_HOST=${rest%%]*}; U_HOST=${U_HOST#[}; hp=${rest#*]}; U_PORT=${hp#:}
  else
    U_HOST=${rest%%:*}
    [[ $rest == *:* ]] && U_PORT=${rest##*:}
  fi
  return 0
}

_is_local_host() {
  case $1 in "" | localhost | 127.* | ::1 | 0.0.0.0) return 0 ;; *) return 1 ;; esac
}
_connect_host() { # the address to probe for a local/empty host
  case $1 in "" | localhost | 0.0.0.0) echo 127.0.0.1 ;; *) echo "$1" ;; esac
}

# _tcp_open HOST PORT: something accepts TCP connections there
_tcp_open() {
  timeout 2 bash -c 'exec 3<>"/dev/tcp/$0/$1"' "$1" "$2" 2>/dev/null
}

# _wait_for SECONDS CMD...: retry CMD every 0.2s
_wait_for() {
  local deadline=$((SECONDS + $1)); shift
  until "$@"; do
    ((SECONDS < deadline)) || return 1
    sleep 0.2
  done
}

# Held while we inspect/start services so concurrent `make test` and `make run` don't race.
# Daemons are always spawned with 9>&- so they never inherit the lock.
_lock() {
  mkdir -p "$DEVSTACK/started"
  if _have flock; then exec 9>"$DEVSTACK/.lock"; flock -w 300 9 || _die "timed out waiting for $DEVSTACK/.lock"; fi
}
_unlock() { if _have flock; then exec 9>&-; fi; return 0; }

_mark() { # _mark NAME key=value...  (records something we started)
  local name=$1; shift
  mkdir -p "$DEVSTACK/started"
  printf '%s\n' "$@" >"$DEVSTACK/started/$name"
  DEVSTACK_STARTED_NOW+=("$name")
}

# ---------------------------------------------------------------------------------------------
# packages
_apt_install() { # _apt_install PKG... (root + apt only; otherwise explain and fail)
  if ! _is_root || ! _have apt-get; then
    _say "missing: $*"
    if _have apt-get; then
      _say "install them with:  sudo apt-get install -y $*"
    else
      _say "install PostgreSQL (server + client) and Redis with your package manager"
      _say "(macOS: brew install postgresql@15 redis), or point DATABASE_URL/REDIS_URL at running servers"
    fi
    return 1
  fi
  _say "installing $* with apt-get (one-time, needs Debian's mirrors)…"
  local t0=$SECONDS
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq </dev/null >"$DEVSTACK/apt.log" 2>&1 || { cat "$DEVSTACK/apt.log" >&2; _die "apt-get update failed"; return 1; }
  apt-get install -y -qq --no-install-recommends "$@" </dev/null >>"$DEVSTACK/apt.log" 2>&1 ||
    { tail -n 30 "$DEVSTACK/apt.log" >&2; _die "apt-get install $* failed (log: $DEVSTACK/apt.log)"; return 1; }
  DEVSTACK_INSTALLED_NOW+=" $* "
  _say "installed $* in $((SECONDS - t0))s"
}

# ---------------------------------------------------------------------------------------------
# PostgreSQL
_pg_bindir() {
  local d
  if [[ -n ${PG_BINDIR:-} ]]; then [[ -x $PG_BINDIR/initdb ]] && echo "$PG_BINDIR"; return; fi
  d=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)
  if [[ -n $d && -x $d/initdb ]]; then echo "$d"; return 0; fi
  if _have initdb; then dirname "$(command -v initdb)"; return 0; fi
  if _have pg_config && [[ -x "$(pg_config --bindir)/initdb" ]]; then pg_config --bindir; return 0; fi
  return 1
}
_psql_bin() {
  local d
  if _have psql; then command -v psql; return 0; fi
  d=$(_pg_bindir 2>/dev/null) && [[ -x $d/psql ]] && { echo "$d/psql"; return 0; }
  return 1
}

# _pg_answers HOST PORT: a PostgreSQL server accepts connections
_pg_answers() {
  local h p=$2 bin
  h=$(_connect_host "$1")
  if _have pg_isready; then pg_isready -q -h "$h" -p "$p" -t 3 2>/dev/null; return; fi
  if bin=$(_pg_bindir 2>/dev/null) && [[ -x $bin/pg_isready ]]; then "$bin/pg_isready" -q -h "$h" -p "$p" -t 3 2>/dev/null; return; fi
  _tcp_open "$h" "$p"
}

# a Debian cluster (ver name status) configured for PORT, if any
_pg_debian_cluster() {
  _have pg_lsclusters || return 1
  pg_lsclusters -h 2>/dev/null | awk -v p="$1" '$3 == p { print $1, $2, $4; found=1; exit } END { exit !found }'
}

# Loopback trust for a Debian cluster *we just installed* (Debian's default is scram over TCP
# with no password set, which would make the cluster unusable for a local dev stack).
_pg_debian_trust_loopback() {
  local ver=$1 name=$2 hba=/etc/postgresql/$1/$2/pg_hba.conf
  [[ -f $hba ]] || return 0
  grep -q 'added by scripts/services.sh' "$hba" && return 0
  _say "configuring trust auth on loopback in $hba (cluster installed by this script)"
  { printf '# added by scripts/services.sh (local development stack): trust loopback connections\n'
    printf 'host all all 127.0.0.1/32 trust\nhost all all ::1/128 trust\nlocal all all trust\n\n'
    cat "$hba"; } >"$hba.new" && cat "$hba.new" >"$hba" && rm -f "$hba.new"
}

_pg_start_debian_cluster() { # ver name port
  local ver=$1 name=$2 port=$3
  _say "starting Debian PostgreSQL cluster $ver/$name on port $port"
  pg_ctlcluster --skip-systemctl-redirect "$ver" "$name" start 9>&- </dev/null >&2 ||
    pg_ctlcluster "$ver" "$name" start 9>&- </dev/null >&2 ||
    { _die "pg_ctlcluster $ver $name start failed (see /var/log/postgresql/postgresql-$ver-$name.log)"; return 1; }
  _mark "postgres-$port" kind=pgcluster "version=$ver" "cluster=$name" "port=$port"
}

_pg_start_local() { # port
  local port=$1 bindir owner datadir sockdir
  bindir=$(_pg_bindir) || { _die "PostgreSQL server binaries not found"; return 1; }
  datadir=$DEVSTACK/pg-$port
  owner=$(id -un)
  local -a as=()
  if _is_root; then
    # initdb/postgres refuse to run as root: run them as the postgres OS user.
    id postgres >/dev/null 2>&1 || { _die "running as root but there is no 'postgres' OS user to run initdb as"; return 1; }
    owner=postgres
    as=(runuser -u postgres --)
    if ! runuser -u postgres -- test -x "$DEVSTACK" 2>/dev/null; then
      # the checkout is not reachable by the postgres user (e.g. under /root): keep data in its home
      datadir=$(getent passwd postgres | cut -d: -f6)/multiline-devstack/$(printf '%s' "$DEVSTACK" | cksum | cut -d' ' -f1)-pg-$port
      _say "note: $DEVSTACK is not accessible to user postgres; using $datadir"
    fi
  fi
  if [[ ! -s $datadir/PG_VERSION ]]; then
    _say "creating a project-local PostgreSQL cluster in $datadir (superuser postgres, trust auth)"
    mkdir -p "$datadir"
    [[ $owner == postgres ]] && _is_root && chown postgres: "$datadir"
    chmod 700 "$datadir"
    (cd / && "${as[@]}" "$bindir/initdb" -D "$datadir" -U postgres --auth=trust -E UTF8 --no-locale -N \
      9>&- </dev/null >"$DEVSTACK/initdb-$port.log" 2>&1) ||
      { cat "$DEVSTACK/initdb-$port.log" >&2; _die "initdb failed"; return 1; }
    sockdir=$datadir
    ((${#sockdir} > 90)) && sockdir=/tmp # unix socket paths are limited to ~107 bytes
    { printf '\n# scripts/services.sh\nport = %s\n' "$port"
      printf "listen_addresses = '127.0.0.1,::1'\n"
      printf "unix_socket_directories = '%s'\n" "$sockdir"
      printf "log_min_messages = warning\n"; } >>"$datadir/postgresql.conf"
  fi
  _say "starting project-local PostgreSQL on 127.0.0.1:$port (data: $datadir)"
  (cd / && "${as[@]}" "$bindir/pg_ctl" -D "$datadir" -l "$datadir/server.log" -w -t 60 start 9>&- </dev/null >/dev/null 2>&1) ||
    { tail -n 20 "$datadir/server.log" >&2 2>/dev/null; _die "PostgreSQL did not start (log: $datadir/server.log)"; return 1; }
  _mark "postgres-$port" kind=pgctl "bindir=$bindir" "datadir=$datadir" "owner=$owner" "port=$port"
  _pg_own_cluster_roles "$port"
}

# In a cluster we created or installed: a superuser role for the OS user, so that the bare
# default DATABASE_URL (no user) of the binaries works as well.
_pg_own_cluster_roles() {
  local port=$1 me psql
  me=$(id -un); [[ $me == postgres ]] && return 0
  psql=$(_psql_bin) || return 0
  "$psql" -X -q -h 127.0.0.1 -p "$port" -U postgres -d postgres -v ON_ERROR_STOP=1 -c \
    "DO \$\$ BEGIN IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = '$me') THEN CREATE ROLE \"$me\" LOGIN SUPERUSER; END IF; END \$\$" \
    >/dev/null 2>&1 || _say "note: could not create role '$me' (use an explicit user in DATABASE_URL)"
}

# _pg_url_with URL USER DB: same server/options, other user (no password when changed) and db
_pg_url_with() {
  _parse_url "$1"
  local auth=$U_USERINFO hostport=$U_HOST
  [[ $U_HOST == *:* ]] && hostport="[$U_HOST]"
  [[ -n $U_PORT ]] && hostport+=":$U_PORT"
  [[ $2 != "$U_USER" ]] && auth=$2
  printf '%s://%s%s/%s%s' "$U_SCHEME" "${auth:+$auth@}" "$hostport" "$3" "${U_QUERY:+?$U_QUERY}"
}
_sql_ident() { local s=${1//\"/\"\"}; printf '"%s"' "$s"; }
_sql_lit() { local s=${1//\'/\'\'}; printf "'%s'" "$s"; }

# make sure the URL's database exists and the URL's user can log in
_pg_ensure_db() { # URL LABEL
  local url=$1 label=$2 psql err user db admin out
  psql=$(_psql_bin) || { _say "note: psql not found; cannot check that $label's database exists"; return 0; }
  err=$("$psql" -X -Atq -d "$url" -c 'select 1' 2>&1 >/dev/null) && return 0
  _parse_url "$url"
  user=${U_USER:-$(id -un)}
  db=${U_PATH:-$user}
  if [[ $err == *"role \"$user\" does not exist"* ]] && _is_local_host "$U_HOST"; then
    admin=$(_pg_url_with "$url" postgres postgres)
    _say "creating role $user (LOGIN CREATEDB) for $label"
    out=$("$psql" -X -q -d "$admin" -v ON_ERROR_STOP=1 -c "CREATE ROLE $(_sql_ident "$user") LOGIN CREATEDB" 2>&1) ||
      { _die "cannot create role $user: $out"; return 1; }
    err=$("$psql" -X -Atq -d "$url" -c 'select 1' 2>&1 >/dev/null) && return 0
  fi
  if [[ $err == *"database \"$db\" does not exist"* ]]; then
    local a
    for a in "$user" postgres; do
      admin=$(_pg_url_with "$url" "$a" postgres)
      local owner=""
      [[ $a != "$user" ]] && owner=" OWNER $(_sql_ident "$user")"
      if out=$("$psql" -X -q -d "$admin" -v ON_ERROR_STOP=1 -c "CREATE DATABASE $(_sql_ident "$db")$owner" 2>&1) ||
        [[ $out == *"already exists"* ]]; then
        _say "created database $db ($label)"
        return 0
      fi
    done
    _die "cannot create database $db for $label: $out"; return 1
  fi
  _die "cannot connect with $label ($(_redact "$url")): ${err:-unknown error}"
  [[ $err == *"authentication failed"* || $err == *"no pg_hba.conf entry"* ]] &&
    _say "hint: for local development PostgreSQL must trust loopback connections, or put a password in $label"
  return 1
}

_redact() { sed -E 's#(://[^:/@]*):[^@]*@#\1:****@#' <<<"$1"; }

# devstack_ensure_postgres URL LABEL [create-db]
devstack_ensure_postgres() {
  local url=$1 label=$2 createdb=${3:-create-db} host port cl ver name
  _parse_url "$url" || { _dbg "$label is not a URL; checking it as given"; _pg_ensure_db "$url" "$label"; return; }
  case $U_SCHEME in postgres | postgresql) ;; *) _die "$label: unsupported scheme $U_SCHEME"; return 1 ;; esac
  host=$U_HOST port=${U_PORT:-5432}
  if [[ $DEVSTACK_INSTALLED_NOW == *" postgresql "* ]] && _is_local_host "$host" && cl=$(_pg_debian_cluster "$port"); then
    # We just installed Debian's package, which created a cluster on this port and, on a machine
    # with systemd, already started it. Its default auth (peer/scram, no password) is useless
    # for a dev stack: trust loopback instead. Nobody else's configuration is touched here.
    read -r ver name _ <<<"$cl"
    _pg_debian_trust_loopback "$ver" "$name"
    if _pg_answers "$host" "$port"; then
      pg_ctlcluster "$ver" "$name" reload 9>&- >/dev/null 2>&1 || true
    else
      _pg_start_debian_cluster "$ver" "$name" "$port" || return 1
    fi
    _wait_for 30 _pg_answers "$host" "$port" || { _die "PostgreSQL on $host:$port did not come up"; return 1; }
    _pg_own_cluster_roles "$port"
  elif ! _pg_answers "$host" "$port"; then
    if ! _is_local_host "$host"; then
      _die "$label points at $host:$port, which does not answer (only local servers are started by this script)"; return 1
    fi
    if _tcp_open "$(_connect_host "$host")" "$port"; then
      _die "something that is not PostgreSQL listens on $host:$port; free the port or change $label"; return 1
    fi
    if ! _pg_bindir >/dev/null; then
      _apt_install postgresql || return 1
      _pg_bindir >/dev/null || { _die "PostgreSQL server binaries still not found after installing"; return 1; }
      # the package may have created a cluster on this very port: handle it as above
      devstack_ensure_postgres "$@"; return
    fi
    if _is_root && cl=$(_pg_debian_cluster "$port"); then
      # a Debian cluster configured for this port that is down: start it (and stop it on `stop`)
      read -r ver name _ <<<"$cl"
      _pg_start_debian_cluster "$ver" "$name" "$port" || return 1
    else
      _pg_start_local "$port" || return 1
    fi
    _wait_for 30 _pg_answers "$host" "$port" || { _die "PostgreSQL on $host:$port did not come up"; return 1; }
  else
    _dbg "PostgreSQL answers on $host:$port ($label): reusing it"
  fi
  if [[ $createdb == create-db ]]; then _pg_ensure_db "$url" "$label"; fi
}

# ---------------------------------------------------------------------------------------------
# Redis
_redis_bin() {
  if [[ -n ${REDIS_SERVER:-} ]]; then [[ -x $REDIS_SERVER ]] && echo "$REDIS_SERVER"; return; fi
  if _have redis-server; then command -v redis-server; return 0; fi
  [[ -x /usr/bin/redis-server ]] && { echo /usr/bin/redis-server; return 0; }
  return 1
}

# _redis_ping URL: prints the server's reply to PING (PONG, or an error such as NOAUTH)
_redis_ping() {
  local url=$1 h p reply
  _parse_url "$url"
  h=$(_connect_host "$U_HOST") p=${U_PORT:-6379}
  if [[ $U_SCHEME == redis ]] && _have redis-cli; then
    timeout 3 redis-cli --no-auth-warning -u "$url" ping 2>&1 </dev/null | head -n 1
    return 0
  fi
  # plain RESP over bash's /dev/tcp (also covers machines without redis-cli)
  reply=$(timeout 3 bash -c '
    exec 3<>"/dev/tcp/$0/$1" || exit 1
    if [[ -n $3 ]]; then printf "AUTH %s %s\r\n" "${2:-default}" "$3" >&3; IFS= read -r -t 2 _ <&3; fi
    printf "PING\r\n" >&3; IFS= read -r -t 2 line <&3; printf "%s" "${line%$'"'"'\r'"'"'}"' \
    "$h" "$p" "$U_USER" "$U_PASS" 2>/dev/null) || true
  reply=${reply#+}
  printf '%s\n' "$reply"
}

devstack_ensure_redis() { # URL LABEL
  local url=$1 label=$2 host port reply dir bin
  _parse_url "$url" || { _die "$label is not a URL: $url"; return 1; }
  case $U_SCHEME in
    redis) ;;
    rediss | redis+sentinel | redis-sentinel | redis+cluster)
      _dbg "$label uses $U_SCHEME; not checked (only plain redis:// is started locally)"; return 0 ;;
    *) _die "$label: unsupported scheme $U_SCHEME"; return 1 ;;
  esac
  host=$U_HOST port=${U_PORT:-6379}
  reply=$(_redis_ping "$url")
  if [[ $reply == PONG ]]; then _dbg "Redis answers on $host:$port ($label): reusing it"; return 0; fi
  if _tcp_open "$(_connect_host "$host")" "$port"; then
    if [[ $reply == *AUTH* || $reply == *WRONGPASS* || $reply == *NOPERM* ]]; then
      _die "$label: Redis on $host:$port refused us: $reply (check the user/password in $label)"
    else
      _die "$label: $host:$port answers but not like Redis (PING said: ${reply:-nothing}); free the port or change $label"
    fi
    return 1
  fi
  _is_local_host "$host" || { _die "$label points at $host:$port, which does not answer (only local servers are started by this script)"; return 1; }
  if ! bin=$(_redis_bin); then
    _apt_install redis-server || return 1
    bin=$(_redis_bin) || { _die "redis-server still not found after installing"; return 1; }
    # Debian's package may have started its own server on 6379 already
    [[ $(_redis_ping "$url") == PONG ]] && return 0
  fi
  dir=$DEVSTACK/redis-$port
  mkdir -p "$dir"
  _say "starting project-local Redis on 127.0.0.1:$port (no persistence)"
  local -a args=(--daemonize yes --bind 127.0.0.1 -::1 --port "$port" --save "" --appendonly no
    --dir "$dir" --pidfile "$dir/redis.pid" --logfile "$dir/redis.log")
  [[ -n $U_PASS ]] && args+=(--requirepass "$U_PASS")
  rm -f "$dir/redis.pid"
  "$bin" "${args[@]}" 9>&- </dev/null >/dev/null 2>&1 || { tail -n 20 "$dir/redis.log" >&2 2>/dev/null; _die "redis-server failed to start"; return 1; }
  _wait_for 15 bash -c '[[ -s $0 ]]' "$dir/redis.pid" || true
  _mark "redis-$port" kind=redis "pidfile=$dir/redis.pid" "port=$port" "pid=$(cat "$dir/redis.pid" 2>/dev/null)"
  _wait_for 15 _redis_is_pong "$url" || { _die "Redis on $host:$port did not come up (log: $dir/redis.log)"; return 1; }
}
_redis_is_pong() { [[ $(_redis_ping "$1") == PONG ]]; }

# ---------------------------------------------------------------------------------------------
# Mailpit (mail catcher with a web inbox)
_mailpit_bin() {
  if [[ -n ${MAILPIT:-} && -x ${MAILPIT:-} ]]; then echo "$MAILPIT"; return 0; fi
  if [[ -x $DEVSTACK/bin/mailpit ]]; then echo "$DEVSTACK/bin/mailpit"; return 0; fi
  if _have mailpit; then command -v mailpit; return 0; fi
  return 1
}

devstack_build_mailpit() {
  _have go || { _die "go not found; cannot build mailpit"; return 1; }
  _say "building mailpit $MAILPIT_VERSION into $DEVSTACK/bin (one time; about a minute)…"
  local t0=$SECONDS
  mkdir -p "$DEVSTACK/bin"
  (cd "$DEVSTACK" && GOBIN="$DEVSTACK/bin" GOFLAGS=-buildvcs=false go install "github.com/axllent/mailpit@$MAILPIT_VERSION" \
    9>&- </dev/null >"$DEVSTACK/mailpit-build.log" 2>&1) ||
    { tail -n 20 "$DEVSTACK/mailpit-build.log" >&2; _die "building mailpit failed (log: $DEVSTACK/mailpit-build.log)"; return 1; }
  _say "built mailpit in $((SECONDS - t0))s"
}

# Starts mailpit on SMTP_URL's port unless something listens there. Never fatal: without a
# catcher the service still runs, mail just isn't delivered (returns 1 so callers can tell).
devstack_ensure_mailpit() {
  local host port bin ui_port
  _parse_url "$SMTP_URL" || { _say "note: SMTP_URL is not a URL; no mail catcher started"; return 1; }
  host=$U_HOST port=${U_PORT:-25}
  ui_port=${MAILPIT_UI_ADDR##*:}
  if _tcp_open "$(_connect_host "$host")" "$port"; then
    _dbg "something listens on $host:$port (SMTP_URL); using it as the mail server"
    if [[ -f $DEVSTACK/started/mailpit ]] || _tcp_open 127.0.0.1 "$ui_port"; then DEVSTACK_MAIL_INBOX="http://localhost:$ui_port"; fi
    return 0
  fi
  if ! _is_local_host "$host" || [[ $U_SCHEME != smtp ]]; then
    _say "warning: SMTP server $host:$port ($U_SCHEME) does not answer; mail will fail to send"; return 1
  fi
  _lock || return 1
  bin=$(_mailpit_bin) || { devstack_build_mailpit && bin=$(_mailpit_bin); } ||
    { _unlock; _say "warning: no mail catcher; mail will fail to send"; return 1; }
  if _tcp_open 127.0.0.1 "$ui_port"; then
    _unlock; _say "warning: $MAILPIT_UI_ADDR is taken; set MAILPIT_UI_ADDR to start mailpit elsewhere"; return 1
  fi
  _say "starting mailpit: SMTP 127.0.0.1:$port, inbox http://localhost:$ui_port"
  local bindhost=127.0.0.1
  [[ $host == ::1 ]] && bindhost='[::1]'
  setsid "$bin" --smtp "$bindhost:$port" --listen "$MAILPIT_UI_ADDR" --disable-version-check \
    --smtp-auth-accept-any --smtp-auth-allow-insecure \
    9>&- </dev/null >"$DEVSTACK/mailpit.log" 2>&1 &
  local pid=$!
  _mark mailpit kind=proc "pid=$pid" "exe=$bin" "port=$port"
  _unlock
  if ! _wait_for 15 _tcp_open "$(_connect_host "$host")" "$port"; then
    tail -n 20 "$DEVSTACK/mailpit.log" >&2; _say "warning: mailpit did not start"; return 1
  fi
  DEVSTACK_MAIL_INBOX="http://localhost:$ui_port"
}

# The fake SMS provider (cmd/smsfake, built into bin/smsfake by scripts/run.sh): started on
# SMSFAKE_ADDR, and SMS_URL pointed at it, unless SMS_URL is set already (a real provider, or
# your own fake). Never fatal: without it invitations to device numbers are not sent.
devstack_ensure_smsfake() {
  local port=${SMSFAKE_ADDR##*:}
  if [[ -n ${SMS_URL:-} ]]; then
    _dbg "SMS_URL is set; no fake SMS provider started"; return 0
  fi
  SMS_URL="twilio+http://AC00000000000000000000000000000000:devtoken@127.0.0.1:$port?from=%2B15550009999"
  export SMS_URL
  if _tcp_open 127.0.0.1 "$port"; then
    _say "something listens on $SMSFAKE_ADDR; using it as the SMS provider"
    DEVSTACK_SMS_PAGE="http://localhost:$port/"; return 0
  fi
  [[ -x bin/smsfake ]] || { _say "warning: no bin/smsfake; invitations to device numbers will not be sent"; unset SMS_URL; return 1; }
  _say "starting the fake SMS provider on $SMSFAKE_ADDR"
  SMSFAKE_ADDR=$SMSFAKE_ADDR setsid bin/smsfake 9>&- </dev/null >"$DEVSTACK/smsfake.log" 2>&1 &
  _mark smsfake kind=proc "pid=$!" exe=bin/smsfake "port=$port"
  if ! _wait_for 10 _tcp_open 127.0.0.1 "$port"; then
    tail -n 20 "$DEVSTACK/smsfake.log" >&2; _say "warning: the fake SMS provider did not start"; unset SMS_URL; return 1
  fi
  DEVSTACK_SMS_PAGE="http://localhost:$port/"
}

# ---------------------------------------------------------------------------------------------
# high-level ensure

# One apt-get run for everything that is missing (postgresql, redis-server, postgresql-client),
# instead of one per service. Only for local URLs that don't answer.
_preinstall() { # PG_URL REDIS_URL
  local -a need=()
  if _parse_url "$1" && [[ $U_SCHEME == postgres* ]] && _is_local_host "$U_HOST" && ! _pg_answers "$U_HOST" "${U_PORT:-5432}"; then
    _pg_bindir >/dev/null || need+=(postgresql)
  fi
  if ((${#need[@]} == 0)) && ! _psql_bin >/dev/null; then need+=(postgresql-client); fi
  if _parse_url "$2" && [[ $U_SCHEME == redis ]] && _is_local_host "$U_HOST" && ! _redis_is_pong "$2" && ! _redis_bin >/dev/null; then
    need+=(redis-server)
  fi
  if ((${#need[@]})); then
    # postgresql-client alone is a convenience (database creation); don't fail for it when not root
    if [[ ${need[*]} == postgresql-client ]] && ! _is_root; then
      _say "note: psql not found (package postgresql-client); the application database cannot be checked"
      return 0
    fi
    _apt_install "${need[@]}" || return 1
  fi
}

devstack_ensure_app() {
  _lock || return 1
  local rc=0
  { _preinstall "$DATABASE_URL" "$REDIS_URL" && devstack_ensure_postgres "$DATABASE_URL" DATABASE_URL create-db &&
    devstack_ensure_redis "$REDIS_URL" REDIS_URL; } || rc=$?
  _unlock
  return $rc
}

devstack_ensure_test() {
  _lock || return 1
  local rc=0
  { _preinstall "$TEST_DATABASE_URL" "$TEST_REDIS_URL" && devstack_ensure_postgres "$TEST_DATABASE_URL" TEST_DATABASE_URL create-db &&
    devstack_ensure_redis "$TEST_REDIS_URL" TEST_REDIS_URL; } || rc=$?
  _unlock
  return $rc
}

# ---------------------------------------------------------------------------------------------
# stopping
_pid_is() { # PID EXE-SUBSTRING: pid alive and looks like what we started (guards against pid reuse)
  local pid=$1 want=$2 cmd
  [[ -n $pid ]] && kill -0 "$pid" 2>/dev/null || return 1
  [[ -r /proc/$pid/cmdline ]] || return 0
  cmd=$(tr '\0' ' ' </proc/"$pid"/cmdline)
  [[ $cmd == *"$want"* ]]
}

_kill_wait() { # PID SECONDS: SIGTERM, wait, then SIGKILL
  local pid=$1 t=${2:-10}
  kill -TERM "$pid" 2>/dev/null || return 0
  _wait_for "$t" bash -c '! kill -0 "$0" 2>/dev/null' "$pid" && return 0
  _say "pid $pid did not stop in ${t}s; killing it"
  kill -KILL "$pid" 2>/dev/null || true
}

_stop_marker() { # NAME
  local f=$DEVSTACK/started/$1 kind="" pid="" pidfile="" datadir="" bindir="" owner="" version="" cluster="" exe="" port=""
  [[ -f $f ]] || return 0
  local line
  while IFS= read -r line; do
    case $line in
      kind=*) kind=${line#*=} ;; pid=*) pid=${line#*=} ;; pidfile=*) pidfile=${line#*=} ;;
      datadir=*) datadir=${line#*=} ;; bindir=*) bindir=${line#*=} ;; owner=*) owner=${line#*=} ;;
      version=*) version=${line#*=} ;; cluster=*) cluster=${line#*=} ;; exe=*) exe=${line#*=} ;; port=*) port=${line#*=} ;;
    esac
  done <"$f"
  case $kind in
    pgctl)
      if [[ -f $datadir/postmaster.pid ]]; then
        _say "stopping project-local PostgreSQL (port $port)"
        local -a as=()
        [[ $owner == postgres ]] && _is_root && as=(runuser -u postgres --)
        (cd / && "${as[@]}" "$bindir/pg_ctl" -D "$datadir" -m fast -w -t 60 stop >/dev/null 2>&1) || _say "warning: pg_ctl stop failed for $datadir"
      fi ;;
    pgcluster)
      _say "stopping PostgreSQL cluster $version/$cluster (port $port), started by this script"
      pg_ctlcluster --skip-systemctl-redirect "$version" "$cluster" stop -m fast >/dev/null 2>&1 ||
        pg_ctlcluster "$version" "$cluster" stop >/dev/null 2>&1 || _say "warning: could not stop cluster $version/$cluster" ;;
    redis)
      [[ -s $pidfile ]] && pid=$(cat "$pidfile")
      if _pid_is "$pid" redis; then _say "stopping project-local Redis (port $port)"; _kill_wait "$pid" 10; fi ;;
    proc)
      if _pid_is "$pid" "${exe##*/}"; then _say "stopping $1 (pid $pid)"; _kill_wait "$pid" 20; fi ;;
  esac
  rm -f "$f"
}

# Stop what this shell started, newest first.
devstack_stop_started_now() {
  local i
  for ((i = ${#DEVSTACK_STARTED_NOW[@]} - 1; i >= 0; i--)); do _stop_marker "${DEVSTACK_STARTED_NOW[i]}"; done
  DEVSTACK_STARTED_NOW=()
}

# Stop everything .devstack/ recorded: api/worker first, then mailpit, redis, postgres.
devstack_stop_all() {
  local f n any=""
  for n in api worker mailpit smsfake; do [[ -f $DEVSTACK/started/$n ]] && { any=1; _stop_marker "$n"; }; done
  for f in "$DEVSTACK"/started/redis-* "$DEVSTACK"/started/postgres-*; do
    [[ -f $f ]] || continue
    any=1; _stop_marker "${f##*/}"
  done
  [[ -n $any ]] || _say "nothing started by .devstack is running"
}

devstack_status() {
  local url label f
  for label in DATABASE_URL TEST_DATABASE_URL; do
    url=${!label}; _parse_url "$url" || continue
    if _pg_answers "$U_HOST" "${U_PORT:-5432}"; then echo "postgres  $(_redact "$url")  answers"; else echo "postgres  $(_redact "$url")  DOWN"; fi
  done
  for label in REDIS_URL TEST_REDIS_URL; do
    url=${!label}
    echo "redis     $(_redact "$url")  $(_redis_ping "$url" || true)"
  done
  _parse_url "$SMTP_URL"
  if _tcp_open "$(_connect_host "$U_HOST")" "${U_PORT:-25}"; then echo "smtp      $SMTP_URL  answers"; else echo "smtp      $SMTP_URL  DOWN"; fi
  for f in "$DEVSTACK"/started/*; do
    [[ -f $f ]] && echo "started by .devstack: ${f##*/} ($(tr '\n' ' ' <"$f"))"
  done
  return 0
}

devstack_env() {
  printf 'export DATABASE_URL=%q\nexport REDIS_URL=%q\nexport SMTP_URL=%q\n' "$DATABASE_URL" "$REDIS_URL" "$SMTP_URL"
  printf 'export TEST_DATABASE_URL=%q\nexport TEST_REDIS_URL=%q\n' "$TEST_DATABASE_URL" "$TEST_REDIS_URL"
}

_devstack_main() {
  set -euo pipefail
  mkdir -p "$DEVSTACK"
  case ${1:-ensure} in
    ensure) devstack_ensure_app ;;
    ensure-test) devstack_ensure_test ;;
    mail) devstack_ensure_mailpit || true ;;
    up)
      devstack_ensure_app
      devstack_ensure_mailpit || true
      _say "up: DATABASE_URL=$(_redact "$DATABASE_URL") REDIS_URL=$REDIS_URL SMTP_URL=$SMTP_URL${DEVSTACK_MAIL_INBOX:+ inbox=$DEVSTACK_MAIL_INBOX}"
      _say "for a Procfile runner: eval \"\$(scripts/services.sh env)\"" ;;
    build-mailpit) devstack_build_mailpit ;;
    stop) devstack_stop_all ;;
    status) devstack_status ;;
    env) devstack_env ;;
    -h | --help | help) sed -n '3,13p' "${BASH_SOURCE[0]}" ;;
    *) _die "unknown command: $1 (ensure | ensure-test | mail | up | stop | status | env | build-mailpit)"; exit 2 ;;
  esac
}

if [[ ${BASH_SOURCE[0]} == "$0" ]]; then
  _devstack_main "$@"
fi
