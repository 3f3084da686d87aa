import { Logger } from '@nestjs/common';

/**
 * Runs `work` every `periodMs`, never two at once, until stopped. A failing
 * run (Redis away) is logged at most once per 10 s and the loop goes on.
 * stop() waits for the run in progress, so shutdown never cuts one in half.
 */
export class PeriodicTask {
  private timer?: NodeJS.Timeout;
  private running?: Promise<void>;
  private lastErrorLog = 0;

  constructor(
    private readonly name: string,
    private readonly periodMs: number,
    private readonly work: () => Promise<void>,
    private readonly logger = new Logger(name),
  ) {}

  start(): void {
    if (this.timer) return;
    this.timer = setInterval(() => {
      if (this.running) return;
      this.running = this.work()
        .catch((err: Error) => {
          if (Date.now() - this.lastErrorLog > 10_000) {
            this.lastErrorLog = Date.now();
            this.logger.warn(`${this.name} run failed: ${err.message}`);
          }
        })
        .finally(() => (this.running = undefined));
    }, this.periodMs);
    this.timer.unref();
  }

  async stop(): Promise<void> {
    clearInterval(this.timer);
    this.timer = undefined;
    await this.running;
  }
}
