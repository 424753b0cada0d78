/** Run names as dstack makes them: `<adjective>-<animal>-<n>` (dstack-format.md §1.8). */

export const ADJECTIVES: readonly string[] = `
able agile amber ancient autumn bold brave breezy bright brisk calm candid cheerful chilly clever
cosmic crimson crisp curious dapper daring dashing dusty eager early elegant fancy fearless fierce
firm fluffy fresh friendly frosty gentle giant gifted glad golden graceful grand green happy hardy
hidden honest humble icy jolly keen kind lively lucky lunar mellow merry mighty misty modest noble
nimble odd patient plucky polite proud purple quick quiet rapid rare rosy royal rusty shiny silent
silver slim smart smooth snowy solid spicy steady stormy sturdy sunny swift tender tidy tiny
tough tranquil upbeat vivid warm wild wise witty young zesty
`.trim().split(/\s+/)

export const ANIMALS: readonly string[] = `
albatross alpaca ant badger bat bear beaver bee bison boar buffalo camel cat cheetah chicken cobra
cougar cow crab crane crow deer dingo dog dolphin donkey dove duck eagle eel elephant elk emu falcon
ferret finch flamingo fox frog gazelle gecko gibbon giraffe goat goose gorilla hamster hare hawk
hedgehog heron hippo horse hyena ibis iguana jackal jaguar kangaroo kiwi koala lemur leopard lion
llama lobster lynx magpie mole mongoose moose moth mouse newt octopus orca ostrich otter owl ox
panda panther parrot pelican penguin pigeon puma quail rabbit raccoon raven rhino robin salmon seal
shark sheep sloth snail sparrow squid stork swan tiger toad turtle walrus whale wolf wombat yak zebra
`.trim().split(/\s+/)

const NAME_RE = /^([a-z]+-[a-z]+)-([1-9][0-9]*)$/

/** `grumpy-zebra` from an rng in [0, 1) */
export function randomBase(rng: () => number = Math.random): string {
  const pick = (list: readonly string[]): string => list[Math.min(list.length - 1, Math.floor(rng() * list.length))]!
  return `${pick(ADJECTIVES)}-${pick(ANIMALS)}`
}

/** `{ base: 'grumpy-zebra', n: 3 }` for `grumpy-zebra-3`; undefined for any other name */
export function parseRunName(name: string): { base: string; n: number } | undefined {
  const m = NAME_RE.exec(name)
  return m ? { base: m[1]!, n: Number(m[2]) } : undefined
}

/** 1 + the highest `n` among `existing` names with this base */
export function nextRunNumber(base: string, existing: Iterable<string>): number {
  let max = 0
  for (const name of existing) {
    const p = parseRunName(name)
    if (p && p.base === base && p.n > max) max = p.n
  }
  return max + 1
}
