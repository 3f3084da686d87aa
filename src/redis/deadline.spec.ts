import { isRedisUnavailable } from '../common/redis-errors';
import { withDeadline } from './deadline';

describe('withDeadline', () => {
  it('hands on the value or the error of work that settles in time', async () => {
    await expect(withDeadline(Promise.resolve(['OK']), 50)).resolves.toEqual(['OK']);
    await expect(withDeadline(Promise.reject(new Error('WRONGTYPE')), 50)).rejects.toThrow('WRONGTYPE');
  });

  it('rejects at the deadline with an error answered as 503, and ignores a late answer', async () => {
    let settle!: (v: string) => void;
    const late = new Promise<string>((resolve) => (settle = resolve));
    const started = performance.now();
    const err = await withDeadline(late, 30).catch((e: Error) => e);
    expect(performance.now() - started).toBeGreaterThanOrEqual(25);
    expect(isRedisUnavailable(err)).toBe(true);
    settle('too late'); // no unhandled rejection, no second settle
  });
});
