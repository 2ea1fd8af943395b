import { describe, expect, it } from 'vitest';
import { UsageError, exitCodeFor } from '../../../../src/errors.js';
import { parseLogrotateParams, type RawLogrotateOptions } from '../../../../src/helpers/logrotate/params.js';

const CWD = '/home/ops';

function usageError(raw: RawLogrotateOptions): UsageError {
  try {
    parseLogrotateParams(raw, CWD);
  } catch (error) {
    expect(error).toBeInstanceOf(UsageError);
    expect(exitCodeFor(error)).toBe(2);
    return error as UsageError;
  }
  throw new Error(`parseLogrotateParams accepted ${JSON.stringify(raw)}`);
}

describe('parseLogrotateParams: what it accepts', () => {
  it('names no setting of its own when only a target is given: labels and defaults decide', () => {
    expect(parseLogrotateParams({ volumesFrom: ['web'] }, CWD)).toEqual({
      volumesFrom: ['web'],
      labels: [],
      settings: {},
      force: false,
      concurrency: 4,
    });
  });

  it('reads every option', () => {
    expect(
      parseLogrotateParams(
        {
          volumesFrom: ['web', 'web', 'api-1'],
          label: ['logs=rotate'],
          path: ['/var/log/nginx/*.log', '/srv/app/logs/*.log,/srv/app/logs/*.err'],
          rotate: '14',
          weekly: true,
          compress: false,
          mode: 'signal',
          signal: 'usr1',
          force: true,
          concurrency: '2',
        },
        CWD,
      ),
    ).toEqual({
      volumesFrom: ['web', 'api-1'],
      labels: ['logs=rotate'],
      settings: {
        paths: ['/var/log/nginx/*.log', '/srv/app/logs/*.log', '/srv/app/logs/*.err'],
        rotate: 14,
        schedule: { kind: 'weekly' },
        compress: false,
        mode: 'signal',
        signal: 'SIGUSR1',
      },
      force: true,
      concurrency: 2,
    });
  });

  it('takes a signal alone as signal mode, and sizes in logrotate units', () => {
    const params = parseLogrotateParams({ label: ['app'], signal: 'SIGHUP', size: '50m' }, CWD);
    expect(params.settings).toEqual({ mode: 'signal', signal: 'SIGHUP', schedule: { kind: 'size', size: '50M' } });
    expect(parseLogrotateParams({ label: ['app'], size: '100K' }, CWD).settings.schedule).toEqual({ kind: 'size', size: '100k' });
  });

  it('takes what a schedule file or a label job holds: single strings, numbers, "true"', () => {
    const params = parseLogrotateParams(
      { volumesFrom: 'web', path: '/var/log/app/*.log', rotate: 3, force: 'true' as unknown as boolean, frequency: 'monthly' },
      CWD,
    );
    expect(params).toMatchObject({
      volumesFrom: ['web'],
      force: true,
      settings: { paths: ['/var/log/app/*.log'], rotate: 3, schedule: { kind: 'monthly' } },
    });
  });
});

describe('parseLogrotateParams: each bad input is a clear usage error', () => {
  const target = { volumesFrom: ['web'] } as const;
  const cases: [string, RawLogrotateOptions, RegExp][] = [
    ['no target', {}, /name at least one target: --volumes-from CONTAINER or --label KEY=VALUE/],
    [
      'a container name with a colon (no :ro smuggled into VolumesFrom)',
      { volumesFrom: ['web:ro'] },
      /--volumes-from expects a container name or ID, not "web:ro"/,
    ],
    ['a label selector with a blank', { label: ['a b'] }, /--label expects KEY or KEY=VALUE/],
    ['a relative path', { ...target, path: ['var/log/*.log'] }, /"var\/log\/\*\.log" is not an absolute path/],
    ['a newline in a path (config injection)', { ...target, path: ['/var/log/app.log\n}\n/etc/passwd {'] }, /may hold only letters, digits/],
    ['a quote in a path', { ...target, path: ['/var/log/"x".log'] }, /may hold only letters, digits/],
    ['a brace in a path', { ...target, path: ['/var/log/{a,b}.log'] }, /may hold only letters, digits/],
    ['a blank in a path', { ...target, path: ['/var/log/my app.log'] }, /may hold only letters, digits/],
    ['a ".." component', { ...target, path: ['/var/log/../../etc/*'] }, /has an empty, "\." or "\.\." component/],
    ['an empty component', { ...target, path: ['/var//log/*.log'] }, /has an empty/],
    ['a file at the root', { ...target, path: ['/app.log'] }, /must name files inside a folder/],
    ['a glob as the first folder', { ...target, path: ['/*/log/*.log'] }, /must start with a literal folder/],
    ['an empty --path', { ...target, path: [' , '] }, /--path expects one or more absolute globs/],
    ['no --path entries', { ...target, path: [] }, /--path expects an absolute glob/],
    ["the helper's own /tmp", { ...target, path: ['/tmp/*.log'] }, /reaches \/tmp, which the logrotate helper uses for itself/],
    ["the helper's state", { ...target, path: ['/var/lib/dtool-logrotate/*'] }, /reaches \/var\/lib\/dtool-logrotate/],
    ["the helper's state, by a wildcard", { ...target, path: ['/var/lib/*/status.*'] }, /reaches \/var\/lib\/dtool-logrotate/],
    ['rotate 0', { ...target, rotate: '0' }, /--rotate expects a whole number from 1 to 1000, not "0"/],
    ['rotate not a number', { ...target, rotate: '7 days' }, /--rotate expects a whole number/],
    ['two schedules', { ...target, daily: true, size: '10M' }, /choose one of --daily, --weekly and --size, not --daily and --size/],
    ['daily and weekly', { ...target, daily: true, weekly: true }, /choose one of --daily, --weekly and --size/],
    ['a size without a number', { ...target, size: 'M' }, /--size expects a size like 100k, 50M or 1G, not "M"/],
    ['a size in an unknown unit', { ...target, size: '10T' }, /--size expects a size/],
    ['an unknown frequency', { ...target, frequency: 'hourly' }, /--frequency must be one of daily, weekly, monthly, not "hourly"/],
    ['an unknown mode', { ...target, mode: 'truncate' }, /--mode must be one of signal, copytruncate, not "truncate"/],
    ['a signal that would stop the app', { ...target, signal: 'TERM' }, /--signal must be one of HUP, USR1, USR2, not "TERM"/],
    ['KILL', { ...target, signal: 'SIGKILL' }, /--signal must be one of HUP, USR1, USR2/],
    [
      'a signal with copytruncate',
      { ...target, mode: 'copytruncate', signal: 'HUP' },
      /--signal applies to --mode signal only, not to --mode copytruncate/,
    ],
    ['signal mode, compress, no delaycompress', { ...target, mode: 'signal', delaycompress: false }, /signal mode with compress needs delaycompress/],
    ['concurrency 0', { ...target, concurrency: '0' }, /--concurrency expects a whole number from 1 to 64, not "0"/],
    ['concurrency too high', { ...target, concurrency: 65 }, /--concurrency expects a whole number from 1 to 64/],
    ['a flag given a word', { ...target, force: 'yes' as unknown as boolean }, /--force is a flag: true or false, not "yes"/],
    ['a value given a flag', { ...target, size: true as unknown as string }, /--size expects a value, not true/],
  ];
  it.each(cases)('%s', (_, raw, message) => {
    expect(usageError(raw).message).toMatch(message);
  });

  it('explains why signal mode needs delaycompress', () => {
    expect(usageError({ volumesFrom: ['web'], signal: 'HUP', delaycompress: false }).hint).toMatch(/still writes into the file just renamed/);
  });
});

describe("parseLogrotateParams: Docker's own json-file logs", () => {
  it.each([
    '/var/lib/docker/containers/*/*-json.log',
    '/var/lib/docker/containers/abc/abc-json.log',
    '/var/lib/docker/*/*/*.log',
    '/var/lib/*/containers/*/*.log',
    '/var/*/docker/containers/*/*',
  ])('refuses %s, and says why', (glob) => {
    const error = usageError({ volumesFrom: ['web'], path: [glob] });
    expect(error.message).toMatch(/reaches \/var\/lib\/docker\/containers, Docker's own json-file logs/);
    expect(error.hint).toMatch(/the engine keeps writing to the file it opened/);
  });

  it.each([
    '/var/log/*/*log',
    '/var/lib/docker-app/logs/*.log',
    '/var/lib/*/logs/*.log',
    '/var/lib/docker/volumes/x/_data/*.log',
    '/var/lib/dtool-logrotate/x/*.log',
  ])('accepts %s', (glob) => {
    expect(parseLogrotateParams({ volumesFrom: ['web'], path: [glob] }, CWD).settings.paths).toEqual([glob]);
  });
});
