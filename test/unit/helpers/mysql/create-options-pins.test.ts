/**
 * The full create options of every helper dtool runs, pinned: any change to what a helper
 * mounts, reaches or is allowed to do shows up here as a diff.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { ContainerCreateOptions } from '../../../../src/docker/port.js';
import { backupBatchSpec } from '../../../../src/helpers/mysql/backup-batch.js';
import { dbInit, parseDbInitParams } from '../../../../src/helpers/mysql/db-init.js';
import { restoreHelperSpec } from '../../../../src/helpers/mysql/load-artifact.js';
import { checksumTables, throwawayServerSpec } from '../../../../src/helpers/mysql/verify.js';
import { toCreateOptions, type CreateContext } from '../../../../src/core/to-create-options.js';
import type { HelperRunSpec } from '../../../../src/core/helper-spec.js';
import { DTOOL_VERSION } from '../../../../src/version.js';
import { FakeDocker, fakeDeps, runningContainer } from '../../../support/fake-docker.js';
import { GUARDED_ATTACH, pinContext, pinLabels, secretsEnv, secretsTmpfs } from '../../../support/pins.js';

const HOST_USER = `${process.getuid!()}:${process.getgid!()}`;
const TMPFS = 'rw,nosuid,nodev,size=256m';
const PASSWORD = 's3cr3t-"pass"\\word#1';
const CLIENT_CNF = `[client]\nhost=db\nport=3306\nuser="backup"\npassword="${PASSWORD}"\n`;

/** The context a spec is pinned in. */
function specContext(_spec: HelperRunSpec): CreateContext {
  return pinContext();
}

const labels = pinLabels;
const ATTACH = GUARDED_ATTACH;
const LOCKED_DOWN = { CapDrop: ['ALL'], SecurityOpt: ['no-new-privileges'], ReadonlyRootfs: true, AutoRemove: true, Init: true } as const;

/** What holds for every helper, whatever its options: secrets never in the options, only their names in env, no bind of a secret file. */
function expectNoSecretLeak(spec: HelperRunSpec, options: ContainerCreateOptions, ...secretValues: string[]): void {
  const json = JSON.stringify(options);
  for (const value of secretValues) expect(json).not.toContain(value);
  for (const secret of spec.secrets ?? []) expect(json).not.toContain(secret.content);
  expect(spec.env).toBeUndefined();
  expect(options.Env).toEqual(['DTOOL_GUARD=stdin', secretsEnv(...(spec.secrets ?? []).map((s) => s.name))]);
  expect((options.HostConfig.Mounts ?? []).filter((m) => m.Target.startsWith('/run/secrets'))).toEqual([]);
}

/** A helper that declares no privilege gets the same options whatever the user grants. */
function expectGrantsIrrelevant(spec: HelperRunSpec): void {
  const all = {
    ...specContext(spec),
    grants: new Set(['privileged', 'host-sysctl', 'docker-socket'] as const),
    privilegedMode: 'capabilities' as const,
  };
  expect(toCreateOptions(spec, all)).toEqual(toCreateOptions(spec, specContext(spec)));
}

describe('mysql-backup (backupBatchSpec)', () => {
  const spec = backupBatchSpec([{ name: 'db', targetDir: '/srv/backups/db', tempName: '.db-20261122T153000Z.sql.zst.tmp', clientCnf: CLIENT_CNF }], {
    image: 'dtool/mysql-tools:abc',
    user: HOST_USER,
    network: { mode: 'network', name: 'bridge', links: ['mariadb-1:db'] },
    parallel: 1,
    engine: 'mariadb-dump',
    compression: 'zstd',
  });

  it('pins its create options: one target on the default bridge, reached by a link', () => {
    expect(spec.timeoutMs).toBeUndefined();
    expect(toCreateOptions(spec, specContext(spec))).toEqual({
      Image: 'dtool/mysql-tools:abc',
      Cmd: ['dtool-backup-batch', '--parallel', '1', '/run/secrets/jobs.tsv'],
      User: HOST_USER,
      Labels: labels('mysql-backup'),
      ...ATTACH,
      Env: ['DTOOL_GUARD=stdin', secretsEnv('jobs.tsv', 'db.cnf')],
      HostConfig: {
        Mounts: [{ Type: 'bind', Source: '/srv/backups/db', Target: '/backups/db', ReadOnly: false }],
        Tmpfs: { '/tmp': TMPFS, '/run/secrets': secretsTmpfs(HOST_USER) },
        NetworkMode: 'bridge',
        Links: ['mariadb-1:db'],
        ...LOCKED_DOWN,
      },
    });
    expect(spec.secrets).toEqual([
      {
        name: 'jobs.tsv',
        content: 'db\t/run/secrets/db.cnf\t--engine\tmariadb-dump\t--compress\tzstd\t--out\t/backups/db/.db-20261122T153000Z.sql.zst.tmp\n',
      },
      { name: 'db.cnf', content: CLIENT_CNF },
    ]);
  });

  const OTHER_PASSWORD = "crm-'pw'\\2";
  const mydumper = backupBatchSpec(
    [
      {
        name: 'shop-db',
        targetDir: '/srv/backups/shop-db',
        tempName: '.shop-db-20261122T153000Z.tar.gz.tmp',
        clientCnf: CLIENT_CNF.replace('host=db', 'host=10.0.0.7'),
      },
      {
        name: 'crm-db',
        targetDir: '/srv/backups/crm-db',
        tempName: '.crm-db-20261122T153000Z.tar.gz.tmp',
        clientCnf: `[client]\nhost=10.0.0.8\nport=3306\nuser="backup"\npassword="${OTHER_PASSWORD}"\n`,
      },
    ],
    {
      image: 'dtool/mysql-tools:abc',
      user: HOST_USER,
      network: { mode: 'network', name: 'appnet' },
      parallel: 2,
      engine: 'mydumper',
      compression: 'gzip',
      databases: ['shop', 'crm'],
      threads: 4,
      timeoutMs: 60_000,
    },
  );

  it('pins its create options: two mydumper targets on a user network, no links', () => {
    expect(mydumper.timeoutMs).toBe(60_000);
    expect(toCreateOptions(mydumper, specContext(mydumper))).toEqual({
      Image: 'dtool/mysql-tools:abc',
      Cmd: ['dtool-backup-batch', '--parallel', '2', '/run/secrets/jobs.tsv'],
      User: HOST_USER,
      Labels: labels('mysql-backup'),
      ...ATTACH,
      Env: ['DTOOL_GUARD=stdin', secretsEnv('jobs.tsv', 'shop-db.cnf', 'crm-db.cnf')],
      HostConfig: {
        Mounts: [
          { Type: 'bind', Source: '/srv/backups/shop-db', Target: '/backups/shop-db', ReadOnly: false },
          { Type: 'bind', Source: '/srv/backups/crm-db', Target: '/backups/crm-db', ReadOnly: false },
        ],
        Tmpfs: { '/tmp': TMPFS, '/run/secrets': secretsTmpfs(HOST_USER) },
        NetworkMode: 'appnet',
        ...LOCKED_DOWN,
      },
    });
  });

  it('pins the job file: a line per target, its own client file, the dump arguments', () => {
    const jobs = mydumper.secrets?.find((s) => s.name === 'jobs.tsv')?.content;
    expect(jobs).toBe(
      [
        'shop-db\t/run/secrets/shop-db.cnf\t--engine\tmydumper\t--compress\tgzip\t--out\t/backups/shop-db/.shop-db-20261122T153000Z.tar.gz.tmp\t--databases\tshop,crm\t--threads\t4',
        'crm-db\t/run/secrets/crm-db.cnf\t--engine\tmydumper\t--compress\tgzip\t--out\t/backups/crm-db/.crm-db-20261122T153000Z.tar.gz.tmp\t--databases\tshop,crm\t--threads\t4',
        '',
      ].join('\n'),
    );
    expect(mydumper.secrets?.map((s) => s.name)).toEqual(['jobs.tsv', 'shop-db.cnf', 'crm-db.cnf']);
  });

  it('keeps the credentials out of the options, the env and the job file', () => {
    expectNoSecretLeak(spec, toCreateOptions(spec, specContext(spec)), PASSWORD);
    expectNoSecretLeak(mydumper, toCreateOptions(mydumper, specContext(mydumper)), PASSWORD, OTHER_PASSWORD);
    for (const s of [spec, mydumper]) {
      const jobs = s.secrets?.find((secret) => secret.name === 'jobs.tsv')?.content ?? '';
      expect(jobs).not.toContain(PASSWORD);
      expect(jobs).not.toContain(OTHER_PASSWORD);
      expect(jobs).not.toContain('password');
    }
  });

  it('asks for no privilege', () => {
    expect(spec.privileges).toBeUndefined();
    expect(mydumper.privileges).toBeUndefined();
    expectGrantsIrrelevant(spec);
    expectGrantsIrrelevant(mydumper);
  });
});

describe('mysql-restore (restoreHelperSpec)', () => {
  const spec = restoreHelperSpec({
    image: 'dtool/mysql-tools:abc',
    artifactPath: '/srv/backups/db/db-20261122T153000Z.sql.zst',
    clientCnf: CLIENT_CNF,
    network: { mode: 'host' },
  });

  it('pins its create options: the artifact read-only, host network', () => {
    expect(toCreateOptions(spec, specContext(spec))).toEqual({
      Image: 'dtool/mysql-tools:abc',
      Cmd: ['dtool-restore', '--from', '/restore/db-20261122T153000Z.sql.zst'],
      User: HOST_USER,
      Labels: labels('mysql-restore'),
      ...ATTACH,
      Env: ['DTOOL_GUARD=stdin', secretsEnv('client.cnf')],
      HostConfig: {
        Mounts: [
          { Type: 'bind', Source: '/srv/backups/db/db-20261122T153000Z.sql.zst', Target: '/restore/db-20261122T153000Z.sql.zst', ReadOnly: true },
        ],
        Tmpfs: { '/tmp': TMPFS, '/run/secrets': secretsTmpfs(HOST_USER) },
        NetworkMode: 'host',
        ...LOCKED_DOWN,
      },
    });
  });

  it('pins its create options with a scratch folder for a mydumper tarball', () => {
    const tarball = restoreHelperSpec({
      image: 'dtool/mysql-tools:abc',
      artifactPath: '/srv/backups/db/db-20261122T153000Z.tar.zst',
      clientCnf: CLIENT_CNF,
      network: { mode: 'network', name: 'bridge', links: ['mariadb-1:db'] },
      scratch: true,
    });
    expect(toCreateOptions(tarball, specContext(tarball))).toEqual({
      Image: 'dtool/mysql-tools:abc',
      Cmd: ['dtool-restore', '--from', '/restore/db-20261122T153000Z.tar.zst', '--scratch', '/scratch'],
      User: HOST_USER,
      Labels: labels('mysql-restore'),
      ...ATTACH,
      Env: ['DTOOL_GUARD=stdin', secretsEnv('client.cnf')],
      HostConfig: {
        Mounts: [
          { Type: 'bind', Source: '/srv/backups/db/db-20261122T153000Z.tar.zst', Target: '/restore/db-20261122T153000Z.tar.zst', ReadOnly: true },
          // On the engine's disk, removed with the helper: not the helper's small tmpfs, nor the caller's disk.
          { Type: 'volume', Target: '/scratch', ReadOnly: false },
        ],
        Tmpfs: { '/tmp': TMPFS, '/run/secrets': secretsTmpfs(HOST_USER) },
        NetworkMode: 'bridge',
        Links: ['mariadb-1:db'],
        ...LOCKED_DOWN,
      },
    });
  });

  it('keeps the credentials out of the options and asks for no privilege', () => {
    expectNoSecretLeak(spec, toCreateOptions(spec, specContext(spec)), PASSWORD);
    expectGrantsIrrelevant(spec);
  });
});

describe('mariadb-verify (throwawayServerSpec)', () => {
  const rootPassword = 'throwaway-root-pw-123';
  const spec = throwawayServerSpec('dtool/mariadb:abc', rootPassword);

  it("pins its create options: an anonymous data volume, the server's ownership capabilities only", () => {
    expect(toCreateOptions(spec, specContext(spec))).toEqual({
      Image: 'dtool/mariadb:abc',
      Cmd: [],
      Labels: labels('mariadb-verify'),
      ...ATTACH,
      Env: ['DTOOL_GUARD=stdin', secretsEnv('root-password')],
      HostConfig: {
        Mounts: [{ Type: 'volume', Target: '/var/lib/mysql', ReadOnly: false }],
        Tmpfs: { '/tmp': TMPFS, '/run/mysqld': TMPFS, '/run/secrets': secretsTmpfs() },
        CapDrop: ['ALL'],
        CapAdd: ['CHOWN', 'DAC_OVERRIDE', 'KILL', 'SETGID', 'SETUID'],
        SecurityOpt: ['no-new-privileges'],
        ReadonlyRootfs: true,
        AutoRemove: true,
        Init: true,
      },
    });
  });

  it('passes the root password only as a secret file', () => {
    expectNoSecretLeak(spec, toCreateOptions(spec, specContext(spec)), rootPassword);
    expectGrantsIrrelevant(spec);
  });
});

describe('mysql-checksum (built inside checksumTables)', () => {
  it('pins the create options it runs with', async () => {
    const deps = fakeDeps({ docker: new FakeDocker().script({ stdout: 'shop\torders\t3\t12345\n' }) });
    const checksums = await checksumTables(deps, {
      clientCnf: CLIENT_CNF,
      network: { mode: 'network', name: 'bridge', links: ['mariadb-1:db'] },
      targetName: 'db',
      databases: ['shop'],
    });
    expect(checksums).toEqual([{ table: 'shop.orders', rows: 3, checksum: '12345' }]);
    const [options] = deps.docker.created;
    expect(options).toEqual({
      name: expect.stringMatching(/^dtool-mysql-checksum-/),
      Image: 'dtool/mysql-tools:test',
      Cmd: ['dtool-checksum', '--databases', 'shop'],
      User: HOST_USER,
      Labels: { ...labels('mysql-checksum'), 'dtool.managed': DTOOL_VERSION, 'dtool.run-id': expect.any(String) },
      ...ATTACH,
      Env: ['DTOOL_GUARD=stdin', secretsEnv('client.cnf')],
      HostConfig: {
        Tmpfs: { '/tmp': TMPFS, '/run/secrets': secretsTmpfs(HOST_USER) },
        NetworkMode: 'bridge',
        Links: ['mariadb-1:db'],
        ...LOCKED_DOWN,
      },
    });
    expect(JSON.stringify(options)).not.toContain(PASSWORD);
  });
});

/**
 * db-init builds its specs inside linkRunner/datadirRunner (not exported), so these pins run
 * dbInit itself against a fake engine and pin the options it created.
 */
describe('db-init helpers (built inside dbInit)', () => {
  let dir: string;
  const userPassword = "app-pw-'quoted'\\x";
  const rootPassword = 'root-pw-987';

  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'dtool-dbinit-pin-'));
    await writeFile(join(dir, 'app.pw'), `${userPassword}\n`);
    await writeFile(join(dir, 'root.pw'), `${rootPassword}\n`);
    await writeFile(join(dir, '01-schema.sql'), 'CREATE TABLE t (id INT);\n');
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('mysql-db-init (--link): pins the ensure run and the seed run', async () => {
    const docker = new FakeDocker().script({ stdout: '' }, { stdout: '' });
    docker.containers.set('mariadb-1', runningContainer('mariadb-1'));
    const deps = fakeDeps({ docker });
    const params = parseDbInitParams(
      { link: 'mariadb-1:db', database: 'shop', user: 'app', passwordFile: 'app.pw', rootPasswordFile: 'root.pw', seed: ['01-schema.sql'] },
      dir,
    );
    const report = await dbInit(deps, params);
    expect(report.seeds).toEqual([{ name: '01-schema.sql', status: 'applied' }]);
    expect(docker.created).toHaveLength(2);

    const common = {
      name: expect.stringMatching(/^dtool-mysql-db-init-/),
      Image: 'dtool/mysql-tools:test',
      User: HOST_USER,
      Labels: { ...labels('mysql-db-init'), 'dtool.managed': DTOOL_VERSION, 'dtool.run-id': expect.any(String) },
      ...ATTACH,
    };
    expect(docker.created[0]).toEqual({
      ...common,
      Cmd: ['dtool-sql', '/run/secrets/ensure.sql'],
      Env: ['DTOOL_GUARD=stdin', secretsEnv('client.cnf', 'ensure.sql')],
      HostConfig: {
        Tmpfs: { '/tmp': TMPFS, '/run/secrets': secretsTmpfs(HOST_USER) },
        NetworkMode: 'bridge',
        Links: ['mariadb-1:db'],
        ...LOCKED_DOWN,
      },
    });
    expect(docker.created[1]).toEqual({
      ...common,
      Cmd: ['dtool-sql', '/run/secrets/apply-seeds.sql'],
      // Seeds travel inside apply-seeds.sql: no separate seed secrets.
      Env: ['DTOOL_GUARD=stdin', secretsEnv('client.cnf', 'apply-seeds.sql')],
      HostConfig: {
        Tmpfs: { '/tmp': TMPFS, '/run/secrets': secretsTmpfs(HOST_USER) },
        NetworkMode: 'bridge',
        Links: ['mariadb-1:db'],
        ...LOCKED_DOWN,
      },
    });
    for (const options of docker.created) {
      const json = JSON.stringify(options);
      expect(json).not.toContain(rootPassword);
      expect(json).not.toContain('app-pw-');
      expect(options.HostConfig.Mounts).toBeUndefined();
    }
    // The secrets went in through the API, after start.
    expect(docker.delivered.map((d) => Object.keys(d.secrets))).toEqual([
      ['client.cnf', 'ensure.sql'],
      ['client.cnf', 'apply-seeds.sql'],
    ]);
    expect(docker.delivered[0]!.secrets['client.cnf']).toContain(`password="${rootPassword}"`);
  });

  it('mariadb-datadir-init (--datadir-volume): pins its create options', async () => {
    const docker = new FakeDocker().script({ stdout: '' });
    const deps = fakeDeps({ docker });
    const params = parseDbInitParams(
      { datadirVolume: 'shop-data', database: 'shop', user: 'app', passwordFile: 'app.pw', rootPasswordFile: 'root.pw' },
      dir,
    );
    await dbInit(deps, params);
    expect(deps.ensuredImages).toEqual(['mariadb']);
    expect(docker.created).toEqual([
      {
        name: expect.stringMatching(/^dtool-mariadb-datadir-init-/),
        Image: 'dtool/mariadb:test',
        Entrypoint: ['dtool-guard', 'dtool-datadir-init'],
        Cmd: ['/run/secrets/ensure.sql'],
        Labels: { ...labels('mariadb-datadir-init'), 'dtool.managed': DTOOL_VERSION, 'dtool.run-id': expect.any(String) },
        ...ATTACH,
        Env: ['DTOOL_GUARD=stdin', secretsEnv('ensure.sql')],
        HostConfig: {
          Mounts: [{ Type: 'volume', Source: 'shop-data', Target: '/var/lib/mysql', ReadOnly: false }],
          Tmpfs: { '/tmp': TMPFS, '/run/mysqld': TMPFS, '/run/secrets': secretsTmpfs() },
          NetworkMode: 'none',
          CapDrop: ['ALL'],
          CapAdd: ['CHOWN', 'DAC_OVERRIDE', 'KILL', 'SETGID', 'SETUID'],
          SecurityOpt: ['no-new-privileges'],
          ReadonlyRootfs: true,
          AutoRemove: true,
          Init: true,
        },
      },
    ]);
    const json = JSON.stringify(docker.created);
    expect(json).not.toContain(rootPassword);
    expect(json).not.toContain('app-pw-');
  });
});
