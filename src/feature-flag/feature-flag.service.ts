import { Inject, Injectable, Logger, OnModuleDestroy, OnModuleInit } from '@nestjs/common';
import { ConfigType } from '@nestjs/config';
import { DomainError } from '../common/domain-error';
import { flagDefaultsConfig } from '../config/configuration';
import { FeatureFlagRepository } from './feature-flag.repository';

export const FLAG_NAMES = ['streamsQueue', 'luaAtomic'] as const;
export type FlagName = (typeof FLAG_NAMES)[number];

export interface FlagView {
  name: FlagName;
  enabled: boolean;
  source: 'default' | 'env' | 'override';
}

/** How often each replica re-reads the overrides: every replica agrees within 1 s. */
export const FLAG_REFRESH_MS = 500;

/**
 * Flags come from the environment (or their default) unless an override in
 * Redis says otherwise. The hot path reads a cached copy; a timer refreshes it
 * from Redis every FLAG_REFRESH_MS, and keeps the last copy while Redis is away.
 */
@Injectable()
export class FeatureFlagService implements OnModuleInit, OnModuleDestroy {
  private readonly logger = new Logger(FeatureFlagService.name);
  private overrides: Record<string, boolean> = {};
  private timer?: NodeJS.Timeout;

  constructor(
    private readonly repository: FeatureFlagRepository,
    @Inject(flagDefaultsConfig.KEY) private readonly defaults: ConfigType<typeof flagDefaultsConfig>,
  ) {}

  async onModuleInit(): Promise<void> {
    await this.refresh();
    this.timer = setInterval(() => void this.refresh(), FLAG_REFRESH_MS);
    this.timer.unref();
  }

  onModuleDestroy(): void {
    clearInterval(this.timer);
  }

  isEnabled(name: FlagName): boolean {
    return this.overrides[name] ?? this.defaults[name].enabled;
  }

  async list(): Promise<FlagView[]> {
    await this.refresh(true);
    return FLAG_NAMES.map((name) => this.view(name));
  }

  async set(name: string, enabled: boolean): Promise<FlagView> {
    const flag = this.known(name);
    await this.repository.set(flag, enabled);
    this.overrides[flag] = enabled;
    return this.view(flag);
  }

  async clear(name: string): Promise<void> {
    const flag = this.known(name);
    await this.repository.clear(flag);
    delete this.overrides[flag];
  }

  private view(name: FlagName): FlagView {
    const overridden = this.overrides[name] !== undefined;
    return {
      name,
      enabled: this.isEnabled(name),
      source: overridden ? 'override' : this.defaults[name].source,
    };
  }

  private known(name: string): FlagName {
    if (!(FLAG_NAMES as readonly string[]).includes(name)) {
      throw new DomainError('FLAG_NOT_FOUND', `no flag named ${name}; flags: ${FLAG_NAMES.join(', ')}`);
    }
    return name as FlagName;
  }

  private async refresh(mustSucceed = false): Promise<void> {
    try {
      this.overrides = await this.repository.overrides();
    } catch (err) {
      if (mustSucceed) throw err;
      this.logger.debug(`flag refresh failed, keeping the last values: ${(err as Error).message}`);
    }
  }
}
