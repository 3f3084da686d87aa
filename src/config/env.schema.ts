import { createPrivateKey, createPublicKey } from 'node:crypto';
import { plainToInstance, Transform } from 'class-transformer';
import { IsBoolean, IsIn, IsInt, IsOptional, IsString, Matches, Max, Min, MinLength, validateSync } from 'class-validator';

const toBool = ({ value }: { value: unknown }) =>
  typeof value === 'string' ? ['1', 'true', 'yes', 'on'].includes(value.toLowerCase()) : value;
/** A PEM given on one line with literal '\\n' for line breaks, as one-line env files need, read as a PEM. */
const pemLines = ({ value }: { value: unknown }) => (typeof value === 'string' ? value.replace(/\\n/g, '\n') : value);
const toInt = ({ value }: { value: unknown }) => (typeof value === 'string' && value !== '' ? Number(value) : value);

/** Every environment variable queuegate reads (CONTRACT §6), with its default. */
export class Env {
  @IsIn(['development', 'production', 'test']) NODE_ENV: 'development' | 'production' | 'test' = 'development';
  @Transform(toInt) @IsInt() @Min(0) @Max(65535) PORT = 3000;
  @IsString() REDIS_URL = 'redis://127.0.0.1:6379';
  /** Comma list of host:port; when set, queuegate talks to a Redis Cluster. */
  @IsOptional() @IsString() REDIS_CLUSTER_NODES?: string;
  @IsOptional() @IsString() REDIS_PASSWORD?: string;
  @IsString() REDIS_KEY_PREFIX = 'qg:';
  @Transform(toInt) @IsInt() @Min(50) @Max(60000) REDIS_COMMAND_TIMEOUT_MS = 1000;
  /** Replicas that must acknowledge a confirm (Redis WAIT) before it answers 201; 0: no wait. */
  @Transform(toInt) @IsInt() @Min(0) @Max(16) REDIS_WAIT_REPLICAS = 0;
  /** How long a confirm waits for those replicas before answering 503; with REDIS_WAIT_REPLICAS > 0, below REDIS_COMMAND_TIMEOUT_MS. */
  @Transform(toInt) @IsInt() @Min(10) @Max(59000) REDIS_WAIT_TIMEOUT_MS = 500;
  @IsOptional() @IsString() @MinLength(16) ADMIN_TOKEN?: string;
  @IsOptional() @IsString() @MinLength(32) ACCESS_TOKEN_SECRET?: string;
  @Transform(toBool) @IsBoolean() ENABLE_STREAMS_QUEUE = true;
  @Transform(toBool) @IsBoolean() ENABLE_LUA_ATOMIC = true;
  @IsIn(['fatal', 'error', 'warn', 'log', 'debug', 'verbose']) LOG_LEVEL = 'log';
  @IsIn(['json', 'pretty']) LOG_FORMAT: 'json' | 'pretty' = 'pretty';
  /** Admitter and sweeper period (ms); CONTRACT asks for at most 250. */
  @Transform(toInt) @IsInt() @Min(20) @Max(250) ADMIT_TICK_MS = 100;
  /** How long a terminating pod keeps serving with readiness 503 so endpoints drain. */
  @Transform(toInt) @IsInt() @Min(0) @Max(120000) SHUTDOWN_DRAIN_MS = 0;
  /** Largest admin request body (a venue of 100,000 named seats is ~2 MiB); public routes keep 16 KiB. */
  @Transform(toInt) @IsInt() @Min(16384) @Max(64 * 1024 * 1024) ADMIN_BODY_LIMIT_BYTES = 4 * 1024 * 1024;
  /** Who may join (docs/api.md): any userId from the body, or the `sub` of a verified JWT. */
  @IsIn(['anonymous', 'jwt']) JOIN_IDENTITY: 'anonymous' | 'jwt' = 'anonymous';
  /** HS256 secret of the identity tokens (JOIN_IDENTITY=jwt); or give JOIN_JWT_PUBLIC_KEY. */
  @IsOptional() @IsString() @MinLength(32) JOIN_JWT_SECRET?: string;
  /** PEM public key (RSA: RS256, EC P-256: ES256) of the identity tokens; or give JOIN_JWT_SECRET. */
  /** (A value with literal '\\n' for line breaks, as one-line env files need, is read as a PEM too.) */
  @Transform(pemLines)
  @IsOptional() @IsString() JOIN_JWT_PUBLIC_KEY?: string;
  @IsOptional() @IsString() JOIN_JWT_ISSUER?: string;
  @IsOptional() @IsString() JOIN_JWT_AUDIENCE?: string;
  /** Joins per minute per client address across all replicas; 0 = no limit. */
  @Transform(toInt) @IsInt() @Min(0) @Max(1000000) JOIN_RATE_PER_MINUTE = 0;
  /** Proxies in front of the service: the client is the n-th address from the right of X-Forwarded-For (0: the socket peer). */
  @Transform(toInt) @IsInt() @Min(0) @Max(10) TRUST_PROXY_HOPS = 0;
  /** Serve AWS Virtual Waiting Room's public and private APIs under /aws-vwr (docs/aws-vwr.md). */
  @Transform(toBool) @IsBoolean() AWS_VWR_COMPAT = false;
  /** RSA private key (PEM) the AWS-compatible tokens are signed with (RS256); random per process outside production. */
  @Transform(pemLines)
  @IsOptional() @IsString() AWS_VWR_SIGNING_KEY?: string;
  /** The `iss` of the AWS-compatible tokens. */
  @IsOptional() @IsString() AWS_VWR_ISSUER?: string;
  /** Keys that may sign private calls (AWS Signature V4): 'accessKeyId:secret' pairs, comma-separated. */
  @IsOptional() @IsString() @Matches(/^[^:,\s]+:[^,\s]+(,[^:,\s]+:[^,\s]+)*$/, { message: 'AWS_VWR_ACCESS_KEYS must be accessKeyId:secret pairs, comma-separated' })
  AWS_VWR_ACCESS_KEYS?: string;
  /** The region private calls are signed for (SigV4 scope, service execute-api). */
  @Matches(/^[a-z0-9-]+$/, { message: 'AWS_VWR_REGION must be a region name such as us-east-1' }) AWS_VWR_REGION = 'us-east-1';
  /** Queue-it connector compatibility (docs/queue-it.md): the customer id the connector sends as `c`; set with QUEUE_IT_SECRET_KEY. */
  @IsOptional() @IsString() @Matches(/^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/, { message: 'QUEUE_IT_CUSTOMER_ID must be letters, digits, ".", "_" or "-" (at most 64)' })
  QUEUE_IT_CUSTOMER_ID?: string;
  /** The secret the connector checks queueittoken's HMAC-SHA256 with; set with QUEUE_IT_CUSTOMER_ID. */
  @IsOptional() @IsString() @MinLength(32) QUEUE_IT_SECRET_KEY?: string;
}

export class ConfigError extends Error {}

/**
 * The one algorithm a JWT public key may verify, from the key's own type:
 * RSA → RS256, EC P-256 → ES256. Anything else is refused at boot, so a key
 * can never be used with an algorithm it was not made for (nor with 'none').
 */
export function jwtAlgorithmFor(pem: string): 'RS256' | 'ES256' {
  const key = createPublicKey(pem);
  if (key.asymmetricKeyType === 'rsa') return 'RS256';
  if (key.asymmetricKeyType === 'ec' && key.asymmetricKeyDetails?.namedCurve === 'prime256v1') return 'ES256';
  throw new Error(`a ${key.asymmetricKeyType} key${key.asymmetricKeyDetails?.namedCurve ? ` on ${key.asymmetricKeyDetails.namedCurve}` : ''}`);
}

function publicKeyProblem(pem: string): string | undefined {
  try {
    jwtAlgorithmFor(pem);
    return undefined;
  } catch (err) {
    return `JOIN_JWT_PUBLIC_KEY must be a PEM public key, RSA (RS256) or EC P-256 (ES256): ${(err as Error).message}`;
  }
}

function rsaPrivateKeyProblem(pem: string): string | undefined {
  try {
    const key = createPrivateKey(pem);
    if (key.asymmetricKeyType !== 'rsa') return `AWS_VWR_SIGNING_KEY must be an RSA private key (RS256), not ${key.asymmetricKeyType}`;
    return undefined;
  } catch (err) {
    return `AWS_VWR_SIGNING_KEY must be an RSA private key in PEM: ${(err as Error).message}`;
  }
}

/** Validates and types the environment. Throws ConfigError with every problem at once. */
export function parseEnv(raw: Record<string, string | undefined>): Env {
  const present = Object.fromEntries(Object.entries(raw).filter(([, v]) => v !== undefined && v !== ''));
  const env = plainToInstance(Env, present, { exposeDefaultValues: true });
  const errors = validateSync(env, { whitelist: false, skipMissingProperties: false });
  const problems = errors.flatMap((e) => Object.values(e.constraints ?? {}));
  // WAIT is itself a Redis command: the client's command timeout must outlast it.
  if (env.REDIS_WAIT_REPLICAS > 0 && env.REDIS_WAIT_TIMEOUT_MS >= env.REDIS_COMMAND_TIMEOUT_MS) {
    problems.push(`REDIS_WAIT_TIMEOUT_MS (${env.REDIS_WAIT_TIMEOUT_MS}) must be less than REDIS_COMMAND_TIMEOUT_MS (${env.REDIS_COMMAND_TIMEOUT_MS})`);
  }
  if (env.NODE_ENV === 'production') {
    if (!env.ADMIN_TOKEN) problems.push('ADMIN_TOKEN must be set when NODE_ENV=production');
    if (!env.ACCESS_TOKEN_SECRET) problems.push('ACCESS_TOKEN_SECRET must be set when NODE_ENV=production');
  }
  if (env.JOIN_IDENTITY === 'jwt') {
    if (!env.JOIN_JWT_SECRET && !env.JOIN_JWT_PUBLIC_KEY) {
      problems.push('JOIN_JWT_SECRET or JOIN_JWT_PUBLIC_KEY must be set when JOIN_IDENTITY=jwt');
    } else if (env.JOIN_JWT_SECRET && env.JOIN_JWT_PUBLIC_KEY) {
      problems.push('set only one of JOIN_JWT_SECRET and JOIN_JWT_PUBLIC_KEY');
    } else if (env.JOIN_JWT_PUBLIC_KEY) {
      const problem = publicKeyProblem(env.JOIN_JWT_PUBLIC_KEY);
      if (problem) problems.push(problem);
    }
  }
  if (env.AWS_VWR_COMPAT) {
    if (!env.AWS_VWR_ISSUER) problems.push('AWS_VWR_ISSUER must be set when AWS_VWR_COMPAT=true (the tokens\' iss)');
    if (env.NODE_ENV === 'production' && !env.AWS_VWR_SIGNING_KEY) {
      problems.push('AWS_VWR_SIGNING_KEY must be set when AWS_VWR_COMPAT=true and NODE_ENV=production');
    }
    if (env.AWS_VWR_SIGNING_KEY) {
      const problem = rsaPrivateKeyProblem(env.AWS_VWR_SIGNING_KEY);
      if (problem) problems.push(problem);
    }
  }
  // One without the other would either sign with no key or answer a customer it cannot sign for.
  if (!env.QUEUE_IT_CUSTOMER_ID !== !env.QUEUE_IT_SECRET_KEY) {
    problems.push('QUEUE_IT_CUSTOMER_ID and QUEUE_IT_SECRET_KEY must be set together (Queue-it connector compatibility)');
  }
  if (problems.length > 0) {
    throw new ConfigError(`queuegate cannot start, the configuration is invalid:\n  - ${problems.join('\n  - ')}`);
  }
  return env;
}
