# ---- runner body (src/runner/runner-body.sh; embedded by render.ts through body.generated.ts) ----
# Expects the header (rendered by render.ts) to have set, all shell-quoted:
#   RUN_NAME WORKFLOW REPO_ID REVISION ATTEMPT STORE_KIND STORE_ROOT S3_BUCKET S3_PREFIX S3_REGION
#   DEFAULT_S3_ENDPOINT RUN_PREFIX CODE_KEY CODE_SHA256 WORKING_DIR DEP_LABELS[] DEP_PREFIXES[]
#   DEP_MANIFEST_KEYS[] DEP_MANIFEST_SHAS[] DEP_FILE_DEPS[] DEP_FILE_PATHS[] DEP_FILE_SHAS[]
#   JOB_ENV_KEEP[] DOCKER_ENV_KEEP[]
#   ARTIFACT_PATHS[] ARTIFACT_MOUNTS[] ROOT_PATHS[] REGISTRY_AUTH OWNS_MACHINE SECRET_NAMES[] IMAGE ENTRYPOINT PYTHON_VERSION
#   MAX_DURATION SELF_DESTRUCT SPOT_WATCH DEFAULT_LOG_INTERVAL DEFAULT_WORK_ROOT JOB_SCRIPT
#   NODES_NUM STARTUP_ORDER GROUP_SIZES[] GROUP_NAMES[] GROUP_JOB_SCRIPTS[] (one per group; empty without groups)
# Exit codes: 0 succeeded; failed: the job's exit code (1 when the runner failed before or
# around the job); 124 timed-out; 143 cancelled; 75 interrupted (spot notice).

AWS_CLI="${DSTACK_AWS_CLI:-aws}"
S3_ENDPOINT="${DSTACK_S3_ENDPOINT:-$DEFAULT_S3_ENDPOINT}"
IMDS="${DSTACK_IMDS_ENDPOINT:-http://169.254.169.254}"
IMDS="${IMDS%/}"
LOG_INTERVAL="${DSTACK_LOG_INTERVAL:-$DEFAULT_LOG_INTERVAL}"
SPOT_POLL="${DSTACK_SPOT_POLL_INTERVAL:-5}"
KILL_AFTER="${DSTACK_KILL_AFTER:-20}"
SPOT_WATCH="${DSTACK_SPOT_WATCH:-$SPOT_WATCH}"
case "$LOG_INTERVAL" in ''|*[!0-9]*|0) LOG_INTERVAL=2 ;; esac
case "$SPOT_POLL" in ''|*[!0-9]*|0) SPOT_POLL=5 ;; esac
case "$KILL_AFTER" in ''|*[!0-9]*) KILL_AFTER=20 ;; esac
# the watch loop's tick, and the least time between two log chunks while output flows (ms)
TICK_MS="${DSTACK_TICK_MS:-250}"
# (S3: 1 s, so a day of chatty output is 86,400 PUTs; a folder: 0.5 s)
if [ "$STORE_KIND" = s3 ]; then SHIP_GAP_MS="${DSTACK_SHIP_GAP_MS:-1000}"; else SHIP_GAP_MS="${DSTACK_SHIP_GAP_MS:-500}"; fi
case "$TICK_MS" in ''|*[!0-9]*|0) TICK_MS=250 ;; esac
case "$SHIP_GAP_MS" in ''|*[!0-9]*) SHIP_GAP_MS=500 ;; esac

# ---------- nodes: this runner's rank and the addresses of all (multi-node tasks) ----------
# The backend gives every node the same script and, in its environment, DSTACK_NODE_RANK and
# DSTACK_NODES_IPS (newline-separated, in rank order), and may give DSTACK_GPUS_PER_NODE. A single
# node needs none of them. Each value is checked before it is used in a path, a key or the job.
NODE_ERROR=
NODE_RANK="${DSTACK_NODE_RANK:-0}"
NODES_IPS=()
NODE_GROUP=0
MPI_HOSTFILE=
node_setup() {
  local ip n=0 i
  case "$NODE_RANK" in ''|*[!0-9]*|0?*) NODE_ERROR="DSTACK_NODE_RANK \`$NODE_RANK\` is not a node rank"; NODE_RANK=0; return 1 ;; esac
  if [ "$NODE_RANK" -ge "$NODES_NUM" ]; then NODE_ERROR="DSTACK_NODE_RANK $NODE_RANK is not below the node count $NODES_NUM"; NODE_RANK=0; return 1; fi
  if [ -z "${DSTACK_NODES_IPS:-}" ]; then
    [ "$NODES_NUM" = 1 ] || { NODE_ERROR="DSTACK_NODES_IPS (the addresses of the $NODES_NUM nodes) is not set in the runner's environment"; return 1; }
    NODES_IPS=(127.0.0.1)
  else
    while IFS= read -r ip; do
      [ -n "$ip" ] || continue
      if ! [[ "$ip" =~ ^[0-9]{1,3}(\.[0-9]{1,3}){3}$ ]] && ! [[ "$ip" =~ ^[0-9A-Fa-f:]{2,39}$ ]]; then NODE_ERROR="DSTACK_NODES_IPS holds \`$ip\`, which is not an IP address"; return 1; fi
      NODES_IPS+=("$ip")
    done <<<"$DSTACK_NODES_IPS"
    [ "${#NODES_IPS[@]}" = "$NODES_NUM" ] || { NODE_ERROR="DSTACK_NODES_IPS holds ${#NODES_IPS[@]} addresses for $NODES_NUM nodes"; return 1; }
  fi
  GPUS_PER_NODE="${DSTACK_GPUS_PER_NODE:-}"
  if [ -z "$GPUS_PER_NODE" ]; then GPUS_PER_NODE=$(nvidia-smi -L 2>/dev/null | grep -c '^GPU') || GPUS_PER_NODE=0; fi
  case "$GPUS_PER_NODE" in ''|*[!0-9]*) GPUS_PER_NODE=0 ;; esac
  GPUS_NUM=$((GPUS_PER_NODE * NODES_NUM))
  for i in "${!GROUP_SIZES[@]}"; do
    n=$((n + GROUP_SIZES[i]))
    if [ "$NODE_RANK" -lt "$n" ]; then NODE_GROUP=$i; break; fi
  done
  [ -z "${GROUP_JOB_SCRIPTS[$NODE_GROUP]:-}" ] || JOB_SCRIPT="${GROUP_JOB_SCRIPTS[$NODE_GROUP]}"
}
node_setup || true
unset DSTACK_NODE_RANK DSTACK_NODES_IPS DSTACK_GPUS_PER_NODE
# "node 1 of 3 (group workers)", for the log
node_label() {
  printf 'node %s of %s' "$NODE_RANK" "$NODES_NUM"
  [ -z "${GROUP_NAMES[$NODE_GROUP]:-}" ] || printf ' (group %s)' "${GROUP_NAMES[$NODE_GROUP]}"
}

WORK_BASE="${DSTACK_WORK_ROOT:-$DEFAULT_WORK_ROOT}"
WORK="$WORK_BASE/$RUN_NAME/$ATTEMPT"
# the nodes of a multi-node run on one host (local backend) each get their own folder
[ "$NODES_NUM" -gt 1 ] && WORK="$WORK.node$NODE_RANK"
CODE_DIR="$WORK/code"
# absolute paths (artifacts, deps): in a container, folders of the work area mounted at their path
ROOT_DIR="$WORK/root"
# registry credentials: kept in unexported variables, so no child process (the job) inherits them
REG_USER="${DSTACK_REGISTRY_USERNAME:-}"
REG_PASS="${DSTACK_REGISTRY_PASSWORD:-}"
unset DSTACK_REGISTRY_USERNAME DSTACK_REGISTRY_PASSWORD
RUNNER_DIR="$WORK/runner"
LOG_FILE="$RUNNER_DIR/job.log"
JOB_OUT_DIR="$WORK/out"
ATTEMPT_PREFIX="$RUN_PREFIX/attempts/$ATTEMPT"
# a node of a multi-node run writes its status and logs in its own folder of the attempt
[ "$NODES_NUM" -gt 1 ] && ATTEMPT_PREFIX="$ATTEMPT_PREFIX/nodes/$NODE_RANK"
ARTIFACTS_PREFIX="$RUN_PREFIX/artifacts"
PID_NOTE="${TMPDIR:-/tmp}/dstack-runner-$$.jobpgid"

STARTED_AT="$(date -u +%Y-%m-%dT%H:%M:%SZ)"
PHASE=starting
LOG_SEQ=0
LOG_SHIPPED=0
LOG_PRINTED=0
JOB_PID=
JOB_EXIT=
STOP=
STOP_REASON=
NOTES=()

# ---------- helpers ----------
now_utc() { date -u +%Y-%m-%dT%H:%M:%SZ; }

# JSON string literal of $1 (pure bash): escapes \ " and control characters
json_str() {
  local s="$1"
  s="${s//\\/\\\\}"
  s="${s//\"/\\\"}"
  s="${s//$'\n'/\\n}"
  s="${s//$'\r'/\\r}"
  s="${s//$'\t'/\\t}"
  # the other control characters as \u00XX (a file name keeps them: they are not dropped),
  # bytewise and without a process (callers run this in $(…))
  local LC_ALL=C
  if [[ "$s" == *[[:cntrl:]]* ]]; then
    local o c u
    for o in 001 002 003 004 005 006 007 010 013 014 016 017 020 021 022 023 024 025 026 027 030 031 032 033 034 035 036 037 177; do
      printf -v c "\\$o"
      [[ "$s" == *"$c"* ]] || continue
      printf -v u '\\u%04x' "$((8#$o))"
      s="${s//"$c"/$u}"
    done
  fi
  printf '"%s"' "$s"
}
# "path":… of a manifest entry; a name that is not valid UTF-8 cannot be a JSON string, so it gets a
# readable "path" (such bytes as ?) and its exact bytes in "rawPath" (base64)
manifest_path_fields() {
  if command -v iconv >/dev/null 2>&1 && ! printf '%s' "$1" | iconv -f UTF-8 -t UTF-8 >/dev/null 2>&1; then
    printf '"path":%s,"rawPath":"%s"' "$(json_str "$(printf '%s' "$1" | LC_ALL=C sed 's/[\x80-\xff]/?/g')")" "$(printf '%s' "$1" | base64 | tr -d '\n')"
  else
    printf '"path":%s' "$(json_str "$1")"
  fi
}

# runner messages: into the job log (shipped to the store) and to stdout via the printer
# $1 with every secret text (DSTACK_REDACT, one per line) replaced by ***: runner messages can carry
# job-controlled text (file and link names, the step marker), which passes here, not through the filter
redact_text() {
  local s="$1" v
  if [ -n "${DSTACK_REDACT:-}" ]; then
    while IFS= read -r v; do [ -n "$v" ] && s="${s//"$v"/***}"; done <<<"$DSTACK_REDACT"
  fi
  printf '%s' "$s"
}
log() { local m; m="$(redact_text "$*")"; printf '[dstack] %s\n' "$m" >>"$LOG_FILE" 2>/dev/null || printf '[dstack] %s\n' "$m" >&2; }
note() { local m; m="$(redact_text "$*")"; NOTES+=("$m"); log "$m"; }
format_duration() {
  local s="$1"
  if [ $((s % 3600)) = 0 ]; then printf '%dh' $((s / 3600))
  elif [ $((s % 60)) = 0 ]; then printf '%dm' $((s / 60))
  else printf '%ds' "$s"; fi
}

# ---------- store ----------
s3_url() { if [ -n "$S3_PREFIX" ]; then printf 's3://%s/%s/%s' "$S3_BUCKET" "$S3_PREFIX" "$1"; else printf 's3://%s/%s' "$S3_BUCKET" "$1"; fi; }
aws_s3() {
  local opts=()
  [ -n "$S3_ENDPOINT" ] && opts+=(--endpoint-url "$S3_ENDPOINT")
  [ -n "$S3_REGION" ] && opts+=(--region "$S3_REGION")
  "$AWS_CLI" "${opts[@]}" s3 "$@" --only-show-errors --no-progress </dev/null
}
# ---------- small puts without an aws process (status.json, log chunks) ----------
# One `aws s3 cp` costs about a CPU second; curl with SigV4 about 10 ms. The credentials come from
# the aws CLI's own chain (`aws configure export-credentials`: env, profile, instance role), are
# refreshed every 10 minutes, live in variables only and reach curl on its stdin (never a command
# line, never a file). Any failure turns this path off for good and the aws CLI ships from then on.
CURL_PUT=
CURL_CREDS_AT=-1000000
CURL_AK=
CURL_SK=
CURL_ST=
HTTP_URL=
s3_curl_creds() {
  local out line k v
  out=$("$AWS_CLI" configure export-credentials --format env-no-export </dev/null 2>/dev/null) || return 1
  CURL_AK= CURL_SK= CURL_ST=
  while [ -n "$out" ]; do
    line="${out%%$'\n'*}"
    if [ "$line" = "$out" ]; then out=; else out="${out#*$'\n'}"; fi
    line="${line#export }"
    k="${line%%=*}"
    v="${line#*=}"
    case "$k" in
      AWS_ACCESS_KEY_ID) CURL_AK="$v" ;;
      AWS_SECRET_ACCESS_KEY) CURL_SK="$v" ;;
      AWS_SESSION_TOKEN) CURL_ST="$v" ;;
    esac
  done
  case "$CURL_AK$CURL_SK$CURL_ST" in *[!A-Za-z0-9+/=_-]*) return 1 ;; esac
  [ -n "$CURL_AK" ] && [ -n "$CURL_SK" ] || return 1
  CURL_CREDS_AT=$SECONDS
}
s3_curl_ready() {
  [ "$STORE_KIND" = s3 ] && [ "$CURL_PUT" != off ] || return 1
  if [ -z "$CURL_PUT" ]; then
    CURL_PUT=off
    [ "${DSTACK_S3_CURL:-1}" = 1 ] && [ -n "$S3_REGION" ] || return 1
    command -v curl >/dev/null 2>&1 || return 1
    curl --help all 2>/dev/null | grep -q -e '--aws-sigv4' || return 1
    CURL_PUT=on
  fi
  if [ $((SECONDS - CURL_CREDS_AT)) -ge 600 ] && ! s3_curl_creds; then CURL_PUT=off; return 1; fi
}
# HTTP_URL := the object's URL (path-style on a custom endpoint or a dotted bucket), key percent-encoded
s3_http_url() {
  local key="$1" out= c i LC_ALL=C
  [ -n "$S3_PREFIX" ] && key="$S3_PREFIX/$key"
  for ((i = 0; i < ${#key}; i++)); do
    c="${key:i:1}"
    case "$c" in [A-Za-z0-9._~/-]) out+="$c" ;; *) printf -v c '%%%02X' "'$c"; out+="$c" ;; esac
  done
  local domain=amazonaws.com
  case "$S3_REGION" in cn-*) domain=amazonaws.com.cn ;; esac
  if [ -n "$S3_ENDPOINT" ]; then HTTP_URL="${S3_ENDPOINT%/}/$S3_BUCKET/$out"
  elif [[ "$S3_BUCKET" == *.* ]]; then HTTP_URL="https://s3.$S3_REGION.$domain/$S3_BUCKET/$out"
  else HTTP_URL="https://$S3_BUCKET.s3.$S3_REGION.$domain/$out"
  fi
}
# s3_curl_put FILE KEY: one signed PUT; true on HTTP 200
s3_curl_put() {
  local code
  s3_http_url "$2"
  code=$({
    printf 'user = "%s:%s"\n' "$CURL_AK" "$CURL_SK"
    [ -z "$CURL_ST" ] || printf 'header = "x-amz-security-token: %s"\n' "$CURL_ST"
  } | curl -sS -o /dev/null -w '%{http_code}' --connect-timeout 10 --max-time 60 --aws-sigv4 "aws:amz:$S3_REGION:s3" \
    -H 'x-amz-content-sha256: UNSIGNED-PAYLOAD' -K - -T "$1" "$HTTP_URL" 2>/dev/null)
  [ "$code" = 200 ]
}
# store_put_small FILE KEY: like store_put, through curl when it works (S3)
store_put_small() {
  if s3_curl_ready; then
    s3_curl_put "$1" "$2" && return 0
    # once more with fresh credentials, then the aws CLI for good
    s3_curl_creds && s3_curl_put "$1" "$2" && return 0
    CURL_PUT=off
    printf '[dstack] shipping with curl failed; the aws CLI ships from now on\n' >&2
  fi
  store_put "$1" "$2"
}

folder_tmp() { printf '%s/.~tmp.%s.%s' "$(dirname "$1")" "$$" "$RANDOM"; }

# store_put FILE KEY (atomic for folders: temp file + rename)
store_put() {
  if [ "$STORE_KIND" = s3 ]; then aws_s3 cp "$1" "$(s3_url "$2")"; return; fi
  local dest="$STORE_ROOT/$2" tmp
  # no subshells: a chunk every half second makes each process count
  [ -d "${dest%/*}" ] || mkdir -p "${dest%/*}" || return 1
  tmp="${dest%/*}/.~tmp.$$.$RANDOM"
  cp "$1" "$tmp" && mv -f "$tmp" "$dest" || { rm -f "$tmp"; return 1; }
}
# store_get KEY FILE
store_get() {
  if [ "$STORE_KIND" = s3 ]; then aws_s3 cp "$(s3_url "$1")" "$2"; return; fi
  cp "$STORE_ROOT/$1" "$2"
}
# ---------- small and mid-size gets without an aws process (the code snapshot, a checkpoint file) ----------
# s3_curl_get KEY FILE: one signed GET (the same SigV4 curl and credentials as store_put_small) into
# FILE, written only when complete; returns 0 on HTTP 200, 2 when S3 says the key does not exist (404),
# 1 on any other answer (the caller falls back to the aws CLI). Aborts a transfer slower than 1 KiB/s
# for a minute rather than after a fixed time, so a big snapshot on a slow link still arrives.
s3_curl_get() {
  local code part="$2.~curl.$$"
  s3_http_url "$1"
  code=$({
    printf 'user = "%s:%s"\n' "$CURL_AK" "$CURL_SK"
    [ -z "$CURL_ST" ] || printf 'header = "x-amz-security-token: %s"\n' "$CURL_ST"
  } | curl -sS -o "$part" -w '%{http_code}' --connect-timeout 10 --speed-limit 1024 --speed-time 60 --aws-sigv4 "aws:amz:$S3_REGION:s3" \
    -H 'x-amz-content-sha256: UNSIGNED-PAYLOAD' -K - "$HTTP_URL" 2>/dev/null)
  if [ "$code" = 200 ] && mv -f "$part" "$2"; then return 0; fi
  rm -f "$part"
  [ "$code" = 404 ] && return 2
  return 1
}
# store_get_fast KEY FILE: like store_get; on S3 through curl when it works (about 10 ms instead of an
# aws process, ~1 CPU second), the aws CLI when curl cannot or gets any answer but the object
store_get_fast() {
  if s3_curl_ready && s3_curl_get "$1" "$2"; then return 0; fi
  store_get "$1" "$2"
}
# store_sync_down PREFIX DIR (a missing folder prefix is not an error: nothing to copy)
store_sync_down() {
  mkdir -p "$2" || return 1
  if [ "$STORE_KIND" = s3 ]; then aws_s3 sync "$(s3_url "$1")" "$2"; return; fi
  [ -d "$STORE_ROOT/$1" ] || return 0
  cp -R "$STORE_ROOT/$1/." "$2/"
}

# ---------- status.json ----------
write_status() {
  local status="${1:-}" code="${2:-}" reason="${3:-}" ended="${4:-}"
  local f="$RUNNER_DIR/status.json"
  {
    printf '{"phase":%s' "$(json_str "$PHASE")"
    [ -n "$status" ] && printf ',"status":%s' "$(json_str "$status")"
    [ -n "$code" ] && printf ',"exitCode":%d' "$code"
    [ -n "$reason" ] && printf ',"reason":%s' "$(json_str "$(redact_text "$reason")")"
    printf ',"startedAt":%s' "$(json_str "$STARTED_AT")"
    [ -n "$ended" ] && printf ',"endedAt":%s' "$(json_str "$ended")"
    [ -n "${IMAGE_DIGEST:-}" ] && printf ',"imageDigest":%s' "$(json_str "$IMAGE_DIGEST")"
    printf ',"logChunks":%d}\n' "$LOG_SEQ"
  } >"$f"
  store_put_small "$f" "$ATTEMPT_PREFIX/status.json" || printf '[dstack] could not write status.json (%s) to the store\n' "$PHASE" >&2
}
set_phase() { PHASE="$1"; write_status; }

# ---------- logs ----------
# print new bytes of the job log to stdout (for SSM output / a terminal)
print_new() {
  local size
  size=$(stat -c %s "$LOG_FILE" 2>/dev/null) || return 0
  [ "$size" -gt "$LOG_PRINTED" ] || return 0
  tail -c +"$((LOG_PRINTED + 1))" "$LOG_FILE" 2>/dev/null | head -c "$((size - LOG_PRINTED))"
  LOG_PRINTED=$size
}
# ship the bytes written since the last chunk as the next chunk (nothing when there are none)
ship_logs() {
  local size chunk="$RUNNER_DIR/chunk.log"
  size=$(stat -c %s "$LOG_FILE" 2>/dev/null) || return 0
  [ "$size" -gt "$LOG_SHIPPED" ] || return 0
  tail -c +"$((LOG_SHIPPED + 1))" "$LOG_FILE" | head -c "$((size - LOG_SHIPPED))" >"$chunk" || return 0
  if store_put_small "$chunk" "$ATTEMPT_PREFIX/logs/$(printf '%06d' "$LOG_SEQ").log"; then
    LOG_SHIPPED=$size
    LOG_SEQ=$((LOG_SEQ + 1))
  fi
}

# a chunk goes out soon after new output, then at most every SHIP_TICKS ticks while it flows
SHIP_WAIT=1000000
SHIP_TICKS=1
ship_ticks() {
  local gap="$SHIP_GAP_MS"
  # through the aws CLI (a process per chunk) at most every DSTACK_LOG_INTERVAL seconds
  if [ "$STORE_KIND" = s3 ] && ! s3_curl_ready && [ "$gap" -lt $((LOG_INTERVAL * 1000)) ]; then gap=$((LOG_INTERVAL * 1000)); fi
  SHIP_TICKS=$(((gap + TICK_MS - 1) / TICK_MS))
  [ "$SHIP_TICKS" -ge 1 ] || SHIP_TICKS=1
}
log_ship_due() {
  local size
  SHIP_WAIT=$((SHIP_WAIT + 1))
  [ "$SHIP_WAIT" -ge "$SHIP_TICKS" ] || return 1
  size=$(stat -c %s "$LOG_FILE" 2>/dev/null) || return 1
  [ "$size" -gt "$LOG_SHIPPED" ] || return 1
  SHIP_WAIT=0
}
# wait one tick without starting a process (read -t on a private pipe), or with sleep
TICK_FD=
TICK_S="$((TICK_MS / 1000)).$(printf '%03d' $((TICK_MS % 1000)))"
tick_open() { { exec {TICK_FD}<> <(:); } 2>/dev/null || TICK_FD=; }
# wake the loop the moment the job exits. Called in the job's subshell just before it becomes the
# job: the job holds the only write end of a pipe, whose reader wakes the tick when it reads EOF
# (the job and everything it left running are gone). Watching the pid cannot do it: the job stays a
# zombie until this shell reaps it, and bash reaps only after `read -t` returns (a whole tick).
tick_on_exit() {
  [ -n "$TICK_FD" ] || return 0
  { exec {JOB_END_FD}> >(cat >/dev/null; printf 'end\n' >&"$TICK_FD"); } 2>/dev/null
  exec {TICK_FD}>&-
}
tick_wait() {
  if [ -n "$TICK_FD" ]; then
    read -r -t "$TICK_S" -u "$TICK_FD" _ 2>/dev/null
    return 0
  fi
  sleep "$TICK_S" &
  wait $! 2>/dev/null
}

# ---------- artifacts ----------
# where an artifact is on this machine: relative to the working folder; absolute ones at their
# path (a machine the run owns) or in the work area's root folder (mounted there in the container)
artifact_src() {
  case "$1" in
    /*) if [ -z "$IMAGE" ] && [ "$OWNS_MACHINE" = 1 ]; then printf '%s' "$1"; else printf '%s%s' "$ROOT_DIR" "$1"; fi ;;
    *) if [ "$WORKING_DIR" = . ] || is_abs "$WORKING_DIR"; then printf '%s/%s' "$CODE_DIR" "$1"; else printf '%s/%s/%s' "$CODE_DIR" "$WORKING_DIR" "$1"; fi ;;
  esac
}
is_abs() { case "$1" in /*) return 0 ;; esac; return 1; }
# its path in the store and the manifest: `/P` is kept as `_root/P`
artifact_key() { if is_abs "$1"; then printf '_root%s' "$1"; else printf '%s' "$1"; fi; }
# the folder an artifact's real path must stay in: the code for relative paths; the work area's
# root folder for absolute ones in a container; an absolute path on a machine the run owns is its own
artifact_base() {
  case "$1" in
    /*) if [ -z "$IMAGE" ] && [ "$OWNS_MACHINE" = 1 ]; then printf '%s' "$1"; else printf '%s' "$ROOT_DIR"; fi ;;
    *) printf '%s' "$CODE_DIR" ;;
  esac
}
# why an artifact path may not be stored (prints it), or nothing: a symlink, or a path whose real
# location is outside its base folder (a linked parent folder), is never followed
# artifact_refusal SRC [BASE] (BASE: the code folder when not given)
artifact_refusal() {
  local src="$1" base="${2:-$CODE_DIR}" real code
  if [ -L "$src" ]; then printf 'it is a symbolic link (to %s); symlinks are not stored' "$(readlink "$src" 2>/dev/null || echo '?')"; return; fi
  [ -e "$src" ] || return 0
  real=$(realpath -e -- "$src" 2>/dev/null) || { printf 'its real path cannot be resolved'; return; }
  code=$(realpath -e -- "$base" 2>/dev/null) || code="$base"
  case "$real" in "$code"|"$code"/*) ;; *) printf 'it resolves to %s, outside the working folder, through a symbolic link' "$real" ;; esac
}
# the regular files of an artifact (NUL-separated, sorted): find -type f never follows a link
artifact_files() {
  if [ -d "$1" ]; then find "$1" -type f -print0 | LC_ALL=C sort -z; elif [ -f "$1" ]; then printf '%s\0' "$1"; fi
}
# the symlinks inside an artifact folder (not stored; noted)
artifact_links() { [ -d "$1" ] && find "$1" -type l -print0 2>/dev/null | LC_ALL=C sort -z; }
# upload exactly the regular files of a folder (no links, nothing they point at); with `prune`,
# also delete what the store holds there and the folder no longer has (a mounted artifact synced
# earlier), so the store matches the manifest
store_put_tree() {
  local src="$1" prefix="$2" prune="${3:-}" f rel
  if [ "$STORE_KIND" = s3 ]; then aws_s3 sync --no-follow-symlinks ${prune:+--delete} "$src" "$(s3_url "$prefix")"; return; fi
  while IFS= read -r -d '' f; do
    rel="${f#"$src"/}"
    if [ -e "$STORE_ROOT/$prefix/$rel" ] && [ ! "$f" -nt "$STORE_ROOT/$prefix/$rel" ]; then continue; fi
    store_put "$f" "$prefix/$rel" || return 1
  done < <(artifact_files "$src")
  [ -n "$prune" ] && [ -d "$STORE_ROOT/$prefix" ] || return 0
  while IFS= read -r -d '' f; do
    rel="${f#"$STORE_ROOT/$prefix"/}"
    if [ -L "$f" ] || [ ! -f "$src/$rel" ] || [ -L "$src/$rel" ]; then rm -f "$f"; fi
  done < <(find "$STORE_ROOT/$prefix" \( -type f -o -type l \) -print0)
}
upload_artifact() {
  local path="$1" src key
  src="$(artifact_src "$path")"
  key="$(artifact_key "$path")"
  [ -n "$(artifact_refusal "$src" "$(artifact_base "$path")")" ] && return 3
  if [ -d "$src" ]; then store_put_tree "$src" "$ARTIFACTS_PREFIX/$key" "${2:-}"
  elif [ -f "$src" ]; then store_put "$src" "$ARTIFACTS_PREFIX/$key"
  else return 2
  fi
}

# ---------- checkpoints: `mount: true` artifacts, carried across attempts ----------
# Synced to the run's artifacts folder in the background every CHECKPOINT_INTERVAL seconds while
# the job runs, first thing on a spot notice, and restored before the commands of the next attempt.
CHECKPOINT_INTERVAL="${DSTACK_CHECKPOINT_INTERVAL:-30}"
case "$CHECKPOINT_INTERVAL" in ''|*[!0-9]*|0) CHECKPOINT_INTERVAL=30 ;; esac
NOTICE_WINDOW=120
CKPT_SYNC_PID=
CKPT_LAST_START=
CKPT_SLOW_NOTED=
export DSTACK_RESTORED='' DSTACK_RESUMED_FROM=''

now_ms() { date +%s%3N; }
secs_ms() { printf '%d.%d s' $(($1 / 1000)) $((($1 % 1000) / 100)); }
human_bytes() { numfmt --to=iec --suffix=B "$1" 2>/dev/null || printf '%d bytes' "$1"; }
has_checkpoints() { local m; for m in "${ARTIFACT_MOUNTS[@]}"; do [ "$m" = 1 ] && return 0; done; return 1; }

# bytes of the checkpoint files changed since file $1 was touched (all of them when $1 is missing)
checkpoint_bytes() {
  local i src since=()
  [ -n "${1:-}" ] && [ -f "$1" ] && since=(-newer "$1")
  for i in "${!ARTIFACT_PATHS[@]}"; do
    [ "${ARTIFACT_MOUNTS[$i]}" = 1 ] || continue
    src="$(artifact_src "${ARTIFACT_PATHS[$i]}")"
    [ -e "$src" ] && find "$src" -type f "${since[@]}" -printf '%s\n' 2>/dev/null
  done | awk '{ s += $1 } END { printf "%d", s }'
}

# upload the checkpoints now; appends "bytes ms failed" to ckpt.stat (the measured throughput)
save_checkpoints() {
  local i rc failed=0 t0 bytes mark="$RUNNER_DIR/ckpt.mark" next="$RUNNER_DIR/ckpt.next.$BASHPID"
  : >"$next"
  bytes=$(checkpoint_bytes "$mark")
  t0=$(now_ms)
  for i in "${!ARTIFACT_PATHS[@]}"; do
    [ "${ARTIFACT_MOUNTS[$i]}" = 1 ] || continue
    # prune: a checkpoint file the job deleted is deleted from the store too (the next attempt restores the folder as it was)
    upload_artifact "${ARTIFACT_PATHS[$i]}" prune >/dev/null 2>&1
    rc=$?
    [ "$rc" = 0 ] || [ "$rc" = 2 ] || failed=1
  done
  printf '%d %d %d\n' "$bytes" "$(($(now_ms) - t0))" "$failed" >>"$RUNNER_DIR/ckpt.stat"
  if [ "$failed" = 0 ]; then mv -f "$next" "$mark"; else rm -f "$next"; fi
  return "$failed"
}

# upload speed of checkpoints in bytes/s, from the last sync of at least 1 MiB (empty: not measured)
checkpoint_bps() {
  [ -f "$RUNNER_DIR/ckpt.stat" ] || return 0
  awk '$1 >= 1048576 && $2 > 0 && $3 == 0 { b = $1; m = $2 } END { if (m) printf "%d", b * 1000 / m }' "$RUNNER_DIR/ckpt.stat"
}

checkpoint_sync_done() {
  local last
  [ -n "$CKPT_SYNC_PID" ] || return 0
  wait "$CKPT_SYNC_PID" 2>/dev/null
  CKPT_SYNC_PID=
  last=$(tail -n 1 "$RUNNER_DIR/ckpt.stat" 2>/dev/null) || return 0
  set -- $last
  if [ -z "$CKPT_SLOW_NOTED" ] && [ "${2:-0}" -gt $((NOTICE_WINDOW * 1000)) ]; then
    CKPT_SLOW_NOTED=1
    note "a checkpoint sync took $(secs_ms "$2") ($(human_bytes "$1")), longer than the 2-minute spot notice: on an interruption only the last complete sync is sure to be kept"
  fi
}

# every loop tick: a background checkpoint sync every CHECKPOINT_INTERVAL seconds (one at a time)
sync_mounts() {
  has_checkpoints && [ "$NODE_RANK" = 0 ] || return 0
  if [ -n "$CKPT_SYNC_PID" ]; then
    kill -0 "$CKPT_SYNC_PID" 2>/dev/null && return 0
    checkpoint_sync_done
  fi
  [ -n "$CKPT_LAST_START" ] && [ $((SECONDS - CKPT_LAST_START)) -lt "$CHECKPOINT_INTERVAL" ] && return 0
  CKPT_LAST_START=$SECONDS
  save_checkpoints &
  CKPT_SYNC_PID=$!
}

# store_restore KEY DEST: a stored file, or every file under KEY/ (DEST is created only when there are files)
store_restore() {
  if [ "$STORE_KIND" = s3 ]; then
    # through curl: the one object, or (404) none, so the files are under KEY/; else the aws CLI tries
    if s3_curl_ready; then
      s3_curl_get "$1" "$2"
      case $? in 0) return 0 ;; 2) aws_s3 sync "$(s3_url "$1")/" "$2"; return ;; esac
    fi
    aws_s3 cp "$(s3_url "$1")" "$2" >/dev/null 2>&1 && return 0
    aws_s3 sync "$(s3_url "$1")/" "$2"
    return
  fi
  if [ -f "$STORE_ROOT/$1" ]; then cp -p "$STORE_ROOT/$1" "$2"
  elif [ -d "$STORE_ROOT/$1" ]; then mkdir -p "$2" && cp -Rp "$STORE_ROOT/$1/." "$2/"
  fi
}

# attempt 2+: put back what earlier attempts of this run saved of the checkpoints, before the commands
restore_checkpoints() {
  local i path dest staged n files=0 restored=() t0
  [ "$ATTEMPT" -gt 1 ] && has_checkpoints || return 0
  t0=$(now_ms)
  for i in "${!ARTIFACT_PATHS[@]}"; do
    [ "${ARTIFACT_MOUNTS[$i]}" = 1 ] || continue
    path="${ARTIFACT_PATHS[$i]}"
    dest="$(artifact_src "$path")"
    staged="$RUNNER_DIR/restore.$i"
    rm -rf "$staged"
    if ! store_restore "$ARTIFACTS_PREFIX/$path" "$staged" >>"$LOG_FILE" 2>&1; then
      note "could not restore the checkpoint \`$path\` from the store: the job starts without it"
      continue
    fi
    [ -e "$staged" ] || continue
    n=$(find "$staged" -type f | wc -l)
    [ "$n" -gt 0 ] || { rm -rf "$staged"; continue; }
    mkdir -p "$(dirname "$dest")"
    if [ -e "$dest" ] && [ -d "$staged" ]; then cp -Rp "$staged/." "$dest/" && rm -rf "$staged"
    else rm -rf "$dest" && mv "$staged" "$dest"
    fi || { note "could not put the checkpoint \`$path\` in place: the job starts without it"; continue; }
    restored+=("$path")
    files=$((files + n))
  done
  : >"$RUNNER_DIR/ckpt.mark" # what was restored is already in the store
  if [ "${#restored[@]}" -eq 0 ]; then
    log "attempt $ATTEMPT: no checkpoint (mount: true artifact) saved by an earlier attempt: starting from scratch"
    return 0
  fi
  DSTACK_RESTORED="$(printf '%s\n' "${restored[@]}")"
  DSTACK_RESUMED_FROM=$((ATTEMPT - 1))
  log "attempt $ATTEMPT resumes: restored ${restored[*]} ($files files, $(human_bytes "$(checkpoint_bytes)")) saved by earlier attempts, in $(secs_ms $(($(now_ms) - t0)))"
}

# notice_fit PENDING_BYTES BYTES_PER_SEC SECONDS_LEFT: says why the changed checkpoints may not be
# saved in time (their size against the measured upload speed), or nothing when they fit or it is unknown
notice_fit() {
  local pending="$1" bps="$2" left="$3" need
  [ "$pending" -gt 0 ] || return 0
  if [ "$left" -le 0 ]; then
    printf 'the spot notice came too late (its time had passed): the checkpoints changed since the last sync (%s) may be lost, the last complete sync (at most %s s old) is kept' "$(human_bytes "$pending")" "$CHECKPOINT_INTERVAL"
  elif [ -n "$bps" ] && [ "$bps" -gt 0 ]; then
    need=$(((pending + bps - 1) / bps))
    [ "$need" -gt "$left" ] || return 0
    printf 'the checkpoints changed since the last sync (%s) need about %d s at the measured %s/s, but the spot notice left %d s: they may not all be saved, the last complete sync (at most %s s old) is kept' "$(human_bytes "$pending")" "$need" "$(human_bytes "$bps")" "$left" "$CHECKPOINT_INTERVAL"
  fi
}

# the spot notice gives about 2 minutes: checkpoints first, then logs, then status; timed and reported
notice_save() {
  local code="$1" reason="$2" t0 t1 t2 t3 when deadline left=$NOTICE_WINDOW fit saved=0 last
  t0=$(now_ms)
  when=$(cat "$RUNNER_DIR/notice-time" 2>/dev/null) || when=
  [ -n "$when" ] && deadline=$(date -d "$when" +%s 2>/dev/null) && left=$((deadline - t0 / 1000))
  if has_checkpoints && [ "$NODE_RANK" = 0 ]; then
    checkpoint_sync_done
    fit=$(notice_fit "$(checkpoint_bytes "$RUNNER_DIR/ckpt.mark")" "$(checkpoint_bps)" "$left")
    [ -n "$fit" ] && note "$fit"
    if save_checkpoints; then
      last=$(tail -n 1 "$RUNNER_DIR/ckpt.stat" 2>/dev/null) && saved="${last%% *}"
    else
      note "saving the checkpoints on the spot notice failed"
    fi
  fi
  t1=$(now_ms)
  print_new
  ship_logs
  t2=$(now_ms)
  PHASE=uploading
  write_status interrupted "$code" "$reason"
  t3=$(now_ms)
  if [ "$left" -gt 0 ]; then left="of the $left s the notice left"; else left="after the notice's time had passed"; fi
  note "notice save: checkpoints ($(human_bytes "$saved")) in $(secs_ms $((t1 - t0))), then logs in $(secs_ms $((t2 - t1))), then status in $(secs_ms $((t3 - t2))): $(secs_ms $((t3 - t0))) in all, $left"
}

# finish: let a running checkpoint sync end; on a spot notice, save in the notice's order first
finish_checkpoints() {
  if [ "$1" = interrupted ]; then notice_save "$2" "$3"; else checkpoint_sync_done; fi
}
# the job's metrics ($DSTACK_METRICS) and report ($DSTACK_REPORT): stored as artifacts under _dstack/
JOB_OUT_FILES=(metrics.jsonl report.md)
JOB_OUT_MAX_BYTES=16777216
job_out_file() {
  local f="$JOB_OUT_DIR/$1" size name="${1%%.*}"
  [ -f "$f" ] && [ ! -L "$f" ] || return 1
  size=$(stat -c %s "$f" 2>/dev/null) || return 1
  [ "$size" -gt 0 ] || return 1
  if [ "$size" -gt "$JOB_OUT_MAX_BYTES" ]; then log "the \$DSTACK_${name^^} file is $size bytes, over $JOB_OUT_MAX_BYTES: not stored"; return 1; fi
  printf '%s' "$f"
}
has_job_outputs() { local n; for n in "${JOB_OUT_FILES[@]}"; do [ -f "$JOB_OUT_DIR/$n" ] && return 0; done; return 1; }
# uploads them; prints their manifest entries (continuing the list that upload_artifacts writes)
job_outputs_manifest() {
  local n f size sum
  for n in "${JOB_OUT_FILES[@]}"; do
    f=$(job_out_file "$n") || continue
    store_put_small "$f" "$ARTIFACTS_PREFIX/_dstack/$n" >/dev/null || { failed=1; note "uploading _dstack/$n failed" >/dev/null; continue; }
    size=$(stat -c %s "$f") && sum=$(sha256sum <"$f" | cut -d' ' -f1) || continue
    [ "$first" = 1 ] || printf ','
    first=0
    printf '\n  {"path":%s,"size":%d,"sha256":"%s"}' "$(json_str "_dstack/$n")" "$size" "$sum"
  done
}
# the manifest entries of one artifact's files (continuing the list): their sizes and sha256 from
# one `stat` and one `sha256sum` for all of them (a process or two per file made the manifest of a
# big folder cost as much as its upload); file by file only if those disagree with the file list
manifest_entries() {
  local src="$1" key="$2" f i rel size sum files=() sizes=() sums=()
  while IFS= read -r -d '' f; do files+=("$f"); done < <(artifact_files "$src")
  [ "${#files[@]}" -gt 0 ] || return 0
  mapfile -d '' -t sizes < <(printf '%s\0' "${files[@]}" | xargs -0 stat --printf '%s\0' -- 2>/dev/null)
  mapfile -d '' -t sums < <(printf '%s\0' "${files[@]}" | xargs -0 sha256sum -z -- 2>/dev/null)
  # all names valid UTF-8 (one iconv for all, a newline after each): no per-name check below
  local all_utf8=
  if ! command -v iconv >/dev/null 2>&1 || printf '%s\n' "$key" "${files[@]}" | iconv -f UTF-8 -t UTF-8 >/dev/null 2>&1; then all_utf8=1; fi
  for i in "${!files[@]}"; do
    f="${files[$i]}"
    if [ -d "$src" ]; then rel="$key/${f#"$src"/}"; else rel="$key"; fi
    if [ "${#sizes[@]}" = "${#files[@]}" ] && [ "${#sums[@]}" = "${#files[@]}" ]; then
      size="${sizes[$i]}" sum="${sums[$i]%% *}"
    else
      size=$(stat -c %s "$f") || continue
      sum=$(sha256sum <"$f" | cut -d' ' -f1) || continue
    fi
    [ "$first" = 1 ] || printf ','
    first=0
    # straight to the output, not through $(…): a fork per file was a third of a folder's manifest
    printf '\n  {'
    if [ -n "$all_utf8" ]; then printf '"path":'; json_str "$rel"; else manifest_path_fields "$rel"; fi
    printf ',"size":%d,"sha256":"%s"}' "$size" "$sum"
  done
}
# the manifest entries of every artifact (continuing the list)
artifact_manifest_entries() {
  local i path src
  for i in "${!ARTIFACT_PATHS[@]}"; do
    path="${ARTIFACT_PATHS[$i]}"
    src="$(artifact_src "$path")"
    [ -e "$src" ] || continue
    [ -z "$(artifact_refusal "$src" "$(artifact_base "$path")")" ] || continue
    manifest_entries "$src" "$(artifact_key "$path")"
  done
}
# upload every artifact, then artifacts.json; returns 1 when an upload failed. The manifest's
# hashing runs beside the uploads (the job has ended: the files no longer change), not after them.
upload_artifacts() {
  local i path src rc failed=0 missing=() why links=()
  local manifest="$RUNNER_DIR/artifacts.json" entries="$RUNNER_DIR/artifacts.entries" first=1 f rel size sum hashing
  [ "${#ARTIFACT_PATHS[@]}" -gt 0 ] || has_job_outputs || return 0
  artifact_manifest_entries >"$entries" &
  hashing=$!
  for i in "${!ARTIFACT_PATHS[@]}"; do
    path="${ARTIFACT_PATHS[$i]}"
    src="$(artifact_src "$path")"
    why="$(artifact_refusal "$src" "$(artifact_base "$path")")"
    if [ -n "$why" ]; then note "artifact \`$path\` was not stored: $why"; continue; fi
    upload_artifact "$path" prune
    rc=$?
    if [ "$rc" = 2 ]; then missing+=("$path")
    elif [ "$rc" != 0 ]; then failed=1; note "uploading artifact \`$path\` failed"
    fi
    links=()
    while IFS= read -r -d '' f; do links+=("$path/${f#"$src"/}"); done < <(artifact_links "$src")
    [ "${#links[@]}" -gt 0 ] && note "artifact \`$path\`: ${#links[@]} symbolic link(s) not stored (symlinks are never followed): ${links[*]:0:5}"
  done
  [ "${#missing[@]}" -gt 0 ] && note "artifact path(s) not found after the job: ${missing[*]} (nothing uploaded for them)"
  # (a trapped signal cuts `wait` short: wait again until the hashing really ended)
  while kill -0 "$hashing" 2>/dev/null; do wait "$hashing"; done
  [ -s "$entries" ] && first=0
  {
    printf '['
    cat "$entries"
    job_outputs_manifest
    printf '\n]\n'
  } >"$manifest"
  rm -f "$entries"
  store_put_small "$manifest" "$RUN_PREFIX/artifacts.json" || { failed=1; note "uploading artifacts.json failed"; }
  return "$failed"
}

# ---------- integrity: nothing runs or lands in the working folder unchecked ----------
# sha256_of FILE
sha256_of() { sha256sum <"$1" | cut -d' ' -f1; }
# fetch the code snapshot and refuse bytes other than the ones the CI sent
fetch_code() {
  local tgz="$RUNNER_DIR/code.tar.gz" got
  if ! store_get_fast "$CODE_KEY" "$tgz" >>"$LOG_FILE" 2>&1; then
    fail_early "could not fetch the code snapshot $CODE_KEY from the store"
  fi
  got=$(sha256_of "$tgz")
  if [ "$got" != "$CODE_SHA256" ]; then
    fail_early "the code snapshot $CODE_KEY in the store has sha256 $got, not $CODE_SHA256 as sent by the CI: it was changed after upload, so it is not run (delete it from the store; the next run uploads it again)"
  fi
  if ! tar -xzf "$tgz" -C "$CODE_DIR" --no-same-owner >>"$LOG_FILE" 2>&1; then
    fail_early "could not unpack the code snapshot $CODE_KEY"
  fi
  rm -f "$tgz"
}
# place FILE at REL under DIR, creating folders; refuses to pass through or replace a symlink
place_file() {
  local file="$1" dir="$2" rel="$3" rest="$3" cur="$2" part
  while [[ "$rest" == */* ]]; do
    part="${rest%%/*}"
    rest="${rest#*/}"
    cur="$cur/$part"
    if [ -L "$cur" ]; then printf '%s is a symbolic link' "${cur#"$dir"/}"; return 1; fi
    if [ ! -e "$cur" ]; then mkdir "$cur" || { printf 'cannot create %s' "${cur#"$dir"/}"; return 1; }
    elif [ ! -d "$cur" ]; then printf '%s is not a folder' "${cur#"$dir"/}"; return 1; fi
  done
  cur="$dir/$rel"
  if [ -d "$cur" ] && [ ! -L "$cur" ]; then printf '%s is a folder' "$rel"; return 1; fi
  mv -fT "$file" "$cur" || { printf 'cannot write %s' "$rel"; return 1; }
}
# a dep's artifacts: the manifest checked against its sha256, then only the files it lists, each checked
fetch_dep() {
  local i="$1" label="${DEP_LABELS[$1]}" stage="$RUNNER_DIR/deps/$1" got k rel why src dest drel where
  rm -rf "$stage"
  mkdir -p "$stage/files" || fail_early "cannot create $stage"
  if [ -n "${DEP_MANIFEST_KEYS[$i]}" ]; then
    store_get_fast "${DEP_MANIFEST_KEYS[$i]}" "$stage/artifacts.json" >>"$LOG_FILE" 2>&1 || fail_early "could not fetch the artifacts manifest of $label"
    got=$(sha256_of "$stage/artifacts.json")
    [ "$got" = "${DEP_MANIFEST_SHAS[$i]}" ] || fail_early "the artifacts manifest of $label (${DEP_MANIFEST_KEYS[$i]}) has sha256 $got, not ${DEP_MANIFEST_SHAS[$i]} as read when the run started: it changed, so its artifacts are not used"
  fi
  # S3: one sync of the prefix into the staging folder (one CLI call, not one per file)
  if [ "$STORE_KIND" = s3 ]; then
    aws_s3 sync "$(s3_url "${DEP_PREFIXES[$i]}")" "$stage/files" >>"$LOG_FILE" 2>&1 || fail_early "could not fetch the artifacts of $label"
  fi
  for k in "${!DEP_FILE_PATHS[@]}"; do
    [ "${DEP_FILE_DEPS[$k]}" = "$i" ] || continue
    rel="${DEP_FILE_PATHS[$k]}"
    src="$stage/files/$rel"
    if [ "$STORE_KIND" != s3 ]; then
      src="$stage/file"
      rm -f "$src"
      store_get "${DEP_PREFIXES[$i]}/$rel" "$src" >>"$LOG_FILE" 2>&1 || fail_early "could not fetch \`$rel\` of $label"
    fi
    [ -f "$src" ] && [ ! -L "$src" ] || fail_early "\`$rel\` of $label is missing from the store or not a regular file"
    got=$(sha256_of "$src")
    [ "$got" = "${DEP_FILE_SHAS[$k]}" ] || fail_early "\`$rel\` of $label has sha256 $got in the store, not ${DEP_FILE_SHAS[$k]} as its manifest says: it was changed, so it is not used"
    dest="$JOB_DIR" drel="$rel" where="the working folder"
    case "$rel" in
      _root/*)
        drel="${rel#_root/}" where="/${rel#_root/}"
        if [ -n "$IMAGE" ]; then dest="$ROOT_DIR"
        elif [ "$OWNS_MACHINE" = 1 ]; then dest=""
        else fail_early "$label has the absolute artifact /$drel, which is not written on a machine the run does not own: give the workflow an \`image\`, or run it with the aws backend"
        fi ;;
    esac
    why=$(place_file "$src" "$dest" "$drel") || fail_early "cannot put \`$rel\` of $label into $where: $why"
  done
  rm -rf "$stage"
}

# ---------- dstack's node variables for the job (every run; a single node is rank 0 of 1) ----------
NODE_ENV_NAMES=()
# export_node_env HOSTFILE: exports them (in the job's subshell) and lists their names in NODE_ENV_NAMES
export_node_env() {
  local i ips
  ips="$(printf '%s\n' "${NODES_IPS[@]}")"
  export DSTACK_NODES_NUM="$NODES_NUM" DSTACK_NODE_RANK="$NODE_RANK" DSTACK_MASTER_NODE_IP="${NODES_IPS[0]}" \
    DSTACK_NODES_IPS="${ips%$'\n'}" DSTACK_GPUS_PER_NODE="$GPUS_PER_NODE" DSTACK_GPUS_NUM="$GPUS_NUM" DSTACK_MPI_HOSTFILE="$1"
  NODE_ENV_NAMES=(DSTACK_NODES_NUM DSTACK_NODE_RANK DSTACK_MASTER_NODE_IP DSTACK_NODES_IPS DSTACK_GPUS_PER_NODE DSTACK_GPUS_NUM DSTACK_MPI_HOSTFILE)
  for i in "${!NODES_IPS[@]}"; do
    export "DSTACK_NODE_IP_$i=${NODES_IPS[$i]}"
    NODE_ENV_NAMES+=("DSTACK_NODE_IP_$i")
  done
}
# an MPI hostfile: a line per node, its address and its slots (GPUs, at least 1)
write_hostfile() {
  local ip slots=$GPUS_PER_NODE
  [ "$slots" -gt 0 ] || slots=1
  for ip in "${NODES_IPS[@]}"; do printf '%s slots=%d\n' "$ip" "$slots"; done >"$RUNNER_DIR/mpi_hostfile"
}

# ---------- startup_order: a node waits for the others' jobs to start (through the store) ----------
# store_read_small KEY FILE: a small object (a peer's status.json), quietly; false when it is not there
store_read_small() {
  if [ "$STORE_KIND" = s3 ]; then
    if s3_curl_ready; then
      local code
      s3_http_url "$1"
      code=$({
        printf 'user = "%s:%s"\n' "$CURL_AK" "$CURL_SK"
        [ -z "$CURL_ST" ] || printf 'header = "x-amz-security-token: %s"\n' "$CURL_ST"
      } | curl -sS -o "$2" -w '%{http_code}' --connect-timeout 10 --max-time 30 --aws-sigv4 "aws:amz:$S3_REGION:s3" \
        -H 'x-amz-content-sha256: UNSIGNED-PAYLOAD' -K - "$HTTP_URL" 2>/dev/null)
      [ "$code" = 200 ]
      return
    fi
    aws_s3 cp "$(s3_url "$1")" "$2" >/dev/null 2>&1
    return
  fi
  cp "$STORE_ROOT/$1" "$2" 2>/dev/null
}
# node_phase RANK: that node's phase and status as "phase status" (empty when it has written none)
node_phase() {
  local f="$RUNNER_DIR/peer.json" body phase status
  store_read_small "$RUN_PREFIX/attempts/$ATTEMPT/nodes/$1/status.json" "$f" || return 0
  body=$(head -c 4096 "$f")
  phase=$(printf '%s' "$body" | grep -o '"phase":"[a-z-]*"' | head -n 1 | cut -d'"' -f4)
  status=$(printf '%s' "$body" | grep -o '"status":"[a-z-]*"' | head -n 1 | cut -d'"' -f4)
  printf '%s %s' "$phase" "$status"
}
# wait_for_nodes RANK...: until each has started its job (phase setup or running); fails when one
# ended first, or this run is stopped or reaches max_duration
WAIT_ERROR=
wait_for_nodes() {
  local r st pending=("$@") left waited=0
  log "startup_order $STARTUP_ORDER: waiting for node(s) ${pending[*]} to start their commands"
  while [ "${#pending[@]}" -gt 0 ]; do
    left=()
    for r in "${pending[@]}"; do
      st=$(node_phase "$r")
      case "$st" in
        # a node that already finished its commands successfully had started them
        setup*|running*|uploading\ *|'done succeeded') ;;
        done*) WAIT_ERROR="node $r ended (${st#* }) before this node started its commands (startup_order $STARTUP_ORDER)"; return 1 ;;
        *) left+=("$r") ;;
      esac
    done
    pending=("${left[@]}")
    [ "${#pending[@]}" -gt 0 ] || break
    [ -z "$STOP" ] || return 1
    if [ "$SECONDS" -ge "$MAX_DURATION" ]; then request_stop timed-out "the run reached its max duration of $(format_duration "$MAX_DURATION") while waiting for the other nodes: the job was stopped"; return 1; fi
    sleep 1 & wait $! 2>/dev/null
    waited=$((waited + 1))
  done
  log "node(s) $* started their commands after ${waited}s: starting this node's"
}
startup_wait() {
  local r ranks=()
  [ "$NODES_NUM" -gt 1 ] || return 0
  case "$STARTUP_ORDER" in
    master-first) [ "$NODE_RANK" = 0 ] || ranks=(0) ;;
    workers-first) if [ "$NODE_RANK" = 0 ]; then for ((r = 1; r < NODES_NUM; r++)); do ranks+=("$r"); done; fi ;;
  esac
  [ "${#ranks[@]}" -gt 0 ] || return 0
  wait_for_nodes "${ranks[@]}"
}

# ---------- the job's environment: a list built on purpose (README "The job's environment") ----------
# JOB_ENV_UNSET: `-u NAME` for every variable of this environment but the pass-through list, the
# secrets, LC_* and DSTACK_RUNNER_DIR (names only on the command line; `env -0` also lists names
# bash cannot hold, such as INPUT_GITHUB-TOKEN)
JOB_ENV_UNSET=()
job_env_unset() {
  local kv n keep=" DSTACK_RUNNER_DIR DSTACK_METRICS DSTACK_REPORT DSTACK_RESTORED DSTACK_RESUMED_FROM ${NODE_ENV_NAMES[*]} ${JOB_ENV_KEEP[*]} ${SECRET_NAMES[*]} "
  [ -n "$IMAGE" ] && keep="$keep${DOCKER_ENV_KEEP[*]} "
  JOB_ENV_UNSET=()
  while IFS= read -r -d '' kv; do
    n="${kv%%=*}"
    case "$keep" in *" $n "*) continue ;; esac
    case "$n" in LC_*) continue ;; esac
    JOB_ENV_UNSET+=(-u "$n")
  done < <(env -0)
}

# ---------- secrets: redacted from the job's output before it reaches the log ----------
# DSTACK_REDACT (from the runner's environment, never the script text): one secret text per line,
# longest first. The job's output goes through this filter into job.log; nothing else reads it raw.
REDACT_PID=
redact_filter() {
  # GNU sed reads a line of any length in linear time (awk grows its record buffer in steps: a 50 MB
  # line took minutes). Each text is a literal: BRE metacharacters and the delimiter are escaped.
  # The script comes through a pipe, never argv (which /proc shows) or a file. Output is flushed per
  # line when stdbuf is there (never `sed -u`: it reads its input one byte at a time).
  local script v
  script=$(
    while IFS= read -r v; do
      [ -n "$v" ] || continue
      printf 's/%s/***/g\n' "$(printf '%s' "$v" | LC_ALL=C sed 's/[][\\/.*^$]/\\&/g')"
    done <<<"$DSTACK_REDACT"
  )
  if command -v stdbuf >/dev/null 2>&1; then LC_ALL=C exec stdbuf -oL sed -f <(printf '%s\n' "$script"); fi
  LC_ALL=C exec sed -f <(printf '%s\n' "$script")
}
# start the filter on a fifo and point JOB_OUT (where the job writes) at it
start_redactor() {
  local fifo="$RUNNER_DIR/job.out"
  rm -f "$fifo"
  mkfifo -m 600 "$fifo" || return 1
  redact_filter <"$fifo" >>"$LOG_FILE" 2>&1 &
  REDACT_PID=$!
  JOB_OUT="$fifo"
}
# the filter has not exited yet (one that exited stays a zombie until `wait`: kill -0 would say yes)
redactor_running() {
  local st
  [ -r "/proc/$REDACT_PID/stat" ] || { kill -0 "$REDACT_PID" 2>/dev/null; return; }
  read -r st <"/proc/$REDACT_PID/stat" 2>/dev/null || return 1
  st="${st##*) }"
  [ "${st%% *}" != Z ]
}
# wait for the filter to drain what the job wrote (up to 5 s after the job's group is gone)
stop_redactor() {
  [ -n "$REDACT_PID" ] || return 0
  local t=0
  while redactor_running && [ "$t" -lt 250 ]; do sleep 0.02; t=$((t + 1)); done
  kill "$REDACT_PID" 2>/dev/null || true
  wait "$REDACT_PID" 2>/dev/null || true
  REDACT_PID=
  rm -f "$RUNNER_DIR/job.out"
}

# ---------- provenance: the digest of the image the job ran in (status.json imageDigest) ----------
IMAGE_DIGEST=
image_digest() {
  [ -n "$IMAGE" ] || return 0
  IMAGE_DIGEST=$(docker image inspect --format '{{join .RepoDigests " "}}' "$IMAGE" 2>/dev/null | cut -d' ' -f1) || IMAGE_DIGEST=
  case "$IMAGE_DIGEST" in *@sha256:*) ;; *) IMAGE_DIGEST= ;; esac
}

# ---------- a private work folder ----------
# WORK_BASE and WORK are created with mode 0700; an existing WORK_BASE must be ours and no symlink
make_work_dir() {
  local base="$1"
  (umask 077 && mkdir -p "$base") || return 1
  if [ -L "$base" ] || [ ! -O "$base" ]; then
    printf '[dstack] the work root %s is a symbolic link or belongs to another user: refusing to use it\n' "$base" >&2
    return 1
  fi
  chmod 700 "$base" || return 1
  rm -rf "$WORK"
  (umask 077 && mkdir -p "$CODE_DIR" "$RUNNER_DIR") || return 1
  chmod 700 "$WORK" "$CODE_DIR" "$RUNNER_DIR"
}

# ---------- job control ----------
job_alive() { [ -n "$JOB_PID" ] && kill -0 "$JOB_PID" 2>/dev/null; }
signal_job() {
  [ -n "$JOB_PID" ] || return 0
  kill -"$1" -- "-$JOB_PID" 2>/dev/null || kill -"$1" "$JOB_PID" 2>/dev/null || true
}
request_stop() {
  # first reason wins: a timeout after a cancel is still a cancel
  [ -n "$STOP" ] && return 0
  STOP="$1"
  STOP_REASON="$2"
  STOP_AT=$SECONDS
  log "$2"
  signal_job TERM
}
on_signal() { request_stop cancelled "the runner received SIG$1: the job was stopped"; }
# DSTACK_WATCHER_PID: the process that started this runner and watches it (local backend, not
# detached). When it is gone (killed with SIGKILL, say), this runner was handed to another parent:
# nobody reads the job's result any more, so the job is stopped (its artifacts are still saved).
watcher_gone() {
  local w="${DSTACK_WATCHER_PID:-}" ppid
  case "$w" in ''|*[!0-9]*) return 1 ;; esac
  if [ -r "/proc/$$/stat" ]; then
    # every tick: read without starting a process; the ppid is the 2nd field after the `(comm)`
    read -r ppid <"/proc/$$/stat" 2>/dev/null || ppid=
    ppid="${ppid##*) }"
    ppid="${ppid#* }"
    ppid="${ppid%% *}"
  else
    ppid=$(ps -o ppid= -p "$$" 2>/dev/null | tr -d ' ')
  fi
  [ -n "$ppid" ] && [ "$ppid" != "$w" ]
}
trap 'on_signal TERM' TERM
trap 'on_signal INT' INT
trap 'on_signal HUP' HUP

# spot interruption notice (IMDSv2); prints "action time" when one is scheduled
spot_notice() {
  local token body code
  command -v curl >/dev/null 2>&1 || return 1
  token=$(curl -fsS -m 2 -X PUT -H 'X-aws-ec2-metadata-token-ttl-seconds: 300' "$IMDS/latest/api/token" 2>/dev/null) || token=
  body=$(curl -sS -m 2 -w '\n%{http_code}' ${token:+-H "X-aws-ec2-metadata-token: $token"} "$IMDS/latest/meta-data/spot/instance-action" 2>/dev/null) || return 1
  code="${body##*$'\n'}"
  [ "$code" = 200 ] || return 1
  body="${body%$'\n'*}"
  local action time
  action=$(printf '%s' "$body" | grep -o '"action"[[:space:]]*:[[:space:]]*"[^"]*"' | sed 's/.*"\([^"]*\)"$/\1/')
  time=$(printf '%s' "$body" | grep -o '"time"[[:space:]]*:[[:space:]]*"[^"]*"' | sed 's/.*"\([^"]*\)"$/\1/')
  printf '%s\n' "$time" >"$RUNNER_DIR/notice-time" 2>/dev/null
  printf '%s %s' "${action:-terminate}" "${time:-soon}"
}

# ---------- absolute paths, deps, private registries ----------
# Absolute paths are only ever written on a machine the run owns, or inside its container.
PLACE_ERROR=
place_checkout() {
  local p
  if [ -n "$IMAGE" ]; then
    for p in "${ROOT_PATHS[@]}"; do mkdir -p "$ROOT_DIR$p" || { PLACE_ERROR="cannot create $ROOT_DIR$p"; return 1; }; done
    return 0
  fi
  if ! is_abs "$WORKING_DIR" && [ "${#ROOT_PATHS[@]}" -eq 0 ]; then return 0; fi
  if [ "$OWNS_MACHINE" != 1 ]; then
    PLACE_ERROR="absolute paths (working_dir ${WORKING_DIR}; ${ROOT_PATHS[*]:-no absolute artifacts}) would be written outside this run's folder on a machine the run does not own: give the workflow an \`image\`, use relative paths, or run it with the aws backend"
    return 1
  fi
  if is_abs "$WORKING_DIR"; then
    if [ -d "$WORKING_DIR" ] && [ -n "$(ls -A "$WORKING_DIR" 2>/dev/null)" ]; then
      PLACE_ERROR="working_dir $WORKING_DIR already exists and is not empty on this machine: choose an empty or new folder"
      return 1
    fi
    mkdir -p "$WORKING_DIR" || { PLACE_ERROR="cannot create working_dir $WORKING_DIR"; return 1; }
    CODE_DIR="$WORKING_DIR"
  fi
  for p in "${ROOT_PATHS[@]}"; do mkdir -p "$p" || { PLACE_ERROR="cannot create $p"; return 1; }; done
}

# the registry of an image reference: its first part when that is a host, else Docker Hub
registry_of() {
  local first="${1%%/*}"
  if [ "$first" != "$1" ] && { [[ "$first" == *.* ]] || [[ "$first" == *:* ]] || [ "$first" = localhost ]; }; then printf '%s' "$first"; fi
}
# log in with a Docker config folder in memory (/dev/shm), pull the image, log out, delete the folder:
# the credentials never reach a disk, an argument list (the password goes through stdin) or the job
LOGIN_ERROR=
registry_login() {
  [ "$REGISTRY_AUTH" = 1 ] || return 0
  local cfg registry rc=0
  registry="$(registry_of "$IMAGE")"
  if [ -z "$REG_USER" ] || [ -z "$REG_PASS" ]; then LOGIN_ERROR="registry_auth: DSTACK_REGISTRY_USERNAME and DSTACK_REGISTRY_PASSWORD are not set in the runner's environment"; return 1; fi
  if ! cfg="$(mktemp -d /dev/shm/dstack-registry.XXXXXX 2>/dev/null)"; then LOGIN_ERROR="registry_auth: /dev/shm is not available to hold the registry credentials in memory"; return 1; fi
  chmod 700 "$cfg"
  log "logging in to ${registry:-Docker Hub} to pull $IMAGE"
  if ! printf '%s' "$REG_PASS" | docker --config "$cfg" login --username "$REG_USER" --password-stdin ${registry:+"$registry"} >>"$LOG_FILE" 2>&1; then
    LOGIN_ERROR="registry_auth: docker login to ${registry:-Docker Hub} failed (check the username and the secret)"
    rc=1
  elif ! docker --config "$cfg" pull "$IMAGE" >>"$LOG_FILE" 2>&1; then
    LOGIN_ERROR="registry_auth: pulling $IMAGE failed"
    rc=1
  fi
  docker --config "$cfg" logout ${registry:+"$registry"} >/dev/null 2>&1 || true
  rm -rf "$cfg"
  REG_PASS=
  return "$rc"
}

# ---------- work folder: removed after a success, kept (and said so) after a failure or with DSTACK_KEEP_WORK=1 ----------
keep_work() { [ "${DSTACK_KEEP_WORK:-}" = 1 ] || [ "$1" != succeeded ]; }
work_folder_note() {
  if [ "${DSTACK_KEEP_WORK:-}" = 1 ]; then log "work folder kept (DSTACK_KEEP_WORK=1): $WORK"
  elif [ "$1" != succeeded ] && [ "$SELF_DESTRUCT" != 1 ]; then log "work folder kept to look into, as the run $1: $WORK (removed after a success; DSTACK_KEEP_WORK=1 always keeps it)"
  fi
}
remove_work_folder() {
  # the folder the local backend wrote this script to, for a detached run that nobody waits for
  case "${DSTACK_RUNNER_TMP:-}" in
    */dstack-runner-*) [ -f "$DSTACK_RUNNER_TMP/runner.sh" ] && rm -rf "$DSTACK_RUNNER_TMP" ;;
  esac
  if keep_work "$1"; then
    [ "${DSTACK_KEEP_WORK:-}" = 1 ] || [ "$SELF_DESTRUCT" != 1 ] || [ "$CODE_DIR" != "$WORK/code" ] || rm -rf "$CODE_DIR"
    return 0
  fi
  rm -rf "$WORK"
  rmdir "$(dirname "$WORK")" 2>/dev/null || true
}
# "this host" for a local run, the instance's name on a cloud machine
machine_label() { if [ "$SELF_DESTRUCT" = 1 ]; then hostname 2>/dev/null || echo '?'; else printf 'this host'; fi; }

# ---------- finish: always uploads artifacts, the last log chunk and status.json ----------
FINISHED=
finish() {
  local status="$1" code="$2" reason="$3" rc="$4"
  [ -n "$FINISHED" ] && return
  FINISHED=1
  trap '' TERM INT HUP
  finish_checkpoints "$status" "$code" "$reason"
  PHASE=uploading
  # nothing to upload: the next status.json says done, in a few milliseconds
  [ "${#ARTIFACT_PATHS[@]}" -eq 0 ] && ! has_job_outputs || write_status
  if [ "$NODE_RANK" != 0 ]; then
    [ "${#ARTIFACT_PATHS[@]}" -eq 0 ] || log "artifacts are stored from the master node (rank 0) only: this node's are not"
  elif ! upload_artifacts; then
    if [ "$status" = succeeded ]; then status=failed; code=1; rc=1; reason="the job succeeded, but uploading its artifacts failed"; fi
  fi
  [ "${#NOTES[@]}" -gt 0 ] && reason="$reason; $(IFS=';'; printf '%s' "${NOTES[*]}" | sed 's/;/; /g')"
  log "$status: $reason"
  work_folder_note "$status"
  print_new
  ship_logs
  ship_logs
  PHASE=done
  write_status "$status" "$code" "$reason" "$(now_utc)"
  rm -f "$PID_NOTE"
  remove_work_folder "$status"
  exit "$rc"
}
# a failure before the job started
fail_early() { finish failed "" "$1" 1; }

# ---------- start ----------
# One runner per attempt on an SSM-managed instance: a second start of the same attempt (a
# repeated SendCommand) must not wipe and reuse the first one's folder, nor write its status.
claim_attempt() {
  [ -n "${AWS_SSM_INSTANCE_ID:-}" ] || return 0
  (umask 077 && mkdir -p "$(dirname "$WORK")") 2>/dev/null || return 0
  if ! mkdir "$WORK.claimed" 2>/dev/null; then
    printf '[dstack] attempt %s of %s already has a runner on this machine (%s.claimed exists): not starting a second one\n' "$ATTEMPT" "$RUN_NAME" "$WORK" >&2
    exit 3
  fi
}
export HOME="${HOME:-/root}"
claim_attempt
if ! make_work_dir "$WORK_BASE" || ! mkdir -p "$JOB_OUT_DIR"; then
  printf '[dstack] cannot create the work folder %s\n' "$WORK" >&2
  PHASE=done
  RUNNER_DIR="$(mktemp -d)" && write_status failed "" "cannot create the work folder $WORK" "$(now_utc)"
  exit 1
fi
: >"$LOG_FILE"
log "run $RUN_NAME, workflow $WORKFLOW, attempt $ATTEMPT, revision $REVISION, on $(machine_label)$([ "$NODES_NUM" -gt 1 ] && printf ', %s' "$(node_label)")"
write_status
[ -z "$NODE_ERROR" ] || fail_early "$NODE_ERROR"

if [ "$SELF_DESTRUCT" = 1 ]; then
  mins=$(( (MAX_DURATION + 59) / 60 + 10 ))
  if shutdown -h "+$mins" "dstack: run $RUN_NAME reached its max duration" >/dev/null 2>&1; then
    log "self-destruct armed: this machine shuts down in $mins minutes"
  else
    log "warning: could not arm the self-destruct (shutdown -h +$mins failed)"
  fi
fi

# secrets: names only; values come from this script's environment
missing_secrets=()
for n in "${SECRET_NAMES[@]}"; do
  [ -n "${!n+x}" ] || missing_secrets+=("$n")
done
[ "${#missing_secrets[@]}" -eq 0 ] || fail_early "secret env ${missing_secrets[*]} is not set in the runner's environment"

# an absolute working_dir: the checkout is placed there (on the machine the run owns, or mounted in the container)
place_checkout || fail_early "$PLACE_ERROR"

# code snapshot
set_phase code
fetch_code
[ -n "$STOP" ] && finish "$STOP" "" "$STOP_REASON" 143

if [ "$WORKING_DIR" = . ] || is_abs "$WORKING_DIR"; then JOB_DIR="$CODE_DIR"; else JOB_DIR="$CODE_DIR/$WORKING_DIR"; fi
mkdir -p "$JOB_DIR" || fail_early "cannot create the working directory $WORKING_DIR"
[ -z "$(artifact_refusal "$JOB_DIR")" ] || fail_early "the working directory $WORKING_DIR is, or is under, a symbolic link out of the code: $(artifact_refusal "$JOB_DIR")"

# deps: their artifacts into the working folder
if [ "${#DEP_PREFIXES[@]}" -gt 0 ]; then
  set_phase deps
  for i in "${!DEP_PREFIXES[@]}"; do
    log "fetching the artifacts of ${DEP_LABELS[$i]}"
    fetch_dep "$i"
  done
fi
restore_checkpoints
[ -n "$STOP" ] && finish "$STOP" "" "$STOP_REASON" 143

printf '%s\n' "$JOB_SCRIPT" >"$RUNNER_DIR/job.sh"

# build the job command
if [ -n "$IMAGE" ]; then
  if ! command -v docker >/dev/null 2>&1; then
    fail_early "workflow \`$WORKFLOW\` needs the docker image \`$IMAGE\`, but no Docker engine is available on this machine (there is no \`docker\` command; install Docker and start its engine, or run it with the aws backend)"
  fi
  if ! docker_err=$(docker info 2>&1 >/dev/null); then
    docker_err=$(printf '%s' "$docker_err" | grep -v '^[[:space:]]*$' | tail -n 1)
    fail_early "workflow \`$WORKFLOW\` needs the docker image \`$IMAGE\`, but no Docker engine is available on this machine (\`docker info\` failed: ${docker_err:-no answer}; start the Docker engine, e.g. \`sudo systemctl start docker\`, or run it with the aws backend)"
  fi
  registry_login || fail_early "$LOGIN_ERROR"
  code_mount=/workflow
  is_abs "$WORKING_DIR" && code_mount="$WORKING_DIR"
  if [ "$WORKING_DIR" = . ] || is_abs "$WORKING_DIR"; then container_dir="$code_mount"; else container_dir="/workflow/$WORKING_DIR"; fi
  JOB_CMD=(docker run --rm -i --name "dstack-$RUN_NAME-$ATTEMPT-$$" -v "$CODE_DIR:$code_mount" -v "$RUNNER_DIR:/dstack-runner" -w "$container_dir" -e DSTACK_RUNNER_DIR=/dstack-runner)
  for p in "${ROOT_PATHS[@]}"; do JOB_CMD+=(-v "$ROOT_DIR$p:$p"); done
  command -v nvidia-smi >/dev/null 2>&1 && JOB_CMD+=(--gpus all)
  JOB_CMD+=(-v "$JOB_OUT_DIR:/dstack-out" -e DSTACK_METRICS=/dstack-out/metrics.jsonl -e DSTACK_REPORT=/dstack-out/report.md)
  for n in "${SECRET_NAMES[@]}"; do JOB_CMD+=(-e "$n"); done
  JOB_CMD+=(-e DSTACK_RESTORED -e DSTACK_RESUMED_FROM)
  export_node_env /dstack-runner/mpi_hostfile
  for n in "${NODE_ENV_NAMES[@]}"; do JOB_CMD+=(-e "$n"); done
  # the nodes reach each other at the machines' own addresses: the container shares the host's network
  [ "$NODES_NUM" -gt 1 ] && JOB_CMD+=(--network host)
  if [ -n "$ENTRYPOINT" ]; then
    read -r -a ep <<<"$ENTRYPOINT"
    JOB_CMD+=(--entrypoint "${ep[0]}" "$IMAGE" "${ep[@]:1}")
    [ "$HAS_COMMANDS" = 1 ] && JOB_CMD+=("$JOB_SCRIPT")
  elif [ "$HAS_COMMANDS" = 1 ]; then
    JOB_CMD+=(--entrypoint /bin/sh "$IMAGE" -c 'if command -v bash >/dev/null 2>&1; then exec bash "$0"; else exec sh "$0"; fi' /dstack-runner/job.sh)
  else
    JOB_CMD+=("$IMAGE")
  fi
else
  if [ -n "$PYTHON_VERSION" ]; then
    have=$(python3 --version 2>&1 | sed -n 's/^Python \([0-9][0-9.]*\).*/\1/p')
    case "$have" in
      "$PYTHON_VERSION"|"$PYTHON_VERSION".*) ;;
      '') log "warning: the workflow asks for python $PYTHON_VERSION, but python3 was not found on this machine" ;;
      *) log "warning: the workflow asks for python $PYTHON_VERSION, but this machine has python $have" ;;
    esac
  fi
  JOB_CMD=(bash "$RUNNER_DIR/job.sh")
fi

# ---------- run ----------
[ -n "$STOP" ] && finish "$STOP" "" "$STOP_REASON" 143
write_hostfile
if ! startup_wait; then
  case "$STOP" in
    timed-out) finish timed-out "" "$STOP_REASON" 124 ;;
    ?*) finish "$STOP" "" "$STOP_REASON" 143 ;;
  esac
  fail_early "$WAIT_ERROR"
fi
if [ "$HAS_SETUP" = 1 ]; then set_phase setup; else set_phase running; fi
log "running in ${WORKING_DIR}"
JOB_STARTED=$SECONDS
JOB_OUT="$LOG_FILE"
tick_open
if [ -n "${DSTACK_REDACT:-}" ]; then start_redactor || fail_early "cannot start the secret redaction filter"; fi
(
  cd "$JOB_DIR" || exit 1
  trap - TERM INT HUP
  export DSTACK_RUNNER_DIR="$RUNNER_DIR"
  export DSTACK_METRICS="$JOB_OUT_DIR/metrics.jsonl" DSTACK_REPORT="$JOB_OUT_DIR/report.md"
  if [ -n "$IMAGE" ]; then export_node_env /dstack-runner/mpi_hostfile; else export_node_env "$RUNNER_DIR/mpi_hostfile"; fi
  job_env_unset
  tick_on_exit
  exec setsid env "${JOB_ENV_UNSET[@]}" "${JOB_CMD[@]}" </dev/null >>"$JOB_OUT" 2>&1
) &
JOB_PID=$!
printf '%s\n' "$JOB_PID" >"$PID_NOTE" 2>/dev/null || true
[ -n "$STOP" ] && signal_job TERM # a signal that arrived while the job was starting

last_ship=$SECONDS
last_spot=-1000000
ship_ticks
while job_alive; do
  tick_wait
  job_alive || break # the job just ended: finish ships the rest at once
  if [ "$PHASE" = setup ] && [ -f "$RUNNER_DIR/step" ] && grep -q '^commands' "$RUNNER_DIR/step" 2>/dev/null; then set_phase running; fi
  if log_ship_due; then
    print_new
    ship_logs
    ship_ticks
  fi
  if [ $((SECONDS - last_ship)) -ge "$LOG_INTERVAL" ]; then
    last_ship=$SECONDS
    sync_mounts
  fi
  if [ -z "$STOP" ] && [ "$SPOT_WATCH" = 1 ] && [ $((SECONDS - last_spot)) -ge "$SPOT_POLL" ]; then
    last_spot=$SECONDS
    if notice=$(spot_notice); then
      request_stop interrupted "spot interruption notice: the instance will ${notice%% *} at ${notice#* }; the job was stopped"
    fi
  fi
  if [ -z "$STOP" ] && watcher_gone; then
    request_stop cancelled "the process that started this run (pid $DSTACK_WATCHER_PID) is gone: the job was stopped"
  fi
  if [ -z "$STOP" ] && [ "$SECONDS" -ge "$MAX_DURATION" ]; then
    request_stop timed-out "the run reached its max duration of $(format_duration "$MAX_DURATION"): the job was stopped"
  fi
  if [ -n "$STOP" ] && [ $((SECONDS - STOP_AT)) -ge "$KILL_AFTER" ] && job_alive; then
    log "the job did not stop within ${KILL_AFTER}s: killing it"
    signal_job KILL
    STOP_AT=$((SECONDS + 1000000))
  fi
done
wait "$JOB_PID" 2>/dev/null
JOB_EXIT=$?
signal_job KILL # leftovers of the job's process group
stop_redactor
image_digest
print_new

case "$STOP" in
  cancelled) finish cancelled "$JOB_EXIT" "$STOP_REASON" 143 ;;
  timed-out) finish timed-out "$JOB_EXIT" "$STOP_REASON" 124 ;;
  interrupted) finish interrupted "$JOB_EXIT" "$STOP_REASON" 75 ;;
esac
if [ "$JOB_EXIT" = 0 ]; then
  finish succeeded 0 "all commands exited with 0" 0
fi
step=$(cat "$RUNNER_DIR/step" 2>/dev/null || true)
how="exited with $JOB_EXIT"
if [ "$JOB_EXIT" -gt 128 ] && [ "$JOB_EXIT" -lt 160 ]; then
  sig=$(kill -l "$((JOB_EXIT - 128))" 2>/dev/null || echo "$((JOB_EXIT - 128))")
  how="$how (killed by SIG$sig"
  [ "$sig" = KILL ] && how="$how: out of memory?"
  how="$how)"
fi
if [ -n "$IMAGE" ] && [ -z "$step" ]; then
  finish failed "$JOB_EXIT" "the container $how" "$JOB_EXIT"
fi
finish failed "$JOB_EXIT" "${step:-the job} $how" "$JOB_EXIT"
