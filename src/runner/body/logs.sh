# ---- body/logs.sh: status.json, the job log (printed, shipped in chunks) and the secret filter on it ----
# Reads: LOG_FILE RUNNER_DIR ATTEMPT_PREFIX STORE_KIND LOG_INTERVAL TICK_MS SHIP_GAP_MS IMAGE_DIGEST SCRATCH_DESC
#   JOB_OUT; DSTACK_REDACT.
# Needs: json_str redact_text log own_file store_put_small s3_curl_ready
# Offers: PHASE STARTED_AT LOG_SEQ LOG_SHIPPED; write_status set_phase print_new ship_logs
#   ship_ticks log_ship_due start_redactor stop_redactor
STARTED_AT="$(date -u +%Y-%m-%dT%H:%M:%SZ)"
PHASE=starting
LOG_SEQ=0
LOG_SHIPPED=0
LOG_PRINTED=0

# ---------- status.json ----------
write_status() {
  local status="${1:-}" code="${2:-}" reason="${3:-}" ended="${4:-}"
  local f="$RUNNER_DIR/status.json"
  own_file "$f"
  {
    printf '{"phase":%s' "$(json_str "$PHASE")"
    [ -n "$status" ] && printf ',"status":%s' "$(json_str "$status")"
    [ -n "$code" ] && printf ',"exitCode":%d' "$code"
    [ -n "$reason" ] && printf ',"reason":%s' "$(json_str "$(redact_text "$reason")")"
    printf ',"startedAt":%s' "$(json_str "$STARTED_AT")"
    [ -n "$ended" ] && printf ',"endedAt":%s' "$(json_str "$ended")"
    [ -n "${IMAGE_DIGEST:-}" ] && printf ',"imageDigest":%s' "$(json_str "$IMAGE_DIGEST")"
    [ -n "${SCRATCH_DESC:-}" ] && printf ',"scratch":%s' "$(json_str "$SCRATCH_DESC")"
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
  own_file "$chunk"
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
