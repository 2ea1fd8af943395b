/**
 * Backup → restore round trips on real MariaDB servers: every engine × compression restores
 * to equal row counts and CHECKSUM TABLE, with views, triggers, routines and events intact.
 */
import { readFile, stat } from 'node:fs/promises';
import { basename, join } from 'node:path';
import type { StartedTestContainer } from 'testcontainers';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { backup, parseBackupParams } from '../../../../src/helpers/mysql/backup.js';
import { restore } from '../../../../src/helpers/mysql/restore.js';
import { sha256File } from '../../../../src/helpers/mysql/manifest.js';
import {
  FIXTURE_SQL,
  dtoolContainers,
  listFolder,
  rootCredentials,
  schemaObjects,
  sql,
  startMariaDb,
  tableChecksums,
  tempDir,
  testDeps,
} from '../../support.js';

const SCHEMAS = ['shop', 'other'];
let source: StartedTestContainer;
let credentials: string;
let outDir: string;
let sourceChecksums: Record<string, string>;

beforeAll(async () => {
  source = await startMariaDb();
  await sql(source, FIXTURE_SQL);
  const dir = await tempDir();
  credentials = await rootCredentials(dir);
  outDir = join(dir, 'backups');
  sourceChecksums = await tableChecksums(source, SCHEMAS);
});

afterAll(async () => {
  await source?.stop();
});

const cases = [
  { engine: 'mariadb-dump', compress: 'zstd', suffix: '.sql.zst' },
  { engine: 'mariadb-dump', compress: 'gzip', suffix: '.sql.gz' },
  { engine: 'mariadb-dump', compress: 'none', suffix: '.sql' },
  { engine: 'mydumper', compress: 'zstd', suffix: '.tar.zst' },
  { engine: 'mydumper', compress: 'none', suffix: '.tar' },
] as const;

describe.each(cases)('$engine with $compress', ({ engine, compress, suffix }) => {
  it('writes one verified artifact with a manifest, and restores it to equal checksums', async () => {
    const deps = await testDeps();
    const report = await backup(
      deps,
      parseBackupParams(
        { link: [`${source.getName().replace(/^\//, '')}:src-${engine}-${compress}`], out: outDir, credentials, engine, compress },
        '/',
      ),
    );
    expect(report.targets[0]?.error).toBeUndefined();
    expect(report.ok).toBe(true);
    const target = report.targets[0]!;
    expect(basename(target.file!)).toMatch(new RegExp(`^src-${engine}-${compress}-\\d{8}T\\d{6}Z${suffix.replace(/\./g, '\\.')}$`));

    // Exactly the artifact, its manifest and nothing else (no temp files, lock released).
    const files = await listFolder(join(outDir, target.target));
    expect(files.sort()).toEqual([basename(target.file!), `${basename(target.file!)}.manifest.json`].sort());
    const manifest = JSON.parse(await readFile(`${target.file}.manifest.json`, 'utf8'));
    expect(manifest.bytes).toBe((await stat(target.file!)).size);
    expect(manifest.sha256).toBe(await sha256File(target.file!));
    expect(target.sha256).toBe(manifest.sha256);

    const copy = await startMariaDb();
    try {
      await restore(deps, { link: { container: copy.getId() }, from: target.file!, credentialsFile: credentials, allowUnverified: false });
      expect(await tableChecksums(copy, SCHEMAS)).toEqual(sourceChecksums);
      expect(await schemaObjects(copy, 'shop')).toEqual(await schemaObjects(source, 'shop'));
      // The trigger was restored as a trigger, not as data: it still fires.
      await sql(copy, "CALL shop.add_customer('after restore')");
      expect(await sql(copy, "SELECT COUNT(*) FROM shop.audit WHERE what = 'new customer after restore'")).toBe('1\n');
    } finally {
      await copy.stop();
    }
    expect(await dtoolContainers(deps.docker)).toEqual([]);
  });
});

describe('INET6, INET4 and UUID columns', () => {
  beforeAll(async () => {
    await sql(
      source,
      "CREATE DATABASE net; CREATE TABLE net.hosts (id INT PRIMARY KEY, ip INET6, id4 INET4, tag UUID); INSERT INTO net.hosts VALUES (1, '2001:db8::1', '192.0.2.7', '123e4567-e89b-12d3-a456-426614174000'), (2, '::ffff:192.0.2.7', NULL, NULL);",
    );
  });
  afterAll(async () => {
    await sql(source, 'DROP DATABASE net');
  });

  it('round-trip with mariadb-dump', async () => {
    const deps = await testDeps();
    const report = await backup(deps, parseBackupParams({ link: [`${source.getId()}:net-dump`], out: outDir, credentials, databases: 'net' }, '/'));
    expect(report.ok).toBe(true);
    const copy = await startMariaDb();
    try {
      await restore(deps, {
        link: { container: copy.getId() },
        from: report.targets[0]!.file!,
        credentialsFile: credentials,
        allowUnverified: false,
      });
      expect(await sql(copy, 'SELECT id, ip, id4, tag FROM net.hosts ORDER BY id')).toBe(
        await sql(source, 'SELECT id, ip, id4, tag FROM net.hosts ORDER BY id'),
      );
    } finally {
      await copy.stop();
    }
  });

  it('are refused by mydumper before anything is written, naming the columns (it would write them as binary strings)', async () => {
    const deps = await testDeps();
    const report = await backup(
      deps,
      parseBackupParams({ link: [`${source.getId()}:net-mydumper`], out: outDir, credentials, databases: 'net', engine: 'mydumper' }, '/'),
    );
    expect(report.ok).toBe(false);
    expect(report.targets[0]?.error?.message).toMatch(
      /net\.hosts\.id4 \(inet4\), net\.hosts\.ip \(inet6\), net\.hosts\.tag \(uuid\); use --engine mariadb-dump/,
    );
    expect(await listFolder(join(outDir, 'net-mydumper'))).toEqual([]);
  });
});

describe('selection and verification', () => {
  it('--databases dumps only the named databases', async () => {
    const deps = await testDeps();
    const report = await backup(
      deps,
      parseBackupParams({ link: [`${source.getId()}:only-other`], out: outDir, credentials, databases: 'other', compress: 'none' }, '/'),
    );
    expect(report.ok).toBe(true);
    const dump = await readFile(report.targets[0]!.file!, 'utf8');
    expect(dump).toContain('CREATE TABLE `numbers`');
    expect(dump).not.toContain('CREATE TABLE `customers`');
  });

  it('--verify restores into a throwaway server and reports matching checksums', async () => {
    const deps = await testDeps();
    const report = await backup(deps, parseBackupParams({ link: [`${source.getId()}:verified`], out: outDir, credentials, verify: true }, '/'));
    expect(report.targets[0]?.error).toBeUndefined();
    const verify = report.targets[0]!.verify!;
    expect(verify.ok).toBe(true);
    expect(verify.mismatches).toEqual([]);
    // shop: customers, files, audit, legacy; other: numbers; _dtool may be absent here.
    expect(verify.tables).toBeGreaterThanOrEqual(5);
    expect(await dtoolContainers(deps.docker)).toEqual([]);
  });

  it('restore refuses a file whose content no longer matches its manifest', async () => {
    const deps = await testDeps();
    const report = await backup(deps, parseBackupParams({ link: [`${source.getId()}:tampered`], out: outDir, credentials, compress: 'none' }, '/'));
    const file = report.targets[0]!.file!;
    const original = await readFile(file, 'utf8');
    const { writeFile } = await import('node:fs/promises');
    // Same size, different bytes: only the sha256 can tell.
    expect(original).toContain('via procedure');
    await writeFile(file, original.replace('via procedure', 'via pr0cedure'));
    await expect(
      restore(deps, { link: { container: source.getId() }, from: file, credentialsFile: credentials, allowUnverified: false }),
    ).rejects.toMatchObject({ code: 'VERIFY_FAILED' });
  });

  it('--label selects running servers, backs them up concurrently, and --keep prunes only older good backups', async () => {
    const label = `dtool.it.select=${process.pid}`;
    const [key, value] = label.split('=');
    const others = await Promise.all([startMariaDb({ labels: { [key!]: value! } }), startMariaDb({ labels: { [key!]: value! } })]);
    try {
      const deps = await testDeps();
      const params = parseBackupParams({ label: [label], out: outDir, credentials, databases: 'mysql', concurrency: '2', keep: '1' }, '/');
      const first = await backup(deps, params);
      expect(first.targets.map((t) => t.container).sort()).toEqual(others.map((o) => o.getName().replace(/^\//, '')).sort());
      expect(first.ok).toBe(true);
      await new Promise((r) => setTimeout(r, 1100)); // a new second, so new file names
      const { writeFile } = await import('node:fs/promises');
      const stranger = join(outDir, first.targets[0]!.target, 'notes.txt');
      await writeFile(stranger, 'not a backup');
      const second = await backup(deps, params);
      for (const [i, target] of second.targets.entries()) {
        expect(target.pruned).toEqual([basename(first.targets[i]!.file!)]);
        const files = await listFolder(join(outDir, target.target));
        expect(files.filter((f) => !f.endsWith('.manifest.json') && f !== 'notes.txt')).toEqual([basename(target.file!)]);
      }
      expect(await readFile(stranger, 'utf8')).toBe('not a backup');
    } finally {
      await Promise.all(others.map((o) => o.stop()));
    }
  });
});
