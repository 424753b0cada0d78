/** Multi-node tasks as dstack defines them: `nodes`, `groups`, `startup_order`, `stop_criteria`, node addresses. */
import { describe, expect, it } from '@jest/globals'
import { parseOk, problemsOf } from './helpers.js'
import { parseWorkflowFile } from '../../src/workflows/index.js'

const F = 'train.dstack.yml'

describe('multi-node tasks', () => {
  it('nodes, startup_order and stop_criteria are carried (dstack\'s NCCL-tests example)', () => {
    const s = parseOk(F, 'type: task\nname: nccl\nnodes: 2\nstartup_order: workers-first\nstop_criteria: master-done\ncommands:\n  - mpirun --hostfile $DSTACK_MPI_HOSTFILE -n $DSTACK_GPUS_NUM all_reduce_perf\nresources:\n  gpu: nvidia:1..8\n').nccl!
    expect(s).toMatchObject({ nodes: 2, startupOrder: 'workers-first', stopCriteria: 'master-done' })
  })

  it('on one node, startup_order and stop_criteria are ignored with a warning', () => {
    const r = parseWorkflowFile(F, 'type: task\nname: one\nstartup_order: master-first\ncommands: [echo]\n')
    expect(r.specs[0]!.startupOrder).toBeUndefined()
    expect(r.warnings.map((w) => w.message)).toContain('`startup_order` is ignored: a single-node task has no workers to order')
  })

  it('node addresses are accepted in group commands that name an existing node', () => {
    const s = parseOk(F, 'type: task\nname: grp\ngroups:\n  - name: a\n    nodes: 1\n    commands:\n      - echo ${{ groups[1].nodes[1].IP_ADDRESS }}\n  - name: b\n    nodes: 2\n    commands:\n      - echo ${{ groups[0].nodes[0].IP_ADDRESS }}\n').grp!
    expect(s.nodes).toBe(3)
    expect(s.groups!.map((g) => g.name)).toEqual(['a', 'b'])
  })

  it('a node address past the groups, or without groups, or malformed, is a problem with its position', () => {
    const past = problemsOf(F, 'type: task\nname: grp\ngroups:\n  - name: a\n    nodes: 1\n    commands:\n      - echo ${{ groups[0].nodes[1].IP_ADDRESS }}\n')
    expect(past).toEqual([expect.objectContaining({ path: 'groups[0].commands[0]', line: 7, message: expect.stringContaining('names a node that does not exist (the task has 1 in `a`)') })])
    // dstack's `node_groups`: a task without `groups` is one group `0` of all its nodes
    const past0 = problemsOf(F, 'type: task\nname: nn\nnodes: 2\ncommands:\n  - echo ${{ groups[0].nodes[2].IP_ADDRESS }}\n')
    expect(past0[0]).toMatchObject({ path: 'commands[0]', message: expect.stringContaining('names a node that does not exist (the task has 2 in `0`)') })
    const bad = problemsOf(F, 'type: task\nname: grp\ngroups:\n  - name: a\n    commands:\n      - echo ${{ groups[0].nodes[0].ip }}\n')
    expect(bad[0]).toMatchObject({ message: expect.stringContaining('is not a node address') })
  })

  it('accepts node addresses in the commands of a task with `nodes` (one group of all its nodes), as dstack does', () => {
    const s = parseOk(F, 'type: task\nname: nodes-ref\nnodes: 2\ncommands:\n  - echo ${{ groups[0].nodes[1].IP_ADDRESS }}\n')['nodes-ref']!
    expect(s.commands).toEqual(['echo ${{ groups[0].nodes[1].IP_ADDRESS }}'])
  })

  it('a group needs commands unless the task has an image (configurations.py: validate_node_groups_have_commands_or_image)', () => {
    expect(problemsOf(F, 'type: task\nname: grp\ngroups:\n  - name: a\n    nodes: 2\n')[0]).toMatchObject({ path: 'groups[0].commands', message: "Node group 'a': either `commands` must be set in the group, or `image` at the task level." })
    const s = parseOk(F, 'type: task\nname: grp\nimage: ghcr.io/acme/worker:1\ngroups:\n  - name: a\n    nodes: 2\n  - name: b\n    commands: [python serve.py]\n').grp!
    expect(s.groups!.map((g) => [g.name, g.commands])).toEqual([['a', []], ['b', ['python serve.py']]])
    expect(problemsOf(F, 'type: task\nname: grp\nnodes: 2\ngroups:\n  - name: a\n    commands: [x]\n').map((p) => p.message)).toContain('`nodes` and `groups` are mutually exclusive')
  })

  it('group names follow dstack\'s pattern ^[a-z0-9][a-z0-9-]{0,39}$ and are unique', () => {
    expect(problemsOf(F, 'type: task\nname: grp\ngroups:\n  - name: Workers\n    commands: [x]\n')[0]).toMatchObject({ path: 'groups[0].name', message: expect.stringContaining("^[a-z0-9][a-z0-9-]{0,39}$") })
    expect(problemsOf(F, 'type: task\nname: grp\ngroups:\n  - name: a\n    commands: [x]\n  - name: a\n    commands: [y]\n')[0]).toMatchObject({ path: 'groups[1].name', message: expect.stringContaining('Duplicate node group names') })
  })
})
