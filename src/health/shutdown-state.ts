import { BeforeApplicationShutdown, Inject, Injectable, Logger } from '@nestjs/common';
import { ConfigType } from '@nestjs/config';
import { appConfig } from '../config/configuration';

/**
 * Graceful shutdown, first step. On SIGTERM readiness answers 503 at once,
 * while the service goes on serving for SHUTDOWN_DRAIN_MS so load balancers
 * and Kubernetes endpoints stop sending traffic. Then Nest closes the HTTP
 * server (in-flight requests finish), the admitter and sweeper stop, and
 * last the Redis client closes.
 */
@Injectable()
export class ShutdownState implements BeforeApplicationShutdown {
  private readonly logger = new Logger('Shutdown');
  shuttingDown = false;

  constructor(@Inject(appConfig.KEY) private readonly config: ConfigType<typeof appConfig>) {}

  async beforeApplicationShutdown(signal?: string): Promise<void> {
    this.shuttingDown = true;
    if (signal && this.config.shutdownDrainMs > 0) {
      this.logger.log(`${signal}: readiness is now 503; draining for ${this.config.shutdownDrainMs} ms`);
      await new Promise((resolve) => setTimeout(resolve, this.config.shutdownDrainMs));
    }
  }
}
