# ---- body/keep.sh: keep-on-failure: a failed run's machine stays up for a while, to step into ----
# Reads: SELF_DESTRUCT MAX_DURATION NODES_NUM RUN_NAME WORK; DSTACK_KEEP_ON_FAILURE (seconds, set by the
#   AWS bootstrap) DSTACK_KEEP_REGION AWS_SSM_INSTANCE_ID.
# Needs: note now_utc format_duration
# Offers: keep_machine
# the self-destruct main.sh arms at the start: the machine's hard lifetime, in seconds of this script
KEEP_HARD_S=$(( ((MAX_DURATION + 59) / 60 + 10) * 60 ))

# keep_machine <status>: on a failed run of a machine this run owns, re-arm the shutdown to the kept
# deadline (whole minutes, never past the hard lifetime), leave the work folder in place and say how
# to step in. The runner still exits: the machine lives on until its shutdown, or until the CI ends it.
keep_machine() {
  local keep="${DSTACK_KEEP_ON_FAILURE:-}" mins left until id
  [ "$1" = failed ] || return 0
  case "$keep" in ''|*[!0-9]*|0) return 0 ;; esac
  [ "$SELF_DESTRUCT" = 1 ] && [ "$NODES_NUM" -le 1 ] || return 0
  left=$((KEEP_HARD_S - SECONDS))
  [ "$keep" -le "$left" ] || keep=$left
  mins=$((keep / 60))
  if [ "$mins" -lt 1 ]; then
    note "keep-on-failure: not kept (the machine reaches its max duration within a minute)"
    return 0
  fi
  if ! shutdown -h "+$mins" "dstack: run $RUN_NAME kept for debugging until now + $mins min" >/dev/null 2>&1; then
    note "keep-on-failure: not kept (shutdown -h +$mins failed)"
    return 0
  fi
  until=$(date -u -d "@$(( $(date -u +%s) + mins * 60 ))" +%Y-%m-%dT%H:%M:%SZ 2>/dev/null) || until="in $mins min"
  id="${AWS_SSM_INSTANCE_ID:-this instance}"
  export DSTACK_KEEP_WORK=1
  note "the machine is kept for debugging until $until ($(format_duration $((mins * 60)))): aws ssm start-session --target $id --region ${DSTACK_KEEP_REGION:-\$AWS_REGION} (the work folder is $WORK)"
}
