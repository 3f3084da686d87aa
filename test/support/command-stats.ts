import type { Redis } from 'ioredis';

/** INFO commandstats calls per command, summed over every master (a script's inner commands count too). */
export async function commandStats(masters: Redis[]): Promise<Map<string, number>> {
  const totals = new Map<string, number>();
  for (const node of masters) {
    for (const [, command, calls] of (await node.info('commandstats')).matchAll(/^cmdstat_([^:]+):calls=(\d+)/gm)) {
      totals.set(command, (totals.get(command) ?? 0) + Number(calls));
    }
  }
  return totals;
}

/** after - before, per command, the commands that moved only. */
export const commandDelta = (after: Map<string, number>, before: Map<string, number>): Record<string, number> =>
  Object.fromEntries([...after].map(([c, n]) => [c, n - (before.get(c) ?? 0)]).filter(([, n]) => n !== 0));
