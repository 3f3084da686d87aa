import { isRedisUnavailable, RedisUnavailableError } from './redis-errors';

const reply = (message: string) => Object.assign(new Error(message), { name: 'ReplyError' });

describe('isRedisUnavailable', () => {
  it.each([
    'Connection is closed.',
    'Command timed out',
    "Stream isn't writeable and enableOfflineQueue options is false",
    'CLUSTERDOWN The cluster is down',
    'CLUSTERDOWN Hash slot not served',
    'TRYAGAIN Multiple keys request during rehashing of slot',
    "READONLY You can't write against a read only replica.",
    'BUSY Redis is busy running a script. You can only call SCRIPT KILL or SHUTDOWN NOSCRIPT.',
    'LOADING Redis is loading the dataset in memory',
    "OOM command not allowed when used memory > 'maxmemory'.",
    // Redis 7 keeps the code first when the error came from a call inside a script.
    "OOM command not allowed when used memory > 'maxmemory'. script: 0123abcd, on @user_script:12.",
    "READONLY You can't write against a read only replica. script: 0123abcd, on @user_script:12.",
    'MASTERDOWN Link with MASTER is down and replica-serve-stale-data is set to no.',
    'NOREPLICAS Not enough good replicas to write.',
    'MOVED 2148 127.0.0.1:34583',
    'ASK 2148 127.0.0.1:34583',
  ])('answers 503 for %p', (message) => {
    expect(isRedisUnavailable(reply(message))).toBe(true);
  });

  it('answers 503 for our own deadline errors (no pooled connection, a race lost until the deadline)', () => {
    expect(isRedisUnavailable(new RedisUnavailableError('the transaction lost its race 40 times before its deadline'))).toBe(true);
  });

  it.each([
    "CROSSSLOT Keys in request don't hash to the same slot",
    'NOSCRIPT No matching script. Please use EVAL.',
    'WRONGTYPE Operation against a key holding the wrong kind of value',
    'ERR Error running script: MOVED inside a message',
    'ERR bad argument quantity "0": must be a whole number >= 1',
    'BUSYKEY Target key name already exists.',
    'INVARIANT seat GA-1 is not held by hold h1 (mentions READONLY and OOM in passing)',
  ])('leaves %p a bug (500)', (message) => {
    expect(isRedisUnavailable(reply(message))).toBe(false);
  });
});
