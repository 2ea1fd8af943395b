/** What the MySQL helpers share: image names, the default port, the helper user, credentials. */
import { readFile } from 'node:fs/promises';
import { UsageError } from '../../errors.js';
import { parseCredentials, type Credentials } from './credentials.js';

/** Client-side tools: dump, restore, checksum, SQL. */
export const MYSQL_TOOLS_IMAGE = 'mysql-tools';
/** The server, also used for throwaway verify servers and datadir initialisation. */
export const MARIADB_IMAGE = 'mariadb';
export const MYSQL_PORT = 3306;

export async function readCredentialsFile(path: string): Promise<Credentials> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    throw new UsageError(`cannot read credentials file ${path} (${(error as NodeJS.ErrnoException).code ?? 'error'})`, { cause: error });
  }
  return parseCredentials(text, path);
}

/** Runs as the calling user, so the files it writes belong to them. */
export function hostUser(): string | undefined {
  return typeof process.getuid === 'function' ? `${process.getuid()}:${process.getgid!()}` : undefined;
}

