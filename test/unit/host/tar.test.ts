import { once } from 'node:events';
import { chmod, cp, mkdir, mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import { type Header, pack } from 'tar-stream';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { UsageError } from '../../../src/errors.js';
import { hashPath, listTree } from '../../../src/host/file-tree.js';
import { extractArchive, packEntries } from '../../../src/host/tar.js';

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'dtool-tar-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** A folder `site` with nested files, one of them executable. */
async function makeSite(): Promise<string> {
  const site = join(dir, 'site');
  await mkdir(join(site, 'conf', 'zones'), { recursive: true });
  await writeFile(join(site, 'README'), 'read me\n');
  await writeFile(join(site, 'conf', 'named.conf'), 'options {};\n');
  await writeFile(join(site, 'conf', 'zones', 'example.test.zone'), '$ORIGIN example.test.\n');
  await writeFile(join(site, 'run.sh'), '#!/bin/sh\nexec named\n');
  await chmod(join(site, 'run.sh'), 0o755);
  return site;
}

/** A folder `site` with two files, one of them executable. */
async function makeFlatSite(): Promise<string> {
  const site = join(dir, 'site');
  await mkdir(site);
  await writeFile(join(site, 'README'), 'read me\n');
  await writeFile(join(site, 'run.sh'), '#!/bin/sh\nexec named\n');
  await chmod(join(site, 'run.sh'), 0o755);
  return site;
}

/** A tar built by hand, for entries packEntries would never write. */
function handmadeTar(entries: readonly (Partial<Header> & { name: string; content?: string })[]): Readable {
  const archive = pack();
  for (const { content, ...header } of entries) archive.entry(header, content ?? '');
  archive.finalize();
  return archive as unknown as Readable;
}

const isExecutable = async (path: string): Promise<boolean> => ((await stat(path)).mode & 0o111) !== 0;

describe('packEntries → extractArchive', () => {
  it('carries a folder and literal files through a tar stream, under the archive top folder', async () => {
    const site = await makeFlatSite();
    const out = join(dir, 'out');
    await extractArchive(
      packEntries([
        { name: 'top/site', path: site },
        { name: 'top/VERSION', content: '1.2.3\n' },
        { name: 'top/hello', content: Buffer.from('#!/bin/sh\necho hi\n'), mode: 0o755 },
      ]),
      out,
    );
    expect(await listTree(out)).toEqual(['VERSION', 'hello', 'site/README', 'site/run.sh']);
    expect(await readFile(join(out, 'site', 'README'), 'utf8')).toBe('read me\n');
    expect(await readFile(join(out, 'site', 'run.sh'), 'utf8')).toBe('#!/bin/sh\nexec named\n');
    expect(await readFile(join(out, 'VERSION'), 'utf8')).toBe('1.2.3\n');
    expect(await readFile(join(out, 'hello'), 'utf8')).toBe('#!/bin/sh\necho hi\n');
  });

  it('keeps the executable bit, and only that', async () => {
    const site = await makeFlatSite();
    const out = join(dir, 'out');
    await extractArchive(
      packEntries([
        { name: 'top/site', path: site },
        { name: 'top/plain', content: 'x', mode: 0o600 },
        { name: 'top/tool', content: 'x', mode: 0o700 },
      ]),
      out,
    );
    expect(await isExecutable(join(out, 'site', 'run.sh'))).toBe(true);
    expect(await isExecutable(join(out, 'site', 'README'))).toBe(false);
    expect(await isExecutable(join(out, 'plain'))).toBe(false);
    expect(await isExecutable(join(out, 'tool'))).toBe(true);
  });

  // packEntries writes a directory entry for the top folder only, and extractArchive
  // creates a file's folder only from a directory entry: the first nested file fails
  // with ENOENT. (Docker's archive API creates missing parents, which hides it there.)
  it('carries nested folders', async () => {
    const site = await makeSite();
    const out = join(dir, 'out');
    await extractArchive(packEntries([{ name: 'top/site', path: site }]), out);
    expect(await listTree(out)).toEqual(['site/README', 'site/conf/named.conf', 'site/conf/zones/example.test.zone', 'site/run.sh']);
  });

  it('packs a single host file under its entry name', async () => {
    const site = await makeSite();
    const out = join(dir, 'out');
    await extractArchive(packEntries([{ name: 'top/entry.sh', path: join(site, 'run.sh') }]), out);
    expect(await readdir(out)).toEqual(['entry.sh']);
    expect(await readFile(join(out, 'entry.sh'), 'utf8')).toBe('#!/bin/sh\nexec named\n');
    expect(await isExecutable(join(out, 'entry.sh'))).toBe(true);
  });

  it('fails the stream when an entry path does not exist', async () => {
    const archive = packEntries([{ name: 'top/missing', path: join(dir, 'missing') }]);
    const [error] = await once(archive, 'error');
    expect(error).toMatchObject({ code: 'ENOENT' });
  });
});

describe('extractArchive', () => {
  it('drops the first path component and creates the destination', async () => {
    const out = join(dir, 'a', 'b');
    await extractArchive(
      handmadeTar([
        { name: 'out/', type: 'directory' },
        { name: 'out/conf/', type: 'directory' },
        { name: 'out/conf/x.txt', type: 'file', content: 'x' },
        { name: 'out/empty/', type: 'directory' },
      ]),
      out,
    );
    expect((await readdir(out)).sort()).toEqual(['conf', 'empty']);
    expect(await readFile(join(out, 'conf', 'x.txt'), 'utf8')).toBe('x');
  });

  // The refused entries below are empty: a refused entry with content crashes the process
  // instead (see the report), which a test cannot catch.
  it('refuses a file whose path climbs out of the destination, writing nothing there', async () => {
    const extraction = extractArchive(handmadeTar([{ name: 'top/../escaped.txt', type: 'file', content: '' }]), join(dir, 'out'));
    await expect(extraction).rejects.toThrow(UsageError);
    await expect(extraction).rejects.toThrow('archive entry top/../escaped.txt points outside its folder');
    expect(await readdir(dir)).toEqual(['out']);
  });

  it('refuses a folder that climbs out after going down', async () => {
    await expect(extractArchive(handmadeTar([{ name: 'top/sub/../../escaped/', type: 'directory' }]), join(dir, 'out'))).rejects.toThrow(
      'archive entry top/sub/../../escaped/ points outside its folder',
    );
    expect(await readdir(dir)).toEqual(['out']);
  });

  it('refuses a sibling whose name merely starts with the destination', async () => {
    // dest "out" and a sibling "out-evil": a plain prefix test would let this through.
    await expect(extractArchive(handmadeTar([{ name: 'top/../out-evil/', type: 'directory' }]), join(dir, 'out'))).rejects.toThrow(
      'points outside its folder',
    );
    expect(await readdir(dir)).toEqual(['out']);
  });

  it('keeps entries before a refused one, and stops there', async () => {
    const out = join(dir, 'out');
    await expect(
      extractArchive(
        handmadeTar([
          { name: 'top/a.txt', type: 'file', content: 'a' },
          { name: 'top/../escaped.txt', type: 'file', content: '' },
          { name: 'top/b.txt', type: 'file', content: 'b' },
        ]),
        out,
      ),
    ).rejects.toThrow('points outside its folder');
    expect(await readdir(out)).toEqual(['a.txt']);
  });

  it('refuses a symlink, even one pointing inside', async () => {
    const extraction = extractArchive(
      handmadeTar([
        { name: 'top/a.txt', type: 'file', content: 'a' },
        { name: 'top/link', type: 'symlink', linkname: 'a.txt' },
      ]),
      join(dir, 'out'),
    );
    await expect(extraction).rejects.toThrow(UsageError);
    await expect(extraction).rejects.toThrow('archive entry top/link is a symlink: only files and folders are copied');
  });

  it('refuses a symlink pointing outside before anything could be written through it', async () => {
    const out = join(dir, 'out');
    await expect(
      extractArchive(
        handmadeTar([
          { name: 'top/etc', type: 'symlink', linkname: dir },
          { name: 'top/etc/planted', type: 'file', content: 'x' },
        ]),
        out,
      ),
    ).rejects.toThrow('archive entry top/etc is a symlink');
    expect(await readdir(out)).toEqual([]);
    expect(await readdir(dir)).toEqual(['out']);
  });

  it('refuses a hard link', async () => {
    await expect(
      extractArchive(
        handmadeTar([
          { name: 'top/a', type: 'file', content: 'a' },
          { name: 'top/b', type: 'link', linkname: 'top/a' },
        ]),
        join(dir, 'out'),
      ),
    ).rejects.toThrow('archive entry top/b is a link');
  });

  // A destination spelled with a trailing slash has every entry refused: the check
  // compares each target against `dest//`.
  it('accepts a destination written with a trailing slash', async () => {
    const out = join(dir, 'out');
    await extractArchive(handmadeTar([{ name: 'top/x.txt', type: 'file', content: '' }]), `${out}/`);
    expect(await readdir(out)).toEqual(['x.txt']);
  });
});

describe('hashPath', () => {
  it('is a sha256 hex digest, the same on every run and for an identical copy', async () => {
    const site = await makeSite();
    const first = await hashPath(site);
    expect(first).toMatch(/^[0-9a-f]{64}$/);
    expect(await hashPath(site)).toBe(first);
    const copy = join(dir, 'copy');
    await cp(site, copy, { recursive: true });
    expect(await hashPath(copy)).toBe(first);
  });

  it('changes when a file content changes', async () => {
    const site = await makeSite();
    const before = await hashPath(site);
    await writeFile(join(site, 'conf', 'named.conf'), 'options { recursion no; };\n');
    expect(await hashPath(site)).not.toBe(before);
  });

  it('changes when a file gains or loses the executable bit', async () => {
    const site = await makeSite();
    const before = await hashPath(site);
    await chmod(join(site, 'README'), 0o755);
    const executable = await hashPath(site);
    expect(executable).not.toBe(before);
    await chmod(join(site, 'README'), 0o644);
    expect(await hashPath(site)).toBe(before);
  });

  it('ignores permission bits other than executable', async () => {
    const site = await makeSite();
    const before = await hashPath(site);
    await chmod(join(site, 'README'), 0o600);
    expect(await hashPath(site)).toBe(before);
  });

  it('changes when a file is renamed, added or removed', async () => {
    const site = await makeSite();
    const before = await hashPath(site);
    await writeFile(join(site, 'README2'), 'read me\n');
    const added = await hashPath(site);
    expect(added).not.toBe(before);
    await rm(join(site, 'README'));
    expect(await hashPath(site)).not.toBe(before);
    expect(await hashPath(site)).not.toBe(added);
  });

  it('hashes a single file by content and executable bit', async () => {
    const a = join(dir, 'a');
    const b = join(dir, 'b');
    await writeFile(a, 'same');
    await writeFile(b, 'same');
    expect(await hashPath(a)).toBe(await hashPath(b));
    await chmod(b, 0o755);
    expect(await hashPath(a)).not.toBe(await hashPath(b));
    await writeFile(b, 'different');
    await chmod(b, 0o644);
    expect(await hashPath(a)).not.toBe(await hashPath(b));
  });

  it('tells a file from the same bytes split over two files', async () => {
    await mkdir(join(dir, 'one'));
    await mkdir(join(dir, 'two'));
    await writeFile(join(dir, 'one', 'a'), 'ab');
    await writeFile(join(dir, 'two', 'a'), 'a');
    await writeFile(join(dir, 'two', 'b'), 'b');
    expect(await hashPath(join(dir, 'one'))).not.toBe(await hashPath(join(dir, 'two')));
  });

  it('rejects a path that does not exist', async () => {
    await expect(hashPath(join(dir, 'missing'))).rejects.toMatchObject({ code: 'ENOENT' });
  });
});

describe('listTree', () => {
  it('lists regular files only, as sorted relative paths', async () => {
    const site = await makeSite();
    await mkdir(join(site, 'empty'));
    expect(await listTree(site)).toEqual(['README', 'conf/named.conf', 'conf/zones/example.test.zone', 'run.sh']);
  });

  it('leaves out what skip says to, given the relative path', async () => {
    const site = await makeSite();
    await mkdir(join(site, '.git'));
    await writeFile(join(site, '.git', 'HEAD'), 'ref: refs/heads/main\n');
    const seen: string[] = [];
    const listed = await listTree(site, (path) => {
      seen.push(path);
      return path.startsWith('.git/') || path.endsWith('.zone');
    });
    expect(listed).toEqual(['README', 'conf/named.conf', 'run.sh']);
    expect(seen.sort()).toEqual(['.git/HEAD', 'README', 'conf/named.conf', 'conf/zones/example.test.zone', 'run.sh']);
  });

  it('lists an empty folder as nothing', async () => {
    expect(await listTree(dir)).toEqual([]);
  });
});
