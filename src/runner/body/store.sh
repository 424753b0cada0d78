# ---- body/store.sh: the run's store, an S3 bucket (the aws CLI; curl with SigV4 for small objects) or a folder ----
# Reads: STORE_KIND STORE_ROOT S3_BUCKET S3_PREFIX S3_REGION S3_ENDPOINT AWS_CLI; DSTACK_S3_CURL.
# Needs: artifact_files
# Offers: store_put store_put_small store_get store_get_fast store_put_tree store_restore store_read_small
#   s3_put_fresh_tree s3_prefix_empty
#   s3_url aws_s3 s3_curl_ready s3_curl_get
s3_url() { if [ -n "$S3_PREFIX" ]; then printf 's3://%s/%s/%s' "$S3_BUCKET" "$S3_PREFIX" "$1"; else printf 's3://%s/%s' "$S3_BUCKET" "$1"; fi; }
aws_s3() {
  local opts=()
  [ -n "$S3_ENDPOINT" ] && opts+=(--endpoint-url "$S3_ENDPOINT")
  [ -n "$S3_REGION" ] && opts+=(--region "$S3_REGION")
  "$AWS_CLI" "${opts[@]}" s3 "$@" --only-show-errors --no-progress </dev/null
}
# ---------- small puts without an aws process (status.json, log chunks) ----------
# One `aws s3 cp` costs about a CPU second; curl with SigV4 about 10 ms. The credentials come from
# the aws CLI's own chain (`aws configure export-credentials`: env, profile, instance role), are
# refreshed every 10 minutes, live in variables only and reach curl on its stdin (never a command
# line, never a file). Any failure turns this path off for good and the aws CLI ships from then on.
CURL_PUT=
CURL_CREDS_AT=-1000000
CURL_AK=
CURL_SK=
CURL_ST=
HTTP_URL=
s3_curl_creds() {
  local out line k v
  out=$("$AWS_CLI" configure export-credentials --format env-no-export </dev/null 2>/dev/null) || return 1
  CURL_AK='' CURL_SK='' CURL_ST=''
  while [ -n "$out" ]; do
    line="${out%%$'\n'*}"
    if [ "$line" = "$out" ]; then out=; else out="${out#*$'\n'}"; fi
    line="${line#export }"
    k="${line%%=*}"
    v="${line#*=}"
    case "$k" in
      AWS_ACCESS_KEY_ID) CURL_AK="$v" ;;
      AWS_SECRET_ACCESS_KEY) CURL_SK="$v" ;;
      AWS_SESSION_TOKEN) CURL_ST="$v" ;;
    esac
  done
  case "$CURL_AK$CURL_SK$CURL_ST" in *[!A-Za-z0-9+/=_-]*) return 1 ;; esac
  [ -n "$CURL_AK" ] && [ -n "$CURL_SK" ] || return 1
  CURL_CREDS_AT=$SECONDS
}
s3_curl_ready() {
  [ "$STORE_KIND" = s3 ] && [ "$CURL_PUT" != off ] || return 1
  if [ -z "$CURL_PUT" ]; then
    CURL_PUT=off
    [ "${DSTACK_S3_CURL:-1}" = 1 ] && [ -n "$S3_REGION" ] || return 1
    command -v curl >/dev/null 2>&1 || return 1
    curl --help all 2>/dev/null | grep -q -e '--aws-sigv4' || return 1
    CURL_PUT=on
  fi
  if [ $((SECONDS - CURL_CREDS_AT)) -ge 600 ] && ! s3_curl_creds; then CURL_PUT=off; return 1; fi
}
# HTTP_URL := the object's URL (path-style on a custom endpoint or a dotted bucket), key percent-encoded
s3_http_url() {
  local key="$1" out='' c i LC_ALL=C
  [ -n "$S3_PREFIX" ] && key="$S3_PREFIX/$key"
  for ((i = 0; i < ${#key}; i++)); do
    c="${key:i:1}"
    case "$c" in [A-Za-z0-9._~/-]) out+="$c" ;; *) printf -v c '%%%02X' "'$c"; out+="$c" ;; esac
  done
  local domain=amazonaws.com
  case "$S3_REGION" in cn-*) domain=amazonaws.com.cn ;; esac
  if [ -n "$S3_ENDPOINT" ]; then HTTP_URL="${S3_ENDPOINT%/}/$S3_BUCKET/$out"
  elif [[ "$S3_BUCKET" == *.* ]]; then HTTP_URL="https://s3.$S3_REGION.$domain/$S3_BUCKET/$out"
  else HTTP_URL="https://$S3_BUCKET.s3.$S3_REGION.$domain/$out"
  fi
}
# s3_curl_put FILE KEY: one signed PUT; true on HTTP 200
s3_curl_put() {
  local code
  s3_http_url "$2"
  code=$({
    printf 'user = "%s:%s"\n' "$CURL_AK" "$CURL_SK"
    [ -z "$CURL_ST" ] || printf 'header = "x-amz-security-token: %s"\n' "$CURL_ST"
  } | curl -sS -o /dev/null -w '%{http_code}' --connect-timeout 10 --max-time 60 --aws-sigv4 "aws:amz:$S3_REGION:s3" \
    -H 'x-amz-content-sha256: UNSIGNED-PAYLOAD' -K - -T "$1" "$HTTP_URL" 2>/dev/null)
  [ "$code" = 200 ]
}
# store_put_small FILE KEY: like store_put, through curl when it works (S3)
store_put_small() {
  if s3_curl_ready; then
    s3_curl_put "$1" "$2" && return 0
    # once more with fresh credentials, then the aws CLI for good
    s3_curl_creds && s3_curl_put "$1" "$2" && return 0
    CURL_PUT=off
    printf '[dstack] shipping with curl failed; the aws CLI ships from now on\n' >&2
  fi
  store_put "$1" "$2"
}

# store_put FILE KEY (atomic for folders: temp file + rename)
store_put() {
  if [ "$STORE_KIND" = s3 ]; then aws_s3 cp "$1" "$(s3_url "$2")"; return; fi
  local dest="$STORE_ROOT/$2" tmp
  # no subshells: a chunk every half second makes each process count
  [ -d "${dest%/*}" ] || mkdir -p "${dest%/*}" || return 1
  tmp="${dest%/*}/.~tmp.$$.$RANDOM"
  cp "$1" "$tmp" && mv -f "$tmp" "$dest" || { rm -f "$tmp"; return 1; }
}
# store_get KEY FILE
store_get() {
  if [ "$STORE_KIND" = s3 ]; then aws_s3 cp "$(s3_url "$1")" "$2"; return; fi
  cp "$STORE_ROOT/$1" "$2"
}
# ---------- small and mid-size gets without an aws process (the code snapshot, a checkpoint file) ----------
# s3_curl_get KEY FILE: one signed GET (the same SigV4 curl and credentials as store_put_small) into
# FILE, written only when complete; returns 0 on HTTP 200, 2 when S3 says the key does not exist (404),
# 1 on any other answer (the caller falls back to the aws CLI). Aborts a transfer slower than 1 KiB/s
# for a minute rather than after a fixed time, so a big snapshot on a slow link still arrives.
s3_curl_get() {
  local code part="$2.~curl.$$"
  s3_http_url "$1"
  code=$({
    printf 'user = "%s:%s"\n' "$CURL_AK" "$CURL_SK"
    [ -z "$CURL_ST" ] || printf 'header = "x-amz-security-token: %s"\n' "$CURL_ST"
  } | curl -sS -o "$part" -w '%{http_code}' --connect-timeout 10 --speed-limit 1024 --speed-time 60 --aws-sigv4 "aws:amz:$S3_REGION:s3" \
    -H 'x-amz-content-sha256: UNSIGNED-PAYLOAD' -K - "$HTTP_URL" 2>/dev/null)
  if [ "$code" = 200 ] && mv -f "$part" "$2"; then return 0; fi
  rm -f "$part"
  [ "$code" = 404 ] && return 2
  return 1
}
# store_get_fast KEY FILE: like store_get; on S3 through curl when it works (about 10 ms instead of an
# aws process, ~1 CPU second), the aws CLI when curl cannot or gets any answer but the object
store_get_fast() {
  if s3_curl_ready && s3_curl_get "$1" "$2"; then return 0; fi
  store_get "$1" "$2"
}

# ---------- a folder into a fresh prefix without an aws process ----------
# `aws s3 sync` of a run's artifacts costs a Python start (~0.5–1 CPU s), a listing of the
# destination and then the PUTs. Into a prefix that holds nothing there is nothing to compare or
# delete: one ListObjectsV2 through curl says so, then one curl process PUTs every file, 16 at a
# time (--parallel), signed as store_put_small's are, each with the Content-Type the CLI would guess
# for the common kinds (report images must show in a browser). Falls back (returns 1) when curl
# cannot, the prefix holds something, a file is over S3_TREE_MAX_BYTES, a name is not printable
# ASCII, or any PUT fails (sync then sends what is missing). Files over S3_TREE_PART_BYTES go up
# through curl only when there are at least S3_TREE_MIN_BIG of them: one PUT each is then as many
# streams as the CLI's multipart opens (1 GiB in 16 files: 4.7 s through curl, 15.1 s through
# `aws s3 sync`, on loopback), while one or a few big files go faster in the CLI's parts.
S3_TREE_MAX_BYTES="${DSTACK_S3_TREE_MAX_BYTES:-536870912}"
S3_TREE_PART_BYTES="${DSTACK_S3_TREE_PART_BYTES:-16777216}"
S3_TREE_MIN_BIG=8
S3_TREE_MAX_FILES=5000
S3_TREE_PARALLEL=
case "$S3_TREE_MAX_BYTES" in ''|*[!0-9]*) S3_TREE_MAX_BYTES=536870912 ;; esac
case "$S3_TREE_PART_BYTES" in ''|*[!0-9]*) S3_TREE_PART_BYTES=16777216 ;; esac
# CTYPE := the Content-Type of a file name, or nothing (S3's default, as the CLI leaves an unknown
# kind); a variable, not output: no fork per file
s3_content_type() {
  case "${1,,}" in
    *.png) CTYPE=image/png ;; *.jpg|*.jpeg) CTYPE=image/jpeg ;; *.gif) CTYPE=image/gif ;;
    *.svg) CTYPE=image/svg+xml ;; *.webp) CTYPE=image/webp ;; *.html|*.htm) CTYPE=text/html ;;
    *.txt) CTYPE=text/plain ;; *.md) CTYPE=text/markdown ;; *.csv) CTYPE=text/csv ;;
    *.json) CTYPE=application/json ;; *.pdf) CTYPE=application/pdf ;; *.xml) CTYPE=application/xml ;;
    *.gz|*.tgz) CTYPE=application/gzip ;; *.tar) CTYPE=application/x-tar ;; *.zip) CTYPE=application/zip ;;
    *) CTYPE= ;;
  esac
}
# s3_prefix_empty PREFIX: S3 holds no key under PREFIX/ (a signed ListObjectsV2, max-keys=1)
s3_prefix_empty() {
  local p="$1/" enc='' c i body domain=amazonaws.com LC_ALL=C
  [ -n "$S3_PREFIX" ] && p="$S3_PREFIX/$p"
  for ((i = 0; i < ${#p}; i++)); do
    c="${p:i:1}"
    case "$c" in [A-Za-z0-9._~-]) enc+="$c" ;; *) printf -v c '%%%02X' "'$c"; enc+="$c" ;; esac
  done
  case "$S3_REGION" in cn-*) domain=amazonaws.com.cn ;; esac
  local q="list-type=2&max-keys=1&prefix=$enc" url
  if [ -n "$S3_ENDPOINT" ]; then url="${S3_ENDPOINT%/}/$S3_BUCKET?$q"
  elif [[ "$S3_BUCKET" == *.* ]]; then url="https://s3.$S3_REGION.$domain/$S3_BUCKET?$q"
  else url="https://$S3_BUCKET.s3.$S3_REGION.$domain/?$q"
  fi
  body=$({
    printf 'user = "%s:%s"\n' "$CURL_AK" "$CURL_SK"
    [ -z "$CURL_ST" ] || printf 'header = "x-amz-security-token: %s"\n' "$CURL_ST"
  } | curl -fsS --connect-timeout 10 --max-time 30 --aws-sigv4 "aws:amz:$S3_REGION:s3" \
    -H 'x-amz-content-sha256: UNSIGNED-PAYLOAD' -K - "$url" 2>/dev/null) || return 1
  [[ "$body" == *"<KeyCount>0</KeyCount>"* ]]
}
# s3_put_fresh_tree SRC PREFIX
s3_put_fresh_tree() {
  local src="$1" prefix="$2" f rel ops='' n=0 CTYPE ok LC_ALL=C
  [ "${DSTACK_S3_TREE_CURL:-1}" = 1 ] && s3_curl_ready || return 1
  if [ -z "$S3_TREE_PARALLEL" ]; then
    S3_TREE_PARALLEL=off
    curl --help all 2>/dev/null | grep -q -e '--parallel-max' && S3_TREE_PARALLEL=on
  fi
  [ "$S3_TREE_PARALLEL" = on ] || return 1
  [ -z "$(find "$src" -type f -size +"${S3_TREE_MAX_BYTES}"c -print -quit 2>/dev/null)" ] || return 1
  # big files: through curl only when there are enough of them to fill as many streams as multipart
  n=$(find "$src" -type f -size +"${S3_TREE_PART_BYTES}"c -printf x 2>/dev/null | wc -c)
  [ "$n" -eq 0 ] || [ "$n" -ge "$S3_TREE_MIN_BIG" ] || return 1
  n=0
  while IFS= read -r -d '' f; do
    rel="${f#"$src"/}"
    [[ "$f" == *[![:print:]]* || "$f" == *[\"\\]* ]] && return 1
    n=$((n + 1))
    [ "$n" -le "$S3_TREE_MAX_FILES" ] || return 1
    s3_http_url "$prefix/$rel"
    s3_content_type "$rel"
    ops+="upload-file = \"$f\""$'\n'"url = \"$HTTP_URL\""$'\n'"output = \"/dev/null\""$'\n'
    [ -z "$CTYPE" ] || ops+="header = \"Content-Type: $CTYPE\""$'\n'
    ops+=$'\x01'
  done < <(artifact_files "$src")
  [ "$n" -gt 0 ] && s3_prefix_empty "$prefix" || return 1
  # one operation per file (`next`): each carries its own Content-Type and the signing options
  ok=$({
    local op first=1
    while IFS= read -r -d $'\x01' op; do
      [ "$first" = 1 ] || printf 'next\n'
      first=0
      printf 'user = "%s:%s"\n' "$CURL_AK" "$CURL_SK"
      [ -z "$CURL_ST" ] || printf 'header = "x-amz-security-token: %s"\n' "$CURL_ST"
      printf 'aws-sigv4 = "aws:amz:%s:s3"\nheader = "x-amz-content-sha256: UNSIGNED-PAYLOAD"\n' "$S3_REGION"
      printf 'connect-timeout = 10\nspeed-limit = 1024\nspeed-time = 60\nwrite-out = "%%{http_code}\\n"\n%s' "$op"
    done <<<"$ops"
  } | curl -sS --parallel --parallel-max 16 -K - 2>/dev/null | grep -c '^200$')
  [ "$ok" = "$n" ]
}

# upload exactly the regular files of a folder (no links, nothing they point at); with `prune`,
# also delete what the store holds there and the folder no longer has (a mounted artifact synced
# earlier), so the store matches the manifest; `again` prunes too, for a checkpoint folder synced
# during the job
store_put_tree() {
  local src="$1" prefix="$2" prune="${3:-}" f rel
  if [ "$STORE_KIND" = s3 ]; then
    # a prefix that holds nothing yet (the run's artifacts at its end): no listing to compare, no
    # aws process; the CLI's sync for anything else, or when the quick path cannot. A checkpoint
    # folder synced during the job (prune = again) goes up again and again: S3 keeps whole seconds
    # of an upload's time, so a file uploaded in the second it was written would look newer to
    # every later sync and go up again (in the spot notice's two minutes); the CLI's sync avoids that
    if [ "$prune" != again ] && s3_put_fresh_tree "$src" "$prefix"; then return 0; fi
    aws_s3 sync --no-follow-symlinks ${prune:+--delete} "$src" "$(s3_url "$prefix")"
    return
  fi
  while IFS= read -r -d '' f; do
    rel="${f#"$src"/}"
    if [ -e "$STORE_ROOT/$prefix/$rel" ] && [ ! "$f" -nt "$STORE_ROOT/$prefix/$rel" ]; then continue; fi
    store_put "$f" "$prefix/$rel" || return 1
  done < <(artifact_files "$src")
  [ -n "$prune" ] && [ -d "$STORE_ROOT/$prefix" ] || return 0
  while IFS= read -r -d '' f; do
    rel="${f#"$STORE_ROOT/$prefix"/}"
    if [ -L "$f" ] || [ ! -f "$src/$rel" ] || [ -L "$src/$rel" ]; then rm -f "$f"; fi
  done < <(find "$STORE_ROOT/$prefix" \( -type f -o -type l \) -print0)
}

# store_restore KEY DEST: a stored file, or every file under KEY/ (DEST is created only when there are files)
store_restore() {
  if [ "$STORE_KIND" = s3 ]; then
    # through curl: the one object, or (404) none, so the files are under KEY/; else the aws CLI tries
    if s3_curl_ready; then
      s3_curl_get "$1" "$2"
      case $? in 0) return 0 ;; 2) aws_s3 sync "$(s3_url "$1")/" "$2"; return ;; esac
    fi
    aws_s3 cp "$(s3_url "$1")" "$2" >/dev/null 2>&1 && return 0
    aws_s3 sync "$(s3_url "$1")/" "$2"
    return
  fi
  # a link in the store is never followed (the store holds regular files only)
  [ -L "$STORE_ROOT/$1" ] && return 1
  if [ -f "$STORE_ROOT/$1" ]; then cp -p "$STORE_ROOT/$1" "$2"
  elif [ -d "$STORE_ROOT/$1" ]; then mkdir -p "$2" && cp -Rp "$STORE_ROOT/$1/." "$2/"
  fi
}

# store_read_small KEY FILE: a small object (a peer's status.json), quietly; false when it is not there
store_read_small() {
  if [ "$STORE_KIND" = s3 ]; then
    if s3_curl_ready; then
      local code
      s3_http_url "$1"
      code=$({
        printf 'user = "%s:%s"\n' "$CURL_AK" "$CURL_SK"
        [ -z "$CURL_ST" ] || printf 'header = "x-amz-security-token: %s"\n' "$CURL_ST"
      } | curl -sS -o "$2" -w '%{http_code}' --connect-timeout 10 --max-time 30 --aws-sigv4 "aws:amz:$S3_REGION:s3" \
        -H 'x-amz-content-sha256: UNSIGNED-PAYLOAD' -K - "$HTTP_URL" 2>/dev/null)
      [ "$code" = 200 ]
      return
    fi
    aws_s3 cp "$(s3_url "$1")" "$2" >/dev/null 2>&1
    return
  fi
  cp "$STORE_ROOT/$1" "$2" 2>/dev/null
}
