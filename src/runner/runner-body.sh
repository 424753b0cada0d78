# ---- runner body (src/runner/runner-body.sh; embedded by render.ts through body.generated.ts) ----
# Expects the header (rendered by render.ts) to have set, all shell-quoted:
#   RUN_NAME WORKFLOW REPO_ID REVISION ATTEMPT STORE_KIND STORE_ROOT S3_BUCKET S3_PREFIX S3_REGION
#   DEFAULT_S3_ENDPOINT RUN_PREFIX CODE_KEY WORKING_DIR DEP_LABELS[] DEP_PREFIXES[]
#   ARTIFACT_PATHS[] ARTIFACT_MOUNTS[] SECRET_NAMES[] IMAGE ENTRYPOINT PYTHON_VERSION
#   MAX_DURATION SELF_DESTRUCT SPOT_WATCH DEFAULT_LOG_INTERVAL DEFAULT_WORK_ROOT JOB_SCRIPT
# Exit codes: 0 succeeded; failed: the job's exit code (1 when the runner failed before or
# around the job); 124 timed-out; 143 cancelled; 75 interrupted (spot notice).

AWS_CLI="${DSTACK_AWS_CLI:-aws}"
S3_ENDPOINT="${DSTACK_S3_ENDPOINT:-$DEFAULT_S3_ENDPOINT}"
IMDS="${DSTACK_IMDS_ENDPOINT:-http://169.254.169.254}"
IMDS="${IMDS%/}"
LOG_INTERVAL="${DSTACK_LOG_INTERVAL:-$DEFAULT_LOG_INTERVAL}"
SPOT_POLL="${DSTACK_SPOT_POLL_INTERVAL:-5}"
KILL_AFTER="${DSTACK_KILL_AFTER:-20}"
case "$LOG_INTERVAL" in ''|*[!0-9]*|0) LOG_INTERVAL=2 ;; esac
case "$SPOT_POLL" in ''|*[!0-9]*|0) SPOT_POLL=5 ;; esac
case "$KILL_AFTER" in ''|*[!0-9]*) KILL_AFTER=20 ;; esac

WORK="${DSTACK_WORK_ROOT:-$DEFAULT_WORK_ROOT}/$RUN_NAME/$ATTEMPT"
CODE_DIR="$WORK/code"
RUNNER_DIR="$WORK/runner"
LOG_FILE="$RUNNER_DIR/job.log"
ATTEMPT_PREFIX="$RUN_PREFIX/attempts/$ATTEMPT"
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
  s="$(printf '%s' "$s" | LC_ALL=C tr -d '\000-\010\013\014\016-\037\177')"
  printf '"%s"' "$s"
}

# runner messages: into the job log (shipped to the store) and to stdout via the printer
log() { printf '[dstack] %s\n' "$*" >>"$LOG_FILE" 2>/dev/null || printf '[dstack] %s\n' "$*" >&2; }
note() { NOTES+=("$*"); log "$*"; }
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
folder_tmp() { printf '%s/.~tmp.%s.%s' "$(dirname "$1")" "$$" "$RANDOM"; }

# store_put FILE KEY (atomic for folders: temp file + rename)
store_put() {
  if [ "$STORE_KIND" = s3 ]; then aws_s3 cp "$1" "$(s3_url "$2")"; return; fi
  local dest="$STORE_ROOT/$2" tmp
  mkdir -p "$(dirname "$dest")" || return 1
  tmp="$(folder_tmp "$dest")"
  cp "$1" "$tmp" && mv -f "$tmp" "$dest" || { rm -f "$tmp"; return 1; }
}
# store_get KEY FILE
store_get() {
  if [ "$STORE_KIND" = s3 ]; then aws_s3 cp "$(s3_url "$1")" "$2"; return; fi
  cp "$STORE_ROOT/$1" "$2"
}
# store_sync_up DIR PREFIX
store_sync_up() {
  if [ "$STORE_KIND" = s3 ]; then aws_s3 sync "$1" "$(s3_url "$2")"; return; fi
  # -p keeps mtimes so -u copies only what changed (mounted artifacts are synced every tick)
  mkdir -p "$STORE_ROOT/$2" || return 1
  cp -Rpu "$1/." "$STORE_ROOT/$2/" 2>/dev/null || cp -Rp "$1/." "$STORE_ROOT/$2/"
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
    [ -n "$reason" ] && printf ',"reason":%s' "$(json_str "$reason")"
    printf ',"startedAt":%s' "$(json_str "$STARTED_AT")"
    [ -n "$ended" ] && printf ',"endedAt":%s' "$(json_str "$ended")"
    printf ',"logChunks":%d}\n' "$LOG_SEQ"
  } >"$f"
  store_put "$f" "$ATTEMPT_PREFIX/status.json" || printf '[dstack] could not write status.json (%s) to the store\n' "$PHASE" >&2
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
  if store_put "$chunk" "$ATTEMPT_PREFIX/logs/$(printf '%06d' "$LOG_SEQ").log"; then
    LOG_SHIPPED=$size
    LOG_SEQ=$((LOG_SEQ + 1))
  fi
}

# ---------- artifacts ----------
artifact_src() { if [ "$WORKING_DIR" = . ]; then printf '%s/%s' "$CODE_DIR" "$1"; else printf '%s/%s/%s' "$CODE_DIR" "$WORKING_DIR" "$1"; fi; }
upload_artifact() {
  local path="$1" src
  src="$(artifact_src "$path")"
  if [ -d "$src" ]; then store_sync_up "$src" "$ARTIFACTS_PREFIX/$path"
  elif [ -f "$src" ]; then store_put "$src" "$ARTIFACTS_PREFIX/$path"
  else return 2
  fi
}
sync_mounts() {
  local i
  for i in "${!ARTIFACT_PATHS[@]}"; do
    [ "${ARTIFACT_MOUNTS[$i]}" = 1 ] || continue
    upload_artifact "${ARTIFACT_PATHS[$i]}" >/dev/null 2>&1 || true
  done
}
# upload every artifact, then artifacts.json; returns 1 when an upload failed
upload_artifacts() {
  local i path src rc failed=0 missing=()
  local manifest="$RUNNER_DIR/artifacts.json" first=1 f rel size sum
  [ "${#ARTIFACT_PATHS[@]}" -gt 0 ] || return 0
  for i in "${!ARTIFACT_PATHS[@]}"; do
    path="${ARTIFACT_PATHS[$i]}"
    upload_artifact "$path"
    rc=$?
    if [ "$rc" = 2 ]; then missing+=("$path")
    elif [ "$rc" != 0 ]; then failed=1; note "uploading artifact \`$path\` failed"
    fi
  done
  [ "${#missing[@]}" -gt 0 ] && note "artifact path(s) not found after the job: ${missing[*]} (nothing uploaded for them)"
  {
    printf '['
    for i in "${!ARTIFACT_PATHS[@]}"; do
      path="${ARTIFACT_PATHS[$i]}"
      src="$(artifact_src "$path")"
      [ -e "$src" ] || continue
      while IFS= read -r -d '' f; do
        if [ -d "$src" ]; then rel="$path/${f#"$src"/}"; else rel="$path"; fi
        size=$(stat -c %s "$f") || continue
        sum=$(sha256sum <"$f" | cut -d' ' -f1) || continue
        [ "$first" = 1 ] || printf ','
        first=0
        printf '\n  {"path":%s,"size":%d,"sha256":"%s"}' "$(json_str "$rel")" "$size" "$sum"
      done < <(if [ -d "$src" ]; then find "$src" -type f -print0 | LC_ALL=C sort -z; else printf '%s\0' "$src"; fi)
    done
    printf '\n]\n'
  } >"$manifest"
  store_put "$manifest" "$RUN_PREFIX/artifacts.json" || { failed=1; note "uploading artifacts.json failed"; }
  return "$failed"
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
  printf '%s %s' "${action:-terminate}" "${time:-soon}"
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
    [ "${DSTACK_KEEP_WORK:-}" = 1 ] || [ "$SELF_DESTRUCT" != 1 ] || rm -rf "$CODE_DIR"
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
  PHASE=uploading
  write_status
  if ! upload_artifacts; then
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
export HOME="${HOME:-/root}"
rm -rf "$WORK"
if ! mkdir -p "$CODE_DIR" "$RUNNER_DIR"; then
  printf '[dstack] cannot create the work folder %s\n' "$WORK" >&2
  PHASE=done
  RUNNER_DIR="$(mktemp -d)" && write_status failed "" "cannot create the work folder $WORK" "$(now_utc)"
  exit 1
fi
: >"$LOG_FILE"
log "run $RUN_NAME, workflow $WORKFLOW, attempt $ATTEMPT, revision $REVISION, on $(machine_label)"
write_status

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

# code snapshot
set_phase code
if ! store_get "$CODE_KEY" "$RUNNER_DIR/code.tar.gz" >>"$LOG_FILE" 2>&1; then
  fail_early "could not fetch the code snapshot $CODE_KEY from the store"
fi
if ! tar -xzf "$RUNNER_DIR/code.tar.gz" -C "$CODE_DIR" >>"$LOG_FILE" 2>&1; then
  fail_early "could not unpack the code snapshot $CODE_KEY"
fi
rm -f "$RUNNER_DIR/code.tar.gz"
[ -n "$STOP" ] && finish "$STOP" "" "$STOP_REASON" 143

if [ "$WORKING_DIR" = . ]; then JOB_DIR="$CODE_DIR"; else JOB_DIR="$CODE_DIR/$WORKING_DIR"; fi
mkdir -p "$JOB_DIR" || fail_early "cannot create the working directory $WORKING_DIR"

# deps: their artifacts into the working folder
if [ "${#DEP_PREFIXES[@]}" -gt 0 ]; then
  set_phase deps
  for i in "${!DEP_PREFIXES[@]}"; do
    log "fetching the artifacts of ${DEP_LABELS[$i]}"
    store_sync_down "${DEP_PREFIXES[$i]}" "$JOB_DIR" >>"$LOG_FILE" 2>&1 || fail_early "could not fetch the artifacts of ${DEP_LABELS[$i]}"
  done
fi
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
  if [ "$WORKING_DIR" = . ]; then container_dir=/workflow; else container_dir="/workflow/$WORKING_DIR"; fi
  JOB_CMD=(docker run --rm -i --name "dstack-$RUN_NAME-$ATTEMPT-$$" -v "$CODE_DIR:/workflow" -v "$RUNNER_DIR:/dstack-runner" -w "$container_dir" -e DSTACK_RUNNER_DIR=/dstack-runner)
  command -v nvidia-smi >/dev/null 2>&1 && JOB_CMD+=(--gpus all)
  for n in "${SECRET_NAMES[@]}"; do JOB_CMD+=(-e "$n"); done
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
if [ "$HAS_SETUP" = 1 ]; then set_phase setup; else set_phase running; fi
log "running in ${WORKING_DIR}"
JOB_STARTED=$SECONDS
(
  cd "$JOB_DIR" || exit 1
  trap - TERM INT HUP
  export DSTACK_RUNNER_DIR="$RUNNER_DIR"
  exec setsid "${JOB_CMD[@]}" </dev/null >>"$LOG_FILE" 2>&1
) &
JOB_PID=$!
printf '%s\n' "$JOB_PID" >"$PID_NOTE" 2>/dev/null || true
[ -n "$STOP" ] && signal_job TERM # a signal that arrived while the job was starting

last_ship=$SECONDS
last_spot=-1000000
while job_alive; do
  sleep 1 &
  wait $! 2>/dev/null
  print_new
  if [ "$PHASE" = setup ] && [ -f "$RUNNER_DIR/step" ] && grep -q '^commands' "$RUNNER_DIR/step" 2>/dev/null; then set_phase running; fi
  if [ $((SECONDS - last_ship)) -ge "$LOG_INTERVAL" ]; then
    last_ship=$SECONDS
    ship_logs
    sync_mounts
  fi
  if [ -z "$STOP" ] && [ "$SPOT_WATCH" = 1 ] && [ $((SECONDS - last_spot)) -ge "$SPOT_POLL" ]; then
    last_spot=$SECONDS
    if notice=$(spot_notice); then
      request_stop interrupted "spot interruption notice: the instance will ${notice%% *} at ${notice#* }; the job was stopped"
    fi
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
