/**
 * Preloaded into the service child (`node -r .../profiler-preload.js dist/main.js`)
 * when the bench profiles it: the first SIGWINCH starts V8's CPU profiler, the
 * second stops it and writes the profile to $BENCH_PROFILE_OUT (then
 * `<file>.done`). SIGWINCH because its default action is to be ignored and
 * Nest's enableShutdownHooks() does not listen to it (it does to SIGUSR2). Only the measured window is sampled, not boot or warm-up;
 * and the service's own SIGTERM handling stays untouched (a --cpu-prof
 * profile would be lost when Nest re-raises the signal on shutdown).
 */
import { writeFileSync } from 'node:fs';
import { Session } from 'node:inspector';

const out = process.env.BENCH_PROFILE_OUT;
if (out) {
  const session = new Session();
  session.connect();
  let running = false;
  const post = (method: string, params: object = {}) =>
    new Promise<any>((resolve, reject) => session.post(method, params, (err, result) => (err ? reject(err) : resolve(result))));

  process.on('SIGWINCH', () => {
    const step = running
      ? post('Profiler.stop').then(({ profile }) => {
          writeFileSync(out, JSON.stringify(profile));
          writeFileSync(`${out}.done`, '');
        })
      : post('Profiler.enable')
          .then(() => post('Profiler.setSamplingInterval', { interval: Number(process.env.BENCH_PROFILE_INTERVAL_US ?? 500) }))
          .then(() => post('Profiler.start'));
    running = !running;
    step.catch((err: Error) => process.stderr.write(`profiler: ${err.message}\n`));
  });
}
