import { eventStatus } from './event-status';

describe('eventStatus', () => {
  it('is soldOut only with no seat available and none held, whatever else is set', () => {
    expect(eventStatus({ available: 0, held: 0, paused: false })).toBe('soldOut');
    expect(eventStatus({ available: 0, held: 0, paused: true })).toBe('soldOut');
  });
  it('stays open while seats are only held (they may come back), paused when paused', () => {
    expect(eventStatus({ available: 0, held: 2, paused: false })).toBe('open');
    expect(eventStatus({ available: 5, held: 0, paused: false })).toBe('open');
    expect(eventStatus({ available: 5, held: 0, paused: true })).toBe('paused');
  });
});
