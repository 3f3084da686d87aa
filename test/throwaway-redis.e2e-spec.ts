import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { answersPing, freePort, serverPid, spawnRedisServer, startThrowawayRedis, stopProcess } from '../src/dev/throwaway-redis';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/**
 * The throwaway redis-server the demo, the simulator and the test harness share
 * (src/dev/throwaway-redis.ts): it answers once started, and stop() leaves
 * neither its process nor its folder behind.
 */
const alive = (pid: number) => {
  try {
    return !/^\d+ \(.*\) [ZX] /.test(readFileSync(`/proc/${pid}/stat`, 'utf8'));
  } catch {
    return false;
  }
};

describe('throwaway redis-server', () => {
  it('answers PING on its port once started; stop() ends the process and removes its folder', async () => {
    const redis = await startThrowawayRedis();
    const pid = redis.pid!;
    const dir = redis.dir;
    try {
      expect(redis.url).toBe(`redis://127.0.0.1:${redis.port}`);
      expect(await answersPing(redis.port)).toBe(true);
      expect(await serverPid(redis.port)).toBe(pid);
      expect(existsSync(dir)).toBe(true);
    } finally {
      await redis.stop();
    }
    expect(alive(pid)).toBe(false);
    expect(existsSync(dir)).toBe(false);
    expect(await answersPing(redis.port)).toBe(false);
  });

  it('stopNow() (for an exit handler) signals at once and removes the folder', async () => {
    const redis = await startThrowawayRedis();
    const pid = redis.pid!;
    const dir = redis.dir;
    expect(existsSync(dir)).toBe(true);
    redis.stopNow();
    expect(existsSync(dir)).toBe(false);
    const deadline = Date.now() + 5000;
    while (alive(pid) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    expect(alive(pid)).toBe(false);
  });

  it('a server that cannot start is reported at once, not after the timeout', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'qg-throwaway-'));
    try {
      const started = Date.now();
      await expect(spawnRedisServer(await freePort(), dir, ['--no-such-option', 'x'], 30_000)).rejects.toThrow(/exited/);
      expect(Date.now() - started).toBeLessThan(25_000);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('a port taken by another server is refused, and stopProcess ignores a process already gone', async () => {
    const first = await startThrowawayRedis();
    const dir = mkdtempSync(join(tmpdir(), 'qg-throwaway-'));
    try {
      // The first server answers PING on that port: only its process id tells it is not ours.
      await expect(spawnRedisServer(first.port, dir, [], 30_000)).rejects.toThrow(new RegExp(`exited|served by another redis-server \\(pid ${first.pid}\\)`));
      expect(await serverPid(first.port)).toBe(first.pid);
    } finally {
      await first.stop();
      rmSync(dir, { recursive: true, force: true });
    }
    await expect(stopProcess(undefined)).resolves.toBeUndefined();
  });
});
