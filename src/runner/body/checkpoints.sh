# ---- body/checkpoints.sh: `mount: true` artifacts, carried across attempts ----
# Reads: ARTIFACT_PATHS[] ARTIFACT_MOUNTS[] ATTEMPT NODE_RANK RUNNER_DIR LOG_FILE ARTIFACTS_PREFIX PHASE;
#   DSTACK_CHECKPOINT_INTERVAL.
# Needs: log note now_ms secs_ms human_bytes artifact_src artifact_base artifact_refusal place_file own_file
#   upload_artifact store_restore print_new
#   ship_logs write_status
# Offers: CHECKPOINT_INTERVAL DSTACK_RESTORED DSTACK_RESUMED_FROM; has_checkpoints sync_mounts
#   restore_checkpoints restore_into notice_fit finish_checkpoints
# Synced to the run's artifacts folder in the background every CHECKPOINT_INTERVAL seconds while
# the job runs, first thing on a spot notice, and restored before the commands of the next attempt.
CHECKPOINT_INTERVAL="${DSTACK_CHECKPOINT_INTERVAL:-30}"
case "$CHECKPOINT_INTERVAL" in ''|*[!0-9]*|0) CHECKPOINT_INTERVAL=30 ;; esac
NOTICE_WINDOW=120
CKPT_SYNC_PID=
CKPT_LAST_START=
CKPT_SLOW_NOTED=
export DSTACK_RESTORED='' DSTACK_RESUMED_FROM=''

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
  own_file "$next"
  own_file "$RUNNER_DIR/ckpt.stat"
  : >"$next"
  bytes=$(checkpoint_bytes "$mark")
  t0=$(now_ms)
  for i in "${!ARTIFACT_PATHS[@]}"; do
    [ "${ARTIFACT_MOUNTS[$i]}" = 1 ] || continue
    # prune: a checkpoint file the job deleted is deleted from the store too (the next attempt restores the folder as it was)
    upload_artifact "${ARTIFACT_PATHS[$i]}" again >/dev/null 2>&1
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

# restore_into PATH STAGED: the staged checkpoint's files into the artifact's place, each through
# place_file (refuses to pass through or replace a link on the way; renames over the file itself)
restore_into() {
  local path="$1" staged="$2" dest base rel f why
  dest="$(artifact_src "$path")"
  why="$(artifact_refusal "$dest" "$(artifact_base "$path")")"
  [ -z "$why" ] || { printf '%s' "$why"; return 1; }
  case "$path" in
    /*) rel="${path#/}"; base="${dest%"/$rel"}" ;;
    *) rel="$path"; base="${dest%"/$rel"}" ;;
  esac
  if [ -f "$staged" ]; then place_file "$staged" "$base" "$rel"; return; fi
  while IFS= read -r -d '' f; do
    place_file "$f" "$base" "$rel/${f#"$staged"/}" || return 1
  done < <(find "$staged" -type f -print0)
}

# attempt 2+: put back what earlier attempts of this run saved of the checkpoints, before the commands
restore_checkpoints() {
  local i path dest staged n nfiles=0 restored=() t0
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
    [ -e "$staged" ] || [ -L "$staged" ] || continue
    # links from the store are never restored
    if [ -L "$staged" ]; then rm -f "$staged"; continue; fi
    find "$staged" -type l -delete 2>/dev/null
    n=$(find "$staged" -type f | wc -l)
    [ "$n" -gt 0 ] || { rm -rf "$staged"; continue; }
    # never written through a link: not the checkpoint's own path (a link committed in the
    # repository), nor a folder on the way to one of its files; each file is renamed into place
    why=$(restore_into "$path" "$staged") || { note "checkpoint \`$path\` was not restored: $why; the job starts without it"; rm -rf "$staged"; continue; }
    rm -rf "$staged"
    restored+=("$path")
    nfiles=$((nfiles + n))
  done
  : >"$RUNNER_DIR/ckpt.mark" # what was restored is already in the store
  if [ "${#restored[@]}" -eq 0 ]; then
    log "attempt $ATTEMPT: no checkpoint (mount: true artifact) saved by an earlier attempt: starting from scratch"
    return 0
  fi
  DSTACK_RESTORED="$(printf '%s\n' "${restored[@]}")"
  DSTACK_RESUMED_FROM=$((ATTEMPT - 1))
  log "attempt $ATTEMPT resumes: restored ${restored[*]} ($nfiles files, $(human_bytes "$(checkpoint_bytes)")) saved by earlier attempts, in $(secs_ms $(($(now_ms) - t0)))"
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
