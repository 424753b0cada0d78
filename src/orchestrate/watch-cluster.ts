/**
 * Watching a multi-node attempt: every node's log is followed (one listing per node per poll) and
 * printed line by line with a `[node <rank>] ` prefix; every node's status.json and the backend's
 * word on each node are combined by dstack's rule (cluster-rule.ts). When the rule ends the run
 * (a node failed or was reclaimed, or the master is done with `stop_criteria: master-done`) the
 * other nodes are asked to stop, and get `cancelGraceMs` to save their logs and status. Polling
 * follows the output like watch-attempt.ts, and a store that can tell wakes the loop at once.
 */
import type { AttemptHandle, AttemptStatus, ExecState, StopCriteria } from '../model/index.js'
import type { RunStore } from '../store/index.js'
import { LogFollower } from './log-follower.js'
import { allEnded, clusterTrigger, type ClusterTrigger, type NodeView } from './cluster-rule.js'
import { nextWaitMs, Waker, type WatchPace } from './watch-attempt.js'
import type { WatchOutage } from './watch-outage.js'

export interface ClusterWatchDeps {
  store: RunStore
  repoId: string
  run: string
  attempt: number
  nodes: number
  stopCriteria?: StopCriteria
  handle: AttemptHandle
  /** whole lines of node `rank`, each prefixed `[node <rank>] ` */
  emit: (rank: number, text: string) => void
  pace: WatchPace
  signal: AbortSignal
  sleep?: (ms: number) => Promise<void>
  now: () => number
  /** how long nodes get to save after a cancellation by the CI job */
  cancelGraceMs: number
  /**
   * how long the other nodes get to save after the rule stopped them (a node failed, the master is
   * done): the runner's own stop budget, not the CI's cancellation window (default 120 s)
   */
  stopGraceMs?: number
  warn: (message: string) => void
  outage?: WatchOutage
  /**
   * every node has ended (or the stop grace expired): what they wrote is in the store, so the caller
   * may release the machines now, beside the last reads of their logs rather than after them
   */
  onEnded?: () => void
}

export interface ClusterWatchResult {
  nodes: NodeView[]
  trigger?: ClusterTrigger
  /** the stopped nodes did not end within the grace period */
  graceExpired?: boolean
}

/** a partial line longer than this is printed without waiting for its end (progress bars) */
const MAX_PARTIAL = 4096
/** the runner's stop budget: SIGTERM, up to 20 s for the job, then its uploads (cancel-wait.ts CANCEL_WAIT_SEC) */
const DEFAULT_STOP_GRACE_MS = 120_000

/** buffers a node's text into whole lines with the node's prefix */
export class NodeLines {
  private partial = ''
  constructor(
    private readonly rank: number,
    private readonly out: (rank: number, text: string) => void
  ) {}

  write(text: string): void {
    const all = this.partial + text
    const cut = all.lastIndexOf('\n')
    const whole = cut < 0 ? '' : all.slice(0, cut + 1)
    this.partial = cut < 0 ? all : all.slice(cut + 1)
    if (this.partial.length > MAX_PARTIAL) {
      this.emit(whole + this.partial + '\n')
      this.partial = ''
    } else if (whole) this.emit(whole)
  }

  flush(): void {
    if (this.partial) this.emit(this.partial + '\n')
    this.partial = ''
  }

  /** `lines` ends with a line break: each line gets the prefix */
  private emit(lines: string): void {
    const prefix = `[node ${this.rank}] `
    this.out(this.rank, lines.slice(0, -1).split('\n').map((l) => prefix + l).join('\n') + '\n')
  }
}

export async function watchCluster(d: ClusterWatchDeps): Promise<ClusterWatchResult> {
  const ranks = Array.from({ length: d.nodes }, (_, r) => r)
  // every node's reads run at once (each poll, and finish()): their lines are held, then printed node by node
  let held: string[][] | undefined
  const lines = ranks.map((r) => new NodeLines(r, (rank, text) => (held ? held[rank]!.push(text) : d.emit(rank, text))))
  const inRankOrder = async <T>(f: () => Promise<T>): Promise<T> => {
    held = ranks.map(() => [])
    try {
      return await f()
    } finally {
      const out = held
      held = undefined
      for (const r of ranks) for (const text of out[r]!) d.emit(r, text)
    }
  }
  const followers = ranks.map((r) => new LogFollower(d.store, d.repoId, d.run, d.attempt, (t) => lines[r]!.write(t), r))
  const written: (AttemptStatus | undefined)[] = ranks.map(() => undefined)
  const seen: (string | undefined)[] = ranks.map(() => undefined)
  let execs: ExecState[] = ranks.map(() => ({ state: 'running' }))
  const waker = new Waker(d.sleep)
  const poke = waker.poke
  const unwatch = ranks.map((r) => d.store.watchAttempt(d.repoId, d.run, d.attempt, poke, r))
  d.handle.whenEnded?.().then(poke, poke)
  d.signal.addEventListener('abort', poke)
  let trigger: ClusterTrigger | undefined
  let stoppingAt: number | undefined
  let wait: number | undefined
  let outputAt = d.now()
  const views = (): NodeView[] => ranks.map((r) => ({ rank: r, written: written[r], exec: execs[r]! }))
  try {
    for (;;) {
      let printed = 0
      let moved = false
      try {
        if (!d.handle.pollNodes) throw new Error('the backend cannot watch the nodes of a multi-node run')
        const pollNodes = d.handle.pollNodes.bind(d.handle)
        // the nodes' logs and the backend's word on them, all at once: a poll takes one round trip, not one per node
        const [counts, states] = await inRankOrder(() => Promise.all([Promise.all(followers.map((f) => f.poll())), pollNodes()]))
        printed = counts.reduce((a, b) => a + b, 0)
        execs = states
        const reads: Promise<void>[] = []
        for (const r of ranks) {
          const tag = followers[r]!.statusTag
          // a runner that ended wrote its status.json first: read it, even if the listing was older
          const ended = execs[r]!.state === 'ended' && written[r]?.phase !== 'done'
          if (!ended && (tag === undefined || tag === seen[r])) continue
          // a runner moved on (its code, the job's start, its end): what follows comes soon, so the
          // loop keeps its fast pace as after a chunk, and sees a short job's end at once
          if (tag !== seen[r]) moved = true
          seen[r] = tag
          reads.push(d.store.readStatus(d.repoId, d.run, d.attempt, r).then((w) => void (written[r] = w ?? written[r]), () => undefined))
        }
        await Promise.all(reads)
        d.outage?.ok()
      } catch (e) {
        if (!d.outage) throw e
        const given = d.outage.failed(e, undefined)
        if (given) return { nodes: ranks.map((r) => ({ rank: r, written: written[r], exec: given })), trigger }
      }
      if (d.signal.aborted && stoppingAt === undefined) {
        stoppingAt = d.now()
        d.warn('cancelling: asking every node to stop and save its logs')
        await d.handle.cancel('cancelled by the CI job').catch((e: Error) => d.warn(`cancel failed: ${e.message}`))
      }
      if (stoppingAt === undefined) {
        trigger = clusterTrigger(views(), d.stopCriteria)
        if (trigger) {
          stoppingAt = d.now()
          const others = ranks.filter((r) => r !== trigger!.rank && execs[r]!.state === 'running')
          d.warn(`${trigger.outcome.reason}: stopping ${others.length ? `node${others.length > 1 ? 's' : ''} ${others.join(', ')}` : 'nothing (every other node ended)'}`)
          if (others.length) await d.handle.cancel(trigger.stopReason, others).catch((e: Error) => d.warn(`stopping the nodes failed: ${e.message}`))
        }
      }
      if (allEnded(views())) break
      const grace = d.signal.aborted ? d.cancelGraceMs : Math.max(d.cancelGraceMs, d.stopGraceMs ?? DEFAULT_STOP_GRACE_MS)
      if (stoppingAt !== undefined && d.now() - stoppingAt > grace) {
        return { ...(await finish()), graceExpired: true }
      }
      // a node uploading what its job left prints nothing, but every node is billed until the last is done
      const finishing = ranks.some((r) => written[r]?.phase === 'uploading')
      if (printed > 0 || moved || finishing) outputAt = d.now()
      wait = nextWaitMs(wait, printed > 0 || finishing ? 1 : 0, d.pace, d.now() - outputAt)
      await waker.wait(wait)
    }
    return finish()
  } finally {
    for (const u of unwatch) u?.()
    d.signal.removeEventListener('abort', poke)
  }

  async function finish(): Promise<ClusterWatchResult> {
    d.onEnded?.()
    const warnings: string[] = []
    await inRankOrder(() => Promise.all(ranks.map(async (r) => {
      const final = written[r]?.phase === 'done'
      await followers[r]!.drain().catch((e: Error) => void warnings.push(`reading the log of node ${r}: ${e.message}`))
      lines[r]!.flush()
      // a status.json read as `done` is the runner's last word: no need to read it again
      if (!final) written[r] = (await d.store.readStatus(d.repoId, d.run, d.attempt, r).catch(() => undefined)) ?? written[r]
    })))
    for (const w of warnings) d.warn(w)
    return { nodes: views(), trigger }
  }
}
