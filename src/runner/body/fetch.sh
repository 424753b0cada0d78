# ---- body/fetch.sh: the code snapshot and the deps' artifacts, each checked against its sha256 ----
# Reads: CODE_KEY CODE_SHA256 CODE_DIR DEP_LABELS[] DEP_PREFIXES[] DEP_MANIFEST_KEYS[] DEP_MANIFEST_SHAS[]
#   DEP_FILE_DEPS[] DEP_FILE_PATHS[] DEP_FILE_SHAS[] STORE_KIND IMAGE OWNS_MACHINE ROOT_DIR RUNNER_DIR
#   LOG_FILE JOB_DIR.
# Needs: sha256_of aws_s3 s3_url store_get store_get_fast fail_early
# Offers: fetch_code place_file fetch_dep (each calls fail_early when it cannot)
# fetch the code snapshot and refuse bytes other than the ones the CI sent
fetch_code() {
  local tgz="$RUNNER_DIR/code.tar.gz" got
  if ! store_get_fast "$CODE_KEY" "$tgz" >>"$LOG_FILE" 2>&1; then
    fail_early "could not fetch the code snapshot $CODE_KEY from the store"
  fi
  got=$(sha256_of "$tgz")
  if [ "$got" != "$CODE_SHA256" ]; then
    fail_early "the code snapshot $CODE_KEY in the store has sha256 $got, not $CODE_SHA256 as sent by the CI: it was changed after upload, so it is not run (delete it from the store; the next run uploads it again)"
  fi
  if ! tar -xzf "$tgz" -C "$CODE_DIR" --no-same-owner >>"$LOG_FILE" 2>&1; then
    fail_early "could not unpack the code snapshot $CODE_KEY"
  fi
  rm -f "$tgz"
}
# place FILE at REL under DIR, creating folders; refuses to pass through or replace a symlink
place_file() {
  local file="$1" dir="$2" rel="$3" rest="$3" cur="$2" part
  while [[ "$rest" == */* ]]; do
    part="${rest%%/*}"
    rest="${rest#*/}"
    cur="$cur/$part"
    if [ -L "$cur" ]; then printf '%s is a symbolic link' "${cur#"$dir"/}"; return 1; fi
    if [ ! -e "$cur" ]; then mkdir "$cur" || { printf 'cannot create %s' "${cur#"$dir"/}"; return 1; }
    elif [ ! -d "$cur" ]; then printf '%s is not a folder' "${cur#"$dir"/}"; return 1; fi
  done
  cur="$dir/$rel"
  if [ -d "$cur" ] && [ ! -L "$cur" ]; then printf '%s is a folder' "$rel"; return 1; fi
  mv -fT "$file" "$cur" || { printf 'cannot write %s' "$rel"; return 1; }
}
# a dep's artifacts: the manifest checked against its sha256, then only the files it lists, each checked
fetch_dep() {
  local i="$1" label="${DEP_LABELS[$1]}" stage="$RUNNER_DIR/deps/$1" got k rel why src dest drel where
  rm -rf "$stage"
  mkdir -p "$stage/files" || fail_early "cannot create $stage"
  if [ -n "${DEP_MANIFEST_KEYS[$i]}" ]; then
    store_get_fast "${DEP_MANIFEST_KEYS[$i]}" "$stage/artifacts.json" >>"$LOG_FILE" 2>&1 || fail_early "could not fetch the artifacts manifest of $label"
    got=$(sha256_of "$stage/artifacts.json")
    [ "$got" = "${DEP_MANIFEST_SHAS[$i]}" ] || fail_early "the artifacts manifest of $label (${DEP_MANIFEST_KEYS[$i]}) has sha256 $got, not ${DEP_MANIFEST_SHAS[$i]} as read when the run started: it changed, so its artifacts are not used"
  fi
  # S3: one sync of the prefix into the staging folder (one CLI call, not one per file)
  if [ "$STORE_KIND" = s3 ]; then
    aws_s3 sync "$(s3_url "${DEP_PREFIXES[$i]}")" "$stage/files" >>"$LOG_FILE" 2>&1 || fail_early "could not fetch the artifacts of $label"
  fi
  for k in "${!DEP_FILE_PATHS[@]}"; do
    [ "${DEP_FILE_DEPS[$k]}" = "$i" ] || continue
    rel="${DEP_FILE_PATHS[$k]}"
    src="$stage/files/$rel"
    if [ "$STORE_KIND" != s3 ]; then
      src="$stage/file"
      rm -f "$src"
      store_get "${DEP_PREFIXES[$i]}/$rel" "$src" >>"$LOG_FILE" 2>&1 || fail_early "could not fetch \`$rel\` of $label"
    fi
    [ -f "$src" ] && [ ! -L "$src" ] || fail_early "\`$rel\` of $label is missing from the store or not a regular file"
    got=$(sha256_of "$src")
    [ "$got" = "${DEP_FILE_SHAS[$k]}" ] || fail_early "\`$rel\` of $label has sha256 $got in the store, not ${DEP_FILE_SHAS[$k]} as its manifest says: it was changed, so it is not used"
    dest="$JOB_DIR" drel="$rel" where="the working folder"
    case "$rel" in
      _root/*)
        drel="${rel#_root/}" where="/${rel#_root/}"
        if [ -n "$IMAGE" ]; then dest="$ROOT_DIR"
        elif [ "$OWNS_MACHINE" = 1 ]; then dest=""
        else fail_early "$label has the absolute artifact /$drel, which is not written on a machine the run does not own: give the workflow an \`image\`, or run it with the aws backend"
        fi ;;
    esac
    why=$(place_file "$src" "$dest" "$drel") || fail_early "cannot put \`$rel\` of $label into $where: $why"
  done
  rm -rf "$stage"
}
