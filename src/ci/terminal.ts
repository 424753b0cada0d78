/**
 * The CLI's reporter: logs go to stdout as they arrive; progress goes to stderr. On a terminal a
 * status line shows the phase and elapsed time while waiting (redrawn every second, cleared before
 * any log text so lines never interleave).
 */
import type { RunEvent } from '../orchestrate/index.js'
import { CommandFence, SectionMarkerFilter, plainLogLine } from './log-fences.js'
import { isTerminal } from '../model/index.js'

export interface TerminalOptions {
  out?: NodeJS.WriteStream | { write(s: string): boolean; isTTY?: boolean }
  err?: NodeJS.WriteStream | { write(s: string): boolean; isTTY?: boolean }
  quiet?: boolean
  /** running inside a GitHub Actions step: job output is fenced off from workflow commands */
  github?: boolean
}

export class TerminalReporter {
  private phase = 'starting'
  private readonly started = Date.now()
  private timer?: NodeJS.Timeout
  private statusShown = false
  private readonly out
  private readonly err
  private readonly live: boolean
  private readonly sections = new SectionMarkerFilter()
  private readonly fence: CommandFence | undefined

  constructor(private readonly opts: TerminalOptions = {}) {
    this.out = opts.out ?? process.stdout
    this.err = opts.err ?? process.stderr
    this.live = Boolean(this.err.isTTY) && !opts.quiet
    this.fence = opts.github ? new CommandFence((s) => void this.out.write(s)) : undefined
  }

  start(): void {
    if (this.live) this.timer = setInterval(() => this.drawStatus(), 1000)
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer)
    this.clearStatus()
    this.writeLog(this.sections.flush())
    this.fence?.resume()
  }

  private writeLog(text: string): void {
    if (text === '') return
    if (this.fence) this.fence.output(text)
    else this.out.write(text)
  }

  readonly event = (ev: RunEvent): void => {
    switch (ev.type) {
      case 'log':
        this.clearStatus()
        this.writeLog(this.sections.push(ev.text))
        break
      case 'step':
        this.phase = ev.message
        // the CLI prints the result itself, once, after the run
        if (ev.step !== 'finish') this.say(`» ${ev.message}`)
        break
      case 'status':
        this.phase = `${ev.record.run || 'run'}: ${ev.status}`
        if ((ev.status !== 'submitted' || ev.record.run) && !isTerminal(ev.status)) this.say(`» ${ev.record.run} ${ev.status}`)
        break
      case 'machine':
        this.say(`» machine ${[ev.machine.id, ev.machine.instanceType, ev.machine.market, ev.machine.zone].filter(Boolean).join(' ')}`)
        break
      case 'info':
        this.say(`  ${ev.message}`)
        break
      case 'warning':
        this.say(`warning: ${ev.message}`)
        break
    }
    this.drawStatus()
  }

  private say(line: string): void {
    if (this.opts.quiet) return
    this.clearStatus()
    this.err.write((this.opts.github ? plainLogLine(line) : line) + '\n')
  }

  private drawStatus(): void {
    if (!this.live) return
    const secs = Math.round((Date.now() - this.started) / 1000)
    this.err.write(`\r\x1b[2K⏳ ${this.phase} · ${secs}s`)
    this.statusShown = true
  }

  private clearStatus(): void {
    if (this.statusShown) {
      this.err.write('\r\x1b[2K')
      this.statusShown = false
    }
  }
}
