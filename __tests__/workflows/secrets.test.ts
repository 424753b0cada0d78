/** Interpolation: run context in commands, secret templates in env, resolveSecretEnv. */
import { describe, it, expect } from '@jest/globals'
import { parseWorkflowFile, resolveSecretEnv } from '../../src/workflows/index.js'
import { findProblem, parseOk } from './helpers.js'

// current format: env values may use `${{ secrets.X }}` only (dstack's interpolate_job_spec_secrets)
const TASK = `type: task
name: sec-task
env:
  - HF_TOKEN
  - WANDB=\${{ secrets.WANDB_API_KEY }}
  - URL=https://\${{ secrets.USER_NAME }}:\${{ secrets.PASS }}@example.com
  - PLAIN=hello
commands:
  - echo \${{run.args}}
`
// 0.x format: `${{ run.name }}` and `${{ run.args }}` in every string (0.x `_inject_context`); `${{ env.X }}` is a run-action extension
const SEED = `workflows:
  - name: sec-seed
    provider: bash
    env:
      - URL=https://\${{ env.USER_NAME }}:\${{ secrets.PASS }}@example.com
    commands:
      - echo \${{ run.name }} \${{run.args}}
`

describe('secret templates', () => {
  const spec = parseOk('t.dstack.yml', TASK)['sec-task']!

  it('are stored as templates, never as values, even when the environment has them', () => {
    const before = { ...process.env }
    process.env.HF_TOKEN = 'hf_super_secret_value'
    process.env.WANDB_API_KEY = 'wandb_secret_value'
    try {
      const s = parseOk('t.dstack.yml', TASK)['sec-task']!
      const json = JSON.stringify(s)
      expect(json).not.toContain('hf_super_secret_value')
      expect(json).not.toContain('wandb_secret_value')
      expect(s.env).toEqual({ PLAIN: 'hello' })
      expect(s.secretEnv).toEqual({
        HF_TOKEN: '${{ env.HF_TOKEN }}',
        WANDB: '${{ secrets.WANDB_API_KEY }}',
        URL: 'https://${{ secrets.USER_NAME }}:${{ secrets.PASS }}@example.com'
      })
    } finally {
      process.env = before
    }
  })

  it('run.args (and, in the 0.x format, run.name) stay in commands for the runner to render', () => {
    expect(spec.commands).toEqual(['echo ${{ run.args }}'])
    const seed = parseOk('.dstack/workflows.yaml', SEED)['sec-seed']!
    expect(seed.commands).toEqual(['echo ${{ run.name }} ${{ run.args }}'])
    expect(seed.secretEnv).toEqual({ URL: 'https://${{ env.USER_NAME }}:${{ secrets.PASS }}@example.com' })
  })

  it('any other expression in commands or setup is a problem', () => {
    const r = parseWorkflowFile('t.dstack.yml', 'type: task\nsetup:\n  - echo ${{ env.HOME }}\ncommands:\n  - echo ${{ run.id }}\n  - echo ${{ secrets.X }}\n')
    findProblem(r.problems, 'setup[0]', /Failed to interpolate due to missing vars: \['env.HOME'\]/)
    findProblem(r.problems, 'commands[0]', /Failed to interpolate due to missing vars: \['run.id'\]/)
    expect(findProblem(r.problems, 'commands[1]', /secrets.X/).hint).toMatch(/put it in `env:`/)
  })
})

describe('resolveSecretEnv', () => {
  const spec = parseOk('t.dstack.yml', TASK)['sec-task']!

  it('reads secrets.X and env.X from environ[X], filling embedded templates', () => {
    const r = resolveSecretEnv(spec, { HF_TOKEN: 'h', WANDB_API_KEY: 'w', USER_NAME: 'u', PASS: 'p' })
    expect(resolveSecretEnv({ secretEnv: { Y: 'a$$b-${{ secrets.X }}' } }, { X: 'x' }).values).toEqual({ Y: 'a$b-x' })
    expect(r).toEqual({ values: { HF_TOKEN: 'h', WANDB: 'w', URL: 'https://u:p@example.com' }, missing: [] })
  })

  it('lists missing (unset or empty) variables once each, and gives no value for incomplete entries', () => {
    const r = resolveSecretEnv(spec, { HF_TOKEN: 'h', WANDB_API_KEY: '', USER_NAME: 'u' })
    expect(r.missing).toEqual(['WANDB_API_KEY', 'PASS'])
    expect(r.values).toEqual({ HF_TOKEN: 'h' })
    const twice = resolveSecretEnv({ secretEnv: { A: '${{ env.X }}', B: '${{ secrets.X }}' } }, {})
    expect(twice).toEqual({ values: {}, missing: ['X'] })
  })

  it('a spec without secretEnv needs nothing', () => {
    expect(resolveSecretEnv({ secretEnv: {} }, {})).toEqual({ values: {}, missing: [] })
  })
})

describe('run context in env values', () => {
  it('0.x: ${{ run.args }} / ${{ run.name }} keep the value literal in env (the runner exports the joined args)', () => {
    const s = parseOk('.dstack/workflows.yaml', 'workflows:\n  - name: w\n    provider: bash\n    env:\n      - ARGS=--x ${{ run.args }}\n      - NAME=${{ run.name }}\n    commands:\n      - echo\n').w!
    expect(s.env).toEqual({ ARGS: '--x ${{ run.args }}', NAME: '${{ run.name }}' })
    expect(s.secretEnv).toEqual({})
  })
  it('0.x: mixing them with a secret in one value is a problem', () => {
    const r = parseWorkflowFile('.dstack/workflows.yaml', 'workflows:\n  - name: w\n    provider: bash\n    env:\n      - X=${{ run.args }}${{ secrets.T }}\n    commands:\n      - echo\n')
    findProblem(r.problems, 'workflows[0].env[0]', /mixes `\$\{\{ run\.\* \}\}` with secrets/)
  })
  it('current format: only ${{ secrets.X }} in env values, as dstack interpolates them', () => {
    const r = parseWorkflowFile('t.dstack.yml', 'type: task\nenv:\n  - ARGS=--x ${{ run.args }}\n  - NAME=${{ run.name }}\n  - HOME2=${{ env.HOME }}\n  - IP=${{ groups[0].nodes[0].IP_ADDRESS }}\ncommands:\n  - echo\n')
    findProblem(r.problems, 'env[0]', /missing vars: \['run.args'\]/)
    findProblem(r.problems, 'env[1]', /missing vars: \['run.name'\]/)
    expect(findProblem(r.problems, 'env[2]', /missing vars: \['env.HOME'\]/).hint).toMatch(/bare name/)
    findProblem(r.problems, 'env[3]', /groups IP references are only supported in commands, not in `env`/)
  })
})
