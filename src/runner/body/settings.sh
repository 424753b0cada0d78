# ---- runner body: body/settings.sh, the DSTACK_* overrides (checked) and helpers every module uses ----
# Reads: DEFAULT_S3_ENDPOINT DEFAULT_LOG_INTERVAL SPOT_WATCH STORE_KIND; LOG_FILE (when logging).
# Offers: AWS_CLI S3_ENDPOINT IMDS LOG_INTERVAL SPOT_POLL KILL_AFTER SPOT_WATCH TICK_MS SHIP_GAP_MS
#   NOTES[]; now_utc now_ms secs_ms format_duration human_bytes json_str redact_text log note
#   is_abs sha256_of own_file
# The modules of the body (src/runner/body/*.sh) run in the order of gen-body.mjs. They expect the
# header (rendered by render.ts) to have set, all shell-quoted:
#   RUN_NAME WORKFLOW REPO_ID REVISION ATTEMPT STORE_KIND STORE_ROOT S3_BUCKET S3_PREFIX S3_REGION
#   DEFAULT_S3_ENDPOINT RUN_PREFIX CODE_KEY CODE_SHA256 WORKING_DIR DEP_LABELS[] DEP_PREFIXES[]
#   DEP_MANIFEST_KEYS[] DEP_MANIFEST_SHAS[] DEP_FILE_DEPS[] DEP_FILE_PATHS[] DEP_FILE_SHAS[]
#   JOB_ENV_KEEP[] DOCKER_ENV_KEEP[]
#   ARTIFACT_PATHS[] ARTIFACT_MOUNTS[] ROOT_PATHS[] REGISTRY_AUTH OWNS_MACHINE SECRET_NAMES[] IMAGE ENTRYPOINT JOB_SHELL PYTHON_VERSION
#   MAX_DURATION SELF_DESTRUCT SPOT_WATCH DEFAULT_LOG_INTERVAL DEFAULT_WORK_ROOT JOB_SCRIPT
#   NODES_NUM STARTUP_ORDER GROUP_SIZES[] GROUP_NAMES[] GROUP_JOB_SCRIPTS[] (one per group; empty without groups)
#   CACHE_PATHS[] CACHE_KEYS[] CACHE_RESTORE_ARCHIVES[] CACHE_RESTORE_SHAS[] CACHE_RESTORE_KEYS[] CACHE_SAVE_BASES[] CACHE_TRUSTED
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
NOTES=()

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

now_ms() { date +%s%3N; }
secs_ms() { printf '%d.%d s' $(($1 / 1000)) $((($1 % 1000) / 100)); }
human_bytes() { numfmt --to=iec --suffix=B "$1" 2>/dev/null || printf '%d bytes' "$1"; }
# an absolute path
is_abs() { case "$1" in /*) return 0 ;; esac; return 1; }
# sha256_of FILE
sha256_of() { sha256sum <"$1" | cut -d' ' -f1; }
# own_file FILE: FILE in the runner's folder is about to be written or read: a symbolic link put
# there in its place (by a job running as this user, DSTACK_JOB_USER=off) is removed, never followed
own_file() { [ ! -L "$1" ] || rm -f -- "$1"; }
