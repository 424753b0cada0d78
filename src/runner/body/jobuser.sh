# ---- body/jobuser.sh: the job as its own unprivileged OS user (DSTACK_JOB_USER), its own folders ----
# Reads: WORK CODE_DIR JOB_OUT_DIR ROOT_DIR ROOT_PATHS[] IMAGE OWNS_MACHINE WORK_BASE RUNNER_DIR HOME;
#   DSTACK_JOB_USER.
# Needs: log note
# Offers: JOB_USER JOB_UID JOB_GID JOB_RUNNER_DIR JOB_HOME JOB_TMP JOB_AS[] JOB_PRIV[] JOB_USER_NOTE PREPARE_ERROR;
#   job_user_init job_user_prepare job_user_env job_user_reclaim job_read_small job_file_write
# With DSTACK_JOB_USER=auto (the default) or a user name, when this script runs as root or has a
# passwordless `sudo -n`, the job (no image) runs as that user (`dstack-job` for auto, created with
# useradd when missing): its own HOME and TMPDIR in the attempt's folder, the code and the output
# folder its own, and its DSTACK_RUNNER_DIR a folder of its own (job/), never the runner's (runner/).
# A different uid cannot read /proc/<pid>/environ of the runner or the process that started it,
# nor the runner's folder (0700), the store or the CI's files that other users cannot reach. After
# the job, its folders are given back to this script's user before anything of them is read.
# DSTACK_JOB_USER=off runs the job as this script's user (a choice: nothing is logged).
JOB_USER=
JOB_UID=
JOB_GID=
JOB_AS=()
JOB_PRIV=()
JOB_USER_NOTE=
JOB_RUNNER_DIR="$WORK/job"
JOB_HOME="$WORK/home"
JOB_TMP="$WORK/tmp"

# decides JOB_USER (empty: the job runs as this script's user, JOB_USER_NOTE says why)
job_user_init() {
  local want="${DSTACK_JOB_USER:-auto}" name priv=()
  case "$want" in
    off|0|false|no) return 0 ;;
    auto|on|1|true|yes) name=dstack-job ;;
    *) name="$want" ;;
  esac
  if ! [[ "$name" =~ ^[a-z_][a-z0-9_-]{0,30}$ ]]; then JOB_USER_NOTE="DSTACK_JOB_USER \`$name\` is not a user name: the job runs as this runner's user"; return 0; fi
  if [ -n "$IMAGE" ]; then JOB_USER_NOTE="the job runs in its container (image), not as a separate user of this machine"; return 0; fi
  if [ "$(id -u)" != 0 ]; then
    if command -v sudo >/dev/null 2>&1 && sudo -n true >/dev/null 2>&1; then priv=(sudo -n)
    else JOB_USER_NOTE="warning: the job runs as this runner's user ($(id -un 2>/dev/null || id -u)): it is not root and has no passwordless sudo to run it as a separate user, so the job can reach everything this user can (docs/trust-model.md)"; return 0
    fi
  fi
  if [ "${#priv[@]}" -eq 0 ] && ! command -v setpriv >/dev/null 2>&1; then
    JOB_USER_NOTE="warning: the job runs as root: setpriv (util-linux) is missing, so it cannot run as a separate user"; return 0
  fi
  if ! id -u "$name" >/dev/null 2>&1; then
    if [ "$want" != auto ] && [ "$want" != on ] && [ "$want" != 1 ] && [ "$want" != true ] && [ "$want" != yes ]; then
      JOB_USER_NOTE="warning: DSTACK_JOB_USER names the user \`$name\`, who does not exist: the job runs as this runner's user"; return 0
    fi
    "${priv[@]}" useradd --system --no-create-home --home-dir /nonexistent --shell /usr/sbin/nologin --user-group "$name" >/dev/null 2>&1 \
      || "${priv[@]}" useradd -r -M -d /nonexistent -s /sbin/nologin -U "$name" >/dev/null 2>&1 \
      || { id -u "$name" >/dev/null 2>&1 || { JOB_USER_NOTE="warning: could not create the user $name for the job (useradd failed): the job runs as this runner's user"; return 0; }; }
  fi
  JOB_UID=$(id -u "$name") && JOB_GID=$(id -g "$name") || { JOB_USER_NOTE="warning: cannot read the ids of the user $name: the job runs as this runner's user"; return 0; }
  if [ "$JOB_UID" = 0 ] || [ "$JOB_UID" = "$(id -u)" ]; then JOB_USER_NOTE="warning: the user $name is root or this runner's own user: the job runs as this runner's user"; JOB_UID=; return 0; fi
  JOB_USER="$name"
  JOB_PRIV=("${priv[@]}")
  if [ "${#priv[@]}" -eq 0 ]; then
    JOB_AS=(setpriv "--reuid=$JOB_UID" "--regid=$JOB_GID" --init-groups --no-new-privs --)
  else
    # sudo keeps the environment this script built for the job (-E); HOME, TMPDIR, USER are set again by env
    JOB_AS=(sudo -n -E -u "$name" env "HOME=$JOB_HOME" "TMPDIR=$JOB_TMP" "USER=$name" "LOGNAME=$name")
  fi
  JOB_USER_NOTE="the job runs as the user $name (uid $JOB_UID), not as this runner's user"
}

# the folders the job owns; the path to them traversable (not readable) by it. Called before the job.
PREPARE_ERROR=
JOB_PREPARED=
job_user_prepare() {
  local d owned
  (umask 077 && mkdir -p "$JOB_RUNNER_DIR" "$JOB_HOME" "$JOB_TMP") || return 1
  [ -n "$JOB_USER" ] || return 0
  # the work root and the attempt's folders: others may pass through (x), not list or write
  d="$WORK"
  while [ -n "$d" ] && [ "$d" != / ]; do
    chmod o+x "$d" 2>/dev/null || true
    [ "$d" = "$WORK_BASE" ] && break
    d="$(dirname "$d")"
  done
  # the folder above the default work root: dstack-work-<uid> here, /opt/dstack/work on EC2
  case "${WORK_BASE%/*}" in */dstack-work-*|*/dstack/work) chmod o+x "${WORK_BASE%/*}" 2>/dev/null || true ;; esac
  owned=("$CODE_DIR" "$JOB_OUT_DIR" "$JOB_RUNNER_DIR" "$JOB_HOME" "$JOB_TMP")
  [ -n "$IMAGE" ] || [ "$OWNS_MACHINE" != 1 ] || owned+=("${ROOT_PATHS[@]}")
  # -h with -R (-P): links are changed themselves, never followed
  "${JOB_PRIV[@]}" chown -R -h "$JOB_UID:$JOB_GID" "${owned[@]}" || return 1
  JOB_PREPARED=1
  # the job must reach its working folder through the path above it
  "${JOB_AS[@]}" test -x "$CODE_DIR" -a -w "$CODE_DIR" && return 0
  local why="the job's user $JOB_USER cannot reach $CODE_DIR (a folder above it is not open to other users): set DSTACK_WORK_ROOT to a folder others may pass through, or DSTACK_JOB_USER=off"
  # a user named on purpose: the run fails; the default (auto): the job runs as this runner's user,
  # as where no separate user is possible, and the run's reason says so
  case "${DSTACK_JOB_USER:-auto}" in
    auto) ;;
    *) PREPARE_ERROR="$why"; return 1 ;;
  esac
  job_user_reclaim
  JOB_USER=
  JOB_AS=()
  note "warning: the job ran as this runner's user: $why"
}

# in the job's subshell, before it becomes the job: HOME, TMPDIR and the user's names
job_user_env() {
  [ -n "$JOB_USER" ] || return 0
  export HOME="$JOB_HOME" TMPDIR="$JOB_TMP" USER="$JOB_USER" LOGNAME="$JOB_USER"
}

# after the job: its folders are this script's user's again, before any of them is read
job_user_reclaim() {
  local owned
  [ -n "$JOB_USER" ] && [ -n "$JOB_PREPARED" ] || return 0
  JOB_PREPARED=
  owned=("$CODE_DIR" "$JOB_OUT_DIR" "$JOB_RUNNER_DIR" "$JOB_HOME" "$JOB_TMP")
  [ -n "$IMAGE" ] || [ "$OWNS_MACHINE" != 1 ] || owned+=("${ROOT_PATHS[@]}")
  "${JOB_PRIV[@]}" chown -R -h "$(id -u):$(id -g)" "${owned[@]}" 2>/dev/null || true
}

# job_read_small FILE: the first 4 KiB of a file the job wrote; nothing when it is a link or not a regular file
job_read_small() { [ -f "$1" ] && [ ! -L "$1" ] && head -c 4096 -- "$1" 2>/dev/null; }

# job_file_write DEST (stdin: the text): into a folder the job owns, never through a link planted
# there: written to a private file, then renamed over DEST (a rename replaces a link, not its target)
job_file_write() {
  local tmp
  tmp="$(mktemp "$RUNNER_DIR/.jobfile.XXXXXX")" || return 1
  cat >"$tmp" && chmod 644 "$tmp" && mv -fT "$tmp" "$1" 2>/dev/null || { rm -f "$tmp"; return 1; }
}
