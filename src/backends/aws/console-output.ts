/**
 * The boot console of an instance that never reached SSM (GetConsoleOutput, Latest): its last lines
 * say why (no network, a failed cloud-init, a kernel panic) when nothing else can.
 */
import { GetConsoleOutputCommand, type EC2Client } from '@aws-sdk/client-ec2'
import { errorCode } from './errors.js'
import { terminalSafe } from '../../report/plain-text.js'

/** how many lines of the console the error keeps */
export const CONSOLE_TAIL_LINES = 40

/** Pure: the base64 console text → its last `lines` non-empty lines, without control characters, escape sequences or bidi/zero-width characters */
export function consoleTail(base64: string, lines = CONSOLE_TAIL_LINES): string[] {
  const text = Buffer.from(base64, 'base64').toString('utf8')
  // the project's one plain-text rule: every escape sequence (CSI, OSC…), control, bidi and zero-width character dropped
  return terminalSafe(text.replace(/\r\n?/g, '\n'))
    .split('\n')
    .map((l) => l.trimEnd())
    .filter((l) => l.trim() !== '')
    .slice(-lines)
}

/** I/O: the tail of the console, or a sentence saying why there is none; never throws */
export async function readConsoleTail(ec2: EC2Client, instanceId: string, lines = CONSOLE_TAIL_LINES): Promise<string> {
  try {
    const out = await ec2.send(new GetConsoleOutputCommand({ InstanceId: instanceId, Latest: true }))
    const tail = out.Output ? consoleTail(out.Output, lines) : []
    if (tail.length === 0) return `console output of ${instanceId}: empty (the instance wrote nothing to its console yet)`
    return [`console output of ${instanceId} (last ${tail.length} lines):`, ...tail.map((l) => `  | ${l}`)].join('\n')
  } catch (e) {
    return `console output of ${instanceId}: not available (${errorCode(e)})`
  }
}
