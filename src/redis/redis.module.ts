import { DynamicModule, Module } from '@nestjs/common';
import { ConfigModule, ConfigType } from '@nestjs/config';
import { ClusterModule, ClusterService, RedisModule, RedisService } from '@liaoliaots/nestjs-redis';
import { redisConfig } from '../config/configuration';
import { KeyBuilder } from './keys';
import { clusterOptions, nodeOptions } from './redis-options';
import { REDIS_CLIENT } from './redis.constants';
import { defaultLuaDir } from './lua-loader';
import { LUA_DIR, ScriptRegistry } from './script-registry';
import { ReplicaWait } from './replica-wait';
import { TransactionPool } from './transaction-pool';

/**
 * Redis wiring: one shared client (a single node from REDIS_URL, or a cluster
 * from REDIS_CLUSTER_NODES), the key builder and the ScriptRegistry. The
 * third-party module owns the client's lifecycle (it closes it on shutdown).
 */
// The library types its factories as (...args: unknown[]); the first is our config.
const cfg = (args: unknown[]) => args[0] as ConfigType<typeof redisConfig>;

@Module({})
export class QueuegateRedisModule {
  static forRoot(options: { luaDir?: string } = {}): DynamicModule {
    const config = redisConfig();
    const clientModule = config.clusterNodes
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
    const clientProvider = config.clusterNodes
      ? { provide: REDIS_CLIENT, inject: [ClusterService], useFactory: (s: ClusterService) => s.getOrThrow() }
      : { provide: REDIS_CLIENT, inject: [RedisService], useFactory: (s: RedisService) => s.getOrThrow() };
    return {
      module: QueuegateRedisModule,
      global: true,
      imports: [clientModule, ConfigModule.forFeature(redisConfig)],
      providers: [
        clientProvider,
        KeyBuilder,
        ScriptRegistry,
        TransactionPool,
        ReplicaWait,
        { provide: LUA_DIR, useValue: options.luaDir ?? defaultLuaDir() },
      ],
      exports: [REDIS_CLIENT, KeyBuilder, ScriptRegistry, TransactionPool, ReplicaWait],
    };
  }
}
