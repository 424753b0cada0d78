# ---- body/artifacts.sh: the job's artifacts (never through a symlink), outputs and manifest ----
# Reads: ARTIFACT_PATHS[] IMAGE OWNS_MACHINE WORKING_DIR CODE_DIR ROOT_DIR JOB_OUT_DIR RUNNER_DIR
#   ARTIFACTS_PREFIX RUN_PREFIX.
# Needs: is_abs json_str log note own_file store_put store_put_small store_put_tree now_ms secs_ms human_bytes
# Offers: artifact_src artifact_key artifact_base artifact_refusal artifact_files upload_artifact
#   has_job_outputs upload_artifacts
# where an artifact is on this machine: relative to the working folder; absolute ones at their
# path (a machine the run owns) or in the work area's root folder (mounted there in the container)
artifact_src() {
  case "$1" in
    /*) if [ -z "$IMAGE" ] && [ "$OWNS_MACHINE" = 1 ]; then printf '%s' "$1"; else printf '%s%s' "$ROOT_DIR" "$1"; fi ;;
    *) if [ "$WORKING_DIR" = . ] || is_abs "$WORKING_DIR"; then printf '%s/%s' "$CODE_DIR" "$1"; else printf '%s/%s/%s' "$CODE_DIR" "$WORKING_DIR" "$1"; fi ;;
  esac
}
# its path in the store and the manifest: `/P` is kept as `_root/P`
artifact_key() { if is_abs "$1"; then printf '_root%s' "$1"; else printf '%s' "$1"; fi; }
# the folder an artifact's real path must stay in: the code for relative paths; the work area's
# root folder for absolute ones in a container; an absolute path on a machine the run owns is its own
artifact_base() {
  case "$1" in
    /*) if [ -z "$IMAGE" ] && [ "$OWNS_MACHINE" = 1 ]; then printf '%s' "$1"; else printf '%s' "$ROOT_DIR"; fi ;;
    *) printf '%s' "$CODE_DIR" ;;
  esac
}
# why an artifact path may not be stored (prints it), or nothing: a symlink, or a path whose real
# location is outside its base folder (a linked parent folder), is never followed
# artifact_refusal SRC [BASE] (BASE: the code folder when not given)
artifact_refusal() {
  local src="$1" base="${2:-$CODE_DIR}" real code
  if [ -L "$src" ]; then printf 'it is a symbolic link (to %s); symlinks are not stored' "$(readlink "$src" 2>/dev/null || echo '?')"; return; fi
  [ -e "$src" ] || return 0
  real=$(realpath -e -- "$src" 2>/dev/null) || { printf 'its real path cannot be resolved'; return; }
  code=$(realpath -e -- "$base" 2>/dev/null) || code="$base"
  case "$real" in "$code"|"$code"/*) ;; *) printf 'it resolves to %s, outside the working folder, through a symbolic link' "$real" ;; esac
}
# the regular files of an artifact (NUL-separated, sorted): find -type f never follows a link
artifact_files() {
  if [ -d "$1" ]; then find "$1" -type f -print0 | LC_ALL=C sort -z; elif [ -f "$1" ]; then printf '%s\0' "$1"; fi
}
# the symlinks inside an artifact folder (not stored; noted)
artifact_links() { [ -d "$1" ] && find "$1" -type l -print0 2>/dev/null | LC_ALL=C sort -z; }
upload_artifact() {
  local path="$1" src key
  src="$(artifact_src "$path")"
  key="$(artifact_key "$path")"
  [ -n "$(artifact_refusal "$src" "$(artifact_base "$path")")" ] && return 3
  if [ -d "$src" ]; then store_put_tree "$src" "$ARTIFACTS_PREFIX/$key" "${2:-}"
  elif [ -f "$src" ]; then store_put "$src" "$ARTIFACTS_PREFIX/$key"
  else return 2
  fi
}

# "path":… of a manifest entry; a name that is not valid UTF-8 cannot be a JSON string, so it gets a
# readable "path" (such bytes as ?) and its exact bytes in "rawPath" (base64)
manifest_path_fields() {
  if command -v iconv >/dev/null 2>&1 && ! printf '%s' "$1" | iconv -f UTF-8 -t UTF-8 >/dev/null 2>&1; then
    printf '"path":%s,"rawPath":"%s"' "$(json_str "$(printf '%s' "$1" | LC_ALL=C sed 's/[\x80-\xff]/?/g')")" "$(printf '%s' "$1" | base64 | tr -d '\n')"
  else
    printf '"path":%s' "$(json_str "$1")"
  fi
}
# the job's metrics ($DSTACK_METRICS) and report ($DSTACK_REPORT): stored as artifacts under _dstack/
JOB_OUT_FILES=(metrics.jsonl report.md)
JOB_OUT_MAX_BYTES=16777216
job_out_file() {
  local f="$JOB_OUT_DIR/$1" size name="${1%%.*}"
  [ -f "$f" ] && [ ! -L "$f" ] || return 1
  size=$(stat -c %s "$f" 2>/dev/null) || return 1
  [ "$size" -gt 0 ] || return 1
  if [ "$size" -gt "$JOB_OUT_MAX_BYTES" ]; then log "the \$DSTACK_${name^^} file is $size bytes, over $JOB_OUT_MAX_BYTES: not stored"; return 1; fi
  printf '%s' "$f"
}
has_job_outputs() { local n; for n in "${JOB_OUT_FILES[@]}"; do [ -f "$JOB_OUT_DIR/$n" ] && return 0; done; return 1; }
# uploads them; prints their manifest entries (continuing the list that upload_artifacts writes)
job_outputs_manifest() {
  local n f size sum
  for n in "${JOB_OUT_FILES[@]}"; do
    f=$(job_out_file "$n") || continue
    store_put_small "$f" "$ARTIFACTS_PREFIX/_dstack/$n" >/dev/null || { failed=1; note "uploading _dstack/$n failed" >/dev/null; continue; }
    size=$(stat -c %s "$f") && sum=$(sha256sum <"$f" | cut -d' ' -f1) || continue
    [ "$first" = 1 ] || printf ','
    first=0
    printf '\n  {"path":%s,"size":%d,"sha256":"%s"}' "$(json_str "_dstack/$n")" "$size" "$sum"
  done
}
# the manifest entries of one artifact's files (continuing the list): their sizes and sha256 from
# one `stat` and a `sha256sum` per core for all of them (a process or two per file made the manifest
# of a big folder cost as much as its upload; one core hashes ~150 MB/s, so 1 GiB on one core took
# longer than its upload); file by file only if those disagree with the file list
manifest_entries() {
  local src="$1" key="$2" f i rel size sum files=() sizes=() sums=() hashed=() cores e
  local -A sum_of=()
  while IFS= read -r -d '' f; do files+=("$f"); done < <(artifact_files "$src")
  [ "${#files[@]}" -gt 0 ] || return 0
  mapfile -d '' -t sizes < <(printf '%s\0' "${files[@]}" | xargs -0 stat --printf '%s\0' -- 2>/dev/null)
  cores=$(nproc 2>/dev/null) || cores=1
  case "$cores" in ''|*[!0-9]*|0) cores=1 ;; esac
  [ "$cores" -le 8 ] || cores=8
  # the files shared out between the cores, a few at a time; each line says its file (`SUM  NAME`)
  mapfile -d '' -t hashed < <(printf '%s\0' "${files[@]}" | xargs -0 -P "$cores" -n 4 sha256sum -z -- 2>/dev/null)
  for e in "${hashed[@]}"; do sum_of["${e#*  }"]="${e%% *}"; done
  if [ "${#sum_of[@]}" = "${#files[@]}" ]; then
    for f in "${files[@]}"; do sums+=("${sum_of[$f]:-}"); done
  fi
  # all names valid UTF-8 (one iconv for all, a newline after each): no per-name check below
  local all_utf8=
  if ! command -v iconv >/dev/null 2>&1 || printf '%s\n' "$key" "${files[@]}" | iconv -f UTF-8 -t UTF-8 >/dev/null 2>&1; then all_utf8=1; fi
  for i in "${!files[@]}"; do
    f="${files[$i]}"
    if [ -d "$src" ]; then rel="$key/${f#"$src"/}"; else rel="$key"; fi
    if [ "${#sizes[@]}" = "${#files[@]}" ] && [ "${#sums[@]}" = "${#files[@]}" ]; then
      size="${sizes[$i]}" sum="${sums[$i]%% *}"
    else
      size=$(stat -c %s "$f") || continue
      sum=$(sha256sum <"$f" | cut -d' ' -f1) || continue
    fi
    [ "$first" = 1 ] || printf ','
    first=0
    # straight to the output, not through $(…): a fork per file was a third of a folder's manifest
    printf '\n  {'
    if [ -n "$all_utf8" ]; then printf '"path":'; json_str "$rel"; else manifest_path_fields "$rel"; fi
    printf ',"size":%d,"sha256":"%s"}' "$size" "$sum"
  done
}
# the manifest entries of every artifact (continuing the list)
artifact_manifest_entries() {
  local i path src
  for i in "${!ARTIFACT_PATHS[@]}"; do
    path="${ARTIFACT_PATHS[$i]}"
    src="$(artifact_src "$path")"
    [ -e "$src" ] || continue
    [ -z "$(artifact_refusal "$src" "$(artifact_base "$path")")" ] || continue
    manifest_entries "$src" "$(artifact_key "$path")"
  done
}
# upload every artifact, then artifacts.json; returns 1 when an upload failed. The manifest's
# hashing runs beside the uploads (the job has ended: the files no longer change), not after them.
upload_artifacts() {
  local i path src rc failed=0 missing=() why links=()
  local manifest="$RUNNER_DIR/artifacts.json" entries="$RUNNER_DIR/artifacts.entries" first=1 f rel size sum hashing t0 files bytes
  [ "${#ARTIFACT_PATHS[@]}" -gt 0 ] || has_job_outputs || return 0
  t0=$(now_ms)
  own_file "$entries"
  own_file "$manifest"
  artifact_manifest_entries >"$entries" &
  hashing=$!
  for i in "${!ARTIFACT_PATHS[@]}"; do
    path="${ARTIFACT_PATHS[$i]}"
    src="$(artifact_src "$path")"
    why="$(artifact_refusal "$src" "$(artifact_base "$path")")"
    if [ -n "$why" ]; then note "artifact \`$path\` was not stored: $why"; continue; fi
    upload_artifact "$path" prune
    rc=$?
    if [ "$rc" = 2 ]; then missing+=("$path")
    elif [ "$rc" != 0 ]; then failed=1; note "uploading artifact \`$path\` failed"
    fi
    links=()
    while IFS= read -r -d '' f; do links+=("$path/${f#"$src"/}"); done < <(artifact_links "$src")
    [ "${#links[@]}" -gt 0 ] && note "artifact \`$path\`: ${#links[@]} symbolic link(s) not stored (symlinks are never followed): ${links[*]:0:5}"
  done
  [ "${#missing[@]}" -gt 0 ] && note "artifact path(s) not found after the job: ${missing[*]} (nothing uploaded for them)"
  # (a trapped signal cuts `wait` short: wait again until the hashing really ended)
  while kill -0 "$hashing" 2>/dev/null; do wait "$hashing"; done
  [ -s "$entries" ] && first=0
  {
    printf '['
    cat "$entries"
    job_outputs_manifest
    printf '\n]\n'
  } >"$manifest"
  rm -f "$entries"
  store_put_small "$manifest" "$RUN_PREFIX/artifacts.json" || { failed=1; note "uploading artifacts.json failed"; }
  # what the machine was billed for after the job: said in the log (and read by the bench)
  files=$(grep -c '"size":' "$manifest" 2>/dev/null) || files=0
  bytes=$(grep -o '"size":[0-9]*' "$manifest" 2>/dev/null | awk -F: '{ s += $2 } END { printf "%d", s }')
  [ "$failed" = 0 ] && log "artifacts: $files file(s), $(human_bytes "${bytes:-0}"), stored in $(secs_ms $(($(now_ms) - t0)))"
  return "$failed"
}
