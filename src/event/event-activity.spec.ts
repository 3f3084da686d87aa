import { EventProbe } from './event.repository';
import { needsOf } from './event-activity';

const NOW = 1_800_000_000_000;
const idle: EventProbe = { paused: false, manual: false, endsAt: 0, seq: 7, drained: 7, held: 0, available: 5, pqWaiting: 0, salesStartAt: 0, sessionsUntil: 0 };

describe('needsOf: what one probe of an event asks of the admitter and sweeper', () => {
  it('an idle event (nobody waiting, no session, no hold) needs nothing, and is not finished while open', () => {
    expect(needsOf(idle, NOW)).toEqual({ admit: 'none', sweep: false, finished: false });
  });

  it('someone waiting (a join raised seq past drained): admit every tick', () => {
    expect(needsOf({ ...idle, seq: 8 }, NOW).admit).toBe('tick');
    // drained missing (0) on an event older than the field: ticked until the admitter writes it
    expect(needsOf({ ...idle, drained: 0 }, NOW).admit).toBe('tick');
  });

  it('waiting but paused or closed: nobody is admitted, so no ticks; sessions still get pruned once a second', () => {
    expect(needsOf({ ...idle, seq: 8, paused: true }, NOW).admit).toBe('none');
    expect(needsOf({ ...idle, seq: 8, endsAt: NOW - 1 }, NOW).admit).toBe('none');
    expect(needsOf({ ...idle, seq: 8, paused: true, sessionsUntil: NOW + 60_000 }, NOW).admit).toBe('prune');
  });

  it('waiting on a manual event: no ticks (only POST .../admissions admits); sessions still get pruned', () => {
    expect(needsOf({ ...idle, seq: 8, manual: true }, NOW).admit).toBe('none');
    expect(needsOf({ ...idle, seq: 8, manual: true, sessionsUntil: NOW + 60_000 }, NOW).admit).toBe('prune');
  });

  it('waiting but sold out (nothing available, nothing held): no ticks; held seats may come back, so those still tick', () => {
    expect(needsOf({ ...idle, seq: 8, available: 0 }, NOW).admit).toBe('none');
    expect(needsOf({ ...idle, seq: 8, available: 0, sessionsUntil: NOW + 60_000 }, NOW).admit).toBe('prune');
    expect(needsOf({ ...idle, seq: 8, available: 0, held: 2 }, NOW).admit).toBe('tick');
  });

  it('a pre-queue: no ticks before salesStartAt, every tick from then on while its entries wait', () => {
    expect(needsOf({ ...idle, pqWaiting: 3, salesStartAt: NOW + 1000 }, NOW).admit).toBe('none');
    expect(needsOf({ ...idle, pqWaiting: 3, salesStartAt: NOW }, NOW).admit).toBe('tick');
    expect(needsOf({ ...idle, seq: 8, salesStartAt: NOW - 1 }, NOW).admit).toBe('tick');
  });

  it('live sessions and nobody waiting: admit once a second (ends sessions), also a few seconds past the last end', () => {
    expect(needsOf({ ...idle, sessionsUntil: NOW + 60_000 }, NOW).admit).toBe('prune');
    expect(needsOf({ ...idle, sessionsUntil: NOW - 1000 }, NOW).admit).toBe('prune');
    expect(needsOf({ ...idle, sessionsUntil: NOW - 10_000 }, NOW).admit).toBe('none');
  });

  it('seats held: sweep', () => {
    expect(needsOf({ ...idle, held: 3 }, NOW)).toEqual({ admit: 'none', sweep: true, finished: false });
  });

  it('closed with nothing live, or gone: finished; closed with a hold or a session: not yet', () => {
    expect(needsOf({ ...idle, endsAt: NOW }, NOW)).toEqual({ admit: 'none', sweep: false, finished: true });
    expect(needsOf(null, NOW)).toEqual({ admit: 'none', sweep: false, finished: true });
    expect(needsOf({ ...idle, endsAt: NOW - 1, held: 1 }, NOW).finished).toBe(false);
    expect(needsOf({ ...idle, endsAt: NOW - 1, sessionsUntil: NOW + 1 }, NOW).finished).toBe(false);
    expect(needsOf({ ...idle, endsAt: NOW + 1 }, NOW).finished).toBe(false);
  });
});
