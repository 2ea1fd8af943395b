import { mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { commitRename, tempPathFor, writeFileAtomic } from '../../../src/host/atomic-file.js';

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'dtool-atomic-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('writeFileAtomic', () => {
  it('writes the content and leaves no temp file', async () => {
    await writeFileAtomic(join(dir, 'a.json'), '{"ok":true}\n');
    expect(await readFile(join(dir, 'a.json'), 'utf8')).toBe('{"ok":true}\n');
    expect(await readdir(dir)).toEqual(['a.json']);
  });

  it('replaces an existing file whole', async () => {
    await writeFile(join(dir, 'a.json'), 'old content that is longer than the new one');
    await writeFileAtomic(join(dir, 'a.json'), Buffer.from('new'));
    expect(await readFile(join(dir, 'a.json'), 'utf8')).toBe('new');
    expect(await readdir(dir)).toEqual(['a.json']);
  });

  it('fails when the directory is missing, leaving nothing behind', async () => {
    await expect(writeFileAtomic(join(dir, 'missing', 'a.json'), 'x')).rejects.toMatchObject({ code: 'ENOENT' });
    expect(await readdir(dir)).toEqual([]);
  });

  it('fails when the target is a directory, removing its temp file and keeping the directory', async () => {
    const target = join(dir, 'taken');
    await writeFile(join(dir, 'keep'), '');
    await import('node:fs/promises').then((fs) => fs.mkdir(target));
    await expect(writeFileAtomic(target, 'x')).rejects.toThrow();
    expect((await readdir(dir)).sort()).toEqual(['keep', 'taken']);
    expect((await stat(target)).isDirectory()).toBe(true);
  });
});

describe('tempPathFor and commitRename', () => {
  it('puts the hidden temp file next to the final one', () => {
    expect(tempPathFor('/srv/b/db.sql', 'abcd')).toBe('/srv/b/.db.sql.tmp-abcd');
    expect(tempPathFor('/srv/b/db.sql')).toMatch(/^\/srv\/b\/\.db\.sql\.tmp-[0-9a-f]{8}$/);
  });

  it('moves a finished file into place', async () => {
    await writeFile(join(dir, '.x.tmp'), 'done');
    await commitRename(join(dir, '.x.tmp'), join(dir, 'x'));
    expect(await readdir(dir)).toEqual(['x']);
    expect(await readFile(join(dir, 'x'), 'utf8')).toBe('done');
  });
});
