import { readFileSync } from 'node:fs';
import { ROOT } from './config';

interface CallFrame {
  functionName: string;
  url: string;
  lineNumber: number;
}

interface ProfileNode {
  id: number;
  callFrame: CallFrame;
  children?: number[];
}

interface CpuProfile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
}

export interface ProfileRow {
  name: string;
  ms: number;
  percent: number;
}

export interface ProfileSummary {
  sampledMs: number;
  samples: number;
  /** by function (self time: the function itself was on top of the stack) */
  topSelf: ProfileRow[];
  /** by package / area, self time */
  selfByArea: ProfileRow[];
  /** by package / area, inclusive time (the area is anywhere on the stack) */
  inclusiveByArea: ProfileRow[];
  /** the service's own functions (dist/), inclusive time */
  topAppInclusive: ProfileRow[];
}

const SPECIAL = new Set(['(garbage collector)', '(program)', '(idle)', '(root)']);

/** 'node_modules/@nestjs/core/router/x.js' -> '@nestjs/core'; dist/ -> 'app (dist/)'; node:internal -> 'node internals'. */
export function areaOf(frame: CallFrame): string {
  if (SPECIAL.has(frame.functionName) && !frame.url) return frame.functionName;
  const url = frame.url.replace(/^file:\/\//, '');
  if (!url) return '(V8 builtins / native)';
  if (url.startsWith('node:')) return 'node internals';
  const nm = url.lastIndexOf('node_modules/');
  if (nm >= 0) {
    const parts = url.slice(nm + 'node_modules/'.length).split('/');
    return parts[0].startsWith('@') ? `${parts[0]}/${parts[1]}` : parts[0];
  }
  if (url.includes('/dist/')) return 'app (dist/)';
  return url.replace(ROOT + '/', '');
}

function frameName(frame: CallFrame): string {
  const url = frame.url.replace(/^file:\/\//, '');
  const nm = url.lastIndexOf('node_modules/');
  const where = nm >= 0 ? url.slice(nm + 'node_modules/'.length) : url.replace(ROOT + '/', '');
  return `${frame.functionName || '(anonymous)'}${where ? ` ${where}:${frame.lineNumber + 1}` : ''}`;
}

export function summarizeProfile(file: string, top = 25): ProfileSummary {
  const profile = JSON.parse(readFileSync(file, 'utf8')) as CpuProfile;
  const byId = new Map<number, ProfileNode>();
  const parent = new Map<number, number>();
  for (const node of profile.nodes) {
    byId.set(node.id, node);
    for (const child of node.children ?? []) parent.set(child, node.id);
  }
  const self = new Map<string, number>();
  const selfArea = new Map<string, number>();
  const inclArea = new Map<string, number>();
  const inclApp = new Map<string, number>();
  let total = 0;
  const add = (m: Map<string, number>, k: string, v: number) => m.set(k, (m.get(k) ?? 0) + v);
  for (let i = 0; i < profile.samples.length; i += 1) {
    const us = profile.timeDeltas[i] ?? 0;
    const leaf = byId.get(profile.samples[i]);
    if (!leaf) continue;
    const areas = new Set<string>();
    const appFrames = new Set<string>();
    for (let id: number | undefined = leaf.id; id !== undefined; id = parent.get(id)) {
      const frame = byId.get(id)!.callFrame;
      if (frame.functionName === '(root)') continue;
      const area = areaOf(frame);
      areas.add(area);
      if (area === 'app (dist/)') appFrames.add(frameName(frame));
    }
    // The profiler's own stop (serializing the profile) is not the server's work.
    if ([...areas].some((a) => a.includes('profiler-preload'))) continue;
    total += us;
    add(self, frameName(leaf.callFrame), us);
    add(selfArea, areaOf(leaf.callFrame), us);
    for (const a of areas) add(inclArea, a, us);
    for (const f of appFrames) add(inclApp, f, us);
  }
  const rows = (m: Map<string, number>, n: number): ProfileRow[] =>
    [...m.entries()]
      .sort((a, b) => b[1] - a[1])
      .slice(0, n)
      .map(([name, us]) => ({ name, ms: Math.round(us / 1000), percent: Math.round((us / total) * 1000) / 10 }));
  return {
    sampledMs: Math.round(total / 1000),
    samples: profile.samples.length,
    topSelf: rows(self, top),
    selfByArea: rows(selfArea, 20),
    inclusiveByArea: rows(inclArea, 20),
    topAppInclusive: rows(inclApp, 20),
  };
}

export function profileMarkdown(s: ProfileSummary, title: string): string {
  const table = (heading: string, rows: ProfileRow[]) =>
    [`#### ${heading}`, '', '| % | ms | frame / area |', '|---:|---:|---|', ...rows.map((r) => `| ${r.percent} | ${r.ms} | \`${r.name.replace(/\|/g, '\\|')}\` |`), ''].join('\n');
  return [
    `### ${title}`,
    '',
    `${s.samples} samples over ${s.sampledMs} ms of the server process's main thread (wall-clock sampling: "(idle)" is the event loop waiting for I/O, ` +
      'and on an oversubscribed machine time spent runnable but not scheduled lands on whatever frame was running). Inclusive time of a Fastify hook ' +
      'also holds what runs after it synchronously (the hook calls done(), which starts the next phase).',
    '',
    table('Self time by package / area', s.selfByArea),
    table('Inclusive time by package / area (on the stack anywhere)', s.inclusiveByArea),
    table('Top functions by self time', s.topSelf),
    table("The service's own functions (dist/), inclusive", s.topAppInclusive),
  ].join('\n');
}
