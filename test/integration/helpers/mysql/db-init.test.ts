/** db-init against a running server and on an empty data volume: idempotent, seeds once. */
import { execFileSync } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { StartedTestContainer } from 'testcontainers';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { dbInit, dbInitReportError, parseDbInitParams } from '../../../../src/helpers/mysql/db-init.js';
import { SERVER_READY } from '../../../../src/helpers/mysql/verify.js';
import { ROOT_PASSWORD, TEST_LABEL, dtoolContainers, serverImage, sql, startMariaDb, tempDir, testDeps } from '../../support.js';

function docker(...args: string[]): string {
  return execFileSync('docker', args, { encoding: 'utf8' }).trim();
}

async function waitForLog(id: string, pattern: RegExp, timeoutMs = 120_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    // The server logs to stderr; docker logs replays both streams.
    if (pattern.test(execFileSync('sh', ['-c', `docker logs ${id} 2>&1`], { encoding: 'utf8' }))) return;
    await new Promise((r) => setTimeout(r, 250));
  }
  throw new Error(`container ${id} never logged ${pattern}`);
}

let dir: string;
let rootPasswordFile: string;
let userPasswordFile: string;
let seedA: string;
let seedB: string;

beforeAll(async () => {
  dir = await tempDir();
  rootPasswordFile = join(dir, 'root-password');
  userPasswordFile = join(dir, 'app-password');
  await writeFile(rootPasswordFile, `${ROOT_PASSWORD}\n`);
  await writeFile(userPasswordFile, "app's \\ secret\n");
  seedA = join(dir, '001-schema.sql');
  seedB = join(dir, '002-data.sql');
  await writeFile(seedA, 'CREATE TABLE items (id INT PRIMARY KEY, name VARCHAR(50));\n');
  await writeFile(seedB, "INSERT INTO items VALUES (1, 'first'), (2, 'second');\n");
});

/** Logs in over TCP from a second container, as a user with a password, and runs one query. */
async function queryAs(server: StartedTestContainer, user: string, password: string, query: string): Promise<string> {
  const ip = server.getIpAddress(server.getNetworkNames()[0]!);
  const result = await server.exec(['mariadb', '-h', ip, '-u', user, `-p${password}`, '--batch', '--skip-column-names', '-e', query]);
  if (result.exitCode !== 0) throw new Error(result.output);
  return result.stdout;
}

describe('db-init --link', () => {
  let server: StartedTestContainer;
  beforeAll(async () => {
    server = await startMariaDb();
  });
  afterAll(async () => {
    await server?.stop();
  });

  const params = (seeds: string[]) =>
    parseDbInitParams({ link: server.getId(), database: 'app', user: 'app', passwordFile: userPasswordFile, rootPasswordFile, seed: seeds }, '/');

  it('creates database, user and grants, and applies seeds in order', async () => {
    const deps = await testDeps();
    const report = await dbInit(deps, params([seedA, seedB]));
    expect(report.seeds).toEqual([
      { name: '001-schema.sql', status: 'applied' },
      { name: '002-data.sql', status: 'applied' },
    ]);
    expect(await queryAs(server, 'app', "app's \\ secret", 'SELECT name FROM app.items ORDER BY id')).toBe('first\nsecond\n');
    expect(await dtoolContainers(deps.docker)).toEqual([]);
  });

  it('is a no-op the second time', async () => {
    const report = await dbInit(await testDeps(), params([seedA, seedB]));
    expect(report.seeds.map((s) => s.status)).toEqual(['unchanged', 'unchanged']);
    expect(dbInitReportError(report)).toBeUndefined();
    expect(await sql(server, 'SELECT COUNT(*) FROM app.items')).toBe('2\n');
  });

  it('reports a changed seed as a conflict and does not re-apply it', async () => {
    await writeFile(seedB, "INSERT INTO items VALUES (3, 'third');\n");
    const report = await dbInit(await testDeps(), params([seedA, seedB]));
    expect(report.seeds).toEqual([
      { name: '001-schema.sql', status: 'unchanged' },
      { name: '002-data.sql', status: 'changed' },
    ]);
    expect(dbInitReportError(report)).toMatchObject({ code: 'CONFLICT' });
    expect(await sql(server, 'SELECT COUNT(*) FROM app.items')).toBe('2\n');
    await writeFile(seedB, "INSERT INTO items VALUES (1, 'first'), (2, 'second');\n");
  });

  it('a failing seed is an error and is not recorded as applied', async () => {
    const bad = join(dir, '003-bad.sql');
    await writeFile(bad, 'INSERT INTO no_such_table VALUES (1);\n');
    await expect(dbInit(await testDeps(), params([seedA, seedB, bad]))).rejects.toMatchObject({ code: 'HELPER_FAILED' });
    expect(await sql(server, "SELECT COUNT(*) FROM _dtool.applied_seeds WHERE name = '003-bad.sql'")).toBe('0\n');
  });

  it('rejects wrong root credentials with a credentials error', async () => {
    const wrong = join(dir, 'wrong-root');
    await writeFile(wrong, 'nope\n');
    await expect(
      dbInit(await testDeps(), parseDbInitParams({ link: server.getId(), database: 'app', rootPasswordFile: wrong }, '/')),
    ).rejects.toMatchObject({ code: 'CREDENTIALS' });
  });
});

describe('db-init --datadir-volume', () => {
  const volume = `dtool-it-datadir-${process.pid}`;
  afterAll(() => {
    execFileSync('docker', ['volume', 'rm', '-f', volume]);
  });

  it('initialises an empty volume so a plain server on it comes up configured, and re-runs as a no-op', async () => {
    const params = parseDbInitParams(
      { datadirVolume: volume, database: 'app', user: 'app', passwordFile: userPasswordFile, rootPasswordFile, seed: [seedA, seedB] },
      '/',
    );
    const first = await dbInit(await testDeps(), params);
    expect(first.seeds.map((s) => s.status)).toEqual(['applied', 'applied']);
    const again = await dbInit(await testDeps(), params);
    expect(again.seeds.map((s) => s.status)).toEqual(['unchanged', 'unchanged']);

    // A plain `docker run` of the server on the volume: no secrets, no init; it serves what db-init prepared.
    const id = docker('run', '-d', '--label', `${TEST_LABEL}=true`, '-v', `${volume}:/var/lib/mysql`, await serverImage());
    try {
      await waitForLog(id, SERVER_READY);
      const ip = docker('inspect', '-f', '{{.NetworkSettings.IPAddress}}', id);
      const query = (user: string, password: string, statement: string) =>
        docker('exec', id, 'mariadb', '-h', ip, '-u', user, `-p${password}`, '--batch', '--skip-column-names', '-e', statement);
      expect(query('app', "app's \\ secret", 'SELECT COUNT(*) FROM app.items')).toBe('2');
      // root keeps socket login locally and has the password for password logins.
      expect(docker('exec', id, 'mariadb', '-uroot', '--protocol=socket', `-p${ROOT_PASSWORD}`, '-N', '-e', 'SELECT 1')).toBe('1');
    } finally {
      docker('rm', '-f', '-v', id);
    }
  });
});
