import { describe, expect, it } from 'vitest';
import {
  MANIFEST_SUFFIX,
  artifactName,
  newestFirst,
  parseArtifactName,
  parseUtcStamp,
  utcStamp,
  type ArtifactName,
} from '../../../../src/helpers/mysql/naming.js';

const taken = new Date('2026-11-22T15:30:00.123Z');

describe('utcStamp', () => {
  it('writes a compact UTC timestamp without milliseconds', () => {
    expect(utcStamp(taken)).toBe('20261122T153000Z');
    expect(utcStamp(new Date('2027-01-02T03:04:05Z'))).toBe('20270102T030405Z');
  });

  it('is in UTC whatever the offset the date was written with', () => {
    expect(utcStamp(new Date('2026-11-22T23:30:00-02:00'))).toBe('20261123T013000Z');
  });

  it('is read back by parseUtcStamp, to the second', () => {
    expect(parseUtcStamp('20261122T153000Z')).toEqual(new Date('2026-11-22T15:30:00Z'));
    expect(parseUtcStamp('20261122T153000')).toBeUndefined();
    expect(parseUtcStamp('20261322T153000Z')).toBeUndefined();
  });
});

describe('artifactName', () => {
  it.each([
    ['mariadb-dump', 'zstd', 'db-20261122T153000Z.sql.zst'],
    ['mariadb-dump', 'gzip', 'db-20261122T153000Z.sql.gz'],
    ['mariadb-dump', 'none', 'db-20261122T153000Z.sql'],
    ['mydumper', 'zstd', 'db-20261122T153000Z.tar.zst'],
    ['mydumper', 'gzip', 'db-20261122T153000Z.tar.gz'],
    ['mydumper', 'none', 'db-20261122T153000Z.tar'],
  ] as const)('names a %s dump with %s compression %s', (engine, compression, name) => {
    expect(artifactName('db', taken, engine, compression)).toBe(name);
  });

  it('adds a sequence suffix for a second backup in the same second', () => {
    expect(artifactName('db', taken, 'mariadb-dump', 'zstd', 0)).toBe('db-20261122T153000Z.sql.zst');
    expect(artifactName('db', taken, 'mariadb-dump', 'zstd', 1)).toBe('db-20261122T153000Z-1.sql.zst');
    expect(artifactName('db', taken, 'mydumper', 'none', 12)).toBe('db-20261122T153000Z-12.tar');
  });
});

describe('parseArtifactName', () => {
  it('round-trips every name artifactName makes', () => {
    for (const engine of ['mariadb-dump', 'mydumper'] as const) {
      for (const compression of ['zstd', 'gzip', 'none'] as const) {
        for (const sequence of [0, 1, 7]) {
          const file = artifactName('my.db_1', taken, engine, compression, sequence);
          expect(parseArtifactName('my.db_1', file)).toEqual({ target: 'my.db_1', takenAt: new Date('2026-11-22T15:30:00Z'), sequence, file });
        }
      }
    }
  });

  it('does not claim files of another target, even a lookalike', () => {
    const ofDb2 = artifactName('db-2', taken, 'mariadb-dump', 'zstd');
    const ofDb = artifactName('db', taken, 'mariadb-dump', 'zstd', 2);
    expect(ofDb2).toBe('db-2-20261122T153000Z.sql.zst');
    expect(ofDb).toBe('db-20261122T153000Z-2.sql.zst');
    expect(parseArtifactName('db', ofDb2)).toBeUndefined();
    expect(parseArtifactName('db-2', ofDb)).toBeUndefined();
    expect(parseArtifactName('db', ofDb)?.sequence).toBe(2);
    expect(parseArtifactName('db-2', ofDb2)?.sequence).toBe(0);
    expect(parseArtifactName('d', ofDb)).toBeUndefined();
    expect(parseArtifactName('b', ofDb)).toBeUndefined();
  });

  it('treats the target name literally, not as a pattern', () => {
    expect(parseArtifactName('d.', 'db-20261122T153000Z.sql')).toBeUndefined();
    expect(parseArtifactName('a.b', 'aXb-20261122T153000Z.sql')).toBeUndefined();
  });

  it.each([
    ['a temp file', '.db-20261122T153000Z.sql.zst.tmp'],
    ['a mydumper temp folder', '.db-20261122T153000Z.sql.zst.tmp.d'],
    ['a manifest', `db-20261122T153000Z.sql.zst${MANIFEST_SUFFIX}`],
    ['the lock', '.dtool.lock'],
    ['a user file', 'db-notes.txt'],
    ['another extension', 'db-20261122T153000Z.sql.bz2'],
    ['a short stamp', 'db-2026112T153000Z.sql'],
    ['an impossible date', 'db-20261340T153000Z.sql'],
    ['a copy', 'db-20261122T153000Z (1).sql'],
  ])('ignores %s', (_, file) => {
    expect(parseArtifactName('db', file)).toBeUndefined();
  });
});

describe('newestFirst', () => {
  const parse = (file: string) => parseArtifactName('db', file)!;

  it('orders by time, then by sequence within one second', () => {
    const files = [
      'db-20261122T153000Z.sql.zst',
      'db-20261122T153000Z-2.sql.zst',
      'db-20261121T000000Z.sql.zst',
      'db-20261122T153000Z-10.sql.zst',
      'db-20261122T153001Z.sql.zst',
      'db-20261122T153000Z-1.sql.zst',
    ];
    const ordered = files
      .map(parse)
      .sort(newestFirst)
      .map((a: ArtifactName) => a.file);
    expect(ordered).toEqual([
      'db-20261122T153001Z.sql.zst',
      'db-20261122T153000Z-10.sql.zst',
      'db-20261122T153000Z-2.sql.zst',
      'db-20261122T153000Z-1.sql.zst',
      'db-20261122T153000Z.sql.zst',
      'db-20261121T000000Z.sql.zst',
    ]);
  });
});
