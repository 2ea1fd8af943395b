/**
 * Which old backups to delete. Pure. Only artifacts that carry a manifest ("good") are
 * kept or counted; the newest good backup is never chosen, whatever the policy says.
 * Files without a manifest are left alone: they are not provably dtool's.
 */
import { newestFirst, type ArtifactName } from './naming.js';

export type RetentionPolicy =
  | { readonly kind: 'none' }
  | { readonly kind: 'keep-last'; readonly count: number }
  | { readonly kind: 'keep-days'; readonly days: number };

export interface KnownArtifact extends ArtifactName {
  readonly hasManifest: boolean;
}

const DAY_MS = 24 * 60 * 60 * 1000;

export function chooseToPrune(artifacts: readonly KnownArtifact[], policy: RetentionPolicy, now: Date): KnownArtifact[] {
  if (policy.kind === 'none') return [];
  const good = artifacts.filter((a) => a.hasManifest).sort(newestFirst);
  const [newest, ...older] = good;
  if (!newest) return [];
  if (policy.kind === 'keep-last') {
    return good.slice(Math.max(policy.count, 1));
  }
  const cutoff = now.getTime() - policy.days * DAY_MS;
  return older.filter((a) => a.takenAt.getTime() < cutoff);
}
