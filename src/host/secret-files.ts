/**
 * Secret folders of older dtool versions. Secrets used to reach helpers as bind-mounted
 * files in a private temp folder (`dtool-secrets-PID-TICKS-XXXXXX`); they now travel through
 * the engine's API onto a tmpfs in the helper (run/helper-container.ts) and never touch the
 * caller's disk. What is left here lets the orphan sweep (run/orphans.ts) still remove the
 * folders that a killed run of an older version left behind.
 */

export const SECRET_DIR_PREFIX = 'dtool-secrets-';

/** The owner a secret folder's name records (`dtool-secrets-PID-TICKS-XXXXXX`), if any. */
export function secretDirOwner(name: string): { readonly pid: number; readonly startTicks: string } | undefined {
  const match = /^dtool-secrets-(\d+)-(\d*)-[A-Za-z0-9]{6}$/.exec(name);
  return match ? { pid: Number(match[1]), startTicks: match[2]! } : undefined;
}
