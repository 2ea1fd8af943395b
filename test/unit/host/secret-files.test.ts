import { readFile, stat } from 'node:fs/promises';
import { dirname } from 'node:path';
import { describe, expect, it } from 'vitest';
import { secretDirOwner, writeSecretFiles } from '../../../src/host/secret-files.js';
import { TEST_OWNER } from '../../support/fake-docker.js';

const exists = (path: string) =>
  stat(path).then(
    () => true,
    () => false,
  );

describe('writeSecretFiles', () => {
  it('writes each secret to a 0400 file in a private 0700 directory', async () => {
    await using files = await writeSecretFiles(
      [
        { name: 'client.cnf', content: '[client]\npassword="x"\n' },
        { name: 'root-password', content: 'r00t' },
      ],
      TEST_OWNER,
    );
    const cnf = files.paths['client.cnf']!;
    const root = files.paths['root-password']!;
    expect(dirname(cnf)).toBe(dirname(root));
    expect((await stat(dirname(cnf))).mode & 0o777).toBe(0o700);
    expect((await stat(cnf)).mode & 0o777).toBe(0o400);
    expect((await stat(root)).mode & 0o777).toBe(0o400);
    expect(await readFile(cnf, 'utf8')).toBe('[client]\npassword="x"\n');
    expect(await readFile(root, 'utf8')).toBe('r00t');
  });

  it("names its directory after its owner, so a dead owner's secrets can be swept", async () => {
    await using files = await writeSecretFiles([{ name: 's', content: 'x' }], TEST_OWNER);
    const dir = dirname(files.paths.s!).split('/').at(-1)!;
    expect(dir).toMatch(/^dtool-secrets-4242-1000-[A-Za-z0-9]{6}$/);
    expect(secretDirOwner(dir)).toEqual({ pid: 4242, startTicks: '1000' });
    expect(secretDirOwner('dtool-secrets-abc')).toBeUndefined();
  });

  it('removes the files and their directory when disposed', async () => {
    let path: string;
    {
      await using files = await writeSecretFiles([{ name: 's', content: 'x' }], TEST_OWNER);
      path = files.paths.s!;
      expect(await exists(path)).toBe(true);
    }
    expect(await exists(path)).toBe(false);
    expect(await exists(dirname(path))).toBe(false);
  });

  it('gives every call its own directory', async () => {
    await using a = await writeSecretFiles([{ name: 's', content: 'a' }], TEST_OWNER);
    await using b = await writeSecretFiles([{ name: 's', content: 'b' }], TEST_OWNER);
    expect(a.paths.s).not.toBe(b.paths.s);
  });

  it('writes nothing for no secrets', async () => {
    await using files = await writeSecretFiles([], TEST_OWNER);
    expect(files.paths).toEqual({});
  });

  it.each(['../escape', '.hidden', 'a/b', ''])('refuses the secret name %j and leaves nothing behind', async (name) => {
    await expect(writeSecretFiles([{ name, content: 'x' }], TEST_OWNER)).rejects.toThrow(`invalid secret name: ${name}`);
  });

  it('refuses two secrets with one name', async () => {
    await expect(
      writeSecretFiles(
        [
          { name: 's', content: 'a' },
          { name: 's', content: 'b' },
        ],
        TEST_OWNER,
      ),
    ).rejects.toMatchObject({ code: 'EEXIST' });
  });
});
