/**
 * `dtool db-init`: make a server (running, or an empty data volume) hold a database, a user
 * with its grants and root's password — idempotently — and apply each seed file once.
 * Applied seeds are recorded with their sha256 in `_dtool.applied_seeds`; a seed whose
 * content changed since it was applied is reported, never silently re-applied.
 */
import { createHash } from 'node:crypto';
import { basename, resolve } from 'node:path';
import type { Deps } from '../../deps.js';
import { DtoolError, UsageError } from '../../errors.js';
import { readInputFile } from '../../host/read-input.js';
import { MARIADB_IMAGE, MYSQL_TOOLS_IMAGE, SERVER_CAPABILITIES, asHostUser, clientCnfFor, readCredentialsFile, runMysqlTool } from './common.js';
import type { Credentials } from './credentials.js';
import { parseLink, resolveTarget, type LinkSpec } from './target.js';

export interface SeedFile {
  readonly name: string;
  readonly path: string;
  readonly sha256: string;
  readonly content: string;
}

export type DbInitTarget =
  | { readonly kind: 'link'; readonly link: LinkSpec; readonly credentialsFile?: string }
  | { readonly kind: 'datadir-volume'; readonly volume: string };

export interface DbInitParams {
  readonly target: DbInitTarget;
  readonly database: string;
  readonly user?: string;
  readonly passwordFile?: string;
  readonly rootPasswordFile?: string;
  readonly seeds: readonly string[];
}

const IDENTIFIER = /^[A-Za-z0-9_$][A-Za-z0-9_$-]{0,63}$/;
const USER_NAME = /^[A-Za-z0-9_.$-]{1,80}$/;
const VOLUME_NAME = /^[A-Za-z0-9][A-Za-z0-9_.-]+$/;

/** What the CLI (or a library user) hands in, unvalidated. */
export interface RawDbInitOptions {
  readonly link?: string;
  readonly datadirVolume?: string;
  readonly database?: string;
  readonly user?: string;
  readonly passwordFile?: string;
  readonly rootPasswordFile?: string;
  readonly credentials?: string;
  readonly seed?: readonly string[];
}

export function parseDbInitParams(raw: RawDbInitOptions, cwd: string): DbInitParams {
  if (!raw.database) throw new UsageError('--database NAME is required');
  if (!IDENTIFIER.test(raw.database) || raw.database.startsWith('_dtool')) {
    throw new UsageError(`invalid database name "${raw.database}": use up to 64 letters, digits, "_", "$" or "-"`);
  }
  if ((raw.link === undefined) === (raw.datadirVolume === undefined)) {
    throw new UsageError('give exactly one of --link CONTAINER and --datadir-volume VOLUME');
  }
  if (raw.user !== undefined && !USER_NAME.test(raw.user)) {
    throw new UsageError(`invalid user name "${raw.user}": use up to 80 letters, digits, "_", ".", "$" or "-"`);
  }
  if ((raw.user === undefined) !== (raw.passwordFile === undefined)) {
    throw new UsageError('--user and --password-file go together');
  }
  let target: DbInitTarget;
  if (raw.link !== undefined) {
    if (!raw.credentials && !raw.rootPasswordFile) {
      throw new UsageError('to reach a running server give --root-password-file (connects as root) or --credentials FILE');
    }
    target = { kind: 'link', link: parseLink(raw.link), ...(raw.credentials ? { credentialsFile: resolve(cwd, raw.credentials) } : {}) };
  } else {
    if (!VOLUME_NAME.test(raw.datadirVolume!)) throw new UsageError(`invalid volume name "${raw.datadirVolume}"`);
    if (raw.credentials) throw new UsageError('--credentials applies to --link only: a data volume is initialised through the server socket');
    target = { kind: 'datadir-volume', volume: raw.datadirVolume! };
  }
  const seeds = (raw.seed ?? []).map((s) => resolve(cwd, s));
  const names = seeds.map((s) => basename(s));
  const duplicate = names.find((n, i) => names.indexOf(n) !== i);
  if (duplicate) throw new UsageError(`two seed files are named ${duplicate}: seeds are recorded by file name`);
  return {
    target,
    database: raw.database,
    ...(raw.user ? { user: raw.user, passwordFile: resolve(cwd, raw.passwordFile!) } : {}),
    ...(raw.rootPasswordFile ? { rootPasswordFile: resolve(cwd, raw.rootPasswordFile) } : {}),
    seeds,
  };
}

export function quoteIdentifier(name: string): string {
  return `\`${name.replace(/`/g, '``')}\``;
}

export function quoteString(value: string): string {
  return `'${value.replace(/\\/g, '\\\\').replace(/'/g, "\\'").replace(/\0/g, '\\0')}'`;
}

const SEEDS_TABLE = '`_dtool`.`applied_seeds`';
/** quoteString escapes with backslashes: make sure the session reads them as escapes. */
const KEEP_BACKSLASH_ESCAPES = "SET SESSION sql_mode = REPLACE(@@SESSION.sql_mode, 'NO_BACKSLASH_ESCAPES', '');";

/** Pure: the idempotent statements that bring a server to the declared state, ending with the applied-seeds listing. */
export function ensureSql(options: { database: string; user?: string; password?: string; rootPassword?: string }): string {
  const db = quoteIdentifier(options.database);
  const lines = [KEEP_BACKSLASH_ESCAPES, `CREATE DATABASE IF NOT EXISTS ${db} CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci;`];
  if (options.user && options.password !== undefined) {
    const account = `${quoteString(options.user)}@'%'`;
    lines.push(
      `CREATE USER IF NOT EXISTS ${account} IDENTIFIED BY ${quoteString(options.password)};`,
      `ALTER USER ${account} IDENTIFIED BY ${quoteString(options.password)};`,
      `GRANT ALL PRIVILEGES ON ${db}.* TO ${account};`,
    );
  }
  if (options.rootPassword !== undefined) {
    const password = quoteString(options.rootPassword);
    // Keep socket login for the local root, so the data volume can be initialised again.
    lines.push(
      `ALTER USER 'root'@'localhost' IDENTIFIED VIA unix_socket OR mysql_native_password USING PASSWORD(${password});`,
      `ALTER USER IF EXISTS 'root'@'%' IDENTIFIED BY ${password};`,
    );
  }
  lines.push(
    'CREATE DATABASE IF NOT EXISTS `_dtool` CHARACTER SET utf8mb4;',
    `CREATE TABLE IF NOT EXISTS ${SEEDS_TABLE} (name VARCHAR(255) PRIMARY KEY, sha256 CHAR(64) NOT NULL, applied_at TIMESTAMP NOT NULL DEFAULT CURRENT_TIMESTAMP) ENGINE=InnoDB;`,
    'FLUSH PRIVILEGES;',
    `SELECT name, sha256 FROM ${SEEDS_TABLE} ORDER BY name;`,
  );
  return `${lines.join('\n')}\n`;
}

/**
 * Pure: each seed's own statements inside the database, each followed by its record. The
 * seeds are inlined rather than `source`d: the client stops a batch at the first error,
 * but carries on after an error inside a sourced file.
 */
export function applySeedsSql(database: string, seeds: readonly SeedFile[]): string {
  const parts: string[] = [];
  for (const seed of seeds) {
    const body = seed.content.trimEnd();
    parts.push(
      `USE ${quoteIdentifier(database)};`,
      `-- seed ${seed.name}`,
      // The last statement may lack its semicolon.
      body === '' || body.endsWith(';') ? body : `${body};`,
      // A seed may leave the delimiter or sql_mode changed; the record must still parse.
      'DELIMITER ;',
      KEEP_BACKSLASH_ESCAPES,
      `INSERT INTO ${SEEDS_TABLE} (name, sha256) VALUES (${quoteString(seed.name)}, ${quoteString(seed.sha256)});`,
    );
  }
  return `${parts.join('\n')}\n`;
}

export interface SeedPlan {
  readonly apply: readonly SeedFile[];
  readonly unchanged: readonly SeedFile[];
  readonly changed: readonly SeedFile[];
}

/** Pure: which seeds to apply, given what the server recorded as applied. */
export function planSeeds(applied: ReadonlyMap<string, string>, seeds: readonly SeedFile[]): SeedPlan {
  const apply: SeedFile[] = [];
  const unchanged: SeedFile[] = [];
  const changed: SeedFile[] = [];
  for (const seed of seeds) {
    const recorded = applied.get(seed.name);
    if (recorded === undefined) apply.push(seed);
    else if (recorded === seed.sha256) unchanged.push(seed);
    else changed.push(seed);
  }
  return { apply, unchanged, changed };
}

export function parseAppliedSeeds(stdout: string): Map<string, string> {
  const applied = new Map<string, string>();
  for (const line of stdout.split('\n')) {
    const [name, sha] = line.split('\t');
    if (name && sha && /^[0-9a-f]{64}$/.test(sha.trim())) applied.set(name, sha.trim());
  }
  return applied;
}

export interface DbInitReport {
  readonly target: string;
  readonly database: string;
  readonly user?: string;
  readonly seeds: readonly { readonly name: string; readonly status: 'applied' | 'unchanged' | 'changed' }[];
  /** With --swarm: the node that runs the target. */
  readonly node?: string;
}

async function readSecretFile(path: string, flag: string): Promise<string> {
  const value = (await readInputFile(path, flag)).toString('utf8').replace(/\r?\n$/, '');
  if (value === '') throw new UsageError(`${flag} ${path} is empty`);
  return value;
}

async function readSeed(path: string): Promise<SeedFile> {
  const content = await readInputFile(path, 'seed');
  return { name: basename(path), path, sha256: createHash('sha256').update(content).digest('hex'), content: content.toString('utf8') };
}

/** How SQL reaches the server: through a linked client, or a private server on the data volume. */
interface SqlRunner {
  readonly targetName: string;
  run(sqlFiles: readonly { name: string; content: string }[]): Promise<string>;
}

async function linkRunner(deps: Deps, link: LinkSpec, credentials: Credentials): Promise<SqlRunner> {
  const target = await resolveTarget(deps.docker, link);
  const { reference: image } = await deps.images.ensure(MYSQL_TOOLS_IMAGE);
  const clientCnf = clientCnfFor(credentials, target.host);
  return {
    targetName: target.name,
    run: async (sqlFiles) =>
      (
        await runMysqlTool(
          deps,
          {
            helper: 'mysql-db-init',
            image,
            command: ['dtool-sql', ...sqlFiles.map((f) => `/run/secrets/${f.name}`)],
            ...asHostUser(),
            secrets: [{ name: 'client.cnf', content: clientCnf }, ...sqlFiles],
            network: target.network,
          },
          target.name,
        )
      ).stdout,
  };
}

async function datadirRunner(deps: Deps, volume: string): Promise<SqlRunner> {
  const { reference: image } = await deps.images.ensure(MARIADB_IMAGE);
  return {
    targetName: `volume ${volume}`,
    run: async (sqlFiles) =>
      (
        await runMysqlTool(
          deps,
          {
            helper: 'mariadb-datadir-init',
            image,
            entrypoint: ['dtool-datadir-init'],
            command: sqlFiles.map((f) => `/run/secrets/${f.name}`),
            mounts: [{ type: 'volume', source: volume, target: '/var/lib/mysql', readOnly: false }],
            secrets: [...sqlFiles],
            tmpfs: ['/run/mysqld'],
            capabilities: SERVER_CAPABILITIES,
            network: { mode: 'none' },
          },
          `volume ${volume}`,
        )
      ).stdout,
  };
}

export async function dbInit(deps: Deps, params: DbInitParams): Promise<DbInitReport> {
  const password = params.passwordFile ? await readSecretFile(params.passwordFile, '--password-file') : undefined;
  const rootPassword = params.rootPasswordFile ? await readSecretFile(params.rootPasswordFile, '--root-password-file') : undefined;
  const seeds = await Promise.all(params.seeds.map(readSeed));

  const runner =
    params.target.kind === 'link'
      ? await linkRunner(
          deps,
          params.target.link,
          params.target.credentialsFile ? await readCredentialsFile(params.target.credentialsFile) : { user: 'root', password: rootPassword! },
        )
      : await datadirRunner(deps, params.target.volume);

  const ensure = ensureSql({
    database: params.database,
    ...(params.user ? { user: params.user } : {}),
    ...(password !== undefined ? { password } : {}),
    ...(rootPassword !== undefined ? { rootPassword } : {}),
  });
  const applied = parseAppliedSeeds(await runner.run([{ name: 'ensure.sql', content: ensure }]));
  const plan = planSeeds(applied, seeds);

  if (plan.apply.length > 0) {
    await runner.run([{ name: 'apply-seeds.sql', content: applySeedsSql(params.database, plan.apply) }]);
  }
  for (const seed of plan.changed) {
    deps.reporter({ type: 'warning', message: `seed ${seed.name} changed since it was applied; not re-applied` });
  }
  const status = (seed: SeedFile) => (plan.apply.includes(seed) ? 'applied' : plan.changed.includes(seed) ? 'changed' : 'unchanged');
  return {
    target: runner.targetName,
    database: params.database,
    ...(params.user ? { user: params.user } : {}),
    seeds: seeds.map((seed) => ({ name: seed.name, status: status(seed) })),
  };
}

/** A changed seed is a conflict the user must resolve (like a migration checksum mismatch). */
export function dbInitReportError(report: DbInitReport): DtoolError | undefined {
  const changed = report.seeds.filter((s) => s.status === 'changed').map((s) => s.name);
  if (changed.length === 0) return undefined;
  return new DtoolError('CONFLICT', `seed${changed.length > 1 ? 's' : ''} changed since applied: ${changed.join(', ')}`, {
    hint: 'seeds are applied once; put new changes in a new seed file',
  });
}
