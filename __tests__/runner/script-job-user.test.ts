/**
 * The rendered runner script on the local backend with DSTACK_JOB_USER=auto: on a machine where it
 * can (root here), the job runs as `dstack-job`, with its own HOME, TMPDIR and DSTACK_RUNNER_DIR, and
 * what it writes (private files too) is still collected as artifacts and metrics.
 */
import { describe, expect, test, afterAll } from '@jest/globals'
import { chmodSync } from 'node:fs'
import { canSwitchUser } from '../../src/backends/local/job-user.js'
import { folderStore, logChunks, makePlan, readKey, removeTempDirs, runPrefix, runToEnd, statusOf, tempDir } from './fixture.js'

const P = runPrefix()
const maybe = canSwitchUser() ? describe : describe.skip
afterAll(removeTempDirs)

maybe('the job as its own OS user (DSTACK_JOB_USER=auto)', () => {
  test('runs as dstack-job in its own folders; its private artifact and metrics are collected', async () => {
    const { root, loc } = await folderStore()
    const work = tempDir('work-')
    chmodSync(work, 0o711)
    const plan = makePlan(loc, {
      commands: [
        'echo "user=$(id -un) home=$HOME tmp=$TMPDIR rd=$DSTACK_RUNNER_DIR"',
        'touch "$HOME/h" "$TMPDIR/t" "$DSTACK_RUNNER_DIR/r"',
        'umask 077 && mkdir -p out && echo secret-weights > out/model.bin',
        'echo \'{"step":1,"loss":0.5}\' > "$DSTACK_METRICS"'
      ],
      artifacts: [{ path: 'out', mount: false }]
    })
    const end = await runToEnd(plan, { backend: { env: { DSTACK_WORK_ROOT: work, DSTACK_JOB_USER: 'auto' } } })
    expect(end.exitCode).toBe(0)
    const log = logChunks(root).join('')
    expect(log).toContain('the job runs as the user dstack-job')
    expect(log).toMatch(/user=dstack-job home=\S+\/1\/home tmp=\S+\/1\/tmp rd=\S+\/1\/job\n/)
    expect(readKey(root, `${P}/artifacts/out/model.bin`)).toBe('secret-weights\n')
    expect(readKey(root, `${P}/artifacts/_dstack/metrics.jsonl`)).toBe('{"step":1,"loss":0.5}\n')
    expect(statusOf(root)!.status).toBe('succeeded')
  })

  test('a work root the job cannot pass through: a user named on purpose fails before the job, saying how to fix it; auto runs the job as the runner\'s user and says so', async () => {
    const { root, loc } = await folderStore()
    const work = tempDir('work-') // 0700: closed to other users
    const end = await runToEnd(makePlan(loc, { commands: ['echo RAN'] }), { backend: { env: { DSTACK_WORK_ROOT: `${work}/w`, DSTACK_JOB_USER: 'dstack-job' } } })
    expect(end.exitCode).toBe(1)
    expect(statusOf(root)!.reason).toMatch(/the job's user dstack-job cannot reach .* set DSTACK_WORK_ROOT to a folder others may pass through, or DSTACK_JOB_USER=off/)
    expect(logChunks(root).join('')).not.toContain('RAN')

    const auto = await folderStore()
    const again = await runToEnd(makePlan(auto.loc, { commands: ['echo "RAN as $(id -un)"'] }), { backend: { env: { DSTACK_WORK_ROOT: `${work}/w2`, DSTACK_JOB_USER: 'auto' } } })
    expect(again.exitCode).toBe(0)
    const status = statusOf(auto.root)!
    expect(status.status).toBe('succeeded')
    expect(status.reason).toMatch(/warning: the job ran as this runner's user: the job's user dstack-job cannot reach .* set DSTACK_WORK_ROOT/)
    expect(logChunks(auto.root).join('')).toContain('RAN as root')
  })
})
