import { createPrivateKey, generateKeyPairSync, randomBytes } from 'node:crypto';
import { getConfigToken, registerAs } from '@nestjs/config';
import { jwtAlgorithmFor, parseEnv } from './env.schema';

// The only place that reads process.env. Each namespace is parsed
// from the same validated schema, so a value has one default and one check.
const env = () => parseEnv(process.env);

// Outside production a missing secret gets a random one per process, so
// development needs no setup; production refuses to boot without them.
const devSecret = randomBytes(32).toString('base64url');

export const appConfig = registerAs('app', () => {
  const e = env();
  return {
    nodeEnv: e.NODE_ENV,
    port: e.PORT,
    logLevel: e.LOG_LEVEL,
    logFormat: e.LOG_FORMAT,
    admitTickMs: e.ADMIT_TICK_MS,
    shutdownDrainMs: e.SHUTDOWN_DRAIN_MS,
  };
});

/**
 * AppModule.forRoot's options, which are not environment variables: the folder
 * of the Lua scripts (tests boot a broken copy of lua/). AppModule.forRoot loads
 * them into the (global, third-party) ConfigModule, so the Redis module, which
 * every feature module imports, receives them without being global itself.
 */
export interface BootOptions {
  /** where the Lua scripts are; defaults to the package's lua/ folder */
  luaDir?: string;
}
export const bootOptionsConfig = (options: BootOptions) => registerAs('boot', (): BootOptions => ({ ...options }));
export const BOOT_OPTIONS = getConfigToken('boot');

export const redisConfig = registerAs('redis', () => {
  const e = env();
  return {
    url: e.REDIS_URL,
    clusterNodes: e.REDIS_CLUSTER_NODES
      ? e.REDIS_CLUSTER_NODES.split(',').map((hostPort) => {
          const [host, port] = hostPort.trim().split(':');
          return { host, port: Number(port) };
        })
      : undefined,
    password: e.REDIS_PASSWORD,
    keyPrefix: e.REDIS_KEY_PREFIX,
    commandTimeoutMs: e.REDIS_COMMAND_TIMEOUT_MS,
    waitReplicas: e.REDIS_WAIT_REPLICAS,
    waitTimeoutMs: e.REDIS_WAIT_TIMEOUT_MS,
  };
});

export const authConfig = registerAs('auth', () => {
  const e = env();
  return {
    adminToken: e.ADMIN_TOKEN ?? devSecret,
    adminTokenGenerated: !e.ADMIN_TOKEN,
    accessTokenSecret: e.ACCESS_TOKEN_SECRET ?? devSecret,
  };
});

/** Who may join and how often (docs/api.md: join identity, join rate). */
export const joinConfig = registerAs('join', () => {
  const e = env();
  const publicKey = e.JOIN_JWT_PUBLIC_KEY;
  return {
    identity: e.JOIN_IDENTITY,
    jwt:
      e.JOIN_IDENTITY === 'jwt'
        ? {
            key: (publicKey ?? e.JOIN_JWT_SECRET) as string,
            algorithm: publicKey ? jwtAlgorithmFor(publicKey) : ('HS256' as const),
            issuer: e.JOIN_JWT_ISSUER,
            audience: e.JOIN_JWT_AUDIENCE,
          }
        : undefined,
    ratePerMinute: e.JOIN_RATE_PER_MINUTE,
    trustProxyHops: e.TRUST_PROXY_HOPS,
  };
});

/**
 * Queue-it connector compatibility (docs/queue-it.md): on when both values
 * are set (the schema refuses one without the other).
 */
export const queueItConfig = registerAs('queueIt', () => {
  const e = env();
  return e.QUEUE_IT_CUSTOMER_ID && e.QUEUE_IT_SECRET_KEY
    ? { enabled: true as const, customerId: e.QUEUE_IT_CUSTOMER_ID, secretKey: e.QUEUE_IT_SECRET_KEY }
    : { enabled: false as const };
});

export const flagDefaultsConfig = registerAs('flagDefaults', () => {
  const e = env();
  const fromEnv = (name: string) => process.env[name] !== undefined && process.env[name] !== '';
  return {
    streamsQueue: { enabled: e.ENABLE_STREAMS_QUEUE, source: fromEnv('ENABLE_STREAMS_QUEUE') ? 'env' : 'default' },
    luaAtomic: { enabled: e.ENABLE_LUA_ATOMIC, source: fromEnv('ENABLE_LUA_ATOMIC') ? 'env' : 'default' },
  } as const;
});

/**
 * The AWS Virtual Waiting Room compatibility layer (docs/aws-vwr.md). Outside
 * production a missing signing key is a fresh RSA key per process (tokens of
 * one replica are then not verifiable with another's public key: fine for
 * development, and production refuses to boot without one).
 */
export const awsVwrConfig = registerAs('awsVwr', () => {
  const e = env();
  const accessKeys = new Map<string, string>();
  for (const pair of (e.AWS_VWR_ACCESS_KEYS ?? '').split(',').filter(Boolean)) {
    const at = pair.indexOf(':');
    accessKeys.set(pair.slice(0, at), pair.slice(at + 1));
  }
  return {
    enabled: e.AWS_VWR_COMPAT,
    signingKey: e.AWS_VWR_COMPAT
      ? createPrivateKey(e.AWS_VWR_SIGNING_KEY ?? generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey.export({ type: 'pkcs8', format: 'pem' }))
      : undefined,
    issuer: e.AWS_VWR_ISSUER ?? '',
    accessKeys,
    region: e.AWS_VWR_REGION,
  };
});

/** Validates the whole environment once, before Nest starts, for a clear boot error. */
export const validateEnvironment = () => parseEnv(process.env);
