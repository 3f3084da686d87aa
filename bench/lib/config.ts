import { resolve } from 'node:path';

/** The repository root: dist-bench/bench/lib -> ../../.. ; bench/lib (ts sources) -> ../.. */
export const ROOT = resolve(__dirname, __dirname.includes('dist-bench') ? '../../..' : '../..');
export const LUA_DIR = resolve(ROOT, 'lua');
export const RESULTS_DIR = resolve(ROOT, 'bench', 'results');
export const SERVICE_MAIN = resolve(ROOT, 'dist', 'main.js');

/** Test-only secrets: the bench's service listens on loopback and lives for one run. */
export const ADMIN_TOKEN = 'bench-admin-token-0123456789';
export const ACCESS_TOKEN_SECRET = 'bench-access-secret-0123456789abcdef0123456789';
export const KEY_PREFIX = 'qg:';

function intEnv(name: string, fallback: number, min: number, max: number): number {
  const raw = process.env[name];
  if (raw === undefined || raw === '') return fallback;
  const value = Number(raw);
  if (!Number.isFinite(value) || value < min || value > max) {
    throw new Error(`${name}=${raw}: expected a number in ${min}..${max}`);
  }
  return value;
}

/** Every knob of the bench, from the environment (documented in bench/README.md). */
export const settings = {
  /** seconds each HTTP scenario is measured */
  duration: intEnv('BENCH_DURATION', 10, 1, 120),
  /** seconds of unmeasured load before each measurement (JIT, connection set-up) */
  warmup: intEnv('BENCH_WARMUP', 2, 0, 30),
  connections: intEnv('BENCH_CONNECTIONS', 100, 1, 2000),
  /** each scenario's duration is split into this many slices, run round robin across scenarios */
  slices: intEnv('BENCH_SLICES', 5, 1, 60),
  /** waiting users for the memory and admission measurements (at least 20,000: 5 calls each of 10, 100 and 1,000 take 5,550) */
  memoryUsers: intEnv('BENCH_MEMORY_USERS', 1_000_000, 20_000, 5_000_000),
  /** pre-queue entries for the fair-start shuffle measurement (BENCH_ONLY=shuffle) */
  shuffleUsers: intEnv('BENCH_SHUFFLE_USERS', 1_000_000, 1_000, 5_000_000),
  /** requests per kind in the MONITOR round-trip audit */
  auditRequests: intEnv('BENCH_AUDIT_REQUESTS', 100, 10, 10_000),
  /** comma list of scenario names to run (default: all) */
  only: (process.env.BENCH_ONLY ?? '')
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean),
  /** skip the 1M-user memory and admission part (quick runs) */
  skipMemory: ['1', 'true', 'yes'].includes((process.env.BENCH_SKIP_MEMORY ?? '').toLowerCase()),
};

export const wanted = (name: string) => settings.only.length === 0 || settings.only.includes(name);
