/**
 * The examples and the --json shapes shown by `dstack-run <verb> --help`, one entry per verb. Other
 * verbs add their entry here (or call `addExamples` themselves) when they are registered.
 */
import type { Command } from 'commander'

/** verb path (`run`, `artifacts list`) → example lines, and the --json shape when the verb has one */
export const VERB_HELP: Record<string, { examples: string[]; json?: string }> = {
  validate: { examples: ['dstack-run validate', 'dstack-run validate -C path/to/repo'] },
  revision: {
    examples: ['dstack-run revision', 'dstack-run revision --include-untracked --json | jq .snapshot.sha256'],
    json: '{ revision: {repoId, sha, event, branch?, pr?, …}, snapshot: {sha256, bytes}, patchBytes: number, warnings: [string] }'
  },
  run: {
    examples: [
      'dstack-run run train',
      'dstack-run run train --epochs 3 --tag baseline',
      'dstack-run run train -e LR=0.1 --store s3://my-ml-runs/team --store-region us-east-1',
      'dstack-run run train --backend aws --store s3://my-ml-runs/team --instance-profile dstack-runner',
      'run=$(dstack-run run train -d) && dstack-run attach "$run"',
      'dstack-run run train -- --tag not-for-dstack-run',
      "dstack-run run train --json 2>/dev/null | jq -r '.outputs.status'"
    ],
    json:
      '{ record: <run.json>, outputs: { "run-name", workflow, status, "exit-code": number, reason, revision, "repo-id", artifacts: [{path, size, sha256, url}], "artifacts-url", tags: [string], duration: number, attempts: number, nodes: number, "node-statuses": [{rank, status, group?, exitCode?, instanceType?, zone?, instanceId?, reason?}]|null, "instance-id", "instance-type", market, cost: number|null, "comment-url"? } } (job logs go to stderr; with -d: { record })'
  },
  ps: {
    examples: ['dstack-run ps', 'dstack-run ps --all --json | jq -r \'.[] | select(.status == "failed") | .run\''],
    json: '[ { run, workflow, status, submittedAt, backend, tags: [string], attempts: [...], … } ] (run.json of each run, newest first)'
  },
  logs: { examples: ['dstack-run logs fresh-squid-1', 'dstack-run logs :baseline', 'dstack-run logs fresh-squid-1 -f', 'dstack-run logs fresh-squid-1 --attempt 1', 'dstack-run logs wide-walrus-1 --node 1'] },
  attach: { examples: ['dstack-run attach fresh-squid-1 && echo succeeded'] },
  stop: { examples: ['dstack-run stop fresh-squid-1'] },
  'artifacts list': {
    examples: ['dstack-run artifacts list fresh-squid-1', 'dstack-run artifacts list :baseline --json | jq -r \'.[].path\''],
    json: '[ { path, size: number, sha256, url } ]'
  },
  'artifacts download': { examples: ['dstack-run artifacts download :baseline -o models/'] },
  'tags list': { examples: ['dstack-run tags list', 'dstack-run tags list --json'], json: '[ { tag, run, workflow, revision, created_at, manifest_sha256 } ]' },
  'tags add': { examples: ['dstack-run tags add baseline fresh-squid-1', 'dstack-run tags add baseline brave-otter-2 --force'] },
  'tags delete': { examples: ['dstack-run tags delete baseline'] },
  release: { examples: ['dstack-run release --state-file .dstack-machines.json'] },
  cleanup: { examples: ['dstack-run cleanup --aws-region us-east-1 --dry-run', 'dstack-run cleanup --aws-region us-east-1', 'dstack-run cleanup --work'] },
  check: { examples: ['dstack-run check --backend aws --aws-region us-east-1 --store s3://my-ml-runs/team --instance-profile dstack-runner train'] }
}

function verbPath(c: Command): string {
  const names: string[] = []
  for (let x: Command | null = c; x?.parent; x = x.parent) names.unshift(x.name())
  return names.join(' ')
}

/** `Examples:` (and `--json output:`) after the help of every verb that has an entry */
export function addExamples(program: Command): void {
  const visit = (c: Command) => {
    const help = VERB_HELP[verbPath(c)]
    if (help) {
      let text = '\nExamples:\n' + help.examples.map((e) => `  $ ${e}`).join('\n') + '\n'
      if (help.json) text += `\n--json output (exactly one JSON document on stdout):\n  ${help.json}\n`
      c.addHelpText('after', text)
    }
    c.commands.forEach(visit)
  }
  visit(program)
  program.addHelpText(
    'after',
    '\nExamples:\n  $ dstack-run validate\n  $ dstack-run run train --tag baseline\n  $ dstack-run ps\n  $ dstack-run artifacts download :baseline -o models/\n\n`dstack-run <command> --help` shows each command\'s options and examples.\n'
  )
}
