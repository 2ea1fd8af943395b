/**
 * Backup through a remote engine (issue 10 §5): the TLS-protected dockerd of
 * scripts/remote-engine.sh (a dtool/dind container on 127.0.0.1:23760, shared and left running)
 * holds a MariaDB server; `dtool backup --out /srv/backups --fetch DIR` run here writes the
 * artifact on the ENGINE's host (inside dtool-remote-engine), never on this machine's
 * /srv/backups, and streams a copy back that equals it by sha256 and restores. With certificates
 * of another CA the backup fails with the TLS error, and nothing is created on either engine.
 *
 * The dtool images the backup needs are copied into the remote engine at the references dtool's
 * catalog looks for (content-hash tags), so it never builds there; those this file copied are
 * removed again at the end (remote-engine.test.ts expects the remote engine to hold only
 * dtool/host of dtool's images).
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, readFile, readdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { execa } from 'execa';
import type { StartedTestContainer } from 'testcontainers';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createDefaultDeps } from '../../../src/deps.js';
import { EXIT_CODES } from '../../../src/errors.js';
import { sha256File } from '../../../src/helpers/mysql/manifest.js';
import { SERVER_READY } from '../../../src/helpers/mysql/verify.js';
import { ROOT_PASSWORD, TEST_LABEL, rootCredentials, sql, startMariaDb, tempDir } from '../support.js';

const CLI = new URL('../../../dist/cli/main.js', import.meta.url).pathname;
const SCRIPT = new URL('../../../scripts/remote-engine.sh', import.meta.url).pathname;
const STATE = process.env.DTOOL_REMOTE_DIR ?? '/run/dtool-remote-engine';
const ADDRESS = 'tcp://127.0.0.1:23760';
const ENGINE_CONTAINER = 'dtool-remote-engine';
const OUT = '/srv/backups';
/** The server on the remote engine; its name is the backup's target (no alias). */
const SERVER = `dtool-it-remote-db-${process.pid}`;
const SCHEMAS = ['shop', 'other'];

/** This process's environment without any engine selection of its own. */
const baseEnv = Object.fromEntries(
  Object.entries(process.env).filter(([key]) => !/^DOCKER_(HOST|TLS|TLS_VERIFY|CERT_PATH|CONTEXT|CONFIG)$/.test(key) && key !== 'DTOOL_INSECURE'),
) as Record<string, string>;

/** The variables `scripts/remote-engine.sh env` prints, parsed (`export NAME=VALUE` lines). */
let printedEnv: Record<string, string> | undefined;
function scriptEnv(): Record<string, string> {
  if (printedEnv) return printedEnv;
  const printed = execFileSync('bash', [SCRIPT, 'env'], { encoding: 'utf8', env: baseEnv });
  const env: Record<string, string> = {};
  for (const line of printed.split('\n')) {
    const match = /^export ([A-Z_]+)=(.*)$/.exec(line.trim());
    // printf %q leaves these plain paths and addresses unquoted; strip quotes in case.
    if (match) env[match[1]!] = match[2]!.replace(/^'(.*)'$/, '$1');
  }
  printedEnv = env;
  return env;
}

function localDocker(args: readonly string[]): string {
  return execFileSync('docker', args, { encoding: 'utf8', env: baseEnv }).trim();
}

/** The `docker` CLI on the remote engine, through the variables the script prints. */
function remoteDocker(args: readonly string[]): string {
  return execFileSync('docker', args, { encoding: 'utf8', env: { ...baseEnv, ...scriptEnv() } }).trim();
}

/** A shell command inside the DinD container, i.e. on the remote engine's host. */
function onEngineHost(script: string): { status: number | null; stdout: string } {
  try {
    return { status: 0, stdout: localDocker(['exec', ENGINE_CONTAINER, 'sh', '-c', script]) };
  } catch (error) {
    const failed = error as { status: number | null; stdout?: string };
    return { status: failed.status, stdout: String(failed.stdout ?? '').trim() };
  }
}

function dtool(args: readonly string[], env: Record<string, string>) {
  return execa('node', [CLI, ...args], { reject: false, env: { ...baseEnv, ...env }, extendEnv: false, timeout: 300_000 });
}

/** SQL as root over the server's socket, by `docker exec` on the remote engine. */
function remoteSql(statements: string): string {
  return remoteDocker(['exec', SERVER, 'mariadb', '--default-character-set=utf8mb4', '--batch', '--skip-column-names', '-e', statements]);
}

/** Per-table row count and CHECKSUM TABLE of SCHEMAS, through a `run(sql)` that returns mariadb's batch output. */
async function checksums(run: (statements: string) => string | Promise<string>): Promise<Record<string, string>> {
  const tables = (
    await run(
      `SELECT CONCAT(table_schema, '.', table_name) FROM information_schema.tables WHERE table_type = 'BASE TABLE' AND table_schema IN (${SCHEMAS.map((s) => `'${s}'`).join(', ')}) ORDER BY 1`,
    )
  )
    .split('\n')
    .filter(Boolean);
  const result: Record<string, string> = {};
  for (const table of tables) {
    const [, checksum] = (await run(`CHECKSUM TABLE ${table}`)).trim().split('\t');
    const count = (await run(`SELECT COUNT(*) FROM ${table}`)).trim();
    result[table] = `${count}:${checksum}`;
  }
  return result;
}

/** dtool's helper containers on both engines, running or not. */
function helperContainers(): { local: string[]; remote: string[] } {
  const filter = ['ps', '-aq', '--filter', 'label=dtool.managed'];
  return { local: localDocker(filter).split('\n').filter(Boolean), remote: remoteDocker(filter).split('\n').filter(Boolean) };
}

/** dtool's images on the remote engine, by reference. */
function remoteDtoolImages(): string[] {
  return remoteDocker(['image', 'ls', '--format', '{{.Repository}}:{{.Tag}}', '--filter', 'reference=dtool/*']).split('\n').filter(Boolean).sort();
}

let workDir: string;
let credentials: string;
/** Images this file copied into the remote engine (removed again in afterAll). */
let copiedImages: string[] = [];
let serverCreated = false;

beforeAll(async () => {
  // The references dtool's catalog looks for (content-hash tags), ensured on the local engine.
  const deps = await createDefaultDeps({ env: baseEnv });
  const wanted = [(await deps.images.ensure('mariadb')).reference, (await deps.images.ensure('mysql-tools')).reference];
  execFileSync('bash', [SCRIPT, 'up'], { stdio: ['ignore', 'inherit', 'inherit'], env: baseEnv });
  const missing = wanted.filter((reference) => {
    try {
      remoteDocker(['image', 'inspect', '-f', '{{.Id}}', reference]);
      return false;
    } catch {
      return true;
    }
  });
  if (missing.length > 0) {
    // The script copies every local tag of each image: `:latest` comes along.
    copiedImages = missing.flatMap((reference) => {
      const id = localDocker(['image', 'inspect', '-f', '{{.Id}}', reference]);
      return localDocker(['image', 'ls', '--no-trunc', '--format', '{{.ID}} {{.Repository}}:{{.Tag}}'])
        .split('\n')
        .map((line) => line.split(' '))
        .filter(([imageId, tag]) => imageId === id && tag && !tag.includes('<none>'))
        .map(([, tag]) => tag!);
    });
    execFileSync('bash', [SCRIPT, 'up', ...missing], { stdio: ['ignore', 'inherit', 'inherit'], env: baseEnv });
  }

  workDir = await tempDir('dtool-it-remote-backup-');
  credentials = await rootCredentials(workDir);

  // The server on the remote engine: created, root's password copied in as a secret file
  // (dtool/mariadb reads /run/secrets/root-password at first start), started, waited for.
  spawnSync('docker', ['rm', '-f', '-v', SERVER], { env: { ...baseEnv, ...scriptEnv() }, stdio: 'ignore' });
  remoteDocker(['create', '--name', SERVER, '--label', `${TEST_LABEL}=true`, wanted[0]!]);
  serverCreated = true;
  const secrets = join(workDir, 'secrets');
  await mkdir(secrets, { mode: 0o700 });
  await writeFile(join(secrets, 'root-password'), ROOT_PASSWORD, { mode: 0o400 });
  // The image has no /run/secrets: copying the folder creates it.
  remoteDocker(['cp', secrets, `${SERVER}:/run/secrets`]);
  remoteDocker(['start', SERVER]);
  let logs = '';
  for (let i = 0; i < 480 && !SERVER_READY.test(logs); i++) {
    if (i > 0) await new Promise((resolve) => setTimeout(resolve, 250));
    // The server logs to stderr: both streams, as the engine interleaved them.
    const read = spawnSync('docker', ['logs', SERVER], { encoding: 'utf8', env: { ...baseEnv, ...scriptEnv() } });
    logs = `${read.stdout}${read.stderr}`;
    if (remoteDocker(['inspect', '-f', '{{.State.Running}}', SERVER]) !== 'true') throw new Error(`${SERVER} stopped:\n${logs}`);
  }
  if (!SERVER_READY.test(logs)) throw new Error(`${SERVER} on the remote engine was not ready within 120 s:\n${logs.slice(-2000)}`);

  remoteSql(`
    CREATE DATABASE shop CHARACTER SET utf8mb4;
    USE shop;
    CREATE TABLE shop.customers (id INT PRIMARY KEY, name VARCHAR(100) NOT NULL, note TEXT);
    INSERT INTO shop.customers VALUES (1, 'Zoë', 'café ☕ naïve'), (2, '李小龙', '𝄞'), (3, 'O''Brien', 'quote '' and backslash \\\\');
    CREATE TABLE shop.orders (id INT PRIMARY KEY, customer_id INT NOT NULL, amount DECIMAL(10,2), body BLOB);
    INSERT INTO shop.orders SELECT seq, 1 + seq % 3, seq * 1.25, UNHEX(SHA2(seq, 256)) FROM seq_1_to_2000;
    CREATE DATABASE other;
    USE other;
    CREATE TABLE other.numbers (n BIGINT PRIMARY KEY, label VARCHAR(20));
    INSERT INTO other.numbers SELECT seq, CONCAT('n', seq) FROM seq_1_to_5000;
  `);
});

afterAll(async () => {
  // Only what this file created: the server, its backups folder on the engine's host, and the
  // images it copied. The remote engine itself stays up (shared).
  if (serverCreated) {
    try {
      remoteDocker(['rm', '-f', '-v', SERVER]);
    } catch {}
  }
  onEngineHost(`rm -rf ${OUT}/${SERVER} ${OUT}/wrongcert-${process.pid}; rmdir ${OUT} 2>/dev/null; true`);
  if (copiedImages.length > 0) {
    try {
      remoteDocker(['image', 'rm', ...copiedImages]);
    } catch {}
  }
});

describe('backup through a TLS remote engine', () => {
  it('writes the artifact and manifest on the engine host, none here; --fetch brings back an equal copy that restores', async () => {
    const fetchDir = join(workDir, 'fetched');
    const imagesBefore = remoteDtoolImages();
    const result = await dtool(['backup', '--link', SERVER, '--out', OUT, '--credentials', credentials, '--fetch', fetchDir, '--json'], scriptEnv());
    expect(result.stderr).toBe('');
    expect(result.exitCode).toBe(0);
    const report = JSON.parse(result.stdout);
    expect(report.ok).toBe(true);
    const [target] = report.targets;
    expect(target).toMatchObject({ target: SERVER, status: 'ok' });
    const name = target.file.slice(`${OUT}/${SERVER}/`.length);
    expect(target.file).toBe(`${OUT}/${SERVER}/${name}`);
    expect(name).toMatch(new RegExp(`^${SERVER}-\\d{8}T\\d{6}Z\\.sql\\.zst$`));

    // On the engine's host: the artifact and its manifest (and the lock file), nothing else.
    const listed = onEngineHost(`ls -A ${OUT}/${SERVER}`);
    expect(listed.status).toBe(0);
    expect(listed.stdout.split('\n').sort()).toEqual(['.dtool.lock', name, `${name}.manifest.json`].sort());
    const remoteManifest = JSON.parse(onEngineHost(`cat ${OUT}/${SERVER}/${name}.manifest.json`).stdout);
    const remoteSha = onEngineHost(`sha256sum ${OUT}/${SERVER}/${name}`).stdout.split(' ')[0];
    const remoteBytes = Number(onEngineHost(`stat -c %s ${OUT}/${SERVER}/${name}`).stdout);
    expect(remoteManifest).toMatchObject({ target: SERVER, container: SERVER, file: name, sha256: target.sha256, bytes: target.bytes });
    expect(remoteSha).toBe(remoteManifest.sha256);
    expect(remoteBytes).toBe(remoteManifest.bytes);

    // Not on this machine.
    expect(existsSync(join(OUT, SERVER))).toBe(false);

    // The fetched copy: the same bytes by sha256, its manifest the remote one, byte for byte.
    expect(target.fetched).toEqual({ file: join(fetchDir, SERVER, name), manifest: join(fetchDir, SERVER, `${name}.manifest.json`) });
    expect((await readdir(join(fetchDir, SERVER))).sort()).toEqual([name, `${name}.manifest.json`].sort());
    const fetchedManifest = await readFile(target.fetched.manifest, 'utf8');
    expect(fetchedManifest).toBe(onEngineHost(`cat ${OUT}/${SERVER}/${name}.manifest.json; echo .`).stdout.replace(/\.$/, ''));
    expect(await sha256File(target.fetched.file)).toBe(remoteManifest.sha256);
    expect(await sha256File(target.fetched.file)).toBe(remoteSha);

    // dtool found its images there and built nothing; no helper left on either engine.
    expect(remoteDtoolImages()).toEqual(imagesBefore);
    expect(helperContainers()).toEqual({ local: [], remote: [] });

    // The fetched dump restores (on the local engine, with dtool restore, checked against its
    // manifest) into a fresh server whose tables equal the remote source's.
    const copy: StartedTestContainer = await startMariaDb();
    try {
      const restored = await dtool(
        ['restore', '--link', copy.getName().replace(/^\//, ''), '--from', target.fetched.file, '--credentials', credentials, '--json'],
        {},
      );
      expect(restored.stderr).toBe('');
      expect(restored.exitCode).toBe(0);
      expect(JSON.parse(restored.stdout)).toMatchObject({ checkedAgainstManifest: true });
      const source = await checksums(remoteSql);
      expect(Object.keys(source)).toEqual(['other.numbers', 'shop.customers', 'shop.orders']);
      expect(source['shop.orders']).toMatch(/^2000:\d+$/);
      expect(await checksums((statements) => sql(copy, statements))).toEqual(source);
    } finally {
      await copy.stop();
    }
  });

  it('with certificates of another CA: the TLS error (exit 3), and nothing created on either engine', async () => {
    const alias = `wrongcert-${process.pid}`;
    const fetchDir = join(workDir, 'fetched-wrong');
    const before = helperContainers();
    const remoteOutBefore = onEngineHost(`ls -A ${OUT} 2>/dev/null`).stdout;
    const env = { ...scriptEnv(), DOCKER_CERT_PATH: join(STATE, 'wrong') };
    const result = await dtool(['backup', '--link', `${SERVER}:${alias}`, '--out', OUT, '--credentials', credentials, '--fetch', fetchDir], env);
    expect(result.exitCode).toBe(EXIT_CODES.ENGINE_UNAVAILABLE);
    expect(result.stderr).toContain(`TLS handshake with the Docker engine at ${ADDRESS} failed`);
    expect(result.stderr).toContain('not signed by our CA');
    expect(result.stderr).toMatch(/hint: check the TLS material/);

    expect(helperContainers()).toEqual(before);
    expect(onEngineHost(`test -e ${OUT}/${alias}`).status).not.toBe(0);
    expect(onEngineHost(`ls -A ${OUT} 2>/dev/null`).stdout).toBe(remoteOutBefore);
    expect(existsSync(join(OUT, alias))).toBe(false);
    // --fetch is checked (and created) here before the engine is reached; nothing lands in it.
    expect(existsSync(fetchDir) ? await readdir(fetchDir) : []).toEqual([]);
  });
});
