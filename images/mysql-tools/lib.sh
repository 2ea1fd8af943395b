# shellcheck shell=bash
# Shared by the dtool-* scripts of dtool/mysql-tools; installed as /usr/local/lib/dtool/lib.sh.
#
# Exit codes, the same for every script:
#    0  ok
#    2  usage: bad arguments, or /run/secrets/client.cnf unreadable
#   10  cannot connect: server unreachable (client errors 2002/2003/2005/2013 at connect)
#   11  access denied (server errors 1045/1044/1698, and 1130 "host not allowed")
#   12  the dump/restore command failed
#   13  verification failed: the artifact is incomplete or corrupt
#   14  no space left on device
#   15  the folder is locked by another run (dtool-outdir hold)
#
# The connection comes only from the [client] section of $CNF (host, port, user, password),
# so that passwords never show up in argv (ps, docker inspect) or the environment.

set -euo pipefail
umask 077 # artifacts and scratch files hold database contents

# DTOOL_CNF names another such file (a path, never a secret): dtool-backup-batch gives each
# of its jobs its own.
readonly CNF=${DTOOL_CNF:-/run/secrets/client.cnf}
# shellcheck disable=SC2034 # used by the scripts that source this file
readonly EX_USAGE=2 EX_CONNECT=10 EX_AUTH=11 EX_FAILED=12 EX_VERIFY=13 EX_NOSPACE=14
PROG=${0##*/}

# die CODE MESSAGE...
die() {
  local code=$1
  shift
  printf '%s: %s\n' "$PROG" "$*" >&2
  exit "$code"
}

# The client on $CNF (--defaults-extra-file only works as the very first option), in
# utf8mb4 rather than the locale-derived default (latin1 in these images).
db() { mariadb --defaults-extra-file="$CNF" --default-character-set=utf8mb4 "$@"; }

# SQL string literal and `identifier` (default sql_mode: backslash escapes are on).
sql_str() {
  local s=${1//\\/\\\\}
  printf "'%s'" "${s//\'/\\\'}"
}
# shellcheck disable=SC2016 # literal backticks
sql_ident() { printf '`%s`' "${1//\`/\`\`}"; }

# Exit 10/11 unless a trivial query works, so later failures are about the real work.
preflight() {
  [[ -r $CNF ]] || die $EX_USAGE "cannot read $CNF"
  local err
  err=$(db --connect-timeout=10 -e 'SELECT 1' 2>&1 >/dev/null) && return 0
  case $err in
    *'ERROR 1045'* | *'ERROR 1044'* | *'ERROR 1698'* | *'ERROR 1130'*)
      die $EX_AUTH "access denied: ${err%%$'\n'*}" ;;
    *) die $EX_CONNECT "cannot connect: ${err%%$'\n'*}" ;;
  esac
}

# Stderr of the real work, kept to classify failures afterwards (ENOSPC → 14).
ERRLOG=$(mktemp -t dtool-stderr.XXXXXX)

# Scripts may redefine cleanup(); it runs on every exit. As PID 1, bash would ignore
# SIGTERM, so signals become exits (and thereby run the cleanup too).
cleanup() { :; }
trap 'cleanup; rm -f "$ERRLOG"' EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# logged CMD...: run CMD with its stderr shown as usual and also appended to $ERRLOG.
# CMD runs in the background and we wait for it: bash acts on a trapped signal only between
# commands, but it does interrupt `wait`, so `docker stop` cleans up at once.
logged() {
  local rc=0 fd tee_pid job
  exec {fd}> >(tee -a "$ERRLOG" >&2)
  tee_pid=$!
  "$@" <&0 2>&"$fd" & # <&0: background jobs would otherwise read /dev/null
  job=$!
  exec {fd}>&-
  wait "$job" || rc=$?
  wait "$tee_pid" || true
  return "$rc"
}

# Exit code for a failed step: 14 if anything ran out of space, else $1.
failure_code() {
  if grep -qiE 'No space left on device|errno:? ?28\b|Errcode: ?28\b|error ?28\b' "$ERRLOG"; then
    echo $EX_NOSPACE
  else
    echo "$1"
  fi
}

# Decompressor for a file, from its magic bytes: zstd 28 b5 2f fd, gzip 1f 8b, else none.
decompressor_for() {
  case $(head -c 4 -- "$1" | od -An -tx1 | tr -d ' \n') in
    28b52ffd) echo 'zstd -dcq' ;;
    1f8b*) echo 'pigz -dc' ;;
    *) echo cat ;;
  esac
}

# mydumper 0.10 starts every file with SET NAMES binary. Right for the data files (each
# column's bytes, in its own character set), wrong for the schema files: their DDL comes from
# SHOW CREATE, which the server gives in UTF-8. Loaded as binary, a latin1 table's
# ENUM('café') would be created as ENUM('cafÃ©'), and its rows would no longer match it.
# dtool-backup fixes the files it writes; dtool-restore fixes those of older dumps too.
utf8_schema_files() {
  local f
  for f in "$1"/*-schema*.sql; do
    [[ -e $f ]] || continue
    sed -i '1s|^/\*!40101 SET NAMES binary\*/;$|/*!40101 SET NAMES utf8mb4*/;|' -- "$f" || return
  done
}
