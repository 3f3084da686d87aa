import { BeforeApplicationShutdown, OnApplicationBootstrap } from '@nestjs/common';
import { PeriodicTask } from './periodic-task';

/**
 * A provider that runs `runOnce()` every `periodMs` on every replica, from
 * application bootstrap until shutdown begins (before the HTTP server and
 * Redis close, so a run never meets a closed client). The admitter and the
 * sweeper are two of these.
 */
export abstract class RecurringJob implements OnApplicationBootstrap, BeforeApplicationShutdown {
  private readonly task: PeriodicTask;

  protected constructor(name: string, periodMs: number) {
    this.task = new PeriodicTask(name, periodMs, () => this.runOnce());
  }

  protected abstract runOnce(): Promise<void>;

  onApplicationBootstrap(): void {
    this.task.start();
  }

  async beforeApplicationShutdown(): Promise<void> {
    await this.stop();
  }

  /** Stops the loop and waits for the run in progress. */
  stop(): Promise<void> {
    return this.task.stop();
  }
}
