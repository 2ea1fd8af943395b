/**
 * `--verify`: restore a fresh backup into a throwaway server and compare every table's
 * row count and CHECKSUM TABLE with the source. The throwaway server is always removed.
 */
import { randomBytes } from 'node:crypto';
import type { Deps } from '../../deps.js';
import { startService } from '../../run/service.js';
import type { HelperNetwork, HelperRunSpec } from '../../core/helper-spec.js';
import { MARIADB_IMAGE, MYSQL_TOOLS_IMAGE, SERVER_CAPABILITIES, asHostUser, clientCnfFor, runMysqlTool } from './common.js';
import type { Credentials } from './credentials.js';
import { loadArtifact } from './load-artifact.js';
import type { ResolvedTarget } from './target.js';

export interface TableChecksum {
  readonly table: string;
  readonly rows: number;
  readonly checksum: string;
}

export interface TableMismatch {
  readonly table: string;
  readonly reason: string;
}

export interface VerifyReport {
  readonly ok: boolean;
  readonly tables: number;
  readonly mismatches: readonly TableMismatch[];
  readonly summary: string;
  readonly seconds: number;
}

/** Parses dtool-checksum's TSV: schema, table, row count, checksum. */
export function parseChecksums(tsv: string): TableChecksum[] {
  return tsv
    .split('\n')
    .filter((line) => line.trim() !== '')
    .map((line) => {
      const [schema, table, rows, checksum] = line.split('\t');
      return { table: `${schema}.${table}`, rows: Number(rows), checksum: checksum ?? 'NULL' };
    });
}

export function compareChecksums(source: readonly TableChecksum[], restored: readonly TableChecksum[]): Omit<VerifyReport, 'seconds'> {
  const restoredByName = new Map(restored.map((t) => [t.table, t]));
  const mismatches: TableMismatch[] = [];
  for (const table of source) {
    const copy = restoredByName.get(table.table);
    if (!copy) mismatches.push({ table: table.table, reason: 'missing from the restored copy' });
    else if (copy.rows !== table.rows) mismatches.push({ table: table.table, reason: `rows: source ${table.rows}, restored ${copy.rows}` });
    else if (copy.checksum !== table.checksum)
      mismatches.push({ table: table.table, reason: `checksum: source ${table.checksum}, restored ${copy.checksum}` });
    restoredByName.delete(table.table);
  }
  for (const extra of restoredByName.keys()) mismatches.push({ table: extra, reason: 'not in the source' });
  const ok = mismatches.length === 0;
  return {
    ok,
    tables: source.length,
    mismatches,
    summary: ok
      ? `${source.length} tables match (rows and CHECKSUM TABLE)`
      : `${mismatches.length} difference${mismatches.length > 1 ? 's' : ''} across ${source.length} source tables: ${mismatches
          .slice(0, 3)
          .map((m) => `${m.table} (${m.reason})`)
          .join('; ')}`,
  };
}

function checksumSpec(image: string, clientCnf: string, network: HelperNetwork, databases?: readonly string[]): HelperRunSpec {
  return {
    helper: 'mysql-checksum',
    image,
    command: ['dtool-checksum', ...(databases ? ['--databases', databases.join(',')] : [])],
    ...asHostUser(),
    secrets: [{ name: 'client.cnf', content: clientCnf }],
    network,
  };
}

export async function checksumTables(
  deps: Deps,
  options: { readonly clientCnf: string; readonly network: HelperNetwork; readonly targetName: string; readonly databases?: readonly string[] },
): Promise<TableChecksum[]> {
  const { reference: image } = await deps.images.ensure(MYSQL_TOOLS_IMAGE);
  const result = await runMysqlTool(deps, checksumSpec(image, options.clientCnf, options.network, options.databases), options.targetName);
  return parseChecksums(result.stdout);
}

/** The throwaway server: root only, data on an anonymous volume removed with the container. */
export function throwawayServerSpec(image: string, rootPassword: string): HelperRunSpec {
  return {
    helper: 'mariadb-verify',
    image,
    command: [],
    secrets: [{ name: 'root-password', content: rootPassword }],
    mounts: [{ type: 'volume', target: '/var/lib/mysql', readOnly: false }],
    tmpfs: ['/run/mysqld'],
    capabilities: SERVER_CAPABILITIES,
    network: { mode: 'default' },
  };
}

/**
 * MariaDB logs readiness on two lines ("ready for connections." then "Version: … port: 3306").
 * The port matters: the private bootstrap server that initialises a datadir says port: 0.
 */
export const SERVER_READY = /ready for connections\.\r?\nVersion: [^\n]*port: 3306\b/;

export async function verifyBackup(
  deps: Deps,
  options: {
    readonly artifactPath: string;
    readonly source: ResolvedTarget;
    readonly credentials: Credentials;
    readonly databases?: readonly string[];
  },
): Promise<VerifyReport> {
  const started = deps.clock.now().getTime();
  const { reference: serverImage } = await deps.images.ensure(MARIADB_IMAGE);
  const rootPassword = randomBytes(18).toString('base64url');
  await using server = await startService(deps, throwawayServerSpec(serverImage, rootPassword), {
    logMatches: SERVER_READY,
    timeoutMs: 120_000,
  });
  const address = server.details.networks.find((n) => n.ipAddress)?.ipAddress;
  if (!address) throw new Error('throwaway server has no IP address');
  const throwawayCnf = clientCnfFor({ user: 'root', password: rootPassword }, address);
  const throwawayNetwork: HelperNetwork = { mode: 'network', name: server.details.networks[0]!.name };

  const sourceChecksums = checksumTables(deps, {
    clientCnf: clientCnfFor(options.credentials, options.source.host),
    network: options.source.network,
    targetName: options.source.name,
    ...(options.databases ? { databases: options.databases } : {}),
  });
  // Checksum the source while the copy loads: both are I/O-bound on different servers.
  const loaded = loadArtifact(deps, {
    artifactPath: options.artifactPath,
    clientCnf: throwawayCnf,
    network: throwawayNetwork,
    targetName: 'the throwaway verify server',
  });
  const [source] = await Promise.all([sourceChecksums, loaded]);
  const restored = await checksumTables(deps, {
    clientCnf: throwawayCnf,
    network: throwawayNetwork,
    targetName: 'the throwaway verify server',
    ...(options.databases ? { databases: options.databases } : {}),
  });
  return { ...compareChecksums(source, restored), seconds: (deps.clock.now().getTime() - started) / 1000 };
}
