# ---- body/cache.sh: `cache` folders kept between runs of a workflow, in the run store (docs/cache.md) ----
# Reads: CACHE_PATHS[] CACHE_KEYS[] CACHE_RESTORE_ARCHIVES[] CACHE_RESTORE_SHAS[] CACHE_RESTORE_KEYS[]
#   CACHE_SAVE_BASES[] CACHE_TRUSTED IMAGE ROOT_DIR JOB_USER JOB_HOME WORK STORE_KIND STORE_ROOT RUN_NAME WORKFLOW NODE_RANK
#   LOG_FILE; JOB_DIR (set by main.sh before it calls these).
# Needs: log now_ms secs_ms human_bytes json_str sha256_of store_get store_put store_put_small
# Offers: cache_dir restore_caches save_caches
# The orchestrator chose the entry each path restores (src/orchestrate/cache-plan.ts) and the key it
# saves under; the runner moves the bytes. A restore never replaces a file that is already there.
CACHE_ZSTD=
command -v zstd >/dev/null 2>&1 && CACHE_ZSTD=1

# cache_dir PATH: the folder of a cached path here; in a container, a folder of the work area mounted
# at its path (`~` is /root there); `~` is the job's own HOME when it runs as its own user
cache_dir() {
  case "$1" in
    \~/*)
      if [ -n "$IMAGE" ]; then printf '%s/root/%s' "$ROOT_DIR" "${1#\~/}"
      elif [ -n "$JOB_USER" ]; then printf '%s/%s' "$JOB_HOME" "${1#\~/}" # the job's own home (jobuser.sh)
      else printf '%s/%s' ~ "${1#\~/}"; fi ;;
    /*) if [ -n "$IMAGE" ]; then printf '%s%s' "$ROOT_DIR" "$1"; else printf '%s' "$1"; fi ;;
    *) printf '%s/%s' "$JOB_DIR" "$1" ;;
  esac
}

# restore_caches: each chosen entry's archive, checked against its sha256, unpacked into its folder
restore_caches() {
  local i p dir archive src t0 size unpack=()
  for i in "${!CACHE_PATHS[@]}"; do
    archive="${CACHE_RESTORE_ARCHIVES[$i]}"
    [ -n "$archive" ] || continue
    p="${CACHE_PATHS[$i]}"
    case "$archive" in
      *.tar.zst)
        if [ -z "$CACHE_ZSTD" ]; then log "cache $p: not restored: its entry is compressed with zstd and this machine has no zstd"; continue; fi
        unpack=(zstd -d -c -q) ;;
      *) unpack=(gzip -d -c) ;;
    esac
    t0=$(now_ms)
    # a folder store's archive is read where it is; S3's is fetched first
    if [ "$STORE_KIND" = folder ]; then src="$STORE_ROOT/$archive"
    else
      src="$WORK/cache-restore.$i"
      if ! store_get "$archive" "$src" >/dev/null 2>&1; then rm -f "$src"; log "cache $p: not restored: fetching $archive failed"; continue; fi
    fi
    if [ ! -f "$src" ] || [ "$(sha256_of "$src")" != "${CACHE_RESTORE_SHAS[$i]}" ]; then
      [ "$src" = "$STORE_ROOT/$archive" ] || rm -f "$src"
      log "cache $p: not restored: the archive of key ${CACHE_RESTORE_KEYS[$i]} is missing or does not have the sha256 its entry lists"
      continue
    fi
    size=$(wc -c <"$src")
    dir="$(cache_dir "$p")"
    if ! mkdir -p "$dir"; then log "cache $p: not restored: cannot create $dir"; continue; fi
    if "${unpack[@]}" <"$src" | tar -x --no-same-owner --skip-old-files -C "$dir" -f - 2>>"$LOG_FILE"; then
      log "cache $p: restored key ${CACHE_RESTORE_KEYS[$i]} ($(human_bytes "$size")) in $(secs_ms $(($(now_ms) - t0)))"
    else
      log "cache $p: restoring key ${CACHE_RESTORE_KEYS[$i]} failed part way; the job starts with what was unpacked"
    fi
    [ "$src" = "$STORE_ROOT/$archive" ] || rm -f "$src"
  done
}

# save_caches: after a job that succeeded, each folder whose key was not restored exactly is packed
# and stored (the archive, then its index entry); only the first node saves
save_caches() {
  local i p dir base ext tmp size sha t0 pack=()
  [ "${NODE_RANK:-0}" = 0 ] || return 0
  for i in "${!CACHE_PATHS[@]}"; do
    base="${CACHE_SAVE_BASES[$i]}"
    [ -n "$base" ] || continue
    p="${CACHE_PATHS[$i]}"
    dir="$(cache_dir "$p")"
    if [ -L "$dir" ] || [ ! -d "$dir" ]; then log "cache $p: nothing to save ($p is not a folder)"; continue; fi
    if [ -n "$CACHE_ZSTD" ]; then ext=tar.zst pack=(zstd -q -T0 -3 -c); else ext=tar.gz pack=(gzip -1 -c); fi
    tmp="$WORK/cache-save.$i.$ext"
    t0=$(now_ms)
    if ! tar -c -C "$dir" -f - . 2>>"$LOG_FILE" | "${pack[@]}" >"$tmp"; then rm -f "$tmp"; log "cache $p: not saved: packing it failed"; continue; fi
    size=$(wc -c <"$tmp")
    sha=$(sha256_of "$tmp")
    printf '{"workflow":%s,"path":%s,"key":%s,"format":"%s","size":%d,"sha256":"%s","createdAt":"%s","run":%s,"trusted":%s}\n' \
      "$(json_str "$WORKFLOW")" "$(json_str "$p")" "$(json_str "${CACHE_KEYS[$i]}")" "$ext" "$size" "$sha" "$(date -u +%Y-%m-%dT%H:%M:%S.%3NZ)" "$(json_str "$RUN_NAME")" \
      "$([ "$CACHE_TRUSTED" = 1 ] && echo true || echo false)" >"$tmp.json"
    if store_put "$tmp" "$base.$ext" >/dev/null 2>&1 && store_put_small "$tmp.json" "$base.json" >/dev/null 2>&1; then
      log "cache $p: saved key ${CACHE_KEYS[$i]} ($(human_bytes "$size")) in $(secs_ms $(($(now_ms) - t0)))"
    else
      log "cache $p: not saved: storing it failed"
    fi
    rm -f "$tmp" "$tmp.json"
  done
}
