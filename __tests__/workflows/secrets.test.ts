/** Interpolation: run context in commands, secret templates in env, resolveSecretEnv. */
import { describe, it, expect } from '@jest/globals'
import { parseWorkflowFile, resolveSecretEnv } from '../../src/workflows/index.js'
import { findProblem, parseOk } from './helpers.js'

const TASK = `type: task
name: t
env:
  - HF_TOKEN
  - WANDB=\${{ secrets.WANDB_API_KEY }}
  - URL=https://\${{ env.USER_NAME }}:\${{ secrets.PASS }}@example.com
  - PLAIN=hello
commands:
  - echo \${{ run.name }} \${{run.args}}
`

describe('secret templates', () => {
  const spec = parseOk('t.dstack.yml', TASK).t!

  it('are stored as templates, never as values, even when the environment has them', () => {
    const before = { ...process.env }
    process.env.HF_TOKEN = 'hf_super_secret_value'
    process.env.WANDB_API_KEY = 'wandb_secret_value'
    try {
      const s = parseOk('t.dstack.yml', TASK).t!
      const json = JSON.stringify(s)
      expect(json).not.toContain('hf_super_secret_value')
      expect(json).not.toContain('wandb_secret_value')
      expect(s.env).toEqual({ PLAIN: 'hello' })
      expect(s.secretEnv).toEqual({
        HF_TOKEN: '${{ env.HF_TOKEN }}',
        WANDB: '${{ secrets.WANDB_API_KEY }}',
        URL: 'https://${{ env.USER_NAME }}:${{ secrets.PASS }}@example.com'
      })
    } finally {
      process.env = before
    }
  })

  it('run.args and run.name stay in commands for the runner to render', () => {
    expect(spec.commands).toEqual(['echo ${{ run.name }} ${{run.args}}'])
  })

  it('any other expression in commands or setup is a problem', () => {
    const r = parseWorkflowFile('t.dstack.yml', 'type: task\nsetup:\n  - echo ${{ env.HOME }}\ncommands:\n  - echo ${{ run.id }}\n  - echo ${{ secrets.X }}\n')
    findProblem(r.problems, 'setup[0]', /unsupported expression `\$\{\{ env.HOME \}\}`/)
    findProblem(r.problems, 'commands[0]', /unsupported expression `\$\{\{ run.id \}\}`/)
    expect(findProblem(r.problems, 'commands[1]', /secrets.X/).hint).toMatch(/put it in `env:`/)
  })
})

describe('resolveSecretEnv', () => {
  const spec = parseOk('t.dstack.yml', TASK).t!

  it('reads secrets.X and env.X from environ[X], filling embedded templates', () => {
    const r = resolveSecretEnv(spec, { HF_TOKEN: 'h', WANDB_API_KEY: 'w', USER_NAME: 'u', PASS: 'p' })
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
  it('${{ run.args }} / ${{ run.name }} keep the value literal in env (the runner exports the joined args)', () => {
    const s = parseOk('t.dstack.yml', 'type: task\nname: t\nenv:\n  - ARGS=--x ${{ run.args }}\n  - NAME=${{ run.name }}\ncommands:\n  - echo\n').t!
    expect(s.env).toEqual({ ARGS: '--x ${{ run.args }}', NAME: '${{ run.name }}' })
    expect(s.secretEnv).toEqual({})
  })
  it('mixing them with a secret in one value is a problem', () => {
    const r = parseWorkflowFile('t.dstack.yml', 'type: task\nenv:\n  - X=${{ run.args }}${{ secrets.T }}\ncommands:\n  - echo\n')
    findProblem(r.problems, 'env[0]', /mixes `\$\{\{ run\.\* \}\}` with secrets/)
  })
})
