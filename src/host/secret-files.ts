/**
 * Secrets reach a helper as read-only bind-mounted files, never through argv, env or
 * labels (all of which `docker inspect` shows). The files live in a private directory
 * (0700, files 0400) that is removed when the run ends. The directory's name carries its
 * owner's pid and start time, so that if the owner dies before removing it, the next dtool
 * start does (run/orphans.ts).
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { HelperSecret } from '../core/helper-spec.js';
import type { OwnerIdentity } from './owner.js';

export interface SecretFiles extends AsyncDisposable {
  /** Host path by secret name. */
  readonly paths: Readonly<Record<string, string>>;
}

const SECRET_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]*$/;
export const SECRET_DIR_PREFIX = 'dtool-secrets-';

/** The owner a secret directory's name records (`dtool-secrets-PID-TICKS-XXXXXX`), if any. */
export function secretDirOwner(name: string): { readonly pid: number; readonly startTicks: string } | undefined {
  const match = /^dtool-secrets-(\d+)-(\d*)-[A-Za-z0-9]{6}$/.exec(name);
  return match ? { pid: Number(match[1]), startTicks: match[2]! } : undefined;
}

export async function writeSecretFiles(secrets: readonly HelperSecret[], owner: OwnerIdentity): Promise<SecretFiles> {
  if (secrets.length === 0) return { paths: {}, [Symbol.asyncDispose]: async () => {} };
  const dir = await mkdtemp(join(tmpdir(), `${SECRET_DIR_PREFIX}${owner.pid}-${owner.startTicks}-`));
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
