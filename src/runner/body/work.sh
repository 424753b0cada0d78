# ---- body/work.sh: the attempt's private work folder, where the checkout goes, and its removal ----
# Reads: RUN_NAME ATTEMPT RUN_PREFIX NODES_NUM NODE_RANK DEFAULT_WORK_ROOT WORKING_DIR ROOT_PATHS[] IMAGE
#   OWNS_MACHINE SELF_DESTRUCT; DSTACK_WORK_ROOT DSTACK_KEEP_WORK DSTACK_RUNNER_TMP AWS_SSM_INSTANCE_ID.
# Needs: log is_abs
# Offers: WORK_BASE WORK CODE_DIR ROOT_DIR RUNNER_DIR LOG_FILE JOB_OUT_DIR ATTEMPT_PREFIX ARTIFACTS_PREFIX
#   PID_NOTE PLACE_ERROR; claim_attempt make_work_dir place_checkout work_folder_note remove_work_folder
#   machine_label
WORK_BASE="${DSTACK_WORK_ROOT:-$DEFAULT_WORK_ROOT}"
WORK="$WORK_BASE/$RUN_NAME/$ATTEMPT"
# the nodes of a multi-node run on one host (local backend) each get their own folder
[ "$NODES_NUM" -gt 1 ] && WORK="$WORK.node$NODE_RANK"
CODE_DIR="$WORK/code"
# absolute paths (artifacts, deps): in a container, folders of the work area mounted at their path
ROOT_DIR="$WORK/root"
RUNNER_DIR="$WORK/runner"
LOG_FILE="$RUNNER_DIR/job.log"
JOB_OUT_DIR="$WORK/out"
ATTEMPT_PREFIX="$RUN_PREFIX/attempts/$ATTEMPT"
# a node of a multi-node run writes its status and logs in its own folder of the attempt
[ "$NODES_NUM" -gt 1 ] && ATTEMPT_PREFIX="$ATTEMPT_PREFIX/nodes/$NODE_RANK"
ARTIFACTS_PREFIX="$RUN_PREFIX/artifacts"
PID_NOTE="${TMPDIR:-/tmp}/dstack-runner-$$.jobpgid"

# ---------- a private work folder ----------
# WORK_BASE and WORK are created with mode 0700 (WORK_BASE 0711 once a job's user passes through);
# an existing WORK_BASE must be ours and no symlink
make_work_dir() {
  local base="$1"
  (umask 077 && mkdir -p "$base") || return 1
  if [ -L "$base" ] || [ ! -O "$base" ]; then
    printf '[dstack] the work root %s is a symbolic link or belongs to another user: refusing to use it\n' "$base" >&2
    return 1
  fi
  # no reading or writing by others; a pass-through (x) another runner on this host opened for its
  # job's user (jobuser.sh: the nodes of a multi-node run share the work root) is left as it is
  chmod go-rw "$base" || return 1
  rm -rf "$WORK"
  (umask 077 && mkdir -p "$CODE_DIR" "$RUNNER_DIR") || return 1
  chmod 700 "$WORK" "$CODE_DIR" "$RUNNER_DIR"
}

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
