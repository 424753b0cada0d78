# ---- body/container.sh: the job's command, its environment, its image (private registries, digest) ----
# Reads: IMAGE JOB_SHELL ENTRYPOINT ENTRYPOINT_ARGV[] ENTRYPOINT_ARGS[] ENTRYPOINT_ENV[] SHM_SIZE_MIB REGISTRY_AUTH PYTHON_VERSION HAS_COMMANDS JOB_SCRIPT WORKFLOW RUN_NAME ATTEMPT
#   WORKING_DIR CODE_DIR ROOT_DIR ROOT_PATHS[] JOB_RUNNER_DIR JOB_OUT_DIR LOG_FILE SECRET_NAMES[] NODES_NUM SCRATCH_DIR
#   NODE_ENV_NAMES[] JOB_ENV_KEEP[] DOCKER_ENV_KEEP[] DSTACK_RESTORED DSTACK_RESUMED_FROM;
#   DSTACK_REGISTRY_USERNAME DSTACK_REGISTRY_PASSWORD (then unset).
# Needs: log is_abs export_node_env fail_early
# Offers: JOB_CMD[] JOB_ENV_UNSET[] IMAGE_DIGEST LOGIN_ERROR; job_command job_env_unset registry_login
#   image_digest
# registry credentials: kept in unexported variables, so no child process (the job) inherits them
REG_USER="${DSTACK_REGISTRY_USERNAME:-}"
REG_PASS="${DSTACK_REGISTRY_PASSWORD:-}"
unset DSTACK_REGISTRY_USERNAME DSTACK_REGISTRY_PASSWORD

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

# ---------- the job's environment: a list built on purpose (README "The job's environment") ----------
# JOB_ENV_UNSET: `-u NAME` for every variable of this environment but the pass-through list, the
# secrets, LC_* and DSTACK_RUNNER_DIR (names only on the command line; `env -0` also lists names
# bash cannot hold, such as INPUT_GITHUB-TOKEN)
JOB_ENV_UNSET=()
job_env_unset() {
  local kv n keep=" DSTACK_RUNNER_DIR DSTACK_METRICS DSTACK_REPORT DSTACK_RESTORED DSTACK_RESUMED_FROM DSTACK_SCRATCH ${NODE_ENV_NAMES[*]} ${JOB_ENV_KEEP[*]} ${SECRET_NAMES[*]} "
  [ -n "$IMAGE" ] && keep="$keep${DOCKER_ENV_KEEP[*]} "
  JOB_ENV_UNSET=()
  while IFS= read -r -d '' kv; do
    n="${kv%%=*}"
    case "$keep" in *" $n "*) continue ;; esac
    case "$n" in LC_*) continue ;; esac
    JOB_ENV_UNSET+=(-u "$n")
  done < <(env -0)
}

# ---------- provenance: the digest of the image the job ran in (status.json imageDigest) ----------
IMAGE_DIGEST=
image_digest() {
  [ -n "$IMAGE" ] || return 0
  IMAGE_DIGEST=$(docker image inspect --format '{{join .RepoDigests " "}}' "$IMAGE" 2>/dev/null | cut -d' ' -f1) || IMAGE_DIGEST=
  case "$IMAGE_DIGEST" in *@sha256:*) ;; *) IMAGE_DIGEST= ;; esac
}

# JOB_CMD := the job's command: `docker run` of IMAGE (the engine checked, the registry logged in to),
# or bash on job.sh here (with a warning when python is not the version asked for)
job_command() {
  local docker_err code_mount container_dir p n have
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
    JOB_CMD=(docker run --rm -i --name "dstack-$RUN_NAME-$ATTEMPT-$$" -v "$CODE_DIR:$code_mount" -v "$JOB_RUNNER_DIR:/dstack-runner" -w "$container_dir" -e DSTACK_RUNNER_DIR=/dstack-runner)
    for p in "${ROOT_PATHS[@]}"; do JOB_CMD+=(-v "$ROOT_DIR$p:$p"); done
    command -v nvidia-smi >/dev/null 2>&1 && JOB_CMD+=(--gpus all)
    JOB_CMD+=(-v "$JOB_OUT_DIR:/dstack-out" -e DSTACK_METRICS=/dstack-out/metrics.jsonl -e DSTACK_REPORT=/dstack-out/report.md)
    for n in "${SECRET_NAMES[@]}"; do JOB_CMD+=(-e "$n"); done
    JOB_CMD+=(-e DSTACK_RESTORED -e DSTACK_RESUMED_FROM)
    # the instance-store scratch folder (disks.sh), at the same path inside
    [ -n "${SCRATCH_DIR:-}" ] && JOB_CMD+=(-v "$SCRATCH_DIR:$SCRATCH_DIR" -e DSTACK_SCRATCH)
    export_node_env /dstack-runner/mpi_hostfile
    for n in "${NODE_ENV_NAMES[@]}"; do JOB_CMD+=(-e "$n"); done
    # the nodes reach each other at the machines' own addresses: the container shares the host's network
    [ "$NODES_NUM" -gt 1 ] && JOB_CMD+=(--network host)
    # resources.shm_size: the container's /dev/shm, as dstack sizes it
    [ -n "$SHM_SIZE_MIB" ] && JOB_CMD+=(--shm-size "${SHM_SIZE_MIB}m")
    if [ -n "$ENTRYPOINT" ]; then
      # dstack: `shlex.split(entrypoint) + commands`, no shell: each command is one argument;
      # the task's env reaches the container as its environment
      for n in "${ENTRYPOINT_ENV[@]}"; do JOB_CMD+=(-e "$n"); done
      JOB_CMD+=(--entrypoint "${ENTRYPOINT_ARGV[0]}" "$IMAGE" "${ENTRYPOINT_ARGV[@]:1}" "${ENTRYPOINT_ARGS[@]}")
    elif [ "$HAS_COMMANDS" = 1 ]; then
      # dstack's shell: `shell:` when given, else /bin/sh in a custom image
      JOB_CMD+=(--entrypoint "${JOB_SHELL:-/bin/sh}" "$IMAGE" /dstack-runner/job.sh)
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
    # dstack's shell without an image: bash, unless `shell:` says otherwise
    JOB_CMD=("${JOB_SHELL:-bash}" "$JOB_RUNNER_DIR/job.sh")
  fi
}
