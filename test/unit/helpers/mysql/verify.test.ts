import { describe, expect, it } from 'vitest';
import { SERVER_READY, compareChecksums, parseChecksums, type TableChecksum } from '../../../../src/helpers/mysql/verify.js';

describe('parseChecksums', () => {
  it('reads schema, table, rows and checksum from each TSV line', () => {
    expect(parseChecksums('shop\torders\t120\t998877\nshop\tempty\t0\tNULL\n\n')).toEqual([
      { table: 'shop.orders', rows: 120, checksum: '998877' },
      { table: 'shop.empty', rows: 0, checksum: 'NULL' },
    ]);
  });

  it('treats a missing checksum column as NULL and empty output as no tables', () => {
    expect(parseChecksums('shop\tview_like\t0')).toEqual([{ table: 'shop.view_like', rows: 0, checksum: 'NULL' }]);
    expect(parseChecksums('')).toEqual([]);
  });
});

describe('compareChecksums', () => {
  const t = (table: string, rows: number, checksum: string): TableChecksum => ({ table, rows, checksum });
  const source = [t('shop.orders', 10, 'aaa'), t('shop.users', 3, 'bbb')];

  it('is ok when every table matches, whatever the order', () => {
    expect(compareChecksums(source, [...source].reverse())).toEqual({
      ok: true,
      tables: 2,
      mismatches: [],
      summary: '2 tables match (rows and CHECKSUM TABLE)',
    });
  });

  it('reports a table missing from the restored copy', () => {
    const report = compareChecksums(source, [source[0]!]);
    expect(report.ok).toBe(false);
    expect(report.mismatches).toEqual([{ table: 'shop.users', reason: 'missing from the restored copy' }]);
    expect(report.summary).toBe('1 difference across 2 source tables: shop.users (missing from the restored copy)');
  });

  it('reports a table that is only in the restored copy', () => {
    const report = compareChecksums(source, [...source, t('shop.extra', 1, 'c')]);
    expect(report.ok).toBe(false);
    expect(report.mismatches).toEqual([{ table: 'shop.extra', reason: 'not in the source' }]);
    // Counted against the source: an extra restored table is a difference, not a third table.
    expect(report.summary).toBe('1 difference across 2 source tables: shop.extra (not in the source)');
  });

  it('reports a row count difference before a checksum difference', () => {
    const report = compareChecksums(source, [t('shop.orders', 9, 'zzz'), source[1]!]);
    expect(report.mismatches).toEqual([{ table: 'shop.orders', reason: 'rows: source 10, restored 9' }]);
  });

  it('reports a checksum difference with equal row counts', () => {
    const report = compareChecksums(source, [source[0]!, t('shop.users', 3, 'xxx')]);
    expect(report.mismatches).toEqual([{ table: 'shop.users', reason: 'checksum: source bbb, restored xxx' }]);
    expect(report.summary).toBe('1 difference across 2 source tables: shop.users (checksum: source bbb, restored xxx)');
  });

  it('names at most three mismatches in the summary', () => {
    const many = ['a', 'b', 'c', 'd', 'e'].map((n) => t(`s.${n}`, 1, 'x'));
    const report = compareChecksums(many, []);
    expect(report.mismatches).toHaveLength(5);
    expect(report.summary).toBe(
      '5 differences across 5 source tables: s.a (missing from the restored copy); s.b (missing from the restored copy); s.c (missing from the restored copy)',
    );
  });

  it('matches two empty servers', () => {
    expect(compareChecksums([], [])).toMatchObject({ ok: true, tables: 0 });
  });
});

describe('SERVER_READY', () => {
  // MariaDB's ER_STARTUP message is "%s: ready for connections.\nVersion: '%s'  socket: '%s'  port: %d  %s":
  // the port is on the line after "ready for connections".
  const readyOn = (port: number) =>
    `2026-11-22 15:30:00 0 [Note] mariadbd: ready for connections.\nVersion: '10.11.6-MariaDB-0+deb12u1'  socket: '/run/mysqld/mysqld.sock'  port: ${port}  Debian 12\n`;

  it('does not match the bootstrap server, which listens on port 0', () => {
    expect(SERVER_READY.test(readyOn(0))).toBe(false);
  });

  // The port is on the second line, so the pattern must cross the newline (startService
  // tests it against a window of the accumulated log, not line by line).
  it("matches MariaDB's two-line ready message on port 3306", () => {
    expect(SERVER_READY.test(readyOn(3306))).toBe(true);
    expect(SERVER_READY.test(readyOn(3306).replace('\n', '\r\n'))).toBe(true);
  });

  it('matches the ready message amid the rest of the startup log', () => {
    const log = [
      '2026-11-22 15:29:59 0 [Note] InnoDB: Buffer pool(s) load completed at 261122 15:29:59',
      readyOn(0).trimEnd(),
      '2026-11-22 15:30:00 0 [Note] mariadbd (initiated by: unknown): Normal shutdown',
      readyOn(3306).trimEnd(),
      '',
    ].join('\n');
    expect(SERVER_READY.test(log)).toBe(true);
    expect(SERVER_READY.test(log.slice(0, log.lastIndexOf(readyOn(3306).trimEnd())))).toBe(false);
  });

  it.each([33060, 13306, 3307])('does not match a server on port %i', (port) => {
    expect(SERVER_READY.test(readyOn(port))).toBe(false);
  });

  it('does not match "ready for connections" without the Version line', () => {
    expect(SERVER_READY.test('2026-11-22 15:30:00 0 [Note] mariadbd: ready for connections.\n')).toBe(false);
  });
});
