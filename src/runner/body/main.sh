# ---- body/main.sh: a run's phases, in order: start, code, deps, checkpoints, job command, run, finish ----
# Reads: what the modules before it offer (it calls each phase in turn).
# Offers: JOB_DIR JOB_OUT (the job's working folder; where its output goes) HOME (exported, /root when unset)
# ---------- start ----------
export HOME="${HOME:-/root}"
claim_attempt
job_user_init
if ! make_work_dir "$WORK_BASE" || ! mkdir -p "$JOB_OUT_DIR"; then
  printf '[dstack] cannot create the work folder %s\n' "$WORK" >&2
  PHASE='done'
  RUNNER_DIR="$(mktemp -d)" && write_status failed "" "cannot create the work folder $WORK" "$(now_utc)"
  exit 1
fi
: >"$LOG_FILE"
log "run $RUN_NAME, workflow $WORKFLOW, attempt $ATTEMPT, revision $REVISION, on $(machine_label)$([ "$NODES_NUM" -gt 1 ] && printf ', %s' "$(node_label)")"
write_status
[ -z "$NODE_ERROR" ] || fail_early "$NODE_ERROR"
[ -z "$JOB_USER_NOTE" ] || log "$JOB_USER_NOTE"

if [ "$SELF_DESTRUCT" = 1 ]; then
  mins=$(( (MAX_DURATION + 59) / 60 + 10 ))
  if shutdown -h "+$mins" "dstack: run $RUN_NAME reached its max duration" >/dev/null 2>&1; then
    log "self-destruct armed: this machine shuts down in $mins minutes"
  else
    log "warning: could not arm the self-destruct (shutdown -h +$mins failed)"
  fi
fi

# instance-store disks: one scratch folder for the job (DSTACK_SCRATCH)
prepare_scratch

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
restore_caches
[ -n "$STOP" ] && finish "$STOP" "" "$STOP_REASON" 143

# the job's own folder ($DSTACK_RUNNER_DIR: job.sh, the step marker, the MPI hostfile), not the runner's
(umask 077 && mkdir -p "$JOB_RUNNER_DIR") || fail_early "cannot create $JOB_RUNNER_DIR"
printf '%s\n' "$JOB_SCRIPT" >"$JOB_RUNNER_DIR/job.sh"

# the job's command: docker run of the image, or bash on job.sh
job_command

# ---------- run ----------
[ -n "$STOP" ] && finish "$STOP" "" "$STOP_REASON" 143
write_hostfile
job_user_prepare || fail_early "${PREPARE_ERROR:-cannot give its folders to the user $JOB_USER of the job}"
if ! startup_wait; then
  case "$STOP" in
    timed-out) finish timed-out "" "$STOP_REASON" 124 ;;
    ?*) finish "$STOP" "" "$STOP_REASON" 143 ;;
  esac
  fail_early "$WAIT_ERROR"
fi
if [ "$HAS_SETUP" = 1 ]; then set_phase setup; else set_phase running; fi
log "running in ${WORKING_DIR}"
JOB_OUT="$LOG_FILE"
tick_open
if [ -n "${DSTACK_REDACT:-}" ]; then start_redactor || fail_early "cannot start the secret redaction filter"; fi
(
  cd "$JOB_DIR" || exit 1
  trap - TERM INT HUP
  export DSTACK_RUNNER_DIR="$JOB_RUNNER_DIR"
  job_user_env
  export DSTACK_METRICS="$JOB_OUT_DIR/metrics.jsonl" DSTACK_REPORT="$JOB_OUT_DIR/report.md"
  if [ -n "$IMAGE" ]; then export_node_env /dstack-runner/mpi_hostfile; else export_node_env "$JOB_RUNNER_DIR/mpi_hostfile"; fi
  job_env_unset
  tick_on_exit
  exec setsid env "${JOB_ENV_UNSET[@]}" "${JOB_AS[@]}" "${JOB_CMD[@]}" </dev/null >>"$JOB_OUT" 2>&1
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
  if [ "$PHASE" = setup ] && job_read_small "$JOB_RUNNER_DIR/step" | grep -q '^commands' ; then set_phase running; fi
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
job_user_reclaim
image_digest
print_new

case "$STOP" in
  cancelled) finish cancelled "$JOB_EXIT" "$STOP_REASON" 143 ;;
  timed-out) finish timed-out "$JOB_EXIT" "$STOP_REASON" 124 ;;
  interrupted) finish interrupted "$JOB_EXIT" "$STOP_REASON" 75 ;;
esac
if [ "$JOB_EXIT" = 0 ]; then
  save_caches
  finish succeeded 0 "all commands exited with 0" 0
fi
step=$(job_read_small "$JOB_RUNNER_DIR/step" | head -n 1)
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
