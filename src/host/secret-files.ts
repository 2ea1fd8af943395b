/**
 * Secrets reach a helper as read-only bind-mounted files, never through argv, env or
 * labels (all of which `docker inspect` shows). The files live in a private directory
 * (0700, files 0400) that is removed when the run ends.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { HelperSecret } from '../core/helper-spec.js';

export interface SecretFiles extends AsyncDisposable {
  /** Host path by secret name. */
  readonly paths: Readonly<Record<string, string>>;
}

const SECRET_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]*$/;

export async function writeSecretFiles(secrets: readonly HelperSecret[]): Promise<SecretFiles> {
  if (secrets.length === 0) return { paths: {}, [Symbol.asyncDispose]: async () => {} };
  const dir = await mkdtemp(join(tmpdir(), 'dtool-secrets-'));
  const dispose = () => rm(dir, { recursive: true, force: true });
  try {
    const paths: Record<string, string> = {};
    for (const secret of secrets) {
      if (!SECRET_NAME.test(secret.name)) throw new Error(`invalid secret name: ${secret.name}`);
      const path = join(dir, secret.name);
      await writeFile(path, secret.content, { mode: 0o400, flag: 'wx' });
      paths[secret.name] = path;
    }
    return { paths, [Symbol.asyncDispose]: dispose };
  } catch (error) {
    await dispose();
    throw error;
  }
}
