/** `dtool logrotate` on the command line: flags to raw options, usage errors before the engine, the rendered report. */
import { describe, expect, it } from 'vitest';
import { createContext } from '../../../src/cli/context.js';
import { runCli } from '../../../src/cli/program.js';
import { renderLogrotateReport, type CliIo } from '../../../src/cli/render.js';
import { UsageError, exitCodeFor } from '../../../src/errors.js';
import type { LogrotateReport } from '../../../src/helpers/logrotate/index.js';
import { FakeDocker } from '../../support/fake-docker.js';

function fakeCli() {
  const out: string[] = [];
  const err: string[] = [];
  const io: CliIo = { stdout: (text) => out.push(text), stderr: (text) => err.push(text), interactive: false, env: {}, cwd: '/home/ops' };
  const docker = new FakeDocker();
  return { docker, context: createContext(io, new AbortController().signal, docker), stdout: () => out.join('') };
}

describe('dtool logrotate', () => {
  it('documents its options in --help', async () => {
    const cli = fakeCli();
    await runCli(['logrotate', '--help'], cli.context);
    for (const flag of [
      '--volumes-from',
      '--label',
      '--path',
      '--rotate',
      '--daily',
      '--weekly',
      '--size',
      '--no-compress',
      '--mode',
      '--signal',
      '--force',
      '--concurrency',
      '--json',
    ]) {
      expect(cli.stdout()).toContain(flag);
    }
  });

  it.each<[string[], RegExp]>([
    [['logrotate'], /name at least one target/],
    [['logrotate', '--volumes-from', 'web', '--daily', '--size', '1M'], /choose one of --daily, --weekly and --size/],
    [['logrotate', '--volumes-from', 'web', '--mode', 'copytruncate', '--signal', 'HUP'], /--signal applies to --mode signal only/],
    [['logrotate', '--volumes-from', 'web', '--path', '/var/lib/docker/containers/*/*.log'], /Docker's own json-file logs/],
  ])('%j is a usage error before any engine call', async (argv, message) => {
    const cli = fakeCli();
    const error = await runCli(argv, cli.context).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(UsageError);
    expect((error as UsageError).message).toMatch(message);
    expect(exitCodeFor(error)).toBe(2);
    expect(cli.docker.calls).toEqual([]);
  });
});

describe('renderLogrotateReport', () => {
  it('prints a row per target and a line per rotated file', () => {
    const report: LogrotateReport = {
      ok: false,
      startedAt: '2026-11-22T15:30:00.000Z',
      finishedAt: '2026-11-22T15:30:02.000Z',
      targets: [
        {
          target: 'web',
          container: 'web',
          status: 'ok',
          mode: 'signal',
          files: [
            { path: '/var/log/nginx/access.log', owner: '101:101', rotated: true, bytes: 4096 },
            { path: '/var/log/nginx/error.log', owner: '101:101', rotated: false },
          ],
          signal: { name: 'SIGUSR1', sent: true },
          seconds: 1.2,
        },
        {
          target: 'api',
          container: 'api',
          status: 'ok',
          mode: 'copytruncate',
          files: [{ path: '/var/log/api/api.log', owner: '1000:1000', rotated: true, bytes: 2048, lostBytes: 96 }],
          lostBytes: 96,
          seconds: 1.0,
        },
        {
          target: 'gone',
          container: 'gone',
          status: 'failed',
          files: [],
          seconds: 0,
          error: { code: 'NOT_FOUND', message: '--volumes-from gone: no such container', details: [] },
        },
      ],
    };
    expect(renderLogrotateReport(report)).toBe(
      [
        'TARGET  STATUS  MODE          ROTATED  SIGNAL        LOST  ERROR',
        'web     ok      signal        1/2      SIGUSR1 sent  -',
        'api     ok      copytruncate  1/1      -             96 B',
        'gone    failed  -             0/0      -             -     --volumes-from gone: no such container',
        'web: /var/log/nginx/access.log rotated (4.0 KiB) as 101:101',
        'api: /var/log/api/api.log rotated (2.0 KiB, 96 B lost between copy and truncate) as 1000:1000',
        '',
      ].join('\n'),
    );
  });
});
