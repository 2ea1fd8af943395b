/**
 * A short-interval job really runs the logrotate helper, twice, from the real scheduler:
 * a labelled writer's logs are rotated by a `@every 3s` job and nothing is lost.
 */
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { tempDir } from '../support.js';
import { countLines, docker, ownedVolume, startWriter, uniqueName } from '../helpers/logrotate/fixtures.js';

const CLI = join(process.cwd(), 'dist/cli/main.js');

describe('dtool schedule run with a logrotate job', () => {
  const writer = uniqueName('dtool-it-sched-writer');
  const volume = uniqueName('dtool-it-sched-logs');
  afterAll(() => {
    docker('rm', '-f', writer);
    docker('volume', 'rm', '-f', volume, `dtool-logrotate-state-${writer}`);
    const claims = docker('ps', '-aq', '--filter', 'label=dtool.claim.job=rotate').split('\n').filter(Boolean);
    if (claims.length) docker('rm', '-f', ...claims);
  });

  it('rotates a labelled container on every instant, in signal mode, losing no line', async () => {
    ownedVolume(volume);
    const marker = uniqueName('rotate');
    startWriter(writer, volume, { 'dtool.logrotate.signal': 'HUP', 'dtool.it.rotate': marker });
    const dir = await tempDir();
    const file = join(dir, 'rotate.yaml');
    await writeFile(
      file,
      `jobs:\n  rotate:\n    schedule: "@every 3s"\n    seconds: true\n    catch-up: none\n    helper: logrotate\n    with: { label: [dtool.it.rotate=${marker}], path: [/var/log/app/*.log], force: true }\n`,
    );
    const child = spawn(process.execPath, [CLI, 'schedule', 'run', file, '--state-dir', join(dir, 'state'), '--no-labels'], {
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    let log = '';
    child.stderr!.on('data', (chunk: Buffer) => (log += chunk.toString()));
    const okRuns = () => [...log.matchAll(/job=rotate run=\S+ ok/g)].length;
    const deadline = Date.now() + 60_000;
    while (okRuns() < 2 && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 250));
    child.kill('SIGTERM');
    await once(child, 'exit');
    expect(okRuns(), log).toBeGreaterThanOrEqual(2);
    docker('stop', '-t', '5', writer);
    const count = countLines(volume);
    expect(count.lines).toBeGreaterThan(0);
    expect(count.missing).toBe(0);
    expect(count.duplicated).toBe(0);
  });
});
