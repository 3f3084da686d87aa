import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { cpus, loadavg, release, totalmem } from 'node:os';
import { ROOT } from './config';

export interface MachineInfo {
  cpuModel: string;
  cores: number;
  memoryGiB: number;
  os: string;
  node: string;
  redis: string;
  /** 1/5/15-minute load average when the bench started: other work on a shared machine shows here */
  loadAverageAtStart: number[];
}

export interface SourceInfo {
  commit: string;
  /** files under src/ and lua/ that differed from the commit when the bench ran */
  uncommittedInSrcOrLua: string[];
}

const safe = (f: () => string, fallback = 'unknown') => {
  try {
    return f().trim();
  } catch {
    return fallback;
  }
};

export function machineInfo(): MachineInfo {
  const cpuinfo = safe(() => readFileSync('/proc/cpuinfo', 'utf8'), '');
  const model = /^model name\s*:\s*(.+)$/m.exec(cpuinfo)?.[1] ?? cpus()[0]?.model ?? 'unknown';
  const osName = /^PRETTY_NAME="?([^"\n]+)"?/m.exec(safe(() => readFileSync('/etc/os-release', 'utf8'), ''))?.[1] ?? 'unknown';
  return {
    cpuModel: model.trim(),
    cores: cpus().length,
    memoryGiB: Math.round((totalmem() / 2 ** 30) * 10) / 10,
    os: `${osName} (kernel ${release()})`,
    node: process.version,
    redis: safe(() => execFileSync('redis-server', ['--version'], { encoding: 'utf8' })),
    loadAverageAtStart: loadavg().map((x) => Math.round(x * 100) / 100),
  };
}

export function sourceInfo(): SourceInfo {
  const commit = safe(() => execFileSync('git', ['rev-parse', 'HEAD'], { cwd: ROOT, encoding: 'utf8' }));
  const status = safe(() => execFileSync('git', ['status', '--porcelain', '--', 'src', 'lua'], { cwd: ROOT, encoding: 'utf8' }), '');
  return { commit, uncommittedInSrcOrLua: status.split('\n').filter(Boolean) };
}
