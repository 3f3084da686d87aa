import { join, resolve } from 'node:path';
import { ACCESS_TOKEN_SECRET, ADMIN_TOKEN, KEY_PREFIX, RESULTS_DIR, SERVICE_MAIN } from './config';
import { freePort, ServerProcess } from './processes';

/**
 * The bench programs' shared start-up (bench/run.ts, bench/waiting.ts and the
 * parts they run): clean-ups undone on Ctrl-C, the profiler preload, and the
 * service child started the one way the bench measures it.
 */

/** Undoes one thing a bench program started. */
export type Cleanup = () => Promise<void>;

/**
 * A bench program's clean-ups: push what it starts; cleanUp() stops it all,
 * last first (a failing step is reported, the rest still run), and Ctrl-C
 * does the same before exiting with 130.
 */
export function cleanupsOnExit(): { cleanups: Cleanup[]; cleanUp: () => Promise<void> } {
  const cleanups: Cleanup[] = [];
  const cleanUp = async (): Promise<void> => {
    while (cleanups.length) await cleanups.pop()!().catch((e: Error) => console.error(`clean-up: ${e.message}`));
  };
  process.once('SIGINT', () => {
    console.error('\ninterrupted: stopping the servers this bench started');
    void cleanUp().finally(() => process.exit(130));
  });
  return { cleanups, cleanUp };
}

/** Node arguments and environment for a server child. */
export interface Profiling {
  args: string[];
  env: Record<string, string>;
}

/** With `on`: V8's CPU profiler preloaded, writing bench/results/.profile-<name>-<pid>.cpuprofile; otherwise nothing. */
export function profiling(on: boolean, name: string): Profiling {
  if (!on) return { args: [], env: {} };
  return { args: ['-r', resolve(__dirname, 'profiler-preload.js')], env: { BENCH_PROFILE_OUT: join(RESULTS_DIR, `.profile-${name}-${process.pid}.cpuprofile`) } };
}

/**
 * The service as the bench runs it, not started yet: `node dist/main.js` as a
 * child process on a free loopback port, NODE_ENV=production, the bench's
 * secrets and key prefix, warn-level JSON logs. `env` adds REDIS_URL and any
 * other setting.
 */
export async function serviceProcess(name: string, env: Record<string, string>, profile: Profiling = profiling(false, name)): Promise<ServerProcess> {
  return new ServerProcess(name, await freePort(), [...profile.args, SERVICE_MAIN], {
    NODE_ENV: 'production',
    REDIS_KEY_PREFIX: KEY_PREFIX,
    ADMIN_TOKEN,
    ACCESS_TOKEN_SECRET,
    LOG_LEVEL: 'warn',
    LOG_FORMAT: 'json',
    ...env,
    ...profile.env,
  });
}

/** serviceProcess(), started (ready once /health/ready answers 200) and stopped by `cleanups`. */
export async function startService(name: string, env: Record<string, string>, cleanups: Cleanup[], profile?: Profiling): Promise<ServerProcess> {
  const service = await serviceProcess(name, env, profile);
  await service.start('/health/ready');
  cleanups.push(() => service.stop());
  return service;
}
