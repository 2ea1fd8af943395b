import { mkdtemp, readdir, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { UsageError } from '../../../src/errors.js';
import { ensureWritableDir } from '../../../src/host/writable-dir.js';

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'dtool-writable-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('ensureWritableDir', () => {
  it('creates missing directories and leaves no probe behind', async () => {
    const target = join(dir, 'a', 'b', 'c');
    await ensureWritableDir(target, '--out');
    expect((await stat(target)).isDirectory()).toBe(true);
    expect(await readdir(target)).toEqual([]);
  });

  it('accepts an existing directory without touching its files', async () => {
    await writeFile(join(dir, 'keep.txt'), 'x');
    await ensureWritableDir(dir, '--out');
    expect(await readdir(dir)).toEqual(['keep.txt']);
  });

  // Under a regular file the probe cleanup fails too (ENOTDIR); that must not replace the
  // UsageError (exit code 2, naming the flag) with a raw fs error.
  it('fails with a UsageError naming the flag when a path component is a regular file', async () => {
    await writeFile(join(dir, 'file'), 'x');
    const target = join(dir, 'file', 'backups');
    const attempt = ensureWritableDir(target, '--out');
    await expect(attempt).rejects.toBeInstanceOf(UsageError);
    await expect(ensureWritableDir(target, '--out')).rejects.toThrow(new RegExp(`^--out ${target} is not writable \\((ENOTDIR|EEXIST)\\)$`));
    await expect(ensureWritableDir(target, '--out')).rejects.toThrow(expect.objectContaining({ hint: 'choose a directory this user can write to' }));
  });

  it('fails with a UsageError naming the flag when the path itself is a regular file', async () => {
    await writeFile(join(dir, 'file'), 'x');
    await expect(ensureWritableDir(join(dir, 'file'), '--out')).rejects.toThrow(/^--out .* is not writable \(EEXIST\)/);
  });

  it('fails with a usage error under a regular file', async () => {
    await writeFile(join(dir, 'file'), 'x');
    await expect(ensureWritableDir(join(dir, 'file', 'sub'), '--out')).rejects.toMatchObject({ code: 'USAGE' });
  });

  // A read-only directory is tested in the integration suite, on a read-only mount: the
  // tests run as root there, and root ignores permission bits.
});
