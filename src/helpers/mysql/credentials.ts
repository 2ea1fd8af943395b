/**
 * Database credentials come from a file: my.cnf style (`[client]` user/password/port) or
 * the seed's dbcreds.yml (`USER:` / `PASS:` lines). They are handed to helpers only as a
 * client defaults file mounted at /run/secrets/client.cnf.
 */
import { CredentialsError } from '../../errors.js';

export interface Credentials {
  readonly user: string;
  readonly password: string;
  readonly port?: number;
}

export interface Endpoint {
  readonly host: string;
  readonly port: number;
}

const CLIENT_SECTIONS = new Set(['client', 'mysql', 'mariadb', 'mysqldump', 'mariadb-dump', 'client-mariadb']);

function unquote(value: string): string {
  const trimmed = value.trim();
  const quote = trimmed[0];
  if ((quote === '"' || quote === "'") && trimmed.endsWith(quote) && trimmed.length >= 2) {
    const inner = trimmed.slice(1, -1);
    return quote === '"' ? inner.replace(/\\(["\\])/g, '$1') : inner;
  }
  return trimmed;
}

function parsePort(value: string, source: string): number {
  const port = Number(value);
  if (!Number.isInteger(port) || port < 1 || port > 65535) throw new CredentialsError(`${source}: invalid port "${value}"`);
  return port;
}

function parseMyCnf(text: string, source: string): Credentials {
  let section = '';
  const values = new Map<string, string>();
  for (const raw of text.split(/\r?\n/)) {
    const line = raw.trim();
    if (line === '' || line.startsWith('#') || line.startsWith(';')) continue;
    const header = /^\[([^\]]+)\]$/.exec(line);
    if (header) {
      section = header[1]!.trim().toLowerCase();
      continue;
    }
    if (!CLIENT_SECTIONS.has(section)) continue;
    const eq = line.indexOf('=');
    if (eq < 0) continue;
    const key = line.slice(0, eq).trim().toLowerCase().replace(/_/g, '-');
    values.set(key, unquote(line.slice(eq + 1)));
  }
  const user = values.get('user');
  const password = values.get('password');
  if (!user) throw new CredentialsError(`${source}: no user in a [client] section`);
  if (password === undefined) throw new CredentialsError(`${source}: no password in a [client] section`);
  const port = values.get('port');
  return { user, password, ...(port ? { port: parsePort(port, source) } : {}) };
}

/** The seed's format: `USER:name` and `PASS:secret` lines (awk -F: style, spaces trimmed). */
function parseDbCreds(text: string, source: string): Credentials {
  const field = (name: string) => {
    const line = text.split(/\r?\n/).find((l) => l.trim().toUpperCase().startsWith(`${name}:`));
    return line === undefined ? undefined : unquote(line.slice(line.indexOf(':') + 1));
  };
  const user = field('USER');
  const password = field('PASS');
  if (!user || password === undefined) throw new CredentialsError(`${source}: expected USER: and PASS: lines`);
  return { user, password };
}

export function parseCredentials(text: string, source = 'credentials file'): Credentials {
  if (/^\s*\[[^\]]+\]\s*$/m.test(text)) return parseMyCnf(text, source);
  if (/^\s*USER\s*:/im.test(text)) return parseDbCreds(text, source);
  throw new CredentialsError(`${source}: not a my.cnf ([client] section) nor a dbcreds.yml (USER:/PASS: lines)`);
}

/** Option-file values are double-quoted with `\` and `"` escaped, so any password survives. */
function quoteOption(value: string): string {
  if (/[\r\n]/.test(value)) throw new CredentialsError('credentials must not contain line breaks');
  return `"${value.replace(/["\\]/g, (c) => `\\${c}`)}"`;
}

export function toClientCnf(credentials: Credentials, endpoint: Endpoint): string {
  return [
    '[client]',
    `host=${endpoint.host}`,
    `port=${endpoint.port}`,
    `user=${quoteOption(credentials.user)}`,
    `password=${quoteOption(credentials.password)}`,
    '',
  ].join('\n');
}
