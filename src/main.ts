import { Logger } from '@nestjs/common';
import { createApp } from './app.factory';
import { ConfigError } from './config/env.schema';
import { appConfig } from './config/configuration';

async function main(): Promise<void> {
  const app = await createApp();
  const { port } = app.get<ReturnType<typeof appConfig>>(appConfig.KEY);
  await app.listen({ port, host: '0.0.0.0' });
  Logger.log(`queuegate listening on port ${port}`, 'Bootstrap');
}

main().catch((err: Error) => {
  // A configuration or boot error: one clear message, non-zero exit.
  const message = err instanceof ConfigError ? err.message : `queuegate failed to start: ${err.message}`;
  process.stderr.write(`${message}\n`);
  process.exit(1);
});
