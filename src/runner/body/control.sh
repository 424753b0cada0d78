# ---- body/control.sh: the job's process, stopping it (signals, spot notice, watcher), finishing ----
# Reads: IMDS RUNNER_DIR TICK_MS ARTIFACT_PATHS[] NODE_RANK NOTES[] PID_NOTE PHASE JOB_PRIV[]; DSTACK_WATCHER_PID.
# Needs: log own_file now_utc write_status print_new ship_logs finish_checkpoints has_job_outputs upload_artifacts
#   job_user_reclaim (JOB_PRIV[])
#   work_folder_note remove_work_folder keep_machine
# Offers: JOB_PID JOB_EXIT STOP STOP_REASON STOP_AT; tick_open tick_on_exit tick_wait job_alive
#   signal_job request_stop watcher_gone spot_notice finish fail_early (and the TERM INT HUP traps)
JOB_PID=
JOB_EXIT=
STOP=
STOP_REASON=

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
  # shellcheck disable=SC2034 # JOB_END_FD only holds the pipe's write end open in the job
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

# (a job of another user, started through sudo: kill -0 says EPERM, /proc still knows it)
job_alive() { [ -n "$JOB_PID" ] && { kill -0 "$JOB_PID" 2>/dev/null || { [ "${#JOB_PRIV[@]}" -gt 0 ] && [ -e "/proc/$JOB_PID" ]; }; }; }
signal_job() {
  [ -n "$JOB_PID" ] || return 0
  "${JOB_PRIV[@]}" kill -"$1" -- "-$JOB_PID" 2>/dev/null || "${JOB_PRIV[@]}" kill -"$1" "$JOB_PID" 2>/dev/null || true
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
  own_file "$RUNNER_DIR/notice-time"
  printf '%s\n' "$time" >"$RUNNER_DIR/notice-time" 2>/dev/null
  printf '%s %s' "${action:-terminate}" "${time:-soon}"
}

# ---------- finish: always uploads artifacts, the last log chunk and status.json ----------
FINISHED=
finish() {
  local status="$1" code="$2" reason="$3" rc="$4"
  [ -n "$FINISHED" ] && return
  FINISHED=1
  trap '' TERM INT HUP
  job_user_reclaim
  finish_checkpoints "$status" "$code" "$reason"
  PHASE=uploading
  # nothing to upload: the next status.json says done, in a few milliseconds
  [ "${#ARTIFACT_PATHS[@]}" -eq 0 ] && ! has_job_outputs || write_status
  if [ "$NODE_RANK" != 0 ]; then
    [ "${#ARTIFACT_PATHS[@]}" -eq 0 ] || log "artifacts are stored from the master node (rank 0) only: this node's are not"
  elif ! upload_artifacts; then
    if [ "$status" = succeeded ]; then status=failed; code=1; rc=1; reason="the job succeeded, but uploading its artifacts failed"; fi
  fi
  keep_machine "$status"
  [ "${#NOTES[@]}" -gt 0 ] && reason="$reason; $(IFS=';'; printf '%s' "${NOTES[*]}" | sed 's/;/; /g')"
  log "$status: $reason"
  work_folder_note "$status"
  print_new
  ship_logs
  ship_logs
  PHASE='done'
  write_status "$status" "$code" "$reason" "$(now_utc)"
  rm -f "$PID_NOTE"
  remove_work_folder "$status"
  exit "$rc"
}
# a failure before the job started
fail_early() { finish failed "" "$1" 1; }

trap 'on_signal TERM' TERM
trap 'on_signal INT' INT
trap 'on_signal HUP' HUP
