/**
 * When a job runs: a pure function from a schedule expression, a zone and an instant to
 * the job's next instant.
 *
 * Expressions: standard 5-field cron (minute hour day month weekday), 6 fields (a leading
 * seconds field) only when the job says `seconds: true`, the shorthands @hourly, @daily,
 * @midnight, @weekly, @monthly, @yearly/@annually, and `@every DURATION` (e.g. `@every 4h`,
 * `@every 90s`). A `CRON_TZ=Zone ` prefix sets the zone, as cronie does.
 *
 * `@every` instants are anchored to the Unix epoch, not to the scheduler's start, so every
 * scheduler (and every restart) agrees on them: that is what lets two schedulers claim the
 * same instant (see claim.ts).
 *
 * Daylight saving time, for schedules with a fixed hour (the hour field is not `*`), as
 * Vixie cron does it:
 *  - a run whose wall-clock time falls in a skipped hour runs right after the jump;
 *  - a run whose wall-clock time falls in a repeated hour runs once, on the first pass.
 * Schedules with `*` hours (every N minutes) follow elapsed time through both transitions.
 */
import { CronExpressionParser } from 'cron-parser';

export interface Schedule {
  readonly expression: string;
  /** IANA zone the expression is read in. */
  readonly tz: string;
  /** The first instant strictly after `after`. */
  next(after: Date): Date;
}

export class ScheduleError extends Error {
  constructor(
    message: string,
    /** Which part of the expression is wrong, e.g. `minute`, `zone`. */
    readonly field: string,
  ) {
    super(message);
  }
}

const SHORTHANDS: Readonly<Record<string, string>> = {
  '@yearly': '0 0 1 1 *',
  '@annually': '0 0 1 1 *',
  '@monthly': '0 0 1 * *',
  '@weekly': '0 0 * * 0',
  '@daily': '0 0 * * *',
  '@midnight': '0 0 * * *',
  '@hourly': '0 * * * *',
};

const FIELD_NAMES_5 = ['minute', 'hour', 'day of month', 'month', 'day of week'];
const FIELD_NAMES_6 = ['second', ...FIELD_NAMES_5];

const DURATION_UNITS: Readonly<Record<string, number>> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };

/** `4h`, `90s`, `1h30m`, `500ms` → milliseconds; undefined when not a duration. */
export function parseDuration(text: string): number | undefined {
  const trimmed = text.trim();
  if (!/^(\d+(ms|s|m|h|d))+$/.test(trimmed)) return undefined;
  let total = 0;
  for (const [, amount, unit] of trimmed.matchAll(/(\d+)(ms|s|m|h|d)/g)) total += Number(amount) * DURATION_UNITS[unit!]!;
  return total;
}

export function isValidZone(tz: string): boolean {
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: tz });
    return true;
  } catch {
    return false;
  }
}

/**
 * Formatters by zone, made once: an Intl.DateTimeFormat is costly to build (ICU objects,
 * outside the JS heap), and schedules ask for one on every next().
 */
const wallClockFormats = new Map<string, Intl.DateTimeFormat>();
function wallClockFormat(tz: string): Intl.DateTimeFormat {
  let format = wallClockFormats.get(tz);
  if (!format) {
    format = new Intl.DateTimeFormat('en-US', {
      timeZone: tz,
      hourCycle: 'h23',
      year: 'numeric',
      month: 'numeric',
      day: 'numeric',
      hour: 'numeric',
      minute: 'numeric',
      second: 'numeric',
    });
    wallClockFormats.set(tz, format);
  }
  return format;
}

/** The zone's offset from UTC at `instant`, in minutes (e.g. 120 for CEST). */
export function zoneOffsetMinutes(instant: Date, tz: string): number {
  const parts = wallClockFormat(tz).formatToParts(instant);
  const get = (type: string) => Number(parts.find((p) => p.type === type)!.value);
  const wall = Date.UTC(get('year'), get('month') - 1, get('day'), get('hour'), get('minute'), get('second'));
  return Math.round((wall - Math.floor(instant.getTime() / 1000) * 1000) / 60_000);
}

/** The instant in (from, to] where the zone's offset changes, found by bisection to the second. */
function offsetChange(from: number, to: number, tz: string): number {
  const before = zoneOffsetMinutes(new Date(from), tz);
  let low = from;
  let high = to;
  while (high - low > 1000) {
    const middle = low + Math.floor((high - low) / 2000) * 1000;
    if (zoneOffsetMinutes(new Date(middle), tz) === before) low = middle;
    else high = middle;
  }
  return high;
}

function everySchedule(expression: string, intervalMs: number, tz: string): Schedule {
  return {
    expression,
    tz,
    next: (after) => new Date((Math.floor(after.getTime() / intervalMs) + 1) * intervalMs),
  };
}

function cronSchedule(expression: string, cron: string, tz: string, fields: readonly string[]): Schedule {
  let parsed: ReturnType<typeof CronExpressionParser.parse>;
  try {
    parsed = CronExpressionParser.parse(cron, { tz, currentDate: new Date(0) });
  } catch (error) {
    const message = (error as Error).message;
    // cron-parser names the range, not the field: find the field from the values it rejects.
    const value = /got value (\S+)/.exec(message)?.[1];
    const parts = cron.split(/\s+/);
    const index = value === undefined ? -1 : parts.findIndex((part) => part.split(/[,/-]/).includes(value));
    throw new ScheduleError(`invalid schedule "${expression}": ${message}`, index >= 0 ? fields[index]! : 'expression');
  }
  const hourField = cron.split(/\s+/)[fields.length - 4];
  const fixedHour = hourField !== '*';
  const matchesHour = (instant: Date): boolean => {
    // Whether cron-parser's candidate is at a wall-clock hour the expression names; if not,
    // it was pushed out of a skipped hour.
    const hour = Number(
      wallClockFormat(tz)
        .formatToParts(instant)
        .find((p) => p.type === 'hour')!.value,
    );
    return parsed.fields.hour.values.includes(hour as never);
  };
  const nextAfter = (after: Date): Date => {
    const iterator = CronExpressionParser.parse(cron, { tz, currentDate: after });
    let candidate = iterator.next().toDate();
    if (!fixedHour) return candidate;
    for (let guard = 0; guard < 4; guard++) {
      const offsetNow = zoneOffsetMinutes(candidate, tz);
      const offsetHourAgo = zoneOffsetMinutes(new Date(candidate.getTime() - 3_600_000), tz);
      if (!matchesHour(candidate) && offsetNow > offsetHourAgo) {
        // Spring forward: the named time did not exist; run at the jump itself.
        const jump = offsetChange(candidate.getTime() - 3 * 3_600_000, candidate.getTime(), tz);
        return new Date(Math.max(jump, after.getTime() + 1000));
      }
      if (offsetNow < offsetHourAgo) {
        // Fall back: is this wall-clock time one that already happened an hour earlier?
        const shift = (offsetHourAgo - offsetNow) * 60_000;
        const firstPass = new Date(candidate.getTime() - shift);
        if (zoneOffsetMinutes(firstPass, tz) === offsetHourAgo && firstPass.getTime() > after.getTime() - shift) {
          candidate = iterator.next().toDate();
          continue;
        }
      }
      return candidate;
    }
    return candidate;
  };
  return { expression, tz, next: nextAfter };
}

export interface ScheduleOptions {
  /** Default zone when the expression has no CRON_TZ= prefix. */
  readonly tz?: string;
  /** Allow a sixth, leading seconds field. */
  readonly seconds?: boolean;
}

export function parseSchedule(expression: string, options: ScheduleOptions = {}): Schedule {
  let rest = expression.trim();
  let tz = options.tz ?? 'UTC';
  const prefix = /^CRON_TZ=(\S+)\s+/.exec(rest);
  if (prefix) {
    tz = prefix[1]!;
    rest = rest.slice(prefix[0].length);
  }
  if (!isValidZone(tz)) throw new ScheduleError(`unknown time zone "${tz}"`, 'zone');
  if (rest.startsWith('@every')) {
    const interval = parseDuration(rest.slice('@every'.length));
    if (interval === undefined || interval < 1000) {
      throw new ScheduleError(`invalid schedule "${expression}": @every needs a duration of at least 1s, like 30s, 15m, 4h or 1h30m`, 'interval');
    }
    if (interval < 60_000 && !options.seconds && interval % 60_000 !== 0) {
      throw new ScheduleError(`invalid schedule "${expression}": an interval under a minute needs seconds: true`, 'interval');
    }
    return everySchedule(expression, interval, tz);
  }
  if (rest.startsWith('@')) {
    const cron = SHORTHANDS[rest];
    if (!cron)
      throw new ScheduleError(
        `invalid schedule "${expression}": unknown shorthand ${rest} (use ${[...Object.keys(SHORTHANDS), '@every DURATION'].join(', ')})`,
        'expression',
      );
    return cronSchedule(expression, cron, tz, FIELD_NAMES_5);
  }
  const fields = rest.split(/\s+/).filter(Boolean);
  if (fields.length === 6 && !options.seconds) {
    throw new ScheduleError(
      `invalid schedule "${expression}": 6 fields means a leading seconds field; set seconds: true if that is meant`,
      'expression',
    );
  }
  if (fields.length !== 5 && fields.length !== 6) {
    throw new ScheduleError(
      `invalid schedule "${expression}": expected 5 fields (minute hour day month weekday), got ${fields.length}`,
      'expression',
    );
  }
  return cronSchedule(expression, fields.join(' '), tz, fields.length === 6 ? FIELD_NAMES_6 : FIELD_NAMES_5);
}

/**
 * A stable offset in [0, maxMs) for a job: the same job gets the same jitter on every
 * scheduler and every restart (FNV-1a of its name and the seed), so spreading is
 * reproducible, and two schedulers still agree on the instant.
 */
export function stableJitterMs(jobName: string, maxMs: number, seed = ''): number {
  if (maxMs <= 0) return 0;
  let hash = 0x811c9dc5;
  for (const char of `${seed}\0${jobName}`) {
    hash ^= char.codePointAt(0)!;
    hash = Math.imul(hash, 0x01000193) >>> 0;
  }
  return hash % maxMs;
}
