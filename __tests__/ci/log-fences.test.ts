/** The fences between job output and CI commands (src/ci/log-fences.ts), chunk by chunk. */
import { describe, it, expect } from '@jest/globals'
import { CommandFence, SectionMarkerFilter, plainLogLine } from '../../src/ci/log-fences.js'
import { processedCommands } from '../helpers/github-command-reader.js'

describe('CommandFence', () => {
  it('puts job output inside a stop-commands block and resumes before our own commands', () => {
    let out = ''
    const fence = new CommandFence((s) => void (out += s))
    fence.output('::add-mask::x\n::error::x')
    fence.output('::endgroup::\n')
    fence.resume()
    out += '::group::ours\n'
    fence.output('##[error]legacy\n')
    fence.resume()
    const cmds = processedCommands(out)
    expect(cmds.map((c) => c.name)).toEqual(['stop-commands', 'resume', 'group', 'stop-commands', 'resume'])
    expect(out).toContain('::error::x\n') // a chunk without a newline is ended so the next command starts a line
  })

  it('a fresh unpredictable token per block', () => {
    let out = ''
    const fence = new CommandFence((s) => void (out += s))
    fence.output('a')
    fence.resume()
    fence.output('b')
    fence.resume()
    const tokens = processedCommands(out).filter((c) => c.name === 'stop-commands').map((c) => c.data)
    expect(tokens).toHaveLength(2)
    expect(tokens[0]).not.toBe(tokens[1])
    for (const t of tokens) expect(t).toMatch(/^dstack-[0-9a-f]{48}$/)
  })

  it('output that holds the current token (in any case) ends that block and starts a new one', () => {
    let out = ''
    const tokens = ['dstack-aaa', 'dstack-bbb', 'dstack-ccc']
    const fence = new CommandFence((s) => void (out += s), () => tokens.shift()!)
    fence.output('first\n')
    fence.output('::DSTACK-AAA::\n::error::x\n')
    fence.resume()
    const cmds = processedCommands(out)
    expect(cmds.filter((c) => c.name === 'error')).toEqual([])
    expect(cmds.map((c) => c.data).filter(Boolean)).toEqual(['dstack-aaa', 'dstack-bbb'])
  })

  it('never picks a token the text already contains', () => {
    let out = ''
    const tokens = ['dstack-x', 'dstack-y']
    const fence = new CommandFence((s) => void (out += s), () => tokens.shift()!)
    fence.output('::dstack-x::\n::error::x\n')
    fence.resume()
    expect(processedCommands(out).filter((c) => c.name === 'error')).toEqual([])
  })
})

describe('plainLogLine', () => {
  it('keeps foreign text on one line that cannot start a command', () => {
    for (const hostile of ['a\n::error::x', 'a\r::error::x', '  ::error::x', 'b ##[error]x', 'c\u2028::error::x']) {
      const line = plainLogLine(hostile)
      expect(line).not.toMatch(/[\r\n]/)
      expect(processedCommands(line)).toEqual([])
    }
    expect(plainLogLine('» run happy-cat-1 succeeded')).toBe('» run happy-cat-1 succeeded')
  })
})

describe('SectionMarkerFilter', () => {
  const marker = '\x1b[0Ksection_start:1:x[collapsed=true]\r\x1b[0Kheader\n'
  it('rewrites the suffix GitLab needs, also split across every possible chunk boundary', () => {
    for (let cut = 0; cut <= marker.length; cut++) {
      const f = new SectionMarkerFilter()
      const s = f.push(marker.slice(0, cut)) + f.push(marker.slice(cut)) + f.flush()
      expect(s).toBe('\x1b[0Ksection_start:1:x[collapsed=true]\r\x1b[Kheader\n')
    }
  })
  it('leaves other text and a lone trailing \\r alone', () => {
    const f = new SectionMarkerFilter()
    expect(f.push('50%\r') + f.push('60%\r') + f.flush()).toBe('50%\r60%\r')
  })
})

describe('githubEventSink', () => {
  it('a line cut by a chunk boundary reaches the log as one line, inside the fence', async () => {
    const { githubEventSink } = await import('../../src/ci/github.js')
    let out = ''
    const sink = githubEventSink((s) => void (out += s))
    for (const text of ['first li', 'ne\n::err', 'or::x\nlast']) sink({ type: 'log', attempt: 1, text })
    sink.end()
    const lines = out.split('\n').filter((l) => !/^::(stop-commands::dstack-[0-9a-f]+|dstack-[0-9a-f]+::)$/.test(l) && l !== '')
    expect(lines).toEqual(['first line', '::error::x', 'last'])
    expect(processedCommands(out).filter((c) => c.name === 'error')).toEqual([])
  })
})
