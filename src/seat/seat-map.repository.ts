import { Injectable } from '@nestjs/common';
import { KeyBuilder } from '../redis/keys';
import { numberAt, ReplyCode, stringAt } from '../redis/script-replies';
import { ScriptRegistry } from '../redis/script-registry';
import type { SeatChunk } from './seat-map';

/** What changed since a seat version (seatChanges-2.lua); `reachable` false: read the whole map again. */
export interface SeatChanges {
  epoch: number;
  version: number;
  reachable: boolean;
  /** the tag of the last entry returned (of entry `from` when none): the next call's `fromTag` */
  tag: string;
  /** the log entries after `from`, oldest first (at most the `max` asked for) */
  entries: string[];
}

const strings = (value: unknown): string[] => (Array.isArray(value) ? value.map(String) : []);

/** The seat snapshots' two reads, each one bounded script call. */
@Injectable()
export class SeatMapRepository {
  constructor(
    private readonly keys: KeyBuilder,
    private readonly scripts: ScriptRegistry,
  ) {}

  /**
   * null when the event does not exist. `fromTag`: entry `from`'s tag as the
   * caller saw it; when Redis's differs (lost writes reused the version) the
   * answer is not `reachable`.
   */
  async changes(eventId: string, from: number, fromTag: string, max: number): Promise<SeatChanges | null> {
    const k = this.keys.event(eventId);
    const r = await this.scripts.run('seatChanges', [k.meta, k.rows], [from, max, fromTag]);
    if (r[0] !== ReplyCode.OK) return null;
    const reachable = numberAt('seatChanges', r, 3) === 1;
    return {
      epoch: numberAt('seatChanges', r, 1),
      version: numberAt('seatChanges', r, 2),
      reachable,
      tag: reachable ? stringAt('seatChanges', r, 4) : '',
      entries: reachable ? r.slice(5).map(String) : [],
    };
  }

  /** null when the event does not exist. */
  async chunk(eventId: string, after: number, limit: number, withLayout: boolean): Promise<SeatChunk | null> {
    const k = this.keys.event(eventId);
    const r = await this.scripts.run('seatChunk', [k.meta, k.seats, k.seatIndex, k.rows], [after, limit, withLayout ? '1' : '0']);
    if (r[0] !== ReplyCode.OK) return null;
    const rowPairs = strings(r[8]);
    const rows = new Map<number, string>();
    for (let i = 0; i < rowPairs.length; i += 2) rows.set(Number(rowPairs[i]), rowPairs[i + 1]);
    return {
      epoch: numberAt('seatChunk', r, 1),
      version: numberAt('seatChunk', r, 2),
      capacity: numberAt('seatChunk', r, 3),
      next: numberAt('seatChunk', r, 4),
      states: stringAt('seatChunk', r, 5),
      ids: strings(r[6]),
      indexes: strings(r[7]).map(Number),
      rows,
      levels: strings(r[9]),
      tag: String(r[10] ?? ''),
    };
  }
}
