/** What the MySQL helpers share: image names, the default port, the helper user, credentials, tool runs. */
import type { Deps } from '../../deps.js';
import { readInputFile } from '../../host/read-input.js';
import { runHelper } from '../../run/run-helper.js';
import type { HelperResult, HelperRunSpec } from '../../core/helper-spec.js';
import { parseCredentials, toClientCnf, type Credentials } from './credentials.js';
import { mysqlHelperError } from './helper-errors.js';

/** Client-side tools: dump, restore, checksum, SQL. */
export const MYSQL_TOOLS_IMAGE = 'mysql-tools';
/** The server, also used for throwaway verify servers and datadir initialisation. */
export const MARIADB_IMAGE = 'mariadb';
export const MYSQL_PORT = 3306;

/**
 * What a server container's root needs, and nothing more: it chowns the datadir and
 * becomes the mysql user (CHOWN, SETUID, SETGID); it reads the secret files, which belong
 * to the host user (DAC_OVERRIDE); and dtool-guard, still root, must be able to stop the
 * server, which by then runs as mysql (KILL), for a clean shutdown when its caller is gone.
 */
export const SERVER_CAPABILITIES: readonly string[] = ['CHOWN', 'DAC_OVERRIDE', 'KILL', 'SETGID', 'SETUID'];

export async function readCredentialsFile(path: string): Promise<Credentials> {
  return parseCredentials((await readInputFile(path, 'credentials file')).toString('utf8'), path);
}

/** The client defaults file that points `credentials` at a server reachable as `host`. */
export function clientCnfFor(credentials: Credentials, host: string): string {
  return toClientCnf(credentials, { host, port: credentials.port ?? MYSQL_PORT });
}

/** Client tools run as the calling user, so the files they write belong to them. */
export function asHostUser(): { readonly user?: string } {
  return typeof process.getuid === 'function' ? { user: `${process.getuid()}:${process.getgid!()}` } : {};
}

/** Runs a mysql-tools script; a non-zero exit becomes the error its documented code stands for. */
export async function runMysqlTool(deps: Deps, spec: HelperRunSpec, targetName: string): Promise<HelperResult> {
  const result = await runHelper(deps, spec, { allowFailure: true });
  if (result.exitCode !== 0) throw mysqlHelperError(result, targetName);
  return result;
}
