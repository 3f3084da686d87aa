import { generateKeyPairSync } from 'node:crypto';
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

describe('AWS_VWR_* (the AWS Virtual Waiting Room compatibility layer)', () => {
  const rsaPem = () => generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey.export({ type: 'pkcs8', format: 'pem' }) as string;

  it('off by default, region us-east-1', () => {
    const env = parseEnv({});
    expect({ on: env.AWS_VWR_COMPAT, region: env.AWS_VWR_REGION }).toEqual({ on: false, region: 'us-east-1' });
  });

  it('on: the issuer is required, naming it; outside production the key may be missing', () => {
    expect(() => parseEnv({ AWS_VWR_COMPAT: 'true' })).toThrow(/AWS_VWR_ISSUER must be set/);
    expect(parseEnv({ AWS_VWR_COMPAT: 'true', AWS_VWR_ISSUER: 'https://q.example' }).AWS_VWR_SIGNING_KEY).toBeUndefined();
  });

  it('in production the signing key is required too, naming it; a key that is not RSA is refused', () => {
    const prod = { NODE_ENV: 'production', ADMIN_TOKEN: 'a'.repeat(16), ACCESS_TOKEN_SECRET: 'b'.repeat(32), AWS_VWR_COMPAT: 'true' };
    expect(() => parseEnv({ ...prod, AWS_VWR_ISSUER: 'iss' })).toThrow(/AWS_VWR_SIGNING_KEY must be set when AWS_VWR_COMPAT=true and NODE_ENV=production/);
    const pem = rsaPem();
    expect(parseEnv({ ...prod, AWS_VWR_ISSUER: 'iss', AWS_VWR_SIGNING_KEY: pem.replace(/\n/g, '\\n') }).AWS_VWR_SIGNING_KEY).toBe(pem);
    expect(() => parseEnv({ ...prod, AWS_VWR_ISSUER: 'iss', AWS_VWR_SIGNING_KEY: 'not a key' })).toThrow(/AWS_VWR_SIGNING_KEY must be an RSA private key/);
  });

  it('access keys must be id:secret pairs', () => {
    expect(parseEnv({ AWS_VWR_ACCESS_KEYS: 'AKID1:s1,AKID2:s2/x+y' }).AWS_VWR_ACCESS_KEYS).toBe('AKID1:s1,AKID2:s2/x+y');
    expect(() => parseEnv({ AWS_VWR_ACCESS_KEYS: 'AKID1' })).toThrow(/AWS_VWR_ACCESS_KEYS/);
  });
});

describe('QUEUE_IT_CUSTOMER_ID and QUEUE_IT_SECRET_KEY', () => {
  const secret = 'q'.repeat(32);

  it('are both unset by default (Queue-it compatibility off)', () => {
    const env = parseEnv({});
    expect([env.QUEUE_IT_CUSTOMER_ID, env.QUEUE_IT_SECRET_KEY]).toEqual([undefined, undefined]);
  });

  it('accept a customer id with a secret of 32 characters or more', () => {
    const env = parseEnv({ QUEUE_IT_CUSTOMER_ID: 'ticketania', QUEUE_IT_SECRET_KEY: secret });
    expect([env.QUEUE_IT_CUSTOMER_ID, env.QUEUE_IT_SECRET_KEY]).toEqual(['ticketania', secret]);
  });

  it('refuse one without the other, naming both', () => {
    const together = /QUEUE_IT_CUSTOMER_ID and QUEUE_IT_SECRET_KEY must be set together/;
    expect(() => parseEnv({ QUEUE_IT_CUSTOMER_ID: 'ticketania' })).toThrow(together);
    expect(() => parseEnv({ QUEUE_IT_SECRET_KEY: secret })).toThrow(together);
  });

  it('refuse a secret shorter than 32 characters and a customer id that is not a plain name', () => {
    expect(() => parseEnv({ QUEUE_IT_CUSTOMER_ID: 'ticketania', QUEUE_IT_SECRET_KEY: 'q'.repeat(31) })).toThrow(
      /QUEUE_IT_SECRET_KEY must be longer than or equal to 32 characters/,
    );
    expect(() => parseEnv({ QUEUE_IT_CUSTOMER_ID: 'ticket ania', QUEUE_IT_SECRET_KEY: secret })).toThrow(/QUEUE_IT_CUSTOMER_ID must be letters/);
  });
});
