import { describe, expect, it } from 'vitest';
import { knownArtifacts, nextFreeName } from '../../../../src/helpers/mysql/backup.js';
import { judgeAgainstManifest } from '../../../../src/helpers/mysql/manifest.js';
import { describeLockHolder, outdirMkdirSpec, outdirSessionSpec } from '../../../../src/helpers/mysql/outdir.js';

describe('nextFreeName', () => {
  it('takes the first name not in the folder, counting up', () => {
    const make = (n: number) => `db-20261122T153000Z${n ? `-${n}` : ''}.sql.zst`;
    expect(nextFreeName(new Set(), make)).toBe('db-20261122T153000Z.sql.zst');
    expect(nextFreeName(new Set(['db-20261122T153000Z.sql.zst', 'db-20261122T153000Z-1.sql.zst']), make)).toBe('db-20261122T153000Z-2.sql.zst');
  });
});

describe('knownArtifacts', () => {
  it("lists this target's artifacts only, each knowing whether its manifest is there", () => {
    const files = [
      'db-20261121T000000Z.sql.zst',
      'db-20261121T000000Z.sql.zst.manifest.json',
      'db-20261122T000000Z.sql.zst',
      '.db-20261123T000000Z.sql.zst.tmp',
      'db2-20261122T000000Z.sql.zst',
      '.dtool.lock',
    ];
    expect(knownArtifacts(files, 'db').map((a) => [a.file, a.hasManifest])).toEqual([
      ['db-20261121T000000Z.sql.zst', true],
      ['db-20261122T000000Z.sql.zst', false],
    ]);
  });
});

describe('describeLockHolder', () => {
  it('names the holder the lock file records, or nobody', () => {
    expect(describeLockHolder('{"pid":12,"host":"a","since":"2026-11-22T15:00:00Z"}')).toBe(' (pid 12 on a since 2026-11-22T15:00:00Z)');
    expect(describeLockHolder('{"pid":12,"host":"a"}')).toBe(' (pid 12 on a since ?)');
    expect(describeLockHolder('')).toBe('');
    expect(describeLockHolder('{"pid":')).toBe('');
    expect(describeLockHolder('null')).toBe('');
  });
});

describe('outdir helper specs', () => {
  it('mount only --out (or, to make it, its nearest existing ancestor), and reach no network', () => {
    expect(outdirSessionSpec('dtool/mysql-tools:x', '/srv/backups')).toMatchObject({
      helper: 'mysql-outdir',
      command: ['dtool-outdir', 'serve', '/out'],
      mounts: [{ type: 'bind', source: '/srv/backups', target: '/out', readOnly: false }],
      network: { mode: 'none' },
    });
    expect(outdirMkdirSpec('dtool/mysql-tools:x', '/srv', '/srv/backups/daily')).toMatchObject({
      command: ['dtool-outdir', 'mkdir', '/parent/backups/daily'],
      mounts: [{ type: 'bind', source: '/srv', target: '/parent', readOnly: false }],
      network: { mode: 'none' },
    });
  });
});

describe('judgeAgainstManifest', () => {
  const manifest = JSON.stringify({ format: 'dtool-backup/1', file: 'db.sql', bytes: 5, sha256: 'ab'.repeat(32) });

  it('returns the manifest when size and sha256 match, undefined without a readable one', () => {
    expect(judgeAgainstManifest('db.sql', { bytes: 5, sha256: 'ab'.repeat(32) }, manifest)).toMatchObject({ bytes: 5 });
    expect(judgeAgainstManifest('db.sql', { bytes: 5, sha256: 'x' }, undefined)).toBeUndefined();
    expect(judgeAgainstManifest('db.sql', { bytes: 5, sha256: 'x' }, '{oops')).toBeUndefined();
  });

  it('fails as VERIFY_FAILED on a size or sha256 mismatch', () => {
    expect(() => judgeAgainstManifest('db.sql', { bytes: 6, sha256: 'ab'.repeat(32) }, manifest)).toThrow(
      expect.objectContaining({ code: 'VERIFY_FAILED', message: 'db.sql is 6 bytes; its manifest says 5' }),
    );
    expect(() => judgeAgainstManifest('db.sql', { bytes: 5, sha256: 'cd'.repeat(32) }, manifest)).toThrow(
      expect.objectContaining({ code: 'VERIFY_FAILED', message: "db.sql does not match its manifest's sha256 (file changed or corrupt)" }),
    );
  });
});
