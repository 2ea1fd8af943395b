/**
 * The logrotate config each combination of options and labels produces, pinned: a change
 * to what the helper asks logrotate to do is always a visible diff.
 */
import { describe, expect, it } from 'vitest';
import { UsageError } from '../../../../src/errors.js';
import { logrotateConfig } from '../../../../src/helpers/logrotate/config.js';
import { parseLogrotateParams, type RawLogrotateOptions } from '../../../../src/helpers/logrotate/params.js';
import { resolveSettings, settingsFromLabels, type RotationSettings } from '../../../../src/helpers/logrotate/settings.js';

/** What `dtool logrotate` would use for a container with these labels, given these options. */
function settingsFor(options: Omit<RawLogrotateOptions, 'volumesFrom'>, labels: Record<string, string> = {}): RotationSettings {
  const params = parseLogrotateParams({ volumesFrom: ['web'], ...options }, '/');
  return resolveSettings(params.settings, settingsFromLabels(labels, 'web'), 'web');
}

function configFor(options: Omit<RawLogrotateOptions, 'volumesFrom'>, labels: Record<string, string> = {}): string {
  return logrotateConfig('web', settingsFor(options, labels));
}

describe('logrotateConfig', () => {
  it("defaults (no options, no labels): the seed's rotation, copytruncate since no signal is declared", () => {
    expect(configFor({})).toBe(
      [
        '# dtool logrotate for web; copytruncate mode: copied, then truncated by dtool-logrotate-truncate, which records the bytes lost',
        '#@files',
        '"/var/log/*/*log" {',
        '    rotate 7',
        '    daily',
        '    missingok',
        '    notifempty',
        '    nodateext',
        '    noolddir',
        '    compress',
        '    delaycompress',
        '    copy',
        '    postrotate',
        '        /usr/local/bin/dtool-logrotate-truncate "$1" "$2"',
        '    endscript',
        '}',
        '',
      ].join('\n'),
    );
  });

  it('a signal label (nginx: USR1) and its paths: signal mode, rename and create, no postrotate', () => {
    expect(configFor({}, { 'dtool.logrotate.signal': 'USR1', 'dtool.logrotate.path': '/var/log/nginx/access.log, /var/log/nginx/error.log' })).toBe(
      [
        '# dtool logrotate for web; signal mode: renamed and recreated, then dtool sends SIGUSR1 to the container',
        '#@files',
        '"/var/log/nginx/access.log" "/var/log/nginx/error.log" {',
        '    rotate 7',
        '    daily',
        '    missingok',
        '    notifempty',
        '    nodateext',
        '    noolddir',
        '    compress',
        '    delaycompress',
        '    create',
        '}',
        '',
      ].join('\n'),
    );
  });

  it('--signal on the command line: signal mode, SIGHUP; --weekly --rotate 4 --no-compress', () => {
    expect(configFor({ signal: 'HUP', weekly: true, rotate: '4', compress: false })).toBe(
      [
        '# dtool logrotate for web; signal mode: renamed and recreated, then dtool sends SIGHUP to the container',
        '#@files',
        '"/var/log/*/*log" {',
        '    rotate 4',
        '    weekly',
        '    missingok',
        '    notifempty',
        '    nodateext',
        '    noolddir',
        '    nocompress',
        '    create',
        '}',
        '',
      ].join('\n'),
    );
  });

  it('labels for size, rotate, mode and no delaycompress (copytruncate allows it)', () => {
    const labels = {
      'dtool.logrotate.size': '10M',
      'dtool.logrotate.rotate': '3',
      'dtool.logrotate.mode': 'copytruncate',
      'dtool.logrotate.delaycompress': 'false',
    };
    expect(configFor({ path: ['/srv/app/logs/*.log'] }, labels)).toBe(
      [
        '# dtool logrotate for web; copytruncate mode: copied, then truncated by dtool-logrotate-truncate, which records the bytes lost',
        '#@files',
        '"/srv/app/logs/*.log" {',
        '    rotate 3',
        '    size 10M',
        '    missingok',
        '    notifempty',
        '    nodateext',
        '    noolddir',
        '    compress',
        '    copy',
        '    postrotate',
        '        /usr/local/bin/dtool-logrotate-truncate "$1" "$2"',
        '    endscript',
        '}',
        '',
      ].join('\n'),
    );
  });
});

describe('resolveSettings: options over labels over defaults', () => {
  const nginx = {
    'dtool.logrotate.signal': 'USR1',
    'dtool.logrotate.path': '/var/log/nginx/*.log',
    'dtool.logrotate.rotate': '30',
    'dtool.logrotate.frequency': 'weekly',
  };

  it('takes the labels where no option is given', () => {
    expect(settingsFor({}, nginx)).toEqual({
      paths: ['/var/log/nginx/*.log'],
      rotate: 30,
      schedule: { kind: 'weekly' },
      compress: true,
      delaycompress: true,
      mode: 'signal',
      signal: 'SIGUSR1',
    });
  });

  it('lets each option win over its label', () => {
    expect(settingsFor({ rotate: '2', daily: true, path: ['/var/log/x/*.log'] }, nginx)).toMatchObject({
      rotate: 2,
      schedule: { kind: 'daily' },
      paths: ['/var/log/x/*.log'],
    });
  });

  it('--mode copytruncate wins over a signal label, and no signal goes out', () => {
    const settings = settingsFor({ mode: 'copytruncate' }, nginx);
    expect(settings.mode).toBe('copytruncate');
    expect(settings.signal).toBeUndefined();
  });

  it("--signal wins over a copytruncate label; --mode signal keeps the label's signal", () => {
    expect(settingsFor({ signal: 'USR2' }, { 'dtool.logrotate.mode': 'copytruncate' })).toMatchObject({ mode: 'signal', signal: 'SIGUSR2' });
    expect(settingsFor({ mode: 'signal' }, nginx)).toMatchObject({ mode: 'signal', signal: 'SIGUSR1' });
    expect(settingsFor({ mode: 'signal' })).toMatchObject({ mode: 'signal', signal: 'SIGHUP' });
  });

  it('refuses a label that turns off delaycompress in signal mode, explaining why', () => {
    let error: unknown;
    try {
      settingsFor({}, { 'dtool.logrotate.signal': 'HUP', 'dtool.logrotate.delaycompress': 'false' });
    } catch (caught) {
      error = caught;
    }
    expect(error).toBeInstanceOf(UsageError);
    expect((error as UsageError).message).toBe('web: signal mode with compress needs delaycompress');
    expect((error as UsageError).hint).toMatch(/compressing that file at once would lose those lines/);
    // Without compression there is nothing to delay.
    expect(settingsFor({ compress: false }, { 'dtool.logrotate.signal': 'HUP', 'dtool.logrotate.delaycompress': 'false' }).mode).toBe('signal');
  });
});

describe('settingsFromLabels: each bad label is a usage error naming it', () => {
  it.each<[Record<string, string>, RegExp]>([
    [
      { 'dtool.logrotate.rotate': 'many' },
      /label dtool\.logrotate\.rotate on web: .*expects a whole number|label dtool\.logrotate\.rotate on web expects a whole number/,
    ],
    [{ 'dtool.logrotate.path': 'logs/*.log' }, /label dtool\.logrotate\.path on web: "logs\/\*\.log" is not an absolute path/],
    [{ 'dtool.logrotate.path': '/var/log/a.log\n/etc/shadow' }, /label dtool\.logrotate\.path on web: .*may hold only/],
    [{ 'dtool.logrotate.path': '/var/lib/docker/containers/*/*.log' }, /reaches \/var\/lib\/docker\/containers, Docker's own json-file logs/],
    [{ 'dtool.logrotate.signal': 'KILL' }, /label dtool\.logrotate\.signal on web must be one of HUP, USR1, USR2/],
    [{ 'dtool.logrotate.mode': 'move' }, /label dtool\.logrotate\.mode on web must be one of signal, copytruncate/],
    [{ 'dtool.logrotate.frequency': 'hourly' }, /label dtool\.logrotate\.frequency on web must be one of daily, weekly, monthly/],
    [{ 'dtool.logrotate.size': '1 GB' }, /label dtool\.logrotate\.size on web expects a size/],
    [{ 'dtool.logrotate.size': '1G', 'dtool.logrotate.frequency': 'daily' }, /contradict each other/],
    [{ 'dtool.logrotate.compress': 'yes' }, /label dtool\.logrotate\.compress on web must be true or false/],
    [{ 'dtool.logrotate.signal': 'HUP', 'dtool.logrotate.mode': 'copytruncate' }, /label dtool\.logrotate\.signal applies to signal mode only/],
    [{ 'dtool.logrotate.rotation': '7' }, /web: unknown label dtool\.logrotate\.rotation \(known: dtool\.logrotate\.path, /],
  ])('%o', (labels, message) => {
    expect(() => settingsFromLabels(labels, 'web')).toThrow(UsageError);
    expect(() => settingsFromLabels(labels, 'web')).toThrow(message);
  });

  it('ignores labels outside its prefix', () => {
    expect(settingsFromLabels({ 'com.docker.compose.service': 'web', 'dtool.job.x.helper': 'logrotate' }, 'web')).toEqual({});
  });
});
