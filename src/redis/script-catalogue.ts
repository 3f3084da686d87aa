import type { EventKeys } from './keys';
import { checkReply, ScriptReply } from './script-replies';

/**
 * One Lua script as its callers see it, in one place: the name it is loaded
 * under (lua/<module>/<name>-<key count>.lua), the event keys it takes in its
 * header's order, its ARGV from a typed input, and what its reply means.
 * Repositories run it with ScriptRegistry.call; the bench sends the same
 * keys and arguments by EVALSHA (runScriptOn), so no caller writes a key
 * list, a key count or an argument order of its own.
 */
export interface EventScript<In, Out> {
  readonly name: string;
  keys(k: EventKeys): string[];
  args(input: In): (string | number)[];
  /** the reply, already checked to start with a known code */
  reply(r: ScriptReply): Out;
}

/** The minimum of a Redis client the bench's direct runs need. */
interface EvalShaClient {
  evalsha(sha: string, numKeys: number, ...keysAndArgs: (string | number)[]): Promise<unknown>;
}

/**
 * Runs a catalogue script on a plain client by its SHA, outside the service
 * (benchmarks and tools that load Redis directly): the same keys, arguments
 * and reply reading as ScriptRegistry.call.
 */
export async function runScriptOn<In, Out>(
  redis: EvalShaClient,
  sha: (name: string) => string,
  script: EventScript<In, Out>,
  k: EventKeys,
  input: In,
): Promise<Out> {
  const keys = script.keys(k);
  const raw = await redis.evalsha(sha(script.name), keys.length, ...keys, ...script.args(input));
  return script.reply(checkReply(script.name, raw));
}
