import { describe, expect, it } from 'vitest';
import { UsageError, exitCodeFor } from '../../../../src/errors.js';
import {
  applySeedsSql,
  dbInitReportError,
  ensureSql,
  parseAppliedSeeds,
  parseDbInitParams,
  planSeeds,
  quoteIdentifier,
  quoteString,
  type SeedFile,
} from '../../../../src/helpers/mysql/db-init.js';

const CWD = '/srv/app';
type Raw = Parameters<typeof parseDbInitParams>[0];
const linkRaw: Raw = { link: 'mariadb-1', database: 'shop', rootPasswordFile: 'root.pw' };

function usageMessage(raw: Raw): string {
  try {
    parseDbInitParams(raw, CWD);
  } catch (error) {
    expect(error).toBeInstanceOf(UsageError);
    return (error as UsageError).message;
  }
  throw new Error(`parseDbInitParams accepted ${JSON.stringify(raw)}`);
}

describe('parseDbInitParams', () => {
  it('reads a --link run, resolving files against the working directory', () => {
    expect(
      parseDbInitParams(
        {
          link: 'mariadb-1:db',
          database: 'shop',
          user: 'app',
          passwordFile: 'secrets/app.pw',
          credentials: '/etc/admin.cnf',
          seed: ['seeds/01.sql', '/abs/02.sql'],
        },
        CWD,
      ),
    ).toEqual({
      target: { kind: 'link', link: { container: 'mariadb-1', alias: 'db' }, credentialsFile: '/etc/admin.cnf' },
      database: 'shop',
      user: 'app',
      passwordFile: '/srv/app/secrets/app.pw',
      seeds: ['/srv/app/seeds/01.sql', '/abs/02.sql'],
    });
  });

  it('reads a --datadir-volume run', () => {
    expect(parseDbInitParams({ datadirVolume: 'shop-data', database: 'shop', rootPasswordFile: 'root.pw' }, CWD)).toEqual({
      target: { kind: 'datadir-volume', volume: 'shop-data' },
      database: 'shop',
      rootPasswordFile: '/srv/app/root.pw',
      seeds: [],
    });
  });

  it('requires exactly one of --link and --datadir-volume', () => {
    expect(usageMessage({ database: 'shop', rootPasswordFile: 'r' })).toBe('give exactly one of --link CONTAINER and --datadir-volume VOLUME');
    expect(usageMessage({ ...linkRaw, datadirVolume: 'v' })).toBe('give exactly one of --link CONTAINER and --datadir-volume VOLUME');
  });

  it('requires --database', () => {
    expect(usageMessage({ link: 'm', rootPasswordFile: 'r' })).toBe('--database NAME is required');
  });

  it('requires --user and --password-file together', () => {
    expect(usageMessage({ ...linkRaw, user: 'app' })).toBe('--user and --password-file go together');
    expect(usageMessage({ ...linkRaw, passwordFile: 'p' })).toBe('--user and --password-file go together');
  });

  it('needs a way to log in to a linked server', () => {
    expect(usageMessage({ link: 'm', database: 'shop' })).toMatch(/--root-password-file.*--credentials/);
  });

  it('refuses --credentials with a data volume', () => {
    expect(usageMessage({ datadirVolume: 'v1', database: 'shop', credentials: 'c' })).toMatch(/--credentials applies to --link only/);
  });

  it.each(['x`; DROP DATABASE mysql; --', "x'; DROP", 'a b', 'a;b', 'a.b', '', '_dtool', '_dtool_x', 'x'.repeat(65)])(
    'rejects the database name %j',
    (database) => {
      expect(usageMessage({ ...linkRaw, database })).toMatch(database === '' ? /--database NAME is required/ : /^invalid database name/);
    },
  );

  it.each(["app'@'%", 'app`', 'a b', 'a;b', "x'; DROP USER root; --", 'u'.repeat(81), ''])('rejects the user name %j', (user) => {
    expect(usageMessage({ ...linkRaw, user, passwordFile: 'p' })).toMatch(/^invalid user name/);
  });

  it.each(['-v', 'a', 'v/../x', 'v x'])('rejects the volume name %j', (volume) => {
    expect(usageMessage({ datadirVolume: volume, database: 'shop' })).toBe(`invalid volume name "${volume}"`);
  });

  it('refuses two seeds with the same file name, which would be recorded as one', () => {
    expect(usageMessage({ ...linkRaw, seed: ['a/01.sql', 'b/01.sql'] })).toBe('two seed files are named 01.sql: seeds are recorded by file name');
  });
});

describe('quoteIdentifier and quoteString', () => {
  it('backtick-quotes identifiers, doubling backticks', () => {
    expect(quoteIdentifier('shop')).toBe('`shop`');
    expect(quoteIdentifier('x`; DROP')).toBe('`x``; DROP`');
  });

  it('single-quotes strings, escaping backslash, quote and NUL', () => {
    expect(quoteString('plain')).toBe("'plain'");
    expect(quoteString("it's")).toBe("'it\\'s'");
    expect(quoteString('back\\slash')).toBe("'back\\\\slash'");
    expect(quoteString("\\'")).toBe("'\\\\\\''");
    expect(quoteString('nul\0byte')).toBe("'nul\\0byte'");
  });
});

const KEEP_BACKSLASH_ESCAPES = "SET SESSION sql_mode = REPLACE(@@SESSION.sql_mode, 'NO_BACKSLASH_ESCAPES', '');";

describe('ensureSql', () => {
  it('creates the database and the seeds table idempotently, and lists applied seeds last', () => {
    const sql = ensureSql({ database: 'shop' });
    expect(sql.split('\n')).toEqual([
      KEEP_BACKSLASH_ESCAPES,
      'CREATE DATABASE IF NOT EXISTS `shop` CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci;',
      'CREATE DATABASE IF NOT EXISTS `_dtool` CHARACTER SET utf8mb4;',
      'CREATE TABLE IF NOT EXISTS `_dtool`.`applied_seeds` (name VARCHAR(255) PRIMARY KEY, sha256 CHAR(64) NOT NULL, applied_at TIMESTAMP NOT NULL DEFAULT CURRENT_TIMESTAMP) ENGINE=InnoDB;',
      'FLUSH PRIVILEGES;',
      'SELECT name, sha256 FROM `_dtool`.`applied_seeds` ORDER BY name;',
      '',
    ]);
    expect(sql).not.toMatch(/USER/);
  });

  it('creates the user if missing, then always sets its password and grants', () => {
    const sql = ensureSql({ database: 'shop', user: 'app', password: 'pw' });
    expect(sql).toContain("CREATE USER IF NOT EXISTS 'app'@'%' IDENTIFIED BY 'pw';\n");
    expect(sql).toContain("ALTER USER 'app'@'%' IDENTIFIED BY 'pw';\n");
    expect(sql).toContain("GRANT ALL PRIVILEGES ON `shop`.* TO 'app'@'%';\n");
    expect(sql.indexOf('CREATE USER')).toBeLessThan(sql.indexOf('ALTER USER'));
    expect(sql.indexOf('ALTER USER')).toBeLessThan(sql.indexOf('GRANT'));
  });

  it('escapes a password holding quotes and backslashes, so it cannot end the string', () => {
    const password = "p'w\\'); DROP DATABASE shop; --";
    const sql = ensureSql({ database: 'shop', user: 'app', password });
    expect(sql).toContain("IDENTIFIED BY 'p\\'w\\\\\\'); DROP DATABASE shop; --';");
    // Each statement still ends where it should: no line has a stray statement after the string.
    for (const line of sql.trim().split('\n')) expect(line.endsWith(';')).toBe(true);
    expect(sql.split('\n').filter((l) => l.startsWith('DROP'))).toEqual([]);
  });

  it("sets root's password keeping socket login for local root", () => {
    const sql = ensureSql({ database: 'shop', rootPassword: "r'oot" });
    expect(sql).toContain("ALTER USER 'root'@'localhost' IDENTIFIED VIA unix_socket OR mysql_native_password USING PASSWORD('r\\'oot');\n");
    expect(sql).toContain("ALTER USER IF EXISTS 'root'@'%' IDENTIFIED BY 'r\\'oot';\n");
  });

  it('ignores a user without a password', () => {
    expect(ensureSql({ database: 'shop', user: 'app' })).toBe(ensureSql({ database: 'shop' }));
  });

  it('quotes the database name as an identifier', () => {
    expect(ensureSql({ database: 'my-shop$1' })).toContain('CREATE DATABASE IF NOT EXISTS `my-shop$1`');
  });

  // quoteString escapes with backslashes, which a server in NO_BACKSLASH_ESCAPES mode would
  // read literally (so `\'` would end the string): the mode is cleared before any string.
  it.each([
    ['no account', { database: 'shop' }],
    ['a user', { database: 'shop', user: 'app', password: "p'w\\" }],
    ['a root password', { database: 'shop', rootPassword: "r'oot" }],
  ])('first clears NO_BACKSLASH_ESCAPES for the session, with %s', (_, options) => {
    const lines = ensureSql(options).split('\n');
    expect(lines[0]).toBe(KEEP_BACKSLASH_ESCAPES);
    expect(lines.filter((line) => line === KEEP_BACKSLASH_ESCAPES)).toHaveLength(1);
  });
});

const seed = (name: string, sha: string): SeedFile => ({ name, path: `/seeds/${name}`, sha256: sha.repeat(64), content: '' });

describe('applySeedsSql', () => {
  const withContent = (file: SeedFile, content: string): SeedFile => ({ ...file, content });

  it('inlines each seed inside the database, resets the delimiter, then records it', () => {
    const sql = applySeedsSql('shop', [
      withContent(seed('01.sql', 'a'), 'CREATE TABLE t (id INT);\n'),
      withContent(seed("o'brien.sql", 'b'), 'INSERT INTO t VALUES (1)'),
    ]);
    expect(sql.split('\n')).toEqual([
      'USE `shop`;',
      '-- seed 01.sql',
      'CREATE TABLE t (id INT);',
      'DELIMITER ;',
      KEEP_BACKSLASH_ESCAPES,
      `INSERT INTO \`_dtool\`.\`applied_seeds\` (name, sha256) VALUES ('01.sql', '${'a'.repeat(64)}');`,
      'USE `shop`;',
      "-- seed o'brien.sql",
      // The missing final semicolon is supplied, so the record is not glued to the seed's last statement.
      'INSERT INTO t VALUES (1);',
      'DELIMITER ;',
      KEEP_BACKSLASH_ESCAPES,
      `INSERT INTO \`_dtool\`.\`applied_seeds\` (name, sha256) VALUES ('o\\'brien.sql', '${'b'.repeat(64)}');`,
      '',
    ]);
  });

  it('clears NO_BACKSLASH_ESCAPES before each record, since a seed may set it', () => {
    const lines = applySeedsSql('shop', [withContent(seed('back\\slash.sql', 'a'), "SET sql_mode = 'NO_BACKSLASH_ESCAPES';")]).split('\n');
    const record = lines.findIndex((line) => line.startsWith('INSERT INTO `_dtool`'));
    expect(lines.slice(0, record).lastIndexOf(KEEP_BACKSLASH_ESCAPES)).toBeGreaterThan(lines.indexOf("SET sql_mode = 'NO_BACKSLASH_ESCAPES';"));
    expect(applySeedsSql('shop', [])).toBe('\n');
  });
});

describe('planSeeds', () => {
  it('applies new seeds, skips unchanged ones and flags changed ones, keeping order', () => {
    const applied = new Map([
      ['01.sql', 'a'.repeat(64)],
      ['02.sql', 'b'.repeat(64)],
    ]);
    const plan = planSeeds(applied, [seed('01.sql', 'a'), seed('02.sql', 'c'), seed('03.sql', 'd'), seed('04.sql', 'e')]);
    expect(plan.apply.map((s) => s.name)).toEqual(['03.sql', '04.sql']);
    expect(plan.unchanged.map((s) => s.name)).toEqual(['01.sql']);
    expect(plan.changed.map((s) => s.name)).toEqual(['02.sql']);
  });

  it('applies everything on a fresh server', () => {
    expect(planSeeds(new Map(), [seed('01.sql', 'a')]).apply).toHaveLength(1);
  });
});

describe('parseAppliedSeeds', () => {
  it('reads name and sha256 pairs, skipping headers and junk', () => {
    const a = 'a'.repeat(64);
    const b = 'b'.repeat(64);
    const stdout = `name\tsha256\n01.sql\t${a}\n02.sql\t${b}\r\n03.sql\tnot-a-hash\n\njunk\n`;
    expect(parseAppliedSeeds(stdout)).toEqual(
      new Map([
        ['01.sql', a],
        ['02.sql', b],
      ]),
    );
  });

  it('is empty for no output', () => {
    expect(parseAppliedSeeds('').size).toBe(0);
  });
});

describe('dbInitReportError', () => {
  const report = (statuses: ('applied' | 'unchanged' | 'changed')[]) => ({
    target: 'db',
    database: 'shop',
    seeds: statuses.map((status, i) => ({ name: `0${i + 1}.sql`, status })),
  });

  it('is undefined unless a seed changed', () => {
    expect(dbInitReportError(report([]))).toBeUndefined();
    expect(dbInitReportError(report(['applied', 'unchanged']))).toBeUndefined();
  });

  it('is a CONFLICT naming the changed seeds', () => {
    const one = dbInitReportError(report(['applied', 'changed']))!;
    expect(one.code).toBe('CONFLICT');
    expect(one.message).toBe('seed changed since applied: 02.sql');
    expect(one.hint).toMatch(/new seed file/);
    expect(exitCodeFor(one)).toBe(14);
    expect(dbInitReportError(report(['changed', 'unchanged', 'changed']))!.message).toBe('seeds changed since applied: 01.sql, 03.sql');
  });
});
