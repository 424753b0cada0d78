# ---- body/disks.sh: the machine's instance-store NVMe disks as one scratch folder for the job ----
# Reads: OWNS_MACHINE LOG_FILE; DSTACK_SCRATCH_DISKS (auto | off; default auto on a machine the run owns, off
#   elsewhere) DSTACK_SCRATCH_DIR (default /opt/dstack/scratch) and, for tests, DSTACK_SYS_BLOCK
#   DSTACK_DEV_DIR DSTACK_PROC_MOUNTS DSTACK_MDADM DSTACK_MKFS DSTACK_MOUNT (the commands it runs).
# Needs: log
# Offers: SCRATCH_DIR SCRATCH_DESC (exported as DSTACK_SCRATCH when there is one); prepare_scratch
# Instance-store disks (g5, g6, p4d, p5…) are NVMe devices whose model is "Amazon EC2 NVMe Instance
# Storage". Several become one RAID 0 (mdadm), then a file system mounted at the scratch folder. When
# they are already in use (the Deep Learning AMIs mount them at /opt/dlami/nvme), that mount is the
# scratch folder. Anything that goes wrong is a warning: the job then runs without a scratch folder.
SCRATCH_DIR=
SCRATCH_DESC=
SYS_BLOCK="${DSTACK_SYS_BLOCK:-/sys/block}"
DEV_DIR="${DSTACK_DEV_DIR:-/dev}"
PROC_MOUNTS="${DSTACK_PROC_MOUNTS:-/proc/mounts}"
INSTANCE_STORE_MODEL='Amazon EC2 NVMe Instance Storage'

# decimal size, as EC2 lists instance storage: 7.6 TB, 475.0 GB
disk_size() {
  local b="$1"
  if [ "$b" -ge 1000000000000 ]; then printf '%d.%d TB' $((b / 1000000000000)) $(((b % 1000000000000) / 100000000000))
  else printf '%d.%d GB' $((b / 1000000000)) $(((b % 1000000000) / 100000000)); fi
}
# the mount point of device $1 in the mount table, if any
mount_of() {
  local dev mnt _rest
  while read -r dev mnt _rest; do
    [ "$dev" = "$1" ] && { printf '%s' "$mnt"; return 0; }
  done <"$PROC_MOUNTS" 2>/dev/null
  return 1
}

prepare_scratch() {
  local mode="${DSTACK_SCRATCH_DISKS:-}" dir="${DSTACK_SCRATCH_DIR:-/opt/dstack/scratch}" d name model sectors
  local devs=() used=() bytes=0 target='' raid='' h mnt='' mkfs
  [ -n "$mode" ] || { if [ "$OWNS_MACHINE" = 1 ]; then mode=auto; else mode=off; fi; }
  [ "$mode" = auto ] || return 0
  for d in "$SYS_BLOCK"/nvme*; do
    [ -r "$d/device/model" ] || continue
    read -r model <"$d/device/model" || true
    model="${model%"${model##*[![:space:]]}"}"
    [ "$model" = "$INSTANCE_STORE_MODEL" ] || continue
    name="${d##*/}"
    read -r sectors <"$d/size" 2>/dev/null || sectors=0
    case "$sectors" in ''|*[!0-9]*) sectors=0 ;; esac
    devs+=("$DEV_DIR/$name")
    bytes=$((bytes + sectors * 512))
    for h in "$d"/holders/*; do [ -e "$h" ] && used+=("$DEV_DIR/${h##*/}"); done
    mount_of "$DEV_DIR/$name" >/dev/null && used+=("$DEV_DIR/$name")
  done
  [ "${#devs[@]}" -gt 0 ] || return 0
  raid=''
  [ "${#devs[@]}" -gt 1 ] && raid=' RAID 0'
  if [ "${#used[@]}" -gt 0 ]; then
    for target in "${used[@]}"; do mnt=$(mount_of "$target") && break; done
    if [ -z "$mnt" ]; then
      log "warning: the instance-store disk(s) ${devs[*]} are in use but not mounted: no scratch folder"
      return 0
    fi
    SCRATCH_DIR="$mnt"
  else
    target="${devs[0]}"
    if [ "${#devs[@]}" -gt 1 ]; then
      target="$DEV_DIR/md/dstack-scratch"
      if ! ${DSTACK_MDADM:-mdadm} --create "$target" --run --force --level=0 --raid-devices="${#devs[@]}" "${devs[@]}" >>"$LOG_FILE" 2>&1; then
        log "warning: mdadm could not assemble ${devs[*]} into a RAID 0: no scratch folder"
        return 0
      fi
    fi
    # XFS (without discarding blocks, which on multi-TB NVMe takes minutes); ext4 where xfsprogs is missing
    mkfs="${DSTACK_MKFS:-}"
    if [ -z "$mkfs" ]; then
      if command -v mkfs.xfs >/dev/null 2>&1; then mkfs='mkfs.xfs -f -q -K'; else mkfs='mkfs.ext4 -F -q -E nodiscard'; fi
    fi
    if ! $mkfs "$target" >>"$LOG_FILE" 2>&1; then
      log "warning: could not make a file system on $target: no scratch folder"
      return 0
    fi
    if ! mkdir -p "$dir" || ! ${DSTACK_MOUNT:-mount -o noatime} "$target" "$dir" >>"$LOG_FILE" 2>&1; then
      log "warning: could not mount $target at $dir: no scratch folder"
      return 0
    fi
    chmod 1777 "$dir" 2>/dev/null || true
    SCRATCH_DIR="$dir"
  fi
  SCRATCH_DESC="${#devs[@]} × NVMe$raid, $(disk_size "$bytes") at $SCRATCH_DIR"
  export DSTACK_SCRATCH="$SCRATCH_DIR"
  log "scratch: $SCRATCH_DESC (\$DSTACK_SCRATCH; instance storage: gone when the machine is)"
}
