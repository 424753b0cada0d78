/**
 * nodes.sh, control.sh and checkpoints.sh, each sourced alone with settings.sh and stand-ins for
 * the other modules. The clock is bash's own SECONDS, which the test sets; signals are sent by the
 * test to the shell itself; the peers' status and the metadata service answer through stand-ins.
 */
import { afterAll, describe, expect, test } from '@jest/globals'
import { readFileSync } from 'node:fs'
import { recording, runModules } from './harness.js'
import { makePlan, removeTempDirs } from '../fixture.js'

afterAll(() => removeTempDirs())
const calls = (dir: string): string[] => readFileSync(`${dir}/calls`, 'utf8').split('\n').filter(Boolean)

describe('nodes.sh', () => {
  const groups = (dir: string) =>
    makePlan({ kind: 'folder', root: `${dir}/store` }, { nodes: { count: 3, startupOrder: 'workers-first', groups: [{ name: 'master', nodes: 1, commands: ['echo m'] }, { name: 'workers', nodes: 2, commands: ['echo w'] }] } })

  test.each([
    ['x', '10.0.0.1\n10.0.0.2\n10.0.0.3', 'DSTACK_NODE_RANK `x` is not a node rank'],
    ['3', '10.0.0.1\n10.0.0.2\n10.0.0.3', 'DSTACK_NODE_RANK 3 is not below the node count 3'],
    ['1', '10.0.0.1\n10.0.0.2', 'DSTACK_NODES_IPS holds 2 addresses for 3 nodes'],
    ['1', '10.0.0.1\n$(reboot)\n10.0.0.3', 'DSTACK_NODES_IPS holds `$(reboot)`, which is not an IP address']
  ])('rank %j with addresses %j: %s', (rank, ips, error) => {
    const r = runModules(['settings.sh', 'nodes.sh'], 'printf "%s" "$NODE_ERROR"', { plan: groups, env: { DSTACK_NODE_RANK: rank, DSTACK_NODES_IPS: ips, DSTACK_GPUS_PER_NODE: '8' } })
    expect(r.stdout).toBe(error)
  })

  test('a node takes its group\'s job, dstack\'s node variables and a hostfile; the inputs leave the environment', () => {
    const script = 'RUNNER_DIR="$T"; JOB_RUNNER_DIR="$T"; printf "%s|%s|%s\\n" "$(node_label)" "$NODE_ERROR" "${DSTACK_NODE_RANK:-unset}"; grep -c "^echo w$" <<<"$JOB_SCRIPT"\nexport_node_env /h; for n in "${NODE_ENV_NAMES[@]}"; do printf "%s=%s\\n" "$n" "$(printenv "$n" | paste -sd,)"; done; write_hostfile; cat "$T/mpi_hostfile"'
    const r = runModules(['settings.sh', 'nodes.sh'], script, { plan: groups, env: { DSTACK_NODE_RANK: '2', DSTACK_NODES_IPS: '10.0.0.1\n10.0.0.2\n10.0.0.3', DSTACK_GPUS_PER_NODE: '4' } })
    expect(r.stdout.split('\n')).toEqual([
      'node 2 of 3 (group workers)||unset',
      '1',
      'DSTACK_NODES_NUM=3',
      'DSTACK_NODE_RANK=2',
      'DSTACK_MASTER_NODE_IP=10.0.0.1',
      'DSTACK_NODES_IPS=10.0.0.1,10.0.0.2,10.0.0.3',
      'DSTACK_GPUS_PER_NODE=4',
      'DSTACK_GPUS_NUM=12',
      'DSTACK_MPI_HOSTFILE=/h',
      'DSTACK_NODE_IP_0=10.0.0.1',
      'DSTACK_NODE_IP_1=10.0.0.2',
      'DSTACK_NODE_IP_2=10.0.0.3',
      '10.0.0.1 slots=4',
      '10.0.0.2 slots=4',
      '10.0.0.3 slots=4',
      ''
    ])
  })

  // the master waits for both workers; each poll is a read of their status.json through the store
  const peers = 'polls=0\nstore_read_small() { polls=$((polls + 1)); local r="${1%/status.json}"; r="${r##*/}"; [ -f "$T/peer.$r" ] || return 1; cp "$T/peer.$r" "$2"; }\nsleep() { :; }\n'
  const env = { DSTACK_NODE_RANK: '0', DSTACK_NODES_IPS: '10.0.0.1\n10.0.0.2\n10.0.0.3' }

  test('workers-first: the master waits until both workers have started their commands', () => {
    const script = 'RUNNER_DIR="$T"; LOG_FILE="$T/log"; STOP=\nprintf \'{"phase":"running"}\' >"$T/peer.1"; printf \'{"phase":"done","status":"succeeded"}\' >"$T/peer.2"\nstartup_wait && echo started; cat "$T/log"'
    const r = runModules(['settings.sh', 'nodes.sh'], script, { plan: groups, env, standIns: peers + recording('request_stop') })
    expect(r.stdout).toBe('started\n[dstack] startup_order workers-first: waiting for node(s) 1 2 to start their commands\n[dstack] node(s) 1 2 started their commands after 0s: starting this node\'s\n')
  })

  test('a worker that ended first fails the wait; max_duration, on the test\'s clock, stops it', () => {
    const ended = runModules(['settings.sh', 'nodes.sh'], 'RUNNER_DIR="$T"; LOG_FILE="$T/log"; STOP=\nprintf \'{"phase":"done","status":"failed"}\' >"$T/peer.1"\nstartup_wait || echo "$WAIT_ERROR"', { plan: groups, env, standIns: peers + recording('request_stop') })
    expect(ended.stdout).toBe('node 1 ended (failed) before this node started its commands (startup_order workers-first)\n')
    const late = runModules(['settings.sh', 'nodes.sh'], 'RUNNER_DIR="$T"; LOG_FILE="$T/log"; STOP=; SECONDS=$((MAX_DURATION + 1))\nstartup_wait || echo "no"', { plan: groups, env, standIns: peers + recording('request_stop') })
    expect(late.stdout).toBe('no\n')
    expect(calls(late.dir)[0]).toMatch(/^request_stop timed-out the run reached its max duration of 2m while waiting for the other nodes/)
  })
})

describe('control.sh', () => {
  const standIns = recording('finish_checkpoints', 'write_status', 'print_new', 'ship_logs', 'work_folder_note', 'remove_work_folder') + '\nJOB_PRIV=()\njob_user_reclaim() { :; }\nupload_failed=\nhas_job_outputs() { return 1; }\nupload_artifacts() { [ -z "$upload_failed" ]; }'
  const vars = { RUNNER_DIR: '/nonexistent', PID_NOTE: '/nonexistent/pid', NODE_RANK: '0', PHASE: 'running', LOG_FILE: '/dev/null' }

  test('a SIGTERM to the runner stops the job\'s whole process group, once, with the first reason', () => {
    const script = [
      'LOG_FILE="$T/log"; tick_open',
      'setsid sleep 60 & JOB_PID=$!',
      'kill -TERM $$; request_stop timed-out "later"',
      'wait "$JOB_PID"; echo "job $? $STOP: $STOP_REASON"; job_alive || echo gone'
    ].join('\n')
    const r = runModules(['settings.sh', 'control.sh'], script, { standIns, vars })
    expect(r.stdout).toBe('job 143 cancelled: the runner received SIGTERM: the job was stopped\ngone\n')
  })

  test('finish uploads, reports the notes, writes the final status once and exits with the code', () => {
    const script = 'ARTIFACT_PATHS=(model); note "artifact x was not stored"; finish succeeded 0 "all commands exited with 0" 0'
    const ok = runModules(['settings.sh', 'control.sh'], script, { standIns, vars })
    expect(ok.code).toBe(0)
    // status.json says `uploading` (the phase alone), then the final status
    expect(calls(ok.dir).filter((c) => c.startsWith('write_status'))).toEqual(['write_status ', expect.stringMatching(/^write_status succeeded 0 all commands exited with 0; artifact x was not stored \d{4}-/)])
    const failed = runModules(['settings.sh', 'control.sh'], 'ARTIFACT_PATHS=(model); upload_failed=1; (finish succeeded 0 ok 0); echo "rc $?"', { standIns, vars })
    expect(failed.stdout).toBe('rc 1\n')
    expect(calls(failed.dir).filter((c) => c.startsWith('write_status failed'))).toEqual([expect.stringMatching(/^write_status failed 1 the job succeeded, but uploading its artifacts failed /)])
  })

  test('spot_notice reads the instance action from IMDSv2 and keeps its time for the save', () => {
    const curl = 'curl() { case "$*" in *api/token*) printf tok ;; *"-H X-aws-ec2-metadata-token: tok"*instance-action*) printf \'{"action": "stop", "time": "2026-12-07T04:00:00Z"}\\n200\' ;; *) printf "\\n404" ;; esac; }\n'
    const r = runModules(['settings.sh', 'control.sh'], 'RUNNER_DIR="$T"; spot_notice; echo; cat "$T/notice-time"', { standIns: standIns + '\n' + curl, vars })
    expect(r.stdout).toBe('stop 2026-12-07T04:00:00Z\n2026-12-07T04:00:00Z\n')
  })

  test('watcher_gone: the runner\'s parent is the watcher while it lives', () => {
    const here = runModules(['settings.sh', 'control.sh'], 'watcher_gone && echo gone || echo here', { standIns, vars, env: { DSTACK_WATCHER_PID: String(process.pid) } })
    expect(here.stdout).toBe('here\n')
    const gone = runModules(['settings.sh', 'control.sh'], 'watcher_gone && echo gone || echo here', { standIns, vars, env: { DSTACK_WATCHER_PID: '1' } })
    expect(gone.stdout).toBe('gone\n')
  })
})

describe('checkpoints.sh', () => {
  const plan = (dir: string) => makePlan({ kind: 'folder', root: `${dir}/store` }, { artifacts: [{ path: 'ckpt', mount: true }, { path: 'model', mount: false }], attempt: 2 })
  const standIns = 'artifact_src() { printf "%s/code/%s" "$T" "$1"; }\nartifact_base() { printf "%s/code" "$T"; }\nartifact_refusal() { [ ! -L "$1" ] || printf "it is a symbolic link"; }\nupload_artifact() { printf "%s\\n" "upload $*" >>"$T/calls"; }\nstore_restore() { [ -e "$T/saved/$1" ] || return 0; cp -Rp "$T/saved/$1" "$2"; }\n' + recording('print_new', 'ship_logs', 'write_status')
  const vars = { NODE_RANK: '0', ARTIFACTS_PREFIX: 'run/artifacts', PHASE: 'running' }

  test('sync_mounts starts a background sync every CHECKPOINT_INTERVAL seconds of the test\'s clock', () => {
    const script = 'RUNNER_DIR="$T"; LOG_FILE="$T/log"\nfor s in 0 10 29 30 45 61; do SECONDS=$s; sync_mounts; checkpoint_sync_done; done\ncat "$T/calls"'
    const r = runModules(['settings.sh', 'checkpoints.sh'], script, { plan, standIns, vars, env: { DSTACK_CHECKPOINT_INTERVAL: '30' } })
    expect(r.stdout).toBe('upload ckpt again\nupload ckpt again\nupload ckpt again\n')
  })

  test('a sync slower than the spot notice\'s two minutes is noted once', () => {
    const script = 'RUNNER_DIR="$T"; LOG_FILE="$T/log"\nCKPT_SYNC_PID=1; printf "2097152 130500 0\\n" >"$T/ckpt.stat"; checkpoint_sync_done\nCKPT_SYNC_PID=1; checkpoint_sync_done; printf "%s\\n" "${NOTES[@]}"'
    const r = runModules(['settings.sh', 'checkpoints.sh'], script, { plan, standIns, vars })
    expect(r.stdout).toBe('a checkpoint sync took 130.5 s (2.0MB), longer than the 2-minute spot notice: on an interruption only the last complete sync is sure to be kept\n')
  })

  test('attempt 2 restores what an earlier attempt saved and tells the job where it resumed from', () => {
    const script = 'RUNNER_DIR="$T"; LOG_FILE="$T/log"; mkdir -p "$T/saved/run/artifacts/ckpt" "$T/code/ckpt"\nprintf 7 >"$T/saved/run/artifacts/ckpt/step"; printf old >"$T/code/ckpt/keep"\nrestore_checkpoints; echo "$DSTACK_RESTORED|$DSTACK_RESUMED_FROM"; cat "$T/code/ckpt/step" "$T/code/ckpt/keep"'
    const r = runModules(['settings.sh', 'checkpoints.sh', 'fetch.sh'], script, { plan, standIns, vars })
    expect(r.stdout).toBe('ckpt|1\n7old')
    expect(readFileSync(`${r.dir}/log`, 'utf8')).toMatch(/^\[dstack\] attempt 2 resumes: restored ckpt \(1 files, 4B\) saved by earlier attempts, in \d+\.\d s\n$/)
  })

  test('a restore never writes through a link: the checkpoint path or a file in it committed as a link is refused', () => {
    const linkDir = 'mkdir -p "$T/victim" "$T/saved/run/artifacts/ckpt" "$T/code"; ln -s "$T/victim" "$T/code/ckpt"\nprintf 7 >"$T/saved/run/artifacts/ckpt/step"\nrestore_checkpoints; echo "[$DSTACK_RESTORED]"; ls "$T/victim" | wc -l'
    const a = runModules(['settings.sh', 'checkpoints.sh', 'fetch.sh'], 'RUNNER_DIR="$T"; LOG_FILE="$T/log"\n' + linkDir, { plan, standIns, vars })
    expect(a.stdout).toBe('[]\n0\n')
    expect(readFileSync(`${a.dir}/log`, 'utf8')).toContain('checkpoint `ckpt` was not restored: it is a symbolic link')
    const linkFile = 'mkdir -p "$T/saved/run/artifacts/ckpt/sub" "$T/code/ckpt"; printf safe >"$T/victim.txt"; ln -s "$T/victim.txt" "$T/code/ckpt/step"; ln -s "$T" "$T/code/ckpt/sub"\nprintf 7 >"$T/saved/run/artifacts/ckpt/step"; printf 8 >"$T/saved/run/artifacts/ckpt/sub/x"\nrestore_checkpoints; cat "$T/victim.txt"; [ -e "$T/x" ] && echo wrote-through || echo kept-out'
    const b = runModules(['settings.sh', 'checkpoints.sh', 'fetch.sh'], 'RUNNER_DIR="$T"; LOG_FILE="$T/log"\n' + linkFile, { plan, standIns, vars })
    expect(b.stdout).toBe('safekept-out\n')
  })
})
