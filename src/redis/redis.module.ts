import { DynamicModule, Module } from '@nestjs/common';
import { ConfigModule, ConfigType } from '@nestjs/config';
import { ClusterModule, ClusterService, RedisModule, RedisService } from '@liaoliaots/nestjs-redis';
import { BOOT_OPTIONS, BootOptions, redisConfig } from '../config/configuration';
import { KeyBuilder } from './keys';
import { clusterOptions, nodeOptions } from './redis-options';
import { REDIS_CLIENT } from './redis.constants';
import { defaultLuaDir } from './lua-loader';
import { LUA_DIR, ScriptRegistry } from './script-registry';
import { ReplicaWait } from './replica-wait';
import { TransactionPool } from './transaction-pool';

/**
 * Redis wiring: the key builder, the ScriptRegistry, the WATCH/MULTI pool and
 * the replica wait, over one shared client (a single node from REDIS_URL, or a
 * cluster from REDIS_CLUSTER_NODES). Every module that reaches Redis imports
 * this one; it is not global. The client itself is the third-party module's
 * (registered once by AppModule through client(), global as that library
 * makes it), which owns its lifecycle and closes it on shutdown.
 *
 * Nest runs lifecycle hooks deepest module first; every feature module imports
 * this one, so its hooks (loading the scripts at boot) still run before theirs.
 */
// The library types its factories as (...args: unknown[]); the first is our config.
const cfg = (args: unknown[]) => args[0] as ConfigType<typeof redisConfig>;

@Module({
  imports: [ConfigModule.forFeature(redisConfig)],
  providers: [
    {
      // Whichever of the two the client module registered.
      provide: REDIS_CLIENT,
      inject: [{ token: RedisService, optional: true }, { token: ClusterService, optional: true }],
      useFactory: (node?: RedisService, cluster?: ClusterService) => (cluster ? cluster.getOrThrow() : node!.getOrThrow()),
    },
    { provide: LUA_DIR, inject: [BOOT_OPTIONS], useFactory: (options: BootOptions) => options.luaDir ?? defaultLuaDir() },
    KeyBuilder,
    ScriptRegistry,
    TransactionPool,
    ReplicaWait,
  ],
  exports: [REDIS_CLIENT, KeyBuilder, ScriptRegistry, TransactionPool, ReplicaWait],
})
export class QueuegateRedisModule {
  /** The third-party client module, for AppModule alone: a cluster client when REDIS_CLUSTER_NODES is set. */
  static client(): DynamicModule {
    return redisConfig().clusterNodes
      ? ClusterModule.forRootAsync({
          imports: [ConfigModule.forFeature(redisConfig)],
          inject: [redisConfig.KEY],
          useFactory: (...args: unknown[]) => ({
            errorLog: false,
            config: { nodes: cfg(args).clusterNodes ?? [], ...clusterOptions(cfg(args)) },
          }),
        })
      : RedisModule.forRootAsync({
          imports: [ConfigModule.forFeature(redisConfig)],
          inject: [redisConfig.KEY],
          useFactory: (...args: unknown[]) => ({
            errorLog: false,
            config: { url: cfg(args).url, ...nodeOptions(cfg(args)) },
          }),
        });
  }
}
