/** Shared pieces of the integration suite: real MariaDB servers and dtool's real deps. */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { mkdtemp, readdir, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createConnection, type Connection } from 'mysql2/promise';
import { GenericContainer, Wait, type StartedTestContainer } from 'testcontainers';
import { createDefaultDeps, type Deps } from '../../src/deps.js';
import type { DockerPort } from '../../src/docker/port.js';
import type { RunEvent } from '../../src/events.js';
import { quoteOption } from '../../src/helpers/mysql/credentials.js';

export const TEST_LABEL = 'dtool.test';

export interface TestDeps extends Deps {
  readonly events: RunEvent[];
}

export async function testDeps(options: { signal?: AbortSignal; docker?: DockerPort } = {}): Promise<TestDeps> {
  const events: RunEvent[] = [];
  const deps = await createDefaultDeps({
    reporter: (event) => events.push(event),
    ...(options.signal ? { signal: options.signal } : {}),
    ...(options.docker ? { docker: options.docker } : {}),
  });
  return { ...deps, events };
}

export async function tempDir(prefix = 'dtool-it-'): Promise<string> {
  return mkdtemp(join(tmpdir(), prefix));
}

export const ROOT_PASSWORD = `r00t'pa"ss\\word`;

/** A credentials file for root; returns its path. */
export async function rootCredentials(dir: string, password = ROOT_PASSWORD): Promise<string> {
  const path = join(dir, 'root.cnf');
  await writeFile(path, `[client]\nuser=root\npassword=${quoteOption(password)}\n`, { mode: 0o600 });
  return path;
}

export async function serverImage(): Promise<string> {
  const deps = await createDefaultDeps();
  return (await deps.images.ensure('mariadb')).reference;
}

/** A MariaDB server from dtool's image, root's password set from a secret file at first start. */
export async function startMariaDb(
  options: { rootPassword?: string; network?: string; labels?: Record<string, string> } = {},
): Promise<StartedTestContainer> {
  let container = new GenericContainer(await serverImage())
    .withLabels({ [TEST_LABEL]: 'true', ...options.labels })
    .withCopyContentToContainer([{ content: options.rootPassword ?? ROOT_PASSWORD, target: '/run/secrets/root-password', mode: 0o400 }])
    // testcontainers matches line by line: the second line of MariaDB's ready message.
    .withWaitStrategy(Wait.forLogMessage(/^Version: .*port: 3306\b/))
    .withStartupTimeout(120_000);
  if (options.network) container = container.withNetworkMode(options.network);
  return container.start();
}

/** Runs SQL as root over the server's socket (no password needed inside the container). */
export async function sql(server: StartedTestContainer, statements: string, database?: string): Promise<string> {
  const result = await server.exec([
    'mariadb',
    '--default-character-set=utf8mb4',
    '--batch',
    '--skip-column-names',
    ...(database ? [database] : []),
    '-e',
    statements,
  ]);
  if (result.exitCode !== 0) throw new Error(`SQL failed (${result.exitCode}): ${result.output}`);
  return result.stdout;
}

/** Rich fixture: utf8mb4 text, BLOBs, a view, a trigger, a procedure, a function, an event. */
export const FIXTURE_SQL = `
CREATE DATABASE shop CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci;
USE shop;
CREATE TABLE customers (id INT PRIMARY KEY AUTO_INCREMENT, name VARCHAR(100) NOT NULL, note TEXT) ENGINE=InnoDB;
CREATE TABLE files (id INT PRIMARY KEY AUTO_INCREMENT, customer_id INT NOT NULL, body LONGBLOB, FOREIGN KEY (customer_id) REFERENCES customers(id)) ENGINE=InnoDB;
CREATE TABLE audit (id INT PRIMARY KEY AUTO_INCREMENT, what VARCHAR(200)) ENGINE=InnoDB;
-- A legacy latin1 table with non-ASCII ENUM values: its schema is dumped as UTF-8 text and
-- its rows as latin1 bytes; both must come back as they were.
CREATE TABLE legacy (id INT PRIMARY KEY, kind ENUM('café', 'naïve', 'plain') NOT NULL, label VARCHAR(40)) ENGINE=InnoDB CHARACTER SET latin1;
INSERT INTO legacy VALUES (1, 'café', 'Zoë'), (2, 'naïve', 'Ærø'), (3, 'plain', NULL);
INSERT INTO customers (name, note) VALUES ('Zoë', 'café ☕ naïve'), ('李小龙', '𝄞 music clef'), ('O''Brien', 'quote '' and backslash \\\\'), ('emoji', '😀🎉🚀');
INSERT INTO files (customer_id, body) VALUES (1, UNHEX('00FF10DEADBEEF00')), (2, RANDOM_BYTES(1024)), (3, REPEAT(UNHEX('00'), 4096)), (4, NULL);
CREATE VIEW customer_files AS SELECT c.name, LENGTH(f.body) AS size FROM customers c JOIN files f ON f.customer_id = c.id;
CREATE TRIGGER customers_audit AFTER INSERT ON customers FOR EACH ROW INSERT INTO audit (what) VALUES (CONCAT('new customer ', NEW.name));
CREATE PROCEDURE add_customer(IN n VARCHAR(100)) INSERT INTO customers (name) VALUES (n);
CREATE FUNCTION shout(s VARCHAR(100)) RETURNS VARCHAR(100) DETERMINISTIC RETURN UPPER(s);
CREATE EVENT nightly ON SCHEDULE EVERY 1 DAY DO DELETE FROM audit WHERE id < 0;
CALL add_customer('via procedure');
CREATE DATABASE other;
CREATE TABLE other.numbers (n BIGINT PRIMARY KEY, label VARCHAR(20));
INSERT INTO other.numbers SELECT seq, CONCAT('n', seq) FROM seq_1_to_5000;
`;

/**
 * A connection from this test process straight to the server, with mysql2: a client that
 * shares no code with the helper images (nor with the server's own `mariadb` client), so a
 * bug in those cannot hide in the checks made through it.
 */
export async function connectTo(server: StartedTestContainer, password = ROOT_PASSWORD): Promise<Connection> {
  const host =
    server
      .getNetworkNames()
      .map((n) => server.getIpAddress(n))
      .find(Boolean) ?? server.getHost();
  return createConnection({ host, port: 3306, user: 'root', password, charset: 'utf8mb4', supportBigNumbers: true, bigNumberStrings: true });
}

/** Per-table row count and CHECKSUM TABLE of the user schemas, asked over mysql2 (see connectTo). */
export async function tableChecksums(server: StartedTestContainer, schemas: readonly string[]): Promise<Record<string, string>> {
  const connection = await connectTo(server);
  try {
    const [tables] = await connection.query<import('mysql2').RowDataPacket[]>(
      `SELECT table_schema AS s, table_name AS t FROM information_schema.tables WHERE table_type = 'BASE TABLE' AND table_schema IN (?) ORDER BY 1, 2`,
      [schemas],
    );
    const result: Record<string, string> = {};
    for (const { s, t } of tables) {
      const table = `${connection.escapeId(s)}.${connection.escapeId(t)}`;
      const [[checksum]] = await connection.query<import('mysql2').RowDataPacket[]>(`CHECKSUM TABLE ${table}`);
      const [[count]] = await connection.query<import('mysql2').RowDataPacket[]>(`SELECT COUNT(*) AS n FROM ${table}`);
      result[`${s}.${t}`] = `${count!.n}:${checksum!.Checksum}`;
    }
    return result;
  } finally {
    await connection.end();
  }
}

/** Routines, triggers, views and events of a schema, by name. */
export async function schemaObjects(server: StartedTestContainer, schema: string): Promise<string[]> {
  const out = await sql(
    server,
    `SELECT CONCAT('routine:', routine_name) FROM information_schema.routines WHERE routine_schema='${schema}'
     UNION ALL SELECT CONCAT('trigger:', trigger_name) FROM information_schema.triggers WHERE trigger_schema='${schema}'
     UNION ALL SELECT CONCAT('view:', table_name) FROM information_schema.views WHERE table_schema='${schema}'
     UNION ALL SELECT CONCAT('event:', event_name) FROM information_schema.events WHERE event_schema='${schema}'`,
  );
  return out.split('\n').filter(Boolean).sort();
}

/** dtool's own containers still present (left over), by helper label. */
export async function dtoolContainers(docker: DockerPort): Promise<string[]> {
  return (await docker.listContainers({ labels: ['dtool.managed'], all: true })).map((c) => c.name);
}

/** A folder's entries without `.dtool.lock`: the lock file dtool keeps in each target folder (it is never deleted). */
export async function listFolder(dir: string): Promise<string[]> {
  return (await readdir(dir)).filter((name) => name !== '.dtool.lock');
}

/** The real CLI as a child process (built in dist/), its output collected as it comes. */
export interface CliProcess {
  readonly child: ChildProcess;
  /** stdout and stderr so far, in arrival order. */
  output(): string;
  readonly stdout: () => string;
  readonly stderr: () => string;
  readonly exited: Promise<{ readonly code: number | null; readonly signal: NodeJS.Signals | null }>;
}

export function startDtool(args: readonly string[]): CliProcess {
  const child = spawn(process.execPath, [join(process.cwd(), 'dist/cli/main.js'), ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  let stdout = '';
  let stderr = '';
  child.stdout!.on('data', (chunk: Buffer) => {
    stdout += chunk.toString();
    output += chunk.toString();
  });
  child.stderr!.on('data', (chunk: Buffer) => {
    stderr += chunk.toString();
    output += chunk.toString();
  });
  const exited = once(child, 'exit').then(([code, signal]) => ({ code: code as number | null, signal: signal as NodeJS.Signals | null }));
  return { child, output: () => output, stdout: () => stdout, stderr: () => stderr, exited };
}

/** Polls `probe` every 200 ms until it holds or `limitMs` passes; returns its last value. Bounded, never a timed assertion. */
export async function pollUntil<T>(probe: () => T | Promise<T>, done: (value: T) => boolean, limitMs: number): Promise<T> {
  const deadline = Date.now() + limitMs;
  let value = await probe();
  while (!done(value) && Date.now() < deadline) {
    await new Promise((resolve) => setTimeout(resolve, 200));
    value = await probe();
  }
  return value;
}

/** IDs of dtool's containers of one helper kind, running or not (`docker ps -a` by label). */
export function helperContainers(helper: string): string[] {
  return execFileSync('docker', ['ps', '-aq', '--filter', `label=dtool.helper=${helper}`], { encoding: 'utf8' })
    .split('\n')
    .filter(Boolean);
}
