/**
 * One-off work on the swarm: a MariaDB service runs on a worker; `backup --swarm` and
 * `db-init --swarm` find its node through the manager and work there. The backup file is on
 * that node's filesystem (and on no other), and `--fetch` brings it back here, verified.
 */
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { setTimeout as sleep } from 'node:timers/promises';
import { serverImage, tempDir } from '../support.js';
import { dtoolOn, expectNothingLeft, onNodeHost } from './swarm-cli.js';
import { SWARM_MANAGER, SWARM_WORKERS, dockerOn, engineAddress, ensureSwarm } from './swarm-fixture.js';

const SERVICE = 'dtool-it-db';
const NETWORK = 'dtool-it-db-net';
const SECRET = 'dtool-it-db-root';
const OUT = '/srv/dtool-it-backups';
const PASSWORD = 'sw4rm-r00t';
const WORKER = SWARM_WORKERS[0];
const manager = engineAddress(SWARM_MANAGER);
const worker = engineAddress(WORKER);

let dir: string;
let credentials: string;

/** SQL in the service's task container, through the worker's engine. */
async function sqlOnTask(statement: string): Promise<string> {
  const container = (await dockerOn(worker, ['ps', '-q', '--filter', `label=com.docker.swarm.service.name=${SERVICE}`])).split('\n')[0]!;
  return dockerOn(worker, ['exec', container, 'mariadb', '-uroot', `-p${PASSWORD}`, '-N', '-e', statement]);
}

async function removeFixtures(): Promise<void> {
  await dockerOn(manager, ['service', 'rm', SERVICE]).catch(() => '');
  await sleep(500);
  await dockerOn(manager, ['secret', 'rm', SECRET]).catch(() => '');
  await dockerOn(manager, ['network', 'rm', NETWORK]).catch(() => '');
}

beforeAll(async () => {
  await ensureSwarm();
  await removeFixtures();
  dir = await tempDir('dtool-it-swarm-backup-');
  credentials = join(dir, 'root.cnf');
  await writeFile(credentials, `[client]\nuser=root\npassword=${PASSWORD}\n`, { mode: 0o600 });

  // The server's image is the test's to place on the worker; dtool places its own helpers.
  const image = await serverImage();
  const env = { ...process.env };
  delete env.DOCKER_HOST;
  execFileSync('bash', ['-c', `docker save ${image} | DOCKER_HOST=${worker} docker load -q`], { env, stdio: 'ignore' });
  // No IPVS on this kernel: a service's virtual IP does not route, DNS round-robin does.
  await dockerOn(manager, ['network', 'create', '--driver', 'overlay', '--attachable', NETWORK]);
  execFileSync('docker', ['secret', 'create', SECRET, '-'], { input: PASSWORD, env: { ...process.env, DOCKER_HOST: manager } });
  await dockerOn(manager, [
    'service',
    'create',
    '--detach',
    '--name',
    SERVICE,
    '--network',
    NETWORK,
    '--endpoint-mode',
    'dnsrr',
    '--constraint',
    `node.hostname==${WORKER}`,
    '--secret',
    `source=${SECRET},target=root-password`,
    image,
  ]);
  const deadline = Date.now() + 120_000;
  for (;;) {
    const ready = await sqlOnTask('SELECT 1').catch(() => '');
    if (ready === '1') break;
    if (Date.now() > deadline) throw new Error(`${SERVICE} did not answer within 120 s`);
    await sleep(500);
  }
  await sqlOnTask(
    'CREATE DATABASE shop; CREATE TABLE shop.items (id INT PRIMARY KEY, name VARCHAR(40)); INSERT INTO shop.items VALUES (1, "one"), (2, "two"), (3, "three")',
  );
}, 300_000);

afterAll(async () => {
  await removeFixtures();
  for (const node of [SWARM_MANAGER, ...SWARM_WORKERS]) onNodeHost(node, `rm -rf ${OUT}`);
});

describe('backup --swarm', () => {
  it('backs a service up on the node that runs it, and --fetch brings the file back verified', async () => {
    const fetchDir = join(dir, 'fetched');
    const result = await dtoolOn(manager, [
      'backup',
      '--swarm',
      '--link',
      SERVICE,
      '--out',
      OUT,
      '--credentials',
      credentials,
      '--fetch',
      fetchDir,
      '--json',
    ]);
    expect(result.stderr).toBe('');
    expect(result.exitCode).toBe(0);
    const [target] = JSON.parse(result.stdout).targets;
    expect(target).toMatchObject({ target: SERVICE, status: 'ok', node: WORKER });

    // Written on the worker that runs the server, named after the service; on no other node.
    expect(target.file.startsWith(`${OUT}/${SERVICE}/${SERVICE}-`)).toBe(true);
    expect(onNodeHost(WORKER, `sha256sum ${target.file}`).split(' ')[0]).toBe(target.sha256);
    const manifest = JSON.parse(onNodeHost(WORKER, `cat ${target.file}.manifest.json`));
    expect(manifest.sha256).toBe(target.sha256);
    for (const other of [SWARM_MANAGER, SWARM_WORKERS[1]]) expect(onNodeHost(other, `ls ${OUT} 2>/dev/null || true`)).toBe('');

    const fetched = await readFile(target.fetched.file);
    expect(createHash('sha256').update(fetched).digest('hex')).toBe(target.sha256);
    await expectNothingLeft(manager, [manager, worker]);
    expect(await dockerOn(worker, ['ps', '-aq', '--filter', 'label=dtool.managed'])).toBe('');
  });

  it('--verify restores the dump into a throwaway server on that node', async () => {
    const result = await dtoolOn(manager, ['backup', '--swarm', '--link', SERVICE, '--out', OUT, '--credentials', credentials, '--verify', '--json']);
    expect(result.exitCode).toBe(0);
    const [target] = JSON.parse(result.stdout).targets;
    expect(target.verify).toMatchObject({ ok: true });
    expect(target.verify.tables).toBeGreaterThanOrEqual(1);
  });

  it('a service with no running task is a clear error, and nothing is written', async () => {
    const result = await dtoolOn(manager, ['backup', '--swarm', '--link', 'dtool-it-no-such-service', '--out', OUT, '--credentials', credentials]);
    expect(result.exitCode).not.toBe(0);
    expect(result.stderr).toMatch(/dtool-it-no-such-service/);
    expect(onNodeHost(WORKER, `ls ${OUT}`)).toBe(SERVICE);
  });

  it('refuses --label with --swarm before anything runs', async () => {
    const result = await dtoolOn(manager, ['backup', '--swarm', '--label', 'role=db', '--out', OUT, '--credentials', credentials]);
    expect(result.exitCode).toBe(2);
    expect(result.stderr).toMatch(/--link SERVICE/);
  });
});

describe('db-init --swarm', () => {
  it('creates the database and user on the service, from the node that runs it', async () => {
    const passwordFile = join(dir, 'app-password');
    await writeFile(passwordFile, 'app-pa55\n', { mode: 0o600 });
    const args = [
      'db-init',
      '--swarm',
      '--link',
      SERVICE,
      '--credentials',
      credentials,
      '--database',
      'app',
      '--user',
      'app',
      '--password-file',
      passwordFile,
    ];
    const first = await dtoolOn(manager, args);
    expect(first.stderr).toBe('');
    expect(first.exitCode).toBe(0);
    expect(first.stdout).toContain(`on ${WORKER}`);
    expect(await sqlOnTask("SELECT SCHEMA_NAME FROM information_schema.SCHEMATA WHERE SCHEMA_NAME = 'app'")).toBe('app');
    expect(await sqlOnTask("SELECT COUNT(*) FROM mysql.user WHERE User = 'app'")).toBe('1');
    // Idempotent: a second run changes nothing and succeeds.
    expect((await dtoolOn(manager, args)).exitCode).toBe(0);
  });
});
