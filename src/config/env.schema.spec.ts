import { ConfigError, parseEnv } from './env.schema';

describe('REDIS_WAIT_REPLICAS and REDIS_WAIT_TIMEOUT_MS', () => {
  it('default to no wait (0) and 500 ms', () => {
    const env = parseEnv({});
    expect({ replicas: env.REDIS_WAIT_REPLICAS, timeout: env.REDIS_WAIT_TIMEOUT_MS }).toEqual({ replicas: 0, timeout: 500 });
  });

  it('accept a replica count and a timeout below the command timeout', () => {
    const env = parseEnv({ REDIS_WAIT_REPLICAS: '2', REDIS_WAIT_TIMEOUT_MS: '250', REDIS_COMMAND_TIMEOUT_MS: '1000' });
    expect({ replicas: env.REDIS_WAIT_REPLICAS, timeout: env.REDIS_WAIT_TIMEOUT_MS }).toEqual({ replicas: 2, timeout: 250 });
  });

  it('refuse a WAIT timeout the command timeout would cut short, naming both', () => {
    expect(() => parseEnv({ REDIS_WAIT_REPLICAS: '1', REDIS_WAIT_TIMEOUT_MS: '1000', REDIS_COMMAND_TIMEOUT_MS: '1000' })).toThrow(
      /REDIS_WAIT_TIMEOUT_MS \(1000\) must be less than REDIS_COMMAND_TIMEOUT_MS \(1000\)/,
    );
  });

  it('without a wait, any command timeout goes (the WAIT timeout is unused)', () => {
    expect(parseEnv({ REDIS_COMMAND_TIMEOUT_MS: '200' }).REDIS_COMMAND_TIMEOUT_MS).toBe(200);
  });

  it('refuse a negative or non-numeric replica count', () => {
    expect(() => parseEnv({ REDIS_WAIT_REPLICAS: '-1' })).toThrow(ConfigError);
    expect(() => parseEnv({ REDIS_WAIT_REPLICAS: 'one' })).toThrow(/REDIS_WAIT_REPLICAS/);
  });
});
