import { describe, expect, it } from 'vitest';
import { ScheduleError, parseDuration, parseSchedule, stableJitterMs } from '../../../src/schedule/time.js';

/** The next `n` instants after `from`, as ISO strings. */
function runs(expression: string, from: string, n: number, options: Parameters<typeof parseSchedule>[1] = {}): string[] {
  const schedule = parseSchedule(expression, options);
  const out: string[] = [];
  let at = new Date(from);
  for (let i = 0; i < n; i++) {
    at = schedule.next(at);
    out.push(at.toISOString().replace('.000Z', 'Z'));
  }
  return out;
}

describe('parseSchedule: expressions', () => {
  it('reads standard 5-field cron in UTC by default', () => {
    expect(runs('*/20 * * * *', '2026-11-24T10:05:00Z', 3)).toEqual(['2026-11-24T10:20:00Z', '2026-11-24T10:40:00Z', '2026-11-24T11:00:00Z']);
    expect(parseSchedule('0 3 * * *').tz).toBe('UTC');
  });

  it('knows the shorthands', () => {
    expect(runs('@hourly', '2026-11-24T10:05:00Z', 1)).toEqual(['2026-11-24T11:00:00Z']);
    expect(runs('@daily', '2026-11-24T10:05:00Z', 1)).toEqual(['2026-11-25T00:00:00Z']);
    expect(runs('@weekly', '2026-11-24T10:05:00Z', 1)).toEqual(['2026-11-29T00:00:00Z']);
  });

  it('anchors @every to the epoch, so every scheduler agrees on the instants', () => {
    expect(runs('@every 4h', '2026-11-24T10:05:00Z', 2)).toEqual(['2026-11-24T12:00:00Z', '2026-11-24T16:00:00Z']);
    expect(runs('@every 1s', '2026-11-24T10:05:00.400Z', 2, { seconds: true })).toEqual(['2026-11-24T10:05:01Z', '2026-11-24T10:05:02Z']);
  });

  it('takes a seconds field only when asked for', () => {
    expect(runs('*/15 * * * * *', '2026-11-24T10:05:00Z', 2, { seconds: true })).toEqual(['2026-11-24T10:05:15Z', '2026-11-24T10:05:30Z']);
    expect(() => parseSchedule('*/15 * * * * *')).toThrow(/seconds: true/);
    expect(() => parseSchedule('@every 10s')).toThrow(/seconds: true/);
  });

  it('reads a zone from the options or a CRON_TZ= prefix', () => {
    expect(runs('0 9 * * *', '2026-11-24T00:00:00Z', 1, { tz: 'Europe/Berlin' })).toEqual(['2026-11-24T08:00:00Z']);
    expect(runs('CRON_TZ=America/New_York 0 9 * * *', '2026-11-24T00:00:00Z', 1)).toEqual(['2026-11-24T14:00:00Z']);
  });

  it.each([
    ['61 * * * *', 'minute'],
    ['0 25 * * *', 'hour'],
    ['0 0 32 * *', 'day of month'],
    ['0 0 * 13 *', 'month'],
    ['* * *', 'expression'],
    ['@fortnightly', 'expression'],
    ['@every soon', 'interval'],
  ])('refuses %j, naming the %s', (expression, field) => {
    const error = (() => {
      try {
        parseSchedule(expression);
      } catch (caught) {
        return caught;
      }
      return undefined;
    })();
    expect(error).toBeInstanceOf(ScheduleError);
    expect((error as ScheduleError).field).toBe(field);
  });

  it('refuses an unknown zone', () => {
    expect(() => parseSchedule('0 0 * * *', { tz: 'Mars/Olympus' })).toThrow(/unknown time zone "Mars\/Olympus"/);
  });
});

describe('parseSchedule: daylight saving time (Europe/Berlin)', () => {
  const tz = 'Europe/Berlin';
  // 2026-03-29: 02:00 CET jumps to 03:00 CEST (01:00Z). 2026-10-25: 03:00 CEST falls back to 02:00 CET (01:00Z).
  it('runs a job of the skipped hour right after the jump, then at its normal time', () => {
    expect(runs('30 2 * * *', '2026-03-28T12:00:00Z', 3, { tz })).toEqual(['2026-03-29T01:00:00Z', '2026-03-30T00:30:00Z', '2026-03-31T00:30:00Z']);
  });

  it('runs a job of the repeated hour once', () => {
    expect(runs('30 2 * * *', '2026-10-24T12:00:00Z', 3, { tz })).toEqual(['2026-10-25T00:30:00Z', '2026-10-26T01:30:00Z', '2026-10-27T01:30:00Z']);
    expect(runs('*/20 2 * * *', '2026-10-24T12:00:00Z', 4, { tz })).toEqual([
      '2026-10-25T00:00:00Z',
      '2026-10-25T00:20:00Z',
      '2026-10-25T00:40:00Z',
      '2026-10-26T01:00:00Z',
    ]);
  });

  it('keeps interval-like jobs (any hour) on elapsed time through both transitions', () => {
    expect(runs('*/30 * * * *', '2026-10-25T00:10:00Z', 4, { tz })).toEqual([
      '2026-10-25T00:30:00Z',
      '2026-10-25T01:00:00Z',
      '2026-10-25T01:30:00Z',
      '2026-10-25T02:00:00Z',
    ]);
    expect(runs('0 * * * *', '2026-03-29T00:10:00Z', 2, { tz })).toEqual(['2026-03-29T01:00:00Z', '2026-03-29T02:00:00Z']);
  });
});

describe('durations and jitter', () => {
  it('parses durations', () => {
    expect(parseDuration('4h')).toBe(14_400_000);
    expect(parseDuration('1h30m')).toBe(5_400_000);
    expect(parseDuration('500ms')).toBe(500);
    expect(parseDuration('4 hours')).toBeUndefined();
  });

  it('gives a job the same jitter every time, within the bound, and different jobs different ones', () => {
    expect(stableJitterMs('backup', 60_000)).toBe(stableJitterMs('backup', 60_000));
    expect(stableJitterMs('backup', 60_000)).toBeLessThan(60_000);
    expect(stableJitterMs('backup', 60_000)).not.toBe(stableJitterMs('logrotate', 60_000));
    expect(stableJitterMs('backup', 0)).toBe(0);
  });
});
