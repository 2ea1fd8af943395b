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

const OPTION_ESCAPES: Readonly<Record<string, string>> = { b: '\b', t: '\t', n: '\n', r: '\r', s: ' ', '\\': '\\', '"': '"', "'": "'" };

/** Cuts an unquoted `#` comment, tracking quotes as the client's option-file reader does. */
function removeEndComment(text: string): string {
  let quote: string | undefined;
  let escaped = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i]!;
    if ((c === '"' || c === "'") && !escaped) {
      if (quote === undefined) quote = c;
      else if (quote === c) quote = undefined;
    } else if (quote === undefined && c === '#') {
      return text.slice(0, i);
    }
    escaped = quote !== undefined && c === '\\' && !escaped;
  }
  return text;
}

/**
 * An option-file value as the MariaDB/MySQL clients read it: an unquoted `#` starts a
 * comment; one pair of surrounding quotes is stripped; `\\ \s \t \n \r \b \" \'` are unescaped
 * and any other backslash is kept as it is.
 */
export function optionValue(raw: string): string {
  let text = removeEndComment(raw).trim();
  if (text.length >= 2 && (text[0] === '"' || text[0] === "'") && text.endsWith(text[0])) text = text.slice(1, -1);
  return text.replace(/\\(.)/gs, (whole, next: string) => OPTION_ESCAPES[next] ?? whole);
}

/** The seed's YAML-ish values: surrounding quotes removed, nothing else interpreted. */
function unquote(value: string): string {
  const trimmed = value.trim();
  const quote = trimmed[0];
  if ((quote === '"' || quote === "'") && trimmed.endsWith(quote) && trimmed.length >= 2) return trimmed.slice(1, -1);
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
    values.set(key, optionValue(line.slice(eq + 1)));
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

/**
 * Writes a value so that `optionValue` (and the client) read it back unchanged: quoted,
 * backslashes doubled. Inner quotes need no escape, but they would let a `#` start a
 * comment, so the outer quote is the kind the value does not contain.
 */
export function quoteOption(value: string): string {
  if (/[\r\n]/.test(value)) throw new CredentialsError('credentials must not contain line breaks');
  const escaped = value.replace(/\\/g, '\\\\');
  if (!value.includes('#') || !value.includes('"')) return `"${escaped}"`;
  if (!value.includes("'")) return `'${escaped}'`;
  throw new CredentialsError('a password holding #, " and \' together cannot be written to a client option file');
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
