import { describe, expect, it } from 'vitest';
import { artifactName, parseArtifactName } from '../../../../src/helpers/mysql/naming.js';
import { chooseToPrune, type KnownArtifact, type RetentionPolicy } from '../../../../src/helpers/mysql/retention.js';

const now = new Date('2026-11-22T12:00:00Z');
const DAY = 24 * 60 * 60 * 1000;

/** A backup taken `daysAgo` before now (fractions allowed), with or without its manifest. */
function backup(daysAgo: number, hasManifest = true, sequence = 0): KnownArtifact {
  const file = artifactName('db', new Date(now.getTime() - daysAgo * DAY), 'mariadb-dump', 'zstd', sequence);
  return { ...parseArtifactName('db', file)!, hasManifest };
}

const files = (artifacts: KnownArtifact[]) => artifacts.map((a) => a.file).sort();
const prune = (artifacts: KnownArtifact[], policy: RetentionPolicy) => files(chooseToPrune(artifacts, policy, now));

describe('chooseToPrune', () => {
  it('prunes nothing under the "none" policy', () => {
    expect(prune([backup(1), backup(100), backup(1000)], { kind: 'none' })).toEqual([]);
  });

  it('keep-last N keeps the N newest and prunes the rest', () => {
    const all = [backup(3), backup(0), backup(1), backup(5), backup(2)];
    expect(prune(all, { kind: 'keep-last', count: 2 })).toEqual(files([backup(2), backup(3), backup(5)]));
  });

  it('keep-last prunes nothing when there are N or fewer', () => {
    expect(prune([backup(1), backup(2)], { kind: 'keep-last', count: 2 })).toEqual([]);
    expect(prune([], { kind: 'keep-last', count: 1 })).toEqual([]);
  });

  it('keep-last counts backups of the same second by sequence', () => {
    const all = [backup(0, true, 0), backup(0, true, 1), backup(0, true, 2)];
    expect(prune(all, { kind: 'keep-last', count: 1 })).toEqual(files([backup(0, true, 0), backup(0, true, 1)]));
  });

  it('keep-last never prunes the newest good backup, even with a count below 1', () => {
    const all = [backup(1), backup(2)];
    expect(prune(all, { kind: 'keep-last', count: 0 })).toEqual(files([backup(2)]));
  });

  it('keep-days prunes backups older than the cutoff only', () => {
    const all = [backup(0.5), backup(6.9), backup(7.1), backup(30)];
    expect(prune(all, { kind: 'keep-days', days: 7 })).toEqual(files([backup(7.1), backup(30)]));
  });

  it('keep-days keeps the newest good backup when every backup is older than the cutoff', () => {
    const all = [backup(40), backup(10), backup(20)];
    expect(prune(all, { kind: 'keep-days', days: 7 })).toEqual(files([backup(20), backup(40)]));
  });

  it('neither prunes nor counts backups without a manifest', () => {
    const unproven = [backup(0, false), backup(50, false)];
    const good = [backup(1), backup(2), backup(60)];
    // The unproven newest must not push good backups out of the "last 2".
    expect(prune([...unproven, ...good], { kind: 'keep-last', count: 2 })).toEqual(files([backup(60)]));
    expect(prune([...unproven, ...good], { kind: 'keep-days', days: 7 })).toEqual(files([backup(60)]));
  });

  it('keeps the newest good backup even when a newer one has no manifest', () => {
    const all = [backup(0, false), backup(30), backup(31)];
    expect(prune(all, { kind: 'keep-days', days: 7 })).toEqual(files([backup(31)]));
    expect(prune(all, { kind: 'keep-last', count: 1 })).toEqual(files([backup(31)]));
  });

  it('prunes nothing when no backup has a manifest', () => {
    expect(prune([backup(100, false), backup(200, false)], { kind: 'keep-last', count: 1 })).toEqual([]);
    expect(prune([backup(100, false), backup(200, false)], { kind: 'keep-days', days: 1 })).toEqual([]);
  });
});
