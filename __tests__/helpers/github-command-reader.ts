/**
 * A model of how the GitHub Actions runner reads a step's output for workflow commands, written
 * from the runner's documented and published behaviour: every line (split on \r, \n or \r\n), the
 * `::name props::data` form after leading whitespace, the legacy `##[name props]data` form anywhere
 * in a line, command names case-insensitive, and `::stop-commands::TOKEN` pausing every command
 * until `::TOKEN::` (or `##[TOKEN]`).
 */
const KNOWN = ['add-mask', 'debug', 'warning', 'error', 'notice', 'group', 'endgroup', 'set-output', 'save-state', 'set-env', 'add-path', 'add-matcher', 'remove-matcher', 'echo', 'internal-set-repo-path']

export interface ProcessedCommand {
  name: string
  data: string
  /** the output line it came from */
  line: string
}

function parse(line: string, registered: Set<string>): { name: string; data: string } | undefined {
  const t = line.trimStart()
  if (t.startsWith('::')) {
    const end = t.indexOf('::', 2)
    if (end >= 0) {
      const info = t.slice(2, end)
      const name = (info.includes(' ') ? info.slice(0, info.indexOf(' ')) : info).toLowerCase()
      if (registered.has(name)) return { name, data: t.slice(end + 2) }
    }
  }
  const p = line.indexOf('##[')
  if (p >= 0) {
    const rb = line.indexOf(']', p)
    if (rb >= 0) {
      const info = line.slice(p + 3, rb)
      const name = (info.includes(' ') ? info.slice(0, info.indexOf(' ')) : info).toLowerCase()
      if (registered.has(name)) return { name, data: line.slice(rb + 1) }
    }
  }
  return undefined
}

/** every command the runner would act on, in order (stop-commands / resume included) */
export function processedCommands(output: string): ProcessedCommand[] {
  const registered = new Set([...KNOWN, 'stop-commands'])
  let stopToken: string | undefined
  const out: ProcessedCommand[] = []
  for (const line of output.split(/\r\n|\r|\n/)) {
    if (line === '') continue
    const c = parse(line, registered)
    if (!c) continue
    if (stopToken !== undefined) {
      if (c.name === stopToken) {
        registered.delete(stopToken)
        stopToken = undefined
        out.push({ name: 'resume', data: '', line })
      }
      continue
    }
    if (c.name === 'stop-commands') {
      stopToken = c.data.toLowerCase()
      registered.add(stopToken)
    }
    out.push({ ...c, line })
  }
  return out
}
