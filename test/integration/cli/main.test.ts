/** The CLI as a user runs it: exit codes, --json, and Ctrl-C cleanup. */
import { execFileSync } from 'node:child_process';

import { join } from 'node:path';
import { execa } from 'execa';
import type { StartedTestContainer } from 'testcontainers';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EXIT_CODES } from '../../../src/errors.js';
import { listFolder, rootCredentials, sql, startMariaDb, tempDir } from '../support.js';

const CLI = new URL('../../../dist/cli/main.js', import.meta.url).pathname;
let server: StartedTestContainer;
let name: string;
let dir: string;
let credentials: string;

function dtool(args: string[]) {
  return execa('node', [CLI, ...args], { reject: false, all: true });
}

beforeAll(async () => {
  server = await startMariaDb();
  name = server.getName().replace(/^\//, '');
  await sql(
    server,
    `CREATE DATABASE load_test; CREATE TABLE load_test.t (id INT AUTO_INCREMENT PRIMARY KEY, pad VARCHAR(2000)); USE load_test; INSERT INTO t (pad) SELECT REPEAT(MD5(seq), 60) FROM seq_1_to_150000;`,
  );
  dir = await tempDir();
  credentials = await rootCredentials(dir);
});

afterAll(async () => {
  await server?.stop();
});

describe('dtool CLI', () => {
  it('backup --json prints one report and exits 0', async () => {
    const result = await dtool([
      'backup',
      '--link',
      `${name}:db`,
      '--out',
      join(dir, 'ok'),
      '--credentials',
      credentials,
      '--databases',
      'mysql',
      '--json',
    ]);
    expect(result.exitCode).toBe(0);
    const report = JSON.parse(result.stdout);
    expect(report.ok).toBe(true);
    expect(report.targets).toHaveLength(1);
    expect(report.targets[0]).toMatchObject({ target: 'db', status: 'ok', sha256: expect.stringMatching(/^[0-9a-f]{64}$/) });
    expect(report.targets[0].bytes).toBeGreaterThan(0);
  });

  it('exit codes: usage 2, missing target 4, wrong credentials 6, some targets failed 8', async () => {
    expect((await dtool(['backup', '--out', dir])).exitCode).toBe(EXIT_CODES.USAGE);
    expect((await dtool(['backup', '--bogus'])).exitCode).toBe(EXIT_CODES.USAGE);

    const missing = await dtool(['backup', '--link', 'no-such-thing', '--out', join(dir, 'x'), '--credentials', credentials]);
    expect(missing.exitCode).toBe(EXIT_CODES.NOT_FOUND);
    expect(missing.stderr).toContain('no-such-thing');

    const wrong = await rootCredentials(await tempDir(), 'wrong');
    const denied = await dtool(['backup', '--link', name, '--out', join(dir, 'y'), '--credentials', wrong]);
    expect(denied.exitCode).toBe(EXIT_CODES.CREDENTIALS);

    const partial = await dtool([
      'backup',
      '--link',
      `${name}:good`,
      '--link',
      'no-such-thing',
      '--databases',
      'mysql',
      '--out',
      join(dir, 'z'),
      '--credentials',
      credentials,
      '--concurrency',
      '2',
    ]);
    expect(partial.exitCode).toBe(EXIT_CODES.PARTIAL_FAILURE);
    expect(await listFolder(join(dir, 'z', 'good'))).toHaveLength(2);
  });

  it('Ctrl-C during a backup stops the helper, removes it and the temp file, and exits 130', async () => {
    const out = join(dir, 'interrupted');
    const child = execa('node', [CLI, 'backup', '--link', `${name}:db`, '--out', out, '--credentials', credentials, '--compress', 'none'], {
      reject: false,
    });
    const deadline = Date.now() + 60_000;
    while (Date.now() < deadline) {
      const files = await listFolder(join(out, 'db')).catch(() => []);
      if (files.some((f) => f.endsWith('.tmp'))) break;
      await new Promise((r) => setTimeout(r, 20));
    }
    child.kill('SIGINT');
    const result = await child;
    expect(result.exitCode).toBe(EXIT_CODES.ABORTED);
    expect(await listFolder(join(out, 'db'))).toEqual([]);
    expect(execFileSync('docker', ['ps', '-aq', '--filter', 'label=dtool.helper=mysql-backup'], { encoding: 'utf8' }).trim()).toBe('');
  });
});
