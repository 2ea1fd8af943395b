#!/usr/bin/env node
/**
 * make bench, remote rows: a backup through a TLS remote engine against the same backup on the
 * local engine, measured round-robin in the same run. Writes its table between the `remote`
 * markers of BENCHMARKS.md. Ratios, never timed asserts.
 *
 * The remote engine is scripts/remote-engine.sh's: a TLS-protected (mutual TLS) dockerd in the
 * dtool/dind container `dtool-remote-engine` on 127.0.0.1:23760, brought up (or found up) here;
 * dtool/mariadb and dtool/mysql-tools are copied into it at the references dtool's catalog looks
 * for, and removed again at the end if this bench copied them (the remote engine is shared and
 * left running). One MariaDB server on each engine, from dtool/mariadb, holding the same rows
 * (TABLES tables, generated deterministically from `seq_1_to_N`, ~BENCH_REMOTE_MB MB of InnoDB
 * data). Each timed run is the whole CLI, `dtool backup --link SERVER --out DIR --credentials FILE
 * --engine mariadb-dump --compress zstd --keep 1 --json` (no --verify), with the engine chosen by
 * the environment only (DOCKER_HOST/DOCKER_TLS_VERIFY/DOCKER_CERT_PATH from `remote-engine.sh
 * env`, or none: the local socket); the same with `--fetch DIR` as the second pair. As
 * references, a bare `docker run --rm` of the mysql-tools image on each engine.
 *
 * Env: BENCH_REMOTE_ROUNDS (timed runs per variant, default 7, at least 5), BENCH_REMOTE_MB
 * (data per server, default 40), BENCH_DOC (the file whose section is rewritten, default
 * BENCHMARKS.md).
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import { median, runBounded, writeSection } from './lib.mjs';

const root = new URL('..', import.meta.url).pathname;
const ROUNDS = Math.max(5, Number(process.env.BENCH_REMOTE_ROUNDS ?? 7));
const TARGET_MB = Math.max(1, Number(process.env.BENCH_REMOTE_MB ?? 40));
const TABLES = 4;
const SCRIPT = join(root, 'scripts/remote-engine.sh');
const CLI = join(root, 'dist/cli/main.js');
const ENGINE_CONTAINER = 'dtool-remote-engine';
const PASSWORD = 'bench-remote-password';
const LABEL = 'dtool.bench=true';
const SERVER = `dtool-bench-remote-db-${process.pid}`;
/** A container on each engine holding a file the artifact's size, for `docker cp` by hand. */
const PROBE = `dtool-bench-remote-cp-${process.pid}`;
/** --out on the remote engine's host (inside the DinD container). */
const REMOTE_OUT = `/srv/dtool-bench-remote-${process.pid}`;
const benchStarted = performance.now();
const log = (message) => process.stderr.write(`bench remote: ${message}\n`);
const loadNow = () =>
  loadavg()
    .map((x) => x.toFixed(2))
    .join(' ');

// ---- engines: the local socket, and the remote one through the script's variables -----------
/** This process's environment without any engine selection of its own. */
const baseEnv = Object.fromEntries(
  Object.entries(process.env).filter(([key]) => !/^DOCKER_(HOST|TLS|TLS_VERIFY|CERT_PATH|CONTEXT|CONFIG)$/.test(key) && key !== 'DTOOL_INSECURE'),
);
const sh = (cmd, args, env = baseEnv) => {
  const result = spawnSync(cmd, args, { encoding: 'utf8', env, maxBuffer: 64 << 20, timeout: 600_000 });
  if (result.status !== 0) throw new Error(`${cmd} ${args.join(' ')} exited ${result.status}: ${(result.stderr ?? '').trim().slice(-2000)}`);
  return result.stdout.trim();
};
const quiet = (cmd, args, env = baseEnv) => spawnSync(cmd, args, { encoding: 'utf8', env, timeout: 120_000 });

log('bringing up the remote engine (scripts/remote-engine.sh up)');
sh('bash', [SCRIPT, 'up']);
const remoteEnv = { ...baseEnv };
for (const line of sh('bash', [SCRIPT, 'env']).split('\n')) {
  const match = /^export ([A-Z_]+)=(.*)$/.exec(line.trim());
  if (match) remoteEnv[match[1]] = match[2].replace(/^'(.*)'$/, '$1');
}
const ENGINES = { local: baseEnv, remote: remoteEnv };
const docker = (engine, ...args) => sh('docker', args, ENGINES[engine]);

const { createDefaultDeps } = await import(join(root, 'dist/deps.js'));
const { SERVER_READY } = await import(join(root, 'dist/helpers/mysql/verify.js'));
const deps = await createDefaultDeps({ env: baseEnv });
const serverImage = (await deps.images.ensure('mariadb')).reference;
const toolsImage = (await deps.images.ensure('mysql-tools')).reference;

// The images at dtool's references, copied only where missing; remembered to be removed again.
const missing = [serverImage, toolsImage].filter((reference) => quiet('docker', ['image', 'inspect', reference], remoteEnv).status !== 0);
const copiedImages = missing.flatMap((reference) => {
  const id = docker('local', 'image', 'inspect', '-f', '{{.Id}}', reference);
  return docker('local', 'image', 'ls', '--no-trunc', '--format', '{{.ID}} {{.Repository}}:{{.Tag}}')
    .split('\n')
    .map((line) => line.split(' '))
    .filter(([imageId, tag]) => imageId === id && tag && !tag.includes('<none>'))
    .map(([, tag]) => tag);
});
if (missing.length > 0) {
  log(`copying ${missing.join(', ')} into the remote engine`);
  sh('bash', [SCRIPT, 'up', ...missing]);
}

// ---- work folders and the cleanup that always runs ---------------------------------------------
const work = mkdtempSync(join(tmpdir(), 'dtool-bench-remote-'));
const secrets = join(work, 'secrets');
mkdirSync(secrets, { mode: 0o700 });
writeFileSync(join(secrets, 'root-password'), PASSWORD, { mode: 0o400 });
const credentials = join(work, 'root.cnf');
writeFileSync(credentials, `[client]\nuser=root\npassword="${PASSWORD}"\n`, { mode: 0o600 });
const localOut = join(work, 'out');
const fetchDir = join(work, 'fetched');
const children = new Set();

let cleaned = false;
function cleanup() {
  if (cleaned) return;
  cleaned = true;
  // Only what this bench created: the two servers, the remote out folder, the images it copied.
  quiet('docker', ['rm', '-f', '-v', SERVER], baseEnv);
  quiet('docker', ['rm', '-f', '-v', SERVER], remoteEnv);
  quiet('docker', ['rm', '-f', '-v', PROBE], baseEnv);
  quiet('docker', ['rm', '-f', '-v', PROBE], remoteEnv);
  quiet('docker', ['exec', ENGINE_CONTAINER, 'rm', '-rf', REMOTE_OUT], baseEnv);
  if (copiedImages.length > 0) quiet('docker', ['image', 'rm', ...copiedImages], remoteEnv);
  rmSync(work, { recursive: true, force: true });
}
process.on('exit', cleanup);
for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP']) {
  process.on(signal, () => {
    for (const child of children) {
      try {
        child.kill('SIGTERM');
      } catch {}
    }
    cleanup();
    process.exit(130);
  });
}

/** A child process on `env`'s engine, bounded in time; resolves with its output and wall time. */
const run = (cmd, args, env, { timeoutSeconds = 300 } = {}) => runBounded(cmd, args, { env, timeoutSeconds, children });

// ---- the two servers, the same rows -----------------------------------------------------------
const sqlIn = (engine, statements) => docker(engine, 'exec', SERVER, 'mariadb', '--batch', '--skip-column-names', '-e', statements);

async function startServer(engine) {
  quiet('docker', ['rm', '-f', '-v', SERVER], ENGINES[engine]);
  // As on any engine: create, copy root's password in as the secret file, start.
  docker(engine, 'create', '--name', SERVER, '--label', LABEL, serverImage);
  docker(engine, 'cp', secrets, `${SERVER}:/run/secrets`);
  docker(engine, 'start', SERVER);
  for (let i = 0; i < 480; i++) {
    const logs = quiet('docker', ['logs', SERVER], ENGINES[engine]);
    if (SERVER_READY.test(`${logs.stdout}${logs.stderr}`)) return;
    await sleep(250);
  }
  throw new Error(`${SERVER} on the ${engine} engine was not ready within 120 s`);
}

/** Waits (bounded) until InnoDB has written back its dirty pages after the load. */
async function settle(engine) {
  sqlIn(engine, 'SET GLOBAL innodb_max_dirty_pages_pct = 0');
  for (let i = 0; i < 240; i++) {
    const dirty = Number(
      sqlIn(engine, "SELECT VARIABLE_VALUE FROM information_schema.GLOBAL_STATUS WHERE VARIABLE_NAME = 'INNODB_BUFFER_POOL_PAGES_DIRTY'"),
    );
    if (dirty < 16) return;
    await sleep(500);
  }
  log(`${engine}: still flushing after 120 s; measuring anyway`);
}

// ~600 bytes a row: hex of four SHA-512s (zstd makes about half of it), deterministic, so both
// servers hold the same bytes.
const rowsPerTable = Math.max(1000, Math.round((TARGET_MB * 1024 * 1024) / TABLES / 600));
const generate = ['CREATE DATABASE bench;', 'USE bench;'];
for (let t = 0; t < TABLES; t++) {
  generate.push(
    `CREATE TABLE bench.t${t} (id INT PRIMARY KEY, k INT NOT NULL, note VARCHAR(64), pad VARCHAR(512), KEY (k)) ENGINE=InnoDB;`,
    `INSERT INTO bench.t${t} SELECT seq, seq % 1000, CONCAT('row ', seq), CONCAT(SHA2(CONCAT(${t}, 'a', seq), 512), SHA2(CONCAT(${t}, 'b', seq), 512), SHA2(CONCAT(${t}, 'c', seq), 512), SHA2(CONCAT(${t}, 'd', seq), 512)) FROM seq_1_to_${rowsPerTable};`,
  );
}
const checksumSql = `CHECKSUM TABLE ${Array.from({ length: TABLES }, (_, t) => `bench.t${t}`).join(', ')}`;
const dataMb = {};
const checksums = {};
await Promise.all(
  Object.keys(ENGINES).map(async (engine) => {
    await startServer(engine);
    log(`${engine}: generating ${TABLES} × ${rowsPerTable} rows`);
    sqlIn(engine, generate.join('\n'));
    sqlIn(engine, `ANALYZE TABLE ${Array.from({ length: TABLES }, (_, t) => `bench.t${t}`).join(', ')}`);
    dataMb[engine] = Number(
      sqlIn(engine, "SELECT ROUND(SUM(data_length + index_length) / 1048576) FROM information_schema.tables WHERE table_schema = 'bench'"),
    );
    checksums[engine] = sqlIn(engine, checksumSql);
    await settle(engine);
  }),
);
if (checksums.local !== checksums.remote) throw new Error(`the two servers differ:\n${checksums.local}\n${checksums.remote}`);
log(`both servers hold the same ${TABLES} tables (${dataMb.local} MB local, ${dataMb.remote} MB remote, equal CHECKSUM TABLE)`);

// ---- the variants --------------------------------------------------------------------------------
const OPTIONS = ['--engine', 'mariadb-dump', '--compress', 'zstd', '--keep', '1', '--json'];
const artifactBytes = {};
const backupVariant = (engine, fetch) => async () => {
  const out = engine === 'local' ? localOut : REMOTE_OUT;
  const args = [CLI, 'backup', '--link', SERVER, '--out', out, '--credentials', credentials, ...OPTIONS];
  if (fetch) args.push('--fetch', join(fetchDir, engine));
  const result = await run('node', args, ENGINES[engine]);
  const report = JSON.parse(result.stdout);
  const target = report.targets?.[0];
  if (!report.ok || target?.status !== 'ok') throw new Error(`${engine} backup: ${result.stdout.slice(0, 1000)}`);
  if (fetch && !target.fetched) throw new Error(`${engine} backup --fetch: no fetched copy in ${result.stdout.slice(0, 500)}`);
  artifactBytes[engine] = target.bytes;
  if (fetch) rmSync(target.fetched.file, { force: true });
  return result.seconds;
};
/** The plain way to bring a file back: `docker cp` out of a container, to stdout, discarded. */
const copyByHand = (engine) => async () => (await run('sh', ['-c', `docker cp ${PROBE}:/tmp/artifact - > /dev/null`], ENGINES[engine])).seconds;
const bareRun = (engine) => async () => (await run('docker', ['run', '--rm', '--entrypoint', 'true', toolsImage], ENGINES[engine])).seconds;
const variants = {
  local: backupVariant('local', false),
  remote: backupVariant('remote', false),
  localFetch: backupVariant('local', true),
  remoteFetch: backupVariant('remote', true),
  localBare: bareRun('local'),
  remoteBare: bareRun('remote'),
  localCopy: copyByHand('local'),
  remoteCopy: copyByHand('remote'),
};
const names = Object.keys(variants);
const samples = Object.fromEntries(names.map((n) => [n, []]));
const load = { before: loadNow() };
const swarmRunning = quiet('docker', ['ps', '-q', '--filter', 'name=dtool-swarm-'], baseEnv).stdout.trim().split('\n').filter(Boolean).length;

log('warm-up: one untimed run of each variant');
await variants.local();
// The probes hold a random (incompressible) file of the artifact's size; bounded by their sleep.
for (const engine of Object.keys(ENGINES)) {
  quiet('docker', ['rm', '-f', '-v', PROBE], ENGINES[engine]);
  docker(
    engine,
    'run',
    '-d',
    '--name',
    PROBE,
    '--label',
    LABEL,
    'debian:bookworm-slim',
    'sh',
    '-c',
    `head -c ${artifactBytes.local} /dev/urandom > /tmp/artifact && exec sleep 3600`,
  );
}
for (const engine of Object.keys(ENGINES)) {
  for (let i = 0; i < 100 && quiet('docker', ['exec', PROBE, 'test', '-s', '/tmp/artifact'], ENGINES[engine]).status !== 0; i++) await sleep(200);
}
await sleep(1000);
for (const name of names) if (name !== 'local') await variants[name]();
for (let round = 0; round < ROUNDS; round++) {
  // Rotate the order each round, so none always runs first or after the same one.
  const order = [...names.slice(round % names.length), ...names.slice(0, round % names.length)];
  for (const name of order) samples[name].push(await variants[name]());
  log(`round ${round + 1}/${ROUNDS} (load ${loadNow()}): ${names.map((n) => `${n} ${samples[n].at(-1).toFixed(2)}s`).join(', ')}`);
}
load.after = loadNow();

// ---- the table ---------------------------------------------------------------------------------------
const _sorted = (xs) => [...xs].sort((a, b) => a - b);
const secs = (x) => `${x.toFixed(2)} s`;
const spread = (xs) => `${secs(median(xs))} (${secs(Math.min(...xs))}–${secs(Math.max(...xs))})`;
const row = (what, a, b, target, reference = false) => {
  const ratio = median(samples[a]) / median(samples[b]);
  const met = ratio <= target;
  return [
    what,
    spread(samples[a]),
    spread(samples[b]),
    ratio.toFixed(2),
    reference ? `(≤ ${target}, reference)` : `≤ ${target}`,
    reference ? (met ? 'yes' : 'no') : met ? 'yes' : '**no**',
  ];
};
const rows = [
  row('1. `dtool backup` through the TLS remote engine ÷ the same backup on the local engine', 'remote', 'local', 1.1),
  row('2. the same, both with `--fetch DIR` (the artifact streamed back here, sha256-checked)', 'remoteFetch', 'localFetch', 1.1),
  row('3. remote with `--fetch` ÷ local without', 'remoteFetch', 'local', 1.1, true),
  row('4. a bare `docker run --rm` of the mysql-tools image: remote ÷ local (what any helper pays)', 'remoteBare', 'localBare', 1.1, true),
  row(
    "5. `docker cp` by hand of a file the artifact's size out of a container: remote ÷ local (the transport)",
    'remoteCopy',
    'localCopy',
    1.1,
    true,
  ),
];
const fetchCost = (engine) => median(samples[`${engine}Fetch`]) - median(samples[engine]);
const header = ['what', 'median (min–max), first', 'median (min–max), second', 'ratio (medians)', 'target', 'met?'];
const table = [header, header.map(() => '---'), ...rows].map((r) => `| ${r.join(' | ')} |`).join('\n');

const benchSeconds = (performance.now() - benchStarted) / 1000;
const when = new Date().toISOString().slice(0, 16).replace('T', ' ');
const localVersion = quiet('docker', ['version', '--format', '{{.Server.Version}}'], baseEnv).stdout.trim();
const remoteVersion = quiet('docker', ['version', '--format', '{{.Server.Version}}'], remoteEnv).stdout.trim();
const mb = (bytes) => `${(bytes / 1048576).toFixed(1)} MB`;
const notes = [
  `- **Same data, same options, whole CLI**: one dtool/mariadb server on each engine with the same ${TABLES} tables × ${rowsPerTable} rows ` +
    `(${dataMb.local} MB of InnoDB data each, equal \`CHECKSUM TABLE\`), dumped by \`dtool backup --link SERVER --out DIR --credentials FILE ` +
    `--engine mariadb-dump --compress zstd --keep 1 --json\` (no --verify), the engine chosen by the environment alone: none (the local ` +
    'socket) or `bash scripts/remote-engine.sh env` (DOCKER_HOST=tcp://127.0.0.1:23760, mutual TLS). Artifacts: ' +
    `${mb(artifactBytes.local)} local, ${mb(artifactBytes.remote)} remote (zstd). ` +
    `${ROUNDS} timed runs per variant after one untimed warm-up, round-robin with the order rotated each round.`,
  "- **Where the files are**: local `--out` is a folder on this machine's disk; remote `--out` is `/srv/…` inside the " +
    "dtool-remote-engine container (the engine's host), on its overlay root over the same disk. `--fetch` streams the " +
    "artifact and manifest back through the engine's API (a `GET /containers/…/archive` of the outdir helper) and checks " +
    'its sha256 and size against the manifest before keeping it.',
  `- **What --fetch costs**: remote ${secs(fetchCost('remote'))}, local ${secs(fetchCost('local'))} (the medians with --fetch minus ` +
    `those without), a difference of ${secs(fetchCost('remote') - fetchCost('local'))}; \`docker cp\` by hand of ` +
    `the same number of bytes takes ${secs(median(samples.remoteCopy))} from the remote engine and ${secs(median(samples.localCopy))} ` +
    `from the local one (row 5), ${secs(median(samples.remoteCopy) - median(samples.localCopy))} more. ${
      fetchCost('remote') - fetchCost('local') <= median(samples.remoteCopy) - median(samples.localCopy) + 0.25
        ? "The remote fetch's extra is what the transport costs any client (TLS, docker-proxy relaying the published port in user space, the nested engine's archive), not dtool's own."
        : "The remote fetch's extra exceeds what the transport costs `docker cp` by more than 0.25 s: dtool's fetch path is slower than it need be."
    }`,
  `- **Row 1 in detail**: fastest runs ${secs(Math.min(...samples.remote))} remote against ${secs(Math.min(...samples.local))} local; ` +
    `medians ${secs(median(samples.remote))} against ${secs(median(samples.local))}. A bare helper start and removal costs the same on ` +
    `both engines (row 4, ${secs(median(samples.remoteBare))} against ${secs(median(samples.localBare))}), so what differs is the dump ` +
    'itself: the remote server and its dump helper run nested inside the one dtool-remote-engine container, and the runs spread ' +
    'with the load on the 2 cores (see the min–max columns).',
  '- **What the remote engine is**: a dockerd in a DinD container on this machine, reached over TLS on the loopback: the ' +
    'numbers measure the TLS transport and the nested engine (containers in containers, cgroupfs), not a network link; ' +
    'row 4 is what any helper start and removal costs on each engine, the part of row 1 that is not the dump.',
  `- Host: ${cpus().length} cores; local engine ${localVersion}, remote engine ${remoteVersion} (dtool/dind); load average ` +
    `${load.before} at the start, ${load.after} at the end; ${swarmRunning} dtool-swarm-* container${swarmRunning === 1 ? '' : 's'} running ` +
    '(swarm benchmarks may share the machine; the round-robin spreads that over every variant alike).',
];
const section = `<!-- remote:start -->
Measured ${when} UTC by \`node bench/remote.mjs\` (part of \`make bench\`; \`BENCH_REMOTE_ROUNDS\`, \`BENCH_REMOTE_MB\`); the bench took ${Math.round(benchSeconds)} s.

${table}

${notes.join('\n')}
<!-- remote:end -->`;

console.log(`\n${table}\n\n${notes.join('\n')}\n`);
const doc = writeSection(root, 'remote', section, 'Backup through a TLS remote engine against the same backup on the local engine');
log(`wrote ${doc}`);
cleanup();
console.log(`total bench time: ${((performance.now() - benchStarted) / 1000).toFixed(1)} s`);
