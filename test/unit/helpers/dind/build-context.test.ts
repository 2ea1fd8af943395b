/** The build context as the docker CLI sends it: .dockerignore honoured, the Dockerfile and .dockerignore always sent. */
import { mkdir, mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { extract } from 'tar-stream';
import { describe, expect, it } from 'vitest';
import { NotFoundError } from '../../../../src/errors.js';
import { packBuildContext, readBuildContext } from '../../../../src/helpers/dind/build-context.js';

async function entryNames(stream: NodeJS.ReadableStream): Promise<{ name: string; uid: number }[]> {
  const names: { name: string; uid: number }[] = [];
  const extraction = extract();
  extraction.on('entry', (header, body, next) => {
    if (header.type === 'file') names.push({ name: header.name, uid: header.uid ?? -1 });
    body.on('end', next);
    body.resume();
  });
  await new Promise<void>((resolve, reject) => {
    extraction.on('finish', resolve);
    extraction.on('error', reject);
    stream.pipe(extraction as unknown as NodeJS.WritableStream);
  });
  return names.sort((a, b) => a.name.localeCompare(b.name));
}

describe('build context', () => {
  it('leaves out what .dockerignore excludes, keeps exceptions, and always sends the Dockerfile and .dockerignore', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'dtool-ctx-'));
    await mkdir(join(dir, 'src'));
    await mkdir(join(dir, 'node_modules'));
    await writeFile(join(dir, 'Dockerfile'), 'FROM scratch\n');
    await writeFile(join(dir, '.dockerignore'), '# comment\nnode_modules\n*.log\n!keep.log\nDockerfile\n.dockerignore\n');
    await writeFile(join(dir, 'src', 'main.c'), 'int main(){}');
    await writeFile(join(dir, 'node_modules', 'big.js'), 'x');
    await writeFile(join(dir, 'debug.log'), 'x');
    await writeFile(join(dir, 'keep.log'), 'x');
    const context = await readBuildContext(dir);
    const names = await entryNames(await packBuildContext(context));
    expect(names.map((n) => n.name)).toEqual(['.dockerignore', 'Dockerfile', 'keep.log', 'src/main.c']);
    expect(names.every((n) => n.uid === 0)).toBe(true);
  });

  it('names the missing Dockerfile', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'dtool-ctx-'));
    await expect(readBuildContext(dir, 'build/Dockerfile')).rejects.toThrow(NotFoundError);
    await expect(readBuildContext(dir, 'build/Dockerfile')).rejects.toThrow(/no build\/Dockerfile in build context/);
  });
});
