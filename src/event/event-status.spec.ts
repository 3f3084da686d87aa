import { eventStatus, StatusInputs } from './event-status';

const base: StatusInputs = {
  available: 5, held: 0, paused: false, nowMs: 10_000, queueMethod: 'fifo', queueOpensAt: 0, salesStartAt: 0, endsAt: 0,
};

describe('eventStatus', () => {
  it('is soldOut only with no seat available and none held, whatever else is set', () => {
    expect(eventStatus({ ...base, available: 0, held: 0 })).toBe('soldOut');
    expect(eventStatus({ ...base, available: 0, held: 0, paused: true })).toBe('soldOut');
    expect(eventStatus({ ...base, available: 0, held: 0, queueOpensAt: 20_000, salesStartAt: 30_000 })).toBe('soldOut');
  });
  it('stays open while seats are only held (they may come back), paused when paused', () => {
    expect(eventStatus({ ...base, available: 0, held: 2 })).toBe('open');
    expect(eventStatus(base)).toBe('open');
    expect(eventStatus({ ...base, paused: true })).toBe('paused');
  });
  it('follows the schedule: scheduled before queueOpensAt, prequeue before salesStartAt, then open', () => {
    const scheduled = { ...base, queueOpensAt: 20_000, salesStartAt: 30_000 };
    expect(eventStatus({ ...scheduled, nowMs: 19_999 })).toBe('scheduled');
    expect(eventStatus({ ...scheduled, nowMs: 20_000 })).toBe('prequeue');
    expect(eventStatus({ ...scheduled, nowMs: 29_999, paused: true })).toBe('prequeue');
    expect(eventStatus({ ...scheduled, nowMs: 30_000 })).toBe('open');
    expect(eventStatus({ ...base, salesStartAt: 30_000 })).toBe('prequeue');
  });
  it('is closed from endsAt on and while the method is reject', () => {
    expect(eventStatus({ ...base, endsAt: 10_000 })).toBe('closed');
    expect(eventStatus({ ...base, endsAt: 10_001 })).toBe('open');
    expect(eventStatus({ ...base, endsAt: 10_000, available: 0 })).toBe('closed');
    expect(eventStatus({ ...base, queueMethod: 'reject' })).toBe('closed');
    expect(eventStatus({ ...base, queueMethod: 'reject', queueOpensAt: 20_000 })).toBe('closed');
  });
});
