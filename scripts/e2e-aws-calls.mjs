// Pure: the summary `npm run e2e` prints of the aws CLI processes its simulated instances started,
// from one JSON line per scenario ({ scenario, calls: [the arguments of each call] }):
//   aws CLI processes: 75 in 31 scenarios (s3 cp 52, s3 sync 23); most: 9 <scenario>, …
/** the CLI's command of one call's arguments (`s3 cp`, `configure export-credentials`), options skipped */
export function awsCommand(args) {
  const words = args.split(' ')
  const out = []
  for (let i = 0; i < words.length && out.length < 2; i++) {
    if (words[i].startsWith('--')) {
      if (out.length === 0) i++ // a global option's value (--endpoint-url URL, --region R)
      continue
    }
    out.push(words[i])
  }
  return out.join(' ')
}

export function awsCallSummary(jsonLines) {
  const scenarios = jsonLines.split('\n').filter(Boolean).map((l) => JSON.parse(l))
  const byCommand = new Map()
  let total = 0
  for (const s of scenarios) {
    total += s.calls.length
    for (const c of s.calls) byCommand.set(awsCommand(c), (byCommand.get(awsCommand(c)) ?? 0) + 1)
  }
  const used = scenarios.filter((s) => s.calls.length > 0)
  const commands = [...byCommand].sort((a, b) => b[1] - a[1]).map(([c, n]) => `${c} ${n}`).join(', ')
  const most = [...used].sort((a, b) => b.calls.length - a.calls.length).slice(0, 3).map((s) => `${s.calls.length} ${s.scenario}`).join('; ')
  return `aws CLI processes: ${total} in ${used.length} scenarios${commands ? ` (${commands})` : ''}${most ? `; most: ${most}` : ''}\n`
}
