# ---- body/nodes.sh: this node's rank and peers (multi-node tasks), their job variables, startup_order ----
# Reads: NODES_NUM STARTUP_ORDER GROUP_SIZES[] GROUP_NAMES[] GROUP_JOB_SCRIPTS[] MAX_DURATION RUN_PREFIX
#   ATTEMPT RUNNER_DIR JOB_RUNNER_DIR STOP; DSTACK_NODE_RANK DSTACK_NODES_IPS DSTACK_GPUS_PER_NODE DSTACK_GPUS_BY_RANK (then unset).
# Needs: log format_duration store_read_small request_stop (JOB_RUNNER_DIR, at call time)
# Offers: NODE_RANK NODES_IPS[] NODE_GROUP NODE_ERROR GPUS_PER_NODE GPUS_BY_RANK[] GPUS_NUM NODE_ENV_NAMES[] WAIT_ERROR;
#   JOB_SCRIPT (its group's); node_label export_node_env write_hostfile node_phase startup_wait
# The backend gives every node the same script and, in its environment, DSTACK_NODE_RANK and
# DSTACK_NODES_IPS (newline-separated, in rank order), and may give DSTACK_GPUS_PER_NODE. A single
# node needs none of them. Each value is checked before it is used in a path, a key or the job.
NODE_ERROR=
NODE_RANK="${DSTACK_NODE_RANK:-0}"
NODES_IPS=()
NODE_GROUP=0
node_setup() {
  local ip n=0 i
  case "$NODE_RANK" in ''|*[!0-9]*|0?*) NODE_ERROR="DSTACK_NODE_RANK \`$NODE_RANK\` is not a node rank"; NODE_RANK=0; return 1 ;; esac
  if [ "$NODE_RANK" -ge "$NODES_NUM" ]; then NODE_ERROR="DSTACK_NODE_RANK $NODE_RANK is not below the node count $NODES_NUM"; NODE_RANK=0; return 1; fi
  if [ -z "${DSTACK_NODES_IPS:-}" ]; then
    [ "$NODES_NUM" = 1 ] || { NODE_ERROR="DSTACK_NODES_IPS (the addresses of the $NODES_NUM nodes) is not set in the runner's environment"; return 1; }
    NODES_IPS=(127.0.0.1)
  else
    while IFS= read -r ip; do
      [ -n "$ip" ] || continue
      if ! [[ "$ip" =~ ^[0-9]{1,3}(\.[0-9]{1,3}){3}$ ]] && ! [[ "$ip" =~ ^[0-9A-Fa-f:]{2,39}$ ]]; then NODE_ERROR="DSTACK_NODES_IPS holds \`$ip\`, which is not an IP address"; return 1; fi
      NODES_IPS+=("$ip")
    done <<<"$DSTACK_NODES_IPS"
    [ "${#NODES_IPS[@]}" = "$NODES_NUM" ] || { NODE_ERROR="DSTACK_NODES_IPS holds ${#NODES_IPS[@]} addresses for $NODES_NUM nodes"; return 1; }
  fi
  GPUS_PER_NODE="${DSTACK_GPUS_PER_NODE:-}"
  if [ -z "$GPUS_PER_NODE" ]; then GPUS_PER_NODE=$(nvidia-smi -L 2>/dev/null | grep -c '^GPU') || GPUS_PER_NODE=0; fi
  case "$GPUS_PER_NODE" in ''|*[!0-9]*) GPUS_PER_NODE=0 ;; esac
  # every node's GPU count (the backend's DSTACK_GPUS_BY_RANK, `8,4,0`) when it gives one that fits;
  # otherwise every node is taken to have this node's count, as dstack's homogeneous math does
  GPUS_BY_RANK=()
  if [[ "${DSTACK_GPUS_BY_RANK:-}" =~ ^[0-9]{1,4}(,[0-9]{1,4})*$ ]]; then IFS=, read -r -a GPUS_BY_RANK <<<"$DSTACK_GPUS_BY_RANK"; fi
  [ "${#GPUS_BY_RANK[@]}" = "$NODES_NUM" ] || { GPUS_BY_RANK=(); for ((i = 0; i < NODES_NUM; i++)); do GPUS_BY_RANK+=("$GPUS_PER_NODE"); done; }
  # dstack's runner: DSTACK_GPUS_NUM is the sum over the nodes
  GPUS_NUM=0
  for i in "${GPUS_BY_RANK[@]}"; do GPUS_NUM=$((GPUS_NUM + 10#$i)); done
  for i in "${!GROUP_SIZES[@]}"; do
    n=$((n + GROUP_SIZES[i]))
    if [ "$NODE_RANK" -lt "$n" ]; then NODE_GROUP=$i; break; fi
  done
  [ -z "${GROUP_JOB_SCRIPTS[$NODE_GROUP]:-}" ] || JOB_SCRIPT="${GROUP_JOB_SCRIPTS[$NODE_GROUP]}"
}
node_setup || true
unset DSTACK_NODE_RANK DSTACK_NODES_IPS DSTACK_GPUS_PER_NODE DSTACK_GPUS_BY_RANK
# "node 1 of 3 (group workers)", for the log
node_label() {
  printf 'node %s of %s' "$NODE_RANK" "$NODES_NUM"
  [ -z "${GROUP_NAMES[$NODE_GROUP]:-}" ] || printf ' (group %s)' "${GROUP_NAMES[$NODE_GROUP]}"
}

# ---------- dstack's node variables for the job (every run; a single node is rank 0 of 1) ----------
NODE_ENV_NAMES=()
# export_node_env HOSTFILE: exports them (in the job's subshell) and lists their names in NODE_ENV_NAMES
export_node_env() {
  local i ips
  ips="$(printf '%s\n' "${NODES_IPS[@]}")"
  export DSTACK_NODES_NUM="$NODES_NUM" DSTACK_NODE_RANK="$NODE_RANK" DSTACK_MASTER_NODE_IP="${NODES_IPS[0]}" \
    DSTACK_NODES_IPS="${ips%$'\n'}" DSTACK_GPUS_PER_NODE="$GPUS_PER_NODE" DSTACK_GPUS_NUM="$GPUS_NUM" DSTACK_MPI_HOSTFILE="$1"
  NODE_ENV_NAMES=(DSTACK_NODES_NUM DSTACK_NODE_RANK DSTACK_MASTER_NODE_IP DSTACK_NODES_IPS DSTACK_GPUS_PER_NODE DSTACK_GPUS_NUM DSTACK_MPI_HOSTFILE)
  for i in "${!NODES_IPS[@]}"; do
    export "DSTACK_NODE_IP_$i=${NODES_IPS[$i]}"
    NODE_ENV_NAMES+=("DSTACK_NODE_IP_$i")
  done
}
# an MPI hostfile as dstack's runner writes it: a line per node, its address and its slots (its GPUs);
# a CPU node is its address alone (Open MPI then counts its cores)
write_hostfile() {
  local i
  for i in "${!NODES_IPS[@]}"; do
    if [ "${GPUS_BY_RANK[$i]:-0}" -gt 0 ]; then printf '%s slots=%d\n' "${NODES_IPS[$i]}" "${GPUS_BY_RANK[$i]}"; else printf '%s\n' "${NODES_IPS[$i]}"; fi
  done >"$JOB_RUNNER_DIR/mpi_hostfile"
}

# ---------- startup_order: a node waits for the others' jobs to start (through the store) ----------
# node_phase RANK: that node's phase and status as "phase status" (empty when it has written none)
node_phase() {
  local f="$RUNNER_DIR/peer.json" body phase status
  store_read_small "$RUN_PREFIX/attempts/$ATTEMPT/nodes/$1/status.json" "$f" || return 0
  body=$(head -c 4096 "$f")
  phase=$(printf '%s' "$body" | grep -o '"phase":"[a-z-]*"' | head -n 1 | cut -d'"' -f4)
  status=$(printf '%s' "$body" | grep -o '"status":"[a-z-]*"' | head -n 1 | cut -d'"' -f4)
  printf '%s %s' "$phase" "$status"
}
# wait_for_nodes RANK...: until each has started its job (phase setup or running); fails when one
# ended first, or this run is stopped or reaches max_duration
WAIT_ERROR=
wait_for_nodes() {
  local r st waiting=("$@") still waited=0
  log "startup_order $STARTUP_ORDER: waiting for node(s) ${waiting[*]} to start their commands"
  while [ "${#waiting[@]}" -gt 0 ]; do
    still=()
    for r in "${waiting[@]}"; do
      st=$(node_phase "$r")
      case "$st" in
        # a node that already finished its commands successfully had started them
        setup*|running*|uploading\ *|'done succeeded') ;;
        done*) WAIT_ERROR="node $r ended (${st#* }) before this node started its commands (startup_order $STARTUP_ORDER)"; return 1 ;;
        *) still+=("$r") ;;
      esac
    done
    waiting=("${still[@]}")
    [ "${#waiting[@]}" -gt 0 ] || break
    [ -z "$STOP" ] || return 1
    if [ "$SECONDS" -ge "$MAX_DURATION" ]; then request_stop timed-out "the run reached its max duration of $(format_duration "$MAX_DURATION") while waiting for the other nodes: the job was stopped"; return 1; fi
    sleep 1 & wait $! 2>/dev/null
    waited=$((waited + 1))
  done
  log "node(s) $* started their commands after ${waited}s: starting this node's"
}
startup_wait() {
  local r ranks=()
  [ "$NODES_NUM" -gt 1 ] || return 0
  case "$STARTUP_ORDER" in
    master-first) [ "$NODE_RANK" = 0 ] || ranks=(0) ;;
    workers-first) if [ "$NODE_RANK" = 0 ]; then for ((r = 1; r < NODES_NUM; r++)); do ranks+=("$r"); done; fi ;;
  esac
  [ "${#ranks[@]}" -gt 0 ] || return 0
  wait_for_nodes "${ranks[@]}"
}
