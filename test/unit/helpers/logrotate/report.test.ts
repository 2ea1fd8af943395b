import { describe, expect, it } from 'vitest';
import type { HelperResult } from '../../../../src/core/helper-spec.js';
import { HelperFailedError, UsageError, exitCodeFor } from '../../../../src/errors.js';
import {
  logrotateHelperError,
  parseHelperOutcome,
  summarizeLogrotateReport,
  type LogrotateReport,
} from '../../../../src/helpers/logrotate/report.js';

function result(exitCode: number, stdout: string, stderr = ''): HelperResult {
  return { helper: 'logrotate', runId: 'r', exitCode, stdout, stderr, outputTruncated: false, durationMs: 10 };
}

describe('parseHelperOutcome', () => {
  it('reads the JSON line dtool-logrotate prints last', () => {
    const stdout =
      'noise\n{"files":[{"path":"/var/log/app/app.log","owner":"1000:1000","rotated":true,"bytes":3893},{"path":"/var/log/app/err.log","owner":"1000:1000","rotated":false}],"failedOwners":[]}\n';
    expect(parseHelperOutcome(stdout)).toEqual({
      files: [
        { path: '/var/log/app/app.log', owner: '1000:1000', rotated: true, bytes: 3893 },
        { path: '/var/log/app/err.log', owner: '1000:1000', rotated: false },
      ],
      failedOwners: [],
    });
  });

  it('keeps copytruncate losses and the owners whose run failed', () => {
    const stdout = '{"files":[{"path":"/a/b.log","owner":"0:0","rotated":true,"bytes":10,"lostBytes":64}],"failedOwners":["1000:1000"]}';
    expect(parseHelperOutcome(stdout)).toEqual({
      files: [{ path: '/a/b.log', owner: '0:0', rotated: true, bytes: 10, lostBytes: 64 }],
      failedOwners: ['1000:1000'],
    });
  });

  it.each(['', 'not json', '{"files":"x","failedOwners":[]}', '{"files":[{"path":1}],"failedOwners":[]}', '{"files":[]}'])(
    'returns undefined for %j',
    (stdout) => {
      expect(parseHelperOutcome(stdout)).toBeUndefined();
    },
  );
});

describe('logrotateHelperError', () => {
  it('maps a refusal (exit 13) to a usage error that says why', () => {
    const error = logrotateHelperError(
      result(13, '', 'dtool-logrotate: refusing /x/abc-json.log: a Docker json-file log; the engine keeps writing\n'),
      'web',
    );
    expect(error).toBeInstanceOf(UsageError);
    expect(error.message).toBe('web: refusing /x/abc-json.log: a Docker json-file log; the engine keeps writing');
    expect(exitCodeFor(error)).toBe(2);
  });

  it('maps a failed logrotate (exit 12) to a helper failure with its messages and a hint', () => {
    const stderr =
      'error: failed to rename /var/log/bad/a.log to /var/log/bad/a.log.1: Permission denied\ndtool-logrotate: logrotate as 1000:1000 failed (its messages are above)\n';
    const error = logrotateHelperError(result(12, '', stderr), 'web');
    expect(error).toBeInstanceOf(HelperFailedError);
    expect(error.details[0]).toMatch(/Permission denied/);
    expect(error.hint).toMatch(/writable by that owner/);
    expect(exitCodeFor(error)).toBe(5);
  });
});

describe('summarizeLogrotateReport', () => {
  it('sums targets, files, signals and losses in one line', () => {
    const report: LogrotateReport = {
      ok: false,
      startedAt: '',
      finishedAt: '',
      targets: [
        {
          target: 'web',
          container: 'web',
          status: 'ok',
          mode: 'signal',
          files: [{ path: '/a', owner: '1:1', rotated: true }],
          signal: { name: 'SIGHUP', sent: true },
          seconds: 1,
        },
        {
          target: 'api',
          container: 'api',
          status: 'ok',
          mode: 'copytruncate',
          files: [{ path: '/b', owner: '1:1', rotated: true, lostBytes: 32 }],
          lostBytes: 32,
          seconds: 1,
        },
        { target: 'gone', container: 'gone', status: 'failed', files: [], seconds: 0 },
      ],
    };
    expect(summarizeLogrotateReport(report)).toBe('2 of 3 targets rotated, 2 files rotated, 1 signal sent, 32 bytes lost to copytruncate');
  });
});
