import { plainToInstance, Transform } from 'class-transformer';
import { IsBoolean, IsIn, IsInt, IsOptional, IsString, Max, Min, MinLength, validateSync } from 'class-validator';

const toBool = ({ value }: { value: unknown }) =>
  typeof value === 'string' ? ['1', 'true', 'yes', 'on'].includes(value.toLowerCase()) : value;
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
}

export class ConfigError extends Error {}

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
  if (problems.length > 0) {
    throw new ConfigError(`queuegate cannot start, the configuration is invalid:\n  - ${problems.join('\n  - ')}`);
  }
  return env;
}
