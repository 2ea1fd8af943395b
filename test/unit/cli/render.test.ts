import { describe, expect, it } from 'vitest';
import { formatBytes, renderBackupReport, renderError, table, terminalReporter, type CliIo } from '../../../src/cli/render.js';
import { HelperFailedError, UsageError } from '../../../src/errors.js';

describe('formatBytes', () => {
  it.each([
    [0, '0 B'],
    [1, '1 B'],
    [1023, '1023 B'],
    [1024, '1.0 KiB'],
    [1536, '1.5 KiB'],
    [1024 * 1024, '1.0 MiB'],
    [5.25 * 1024 ** 3, '5.3 GiB'],
    [2 * 1024 ** 4, '2.0 TiB'],
    [3 * 1024 ** 5, '3072.0 TiB'],
  ])('formats %d bytes as %s', (bytes, text) => {
    expect(formatBytes(bytes)).toBe(text);
  });
});

describe('table', () => {
  it('pads every column but the last to its widest cell, two spaces apart', () => {
    expect(
      table([
        ['TARGET', 'STATUS', 'FILE'],
        ['db', 'ok', '/b/db/x.sql.zst'],
        ['warehouse', 'failed', 'access denied'],
      ]),
    ).toBe(['TARGET     STATUS  FILE', 'db         ok      /b/db/x.sql.zst', 'warehouse  failed  access denied', ''].join('\n'));
  });

  it('leaves no trailing spaces when the last cell is empty', () => {
    expect(
      table([
        ['A', 'B'],
        ['long-a', ''],
      ]),
    ).toBe('A       B\nlong-a\n');
  });
});

describe('renderError', () => {
  it('shows the message, each detail line and the hint', () => {
    const error = new UsageError('--out /x is not writable (EACCES)', {
      details: ['first', 'second'],
      hint: 'choose a directory this user can write to',
    });
    expect(renderError(error)).toBe(
      'dtool: --out /x is not writable (EACCES)\n  | first\n  | second\n  hint: choose a directory this user can write to\n',
    );
  });

  it('shows only the message when there are no details or hint', () => {
    expect(renderError(new UsageError('bad'))).toBe('dtool: bad\n');
  });

  it('shows the capped stderr tail of a failed helper', () => {
    const rendered = renderError(
      new HelperFailedError(
        'mysql-backup',
        5,
        Array.from({ length: 25 }, (_, i) => `e${i}`),
      ),
    );
    expect(rendered.split('\n').filter((l) => l.startsWith('  | '))).toHaveLength(20);
    expect(rendered).toContain('  | e24\n');
    expect(rendered).not.toContain('  | e4\n');
  });
});

describe('renderBackupReport', () => {
  it('shows one row per target, then pruned files and verify summaries', () => {
    const text = renderBackupReport({
      ok: false,
      startedAt: '',
      finishedAt: '',
      targets: [
        {
          target: 'db',
          container: 'm1',
          status: 'ok',
          file: '/b/db/db-1.sql.zst',
          bytes: 2048,
          seconds: 1.25,
          pruned: ['db-0.sql.zst'],
          verify: { ok: true, tables: 4, mismatches: [], summary: '', seconds: 1 },
        },
        {
          target: 'crm',
          container: 'm2',
          status: 'failed',
          seconds: 0.5,
          error: { code: 'CREDENTIALS', message: 'access denied by crm', details: [] },
        },
      ],
    });
    expect(text.split('\n')).toEqual([
      'TARGET  STATUS  SIZE     SECONDS  VERIFY         FILE / ERROR',
      'db      ok      2.0 KiB  1.3      ok (4 tables)  /b/db/db-1.sql.zst',
      'crm     failed  -        0.5      -              access denied by crm',
      'db: pruned db-0.sql.zst',
      '',
    ]);
  });
});

describe('terminalReporter', () => {
  function io(interactive: boolean) {
    const lines: string[] = [];
    const value: CliIo = { stdout: () => {}, stderr: (t) => lines.push(t), interactive, env: {}, cwd: '/' };
    return { value, lines };
  }

  it('shows progress on a terminal, and only warnings otherwise', () => {
    const tty = io(true);
    const pipe = io(false);
    for (const target of [tty, pipe]) {
      const report = terminalReporter(target.value, { verbose: false, quiet: false });
      report({ type: 'target.start', target: 'db', action: 'backup' });
      report({ type: 'warning', message: 'seed changed' });
    }
    expect(tty.lines).toEqual(['backup db…\n', 'warning: seed changed\n']);
    expect(pipe.lines).toEqual(['warning: seed changed\n']);
  });

  it('shows only warnings with quiet, and helper output only with verbose', () => {
    const quiet = io(true);
    const q = terminalReporter(quiet.value, { verbose: false, quiet: true });
    q({ type: 'info', message: 'hello' });
    q({ type: 'warning', message: 'careful' });
    expect(quiet.lines).toEqual(['warning: careful\n']);

    const verbose = io(false);
    const v = terminalReporter(verbose.value, { verbose: true, quiet: false });
    v({ type: 'helper.output', helper: 'mysql-backup', stream: 'stderr', line: 'dumping' });
    expect(verbose.lines).toEqual(['  [mysql-backup] dumping\n']);
  });
});
