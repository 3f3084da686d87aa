/**
 * The demo's view of the environment (this folder is the only one that reads
 * process.env). The demo starts a private redis-server when REDIS_URL is not
 * set, and then hands its URL to the app through the environment.
 */
export const demoSettings = () => ({
  /** true when the user pointed the demo at a Redis of their own */
  hasRedis: Boolean(process.env.REDIS_URL || process.env.REDIS_CLUSTER_NODES),
  port: Number(process.env.PORT || 3000),
  adminToken: process.env.ADMIN_TOKEN,
});

/** Sets the variables the user did not set. */
export function useDemoEnvironment(values: { REDIS_URL?: string; ADMIN_TOKEN?: string }): void {
  for (const [key, value] of Object.entries(values)) {
    if (value !== undefined && !process.env[key]) process.env[key] = value;
  }
}
