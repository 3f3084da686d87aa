import { isRedisUnavailable } from './redis-errors';

describe('isRedisUnavailable', () => {
  it.each([
    'Connection is closed.',
    'Command timed out',
    "Stream isn't writeable and enableOfflineQueue options is false",
    'CLUSTERDOWN The cluster is down',
    'TRYAGAIN Multiple keys request during rehashing of slot',
    "READONLY You can't write against a read only replica.",
    'MOVED 2148 127.0.0.1:34583',
    'ASK 2148 127.0.0.1:34583',
  ])('answers 503 for %p', (message) => {
    expect(isRedisUnavailable(Object.assign(new Error(message), { name: 'ReplyError' }))).toBe(true);
  });

  it.each([
    "CROSSSLOT Keys in request don't hash to the same slot",
    'NOSCRIPT No matching script. Please use EVAL.',
    'WRONGTYPE Operation against a key holding the wrong kind of value',
    'ERR Error running script: MOVED inside a message',
  ])('leaves %p a bug (500)', (message) => {
    expect(isRedisUnavailable(Object.assign(new Error(message), { name: 'ReplyError' }))).toBe(false);
  });
});
