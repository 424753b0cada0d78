/**
 * settings.sh, store.sh (a folder store, and the S3 URL the curl path signs) and logs.sh, each
 * sourced alone (settings.sh, the helpers every module uses, under the others) with stand-ins for
 * the rest. JSON is checked by JSON.parse, URLs against RFC 3986's unreserved set.
 */
import { afterAll, describe, expect, test } from '@jest/globals'
import { existsSync, readdirSync, readFileSync } from 'node:fs'
import { runModules, recording } from './harness.js'
import { removeTempDirs } from '../fixture.js'

afterAll(() => removeTempDirs())

describe('settings.sh', () => {
  test('json_str writes a JSON string literal of any text, control characters included', () => {
    const s = 'a "quoted" \\ back\tslash\n\r\u0001\u001f\u007f é ✓'
    const r = runModules(['settings.sh'], 'json_str "$S"', { env: { S: s } })
    expect(r.stderr).toBe('')
    expect(JSON.parse(r.stdout)).toBe(s)
  })

  test('redact_text hides every secret text; log and note write to the job log, note also to NOTES', () => {
    const r = runModules(['settings.sh'], 'LOG_FILE="$T/job.log"; log "token tok-123 and pw"; note "again tok-123"; printf "%s|" "${NOTES[@]}"; cat "$LOG_FILE"', {
      env: { DSTACK_REDACT: 'tok-123\npw' }
    })
    expect(r.stdout).toBe('again ***|[dstack] token *** and ***\n[dstack] again ***\n')
  })

  test('an override that is not a whole number falls back to its default', () => {
    const r = runModules(['settings.sh'], 'echo "$LOG_INTERVAL $SPOT_POLL $KILL_AFTER $TICK_MS $SHIP_GAP_MS $(format_duration 7200) $(format_duration 120) $(format_duration 61)"', {
      env: { DSTACK_LOG_INTERVAL: 'soon', DSTACK_SPOT_POLL_INTERVAL: '0', DSTACK_KILL_AFTER: '-1', DSTACK_TICK_MS: '1e3', DSTACK_SHIP_GAP_MS: 'x' }
    })
    expect(r.stdout.trim()).toBe('2 5 20 250 500 2h 2m 61s')
  })
})

describe('store.sh, a folder store', () => {
  const standIns = 'artifact_files() { if [ -d "$1" ]; then find "$1" -type f -print0 | LC_ALL=C sort -z; elif [ -f "$1" ]; then printf "%s\\0" "$1"; fi; }'

  test('store_put creates the key\'s folders and leaves no temporary file; store_get reads it back', () => {
    const r = runModules(['settings.sh', 'store.sh'], 'printf hi >"$T/f"; store_put "$T/f" "a/b/c.txt" && store_get "a/b/c.txt" "$T/back" && cat "$T/back"', { standIns })
    expect(r.stdout).toBe('hi')
    expect(readdirSync(`${r.dir}/store/a/b`)).toEqual(['c.txt'])
  })

  test('store_put_tree with prune makes the store match the folder, links left out', () => {
    const r = runModules(
      ['settings.sh', 'store.sh'],
      [
        'mkdir -p "$T/src/sub" && printf 1 >"$T/src/one" && printf 2 >"$T/src/sub/two" && ln -s /etc/passwd "$T/src/link"',
        'mkdir -p "$T/store/p/old" && printf x >"$T/store/p/old/gone"',
        'store_put_tree "$T/src" p prune && find "$T/store/p" -type f | sort'
      ].join('\n'),
      { standIns }
    )
    expect(r.stdout.split('\n').filter(Boolean).map((l) => l.slice(r.dir.length))).toEqual(['/store/p/one', '/store/p/sub/two'])
  })

  test('store_restore copies a file or a folder, and nothing when the key is missing', () => {
    const r = runModules(
      ['settings.sh', 'store.sh'],
      'mkdir -p "$T/store/k/d" && printf f >"$T/store/k/file" && printf g >"$T/store/k/d/g"\nstore_restore k/file "$T/a" && store_restore k/d "$T/b" && store_restore k/none "$T/c" && cat "$T/a" "$T/b/g" && [ ! -e "$T/c" ] && echo " ok"',
      { standIns }
    )
    expect(r.stdout).toBe('fg ok\n')
  })

  test('store_read_small is false for a missing key; store_put_small of a folder store is store_put', () => {
    const r = runModules(['settings.sh', 'store.sh'], 'store_read_small nope "$T/x" || echo missing; printf s >"$T/s"; store_put_small "$T/s" k/s.json && cat "$T/store/k/s.json"', { standIns })
    expect(r.stdout).toBe('missing\ns')
  })
})

describe('store.sh, the URL of an S3 object for curl', () => {
  /** RFC 3986 unreserved characters stay, everything else is %XX per UTF-8 byte; `/` separates */
  const encode = (key: string): string => key.split('/').map((p) => encodeURIComponent(p).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`)).join('/')
  const key = "runs/wise cat/ä+b=c&d'(e)*!~.txt"
  test.each([
    ['a plain bucket: virtual-hosted', { S3_BUCKET: 'my-runs', S3_REGION: 'eu-west-1', S3_ENDPOINT: '', S3_PREFIX: 'ml' }, `https://my-runs.s3.eu-west-1.amazonaws.com/ml/${encode(key)}`],
    ['a dotted bucket: path-style', { S3_BUCKET: 'my.runs', S3_REGION: 'us-east-1', S3_ENDPOINT: '', S3_PREFIX: '' }, `https://s3.us-east-1.amazonaws.com/my.runs/${encode(key)}`],
    ['a China region', { S3_BUCKET: 'runs', S3_REGION: 'cn-north-1', S3_ENDPOINT: '', S3_PREFIX: '' }, `https://runs.s3.cn-north-1.amazonaws.com.cn/${encode(key)}`],
    ['a custom endpoint: path-style', { S3_BUCKET: 'runs', S3_REGION: 'us-east-1', S3_ENDPOINT: 'http://127.0.0.1:9000/', S3_PREFIX: '' }, `http://127.0.0.1:9000/runs/${encode(key)}`]
  ])('%s', (_name, vars, url) => {
    const r = runModules(['store.sh'], 's3_http_url "$KEY"; printf "%s" "$HTTP_URL"', { vars: { STORE_KIND: 's3', AWS_CLI: 'false', ...vars }, env: { KEY: key } })
    expect(r.stdout).toBe(url)
  })
})

describe('logs.sh', () => {
  const standIns = 'store_put_small() { mkdir -p "$(dirname "$T/out/$2")" && cp "$1" "$T/out/$2"; }\ns3_curl_ready() { return 1; }'
  const vars = (dir: string) => ({ RUNNER_DIR: dir, LOG_FILE: `${dir}/job.log`, ATTEMPT_PREFIX: 'run/attempts/1', IMAGE_DIGEST: '', JOB_OUT: '' })

  test('write_status writes status.json to the attempt, the reason redacted', () => {
    const r = runModules(['settings.sh', 'logs.sh'], 'RUNNER_DIR="$T"; LOG_FILE="$T/job.log"; PHASE=done; write_status failed 3 "step \\"x\\" leaked tok-9" 2026-12-07T03:00:00Z', {
      standIns,
      vars: vars('/nonexistent'),
      env: { DSTACK_REDACT: 'tok-9' }
    })
    expect(r.stderr).toBe('')
    const st = JSON.parse(readFileSync(`${r.dir}/out/run/attempts/1/status.json`, 'utf8'))
    expect(st).toEqual({ phase: 'done', status: 'failed', exitCode: 3, reason: 'step "x" leaked ***', startedAt: expect.stringMatching(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/), endedAt: '2026-12-07T03:00:00Z', logChunks: 0 })
  })

  test('ship_logs sends each new stretch of the log as the next chunk, and a failed one again', () => {
    const script = [
      'RUNNER_DIR="$T"; LOG_FILE="$T/job.log"',
      'printf "one\\n" >>"$LOG_FILE"; ship_logs; ship_logs',
      'printf "two\\n" >>"$LOG_FILE"; fail=1; ship_logs',
      'printf "three\\n" >>"$LOG_FILE"; fail=; ship_logs',
      'echo "$LOG_SEQ"'
    ].join('\n')
    const r = runModules(['settings.sh', 'logs.sh'], script, {
      standIns: 'fail=\nstore_put_small() { [ -z "$fail" ] && mkdir -p "$(dirname "$T/out/$2")" && cp "$1" "$T/out/$2"; }\ns3_curl_ready() { return 1; }',
      vars: vars('/nonexistent')
    })
    expect(r.stdout).toBe('2\n')
    const chunks = `${r.dir}/out/run/attempts/1/logs`
    expect(readdirSync(chunks)).toEqual(['000000.log', '000001.log'])
    expect(readFileSync(`${chunks}/000001.log`, 'utf8')).toBe('two\nthree\n')
  })

  test('print_new prints only what the log gained since the last call', () => {
    const r = runModules(['settings.sh', 'logs.sh'], 'RUNNER_DIR="$T"; LOG_FILE="$T/job.log"; printf "a\\n" >"$LOG_FILE"; print_new; printf "b\\n" >>"$LOG_FILE"; print_new; print_new', { standIns, vars: vars('/nonexistent') })
    expect(r.stdout).toBe('a\nb\n')
  })

  test('a chunk is due after SHIP_TICKS ticks with new output, never without', () => {
    const script = [
      'RUNNER_DIR="$T"; LOG_FILE="$T/job.log"; : >"$LOG_FILE"; ship_ticks; echo "ticks $SHIP_TICKS"',
      'SHIP_WAIT=0; log_ship_due && echo due1; log_ship_due && echo due2-empty',
      'printf x >>"$LOG_FILE"; SHIP_WAIT=0; log_ship_due && echo due3; log_ship_due && echo due4'
    ].join('\n')
    const r = runModules(['settings.sh', 'logs.sh'], script, { standIns, vars: vars('/nonexistent'), env: { DSTACK_TICK_MS: '250', DSTACK_SHIP_GAP_MS: '500' } })
    expect(r.stdout).toBe('ticks 2\ndue4\n')
    expect(existsSync(`${r.dir}/out`)).toBe(false)
  })
})

