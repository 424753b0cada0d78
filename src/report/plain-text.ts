/**
 * Pure: job-controlled text made safe to show as plain text. `terminalSafe` for a developer's
 * terminal (the CLI's lines): escape sequences (CSI, OSC such as a hyperlink or a window title,
 * DCS…) and every other control character are dropped, and so are the characters `visibleName`
 * drops. `visibleName` for names shown anywhere (summary, comment, `ps`): bidirectional controls
 * (which reorder what a reviewer reads) and zero-width characters (which make two names look alike).
 */

// eslint-disable-next-line no-control-regex
const ESCAPE_SEQUENCE = /\x1b(?:\[[0-?]*[ -/]*[@-~]|[\]PX^_][^\x07\x1b]*(?:\x07|\x1b\\)?|[@-Z\\-_]|[ -/]*[0-~])|\x9b[0-?]*[ -/]*[@-~]|[\x9d\x90\x98\x9e\x9f][^\x07\x1b\x9c]*(?:\x07|\x1b\\|\x9c)?/g
// eslint-disable-next-line no-control-regex
const CONTROL = /[\x00-\x08\x0b-\x1f\x7f-\x9f]/g
/** bidi embeddings, overrides, isolates and marks; zero-width space, joiners, word joiner, BOM, soft hyphen, Mongolian vowel separator */
const INVISIBLE = /[\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069\u200b-\u200d\u2060-\u2064\ufeff\u00ad\u180e]/g

export function visibleName(s: string): string {
  return s.replace(INVISIBLE, '')
}

/** one or more lines for a terminal: tabs and line breaks kept, everything else that steers it dropped */
export function terminalSafe(s: string): string {
  return visibleName(s.replace(ESCAPE_SEQUENCE, '').replace(CONTROL, ''))
}
