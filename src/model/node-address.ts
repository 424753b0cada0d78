/**
 * dstack's `${{ groups[i].nodes[j].IP_ADDRESS }}`: the address of node `j` of group `i` of a
 * multi-node task with `groups`. The address is known only once the cluster exists, so it is
 * resolved on the machine (runner/interpolate.ts), never written into the stored spec.
 */

/** any `${{ groups… }}` expression, well-formed or not (for error messages) */
export const NODE_ADDRESS_ANY = /\$\{\{\s*groups\b[^}]*\}\}/g
const NODE_ADDRESS = /^\$\{\{\s*groups\[(\d{1,4})\]\.nodes\[(\d{1,4})\]\.IP_ADDRESS\s*\}\}$/

export interface NodeAddressRef {
  group: number
  node: number
}

export function parseNodeAddress(expr: string): NodeAddressRef | undefined {
  const m = NODE_ADDRESS.exec(expr)
  return m ? { group: Number(m[1]), node: Number(m[2]) } : undefined
}

/** the rank of node `node` of group `group`: groups take ranks in the order they are listed */
export function nodeAddressRank(groupSizes: number[], ref: NodeAddressRef): number {
  return groupSizes.slice(0, ref.group).reduce((a, b) => a + b, 0) + ref.node
}
