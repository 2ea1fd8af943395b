#!/usr/bin/env node
/**
 * make bench: dtool against the plain way, measured in the same run on the same data.
 * Prints a markdown table and writes it into BENCHMARKS.md. Ratios, never timed asserts.
 *
 * Env: BENCH_MB (target size of the generated database, default 800), BENCH_SMALL_DB_MB (the
 * small database, 300), BENCH_SMALL_SERVERS (10), BENCH_REPEAT (runs per measurement, median
 * taken; default 5), BENCH_PHASE_REPEAT (traced runs per phase column, default 3), BENCH_DOC (the
 * file whose bench section is rewritten, default BENCHMARKS.md).
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync, statSync } from 'node:fs';
import { tmpdir, cpus } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';

const root = new URL('..', import.meta.url).pathname;
const { createDefaultDeps, runHelper, SERVER_READY, backup, parseBackupParams } = await import(join(root, 'dist/index.js'));

const TARGET_MB = Number(process.env.BENCH_MB ?? 800);
const SMALL_SERVERS = Number(process.env.BENCH_SMALL_SERVERS ?? 10);
const REPEAT = Number(process.env.BENCH_REPEAT ?? 5);
const SMALL_DB_MB = Number(process.env.BENCH_SMALL_DB_MB ?? 300);
const PHASE_REPEAT = Number(process.env.BENCH_PHASE_REPEAT ?? 3);
const LABEL = 'dtool.bench=true';
const PASSWORD = 'bench-password';

const sh = (cmd, args, options = {}) => execFileSync(cmd, args, { encoding: 'utf8', maxBuffer: 64 << 20, ...options }).trim();
const docker = (...args) => sh('docker', args);
const dtool = (...args) => {
  const result = spawnSync('node', [join(root, 'dist/cli/main.js'), ...args], { encoding: 'utf8' });
  if (result.status !== 0) throw new Error(`dtool ${args.join(' ')} failed (${result.status}): ${result.stderr}`);
  return result.stdout;
};
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
async function timed(fn) {
  const start = performance.now();
  await fn();
  return (performance.now() - start) / 1000;
}

const work = mkdtempSync(join(tmpdir(), 'dtool-bench-'));
const secretDir = join(work, 'secrets');
mkdirSync(secretDir, { mode: 0o700 });
writeFileSync(join(secretDir, 'root-password'), PASSWORD, { mode: 0o444 });
const credentials = join(secretDir, 'root.cnf');
writeFileSync(credentials, `[client]\nuser=root\npassword="${PASSWORD}"\n`, { mode: 0o444 });

const deps = await createDefaultDeps();
const serverImage = (await deps.images.ensure('mariadb')).reference;
const toolsImage = (await deps.images.ensure('mysql-tools')).reference;

function startServer(name) {
  spawnSync('docker', ['rm', '-f', '-v', name], { stdio: 'ignore' });
  docker('run', '-d', '--name', name, '--label', LABEL, '-v', `${join(secretDir, 'root-password')}:/run/secrets/root-password:ro`, serverImage);
}
async function waitReady(name) {
  for (let i = 0; i < 240; i++) {
    if (SERVER_READY.test(sh('sh', ['-c', `docker logs ${name} 2>&1`]))) return;
    await new Promise((r) => setTimeout(r, 500));
  }
  throw new Error(`${name} never became ready`);
}
const sqlIn = (name, statements) => sh('docker', ['exec', name, 'mariadb', '--batch', '--skip-column-names', '-e', statements]);

function cleanup() {
  const ids = docker('ps', '-aq', '--filter', `label=${LABEL}`).split('\n').filter(Boolean);
  if (ids.length) docker('rm', '-f', '-v', ...ids);
  rmSync(work, { recursive: true, force: true });
}
process.on('exit', cleanup);

const rows = [];
const log = (message) => process.stderr.write(`bench: ${message}\n`);

const TABLES = 8;
const out = join(work, 'out');
mkdirSync(out);
const DUMP_FLAGS = '--single-transaction --quick --routines --triggers --events --hex-blob --default-character-set=utf8mb4 --all-databases';

// The plain way: the seed's shell helper, `mariadb-dump > file` in a linked `docker run --rm`;
// with `sync`, the same made durable (the fair baseline for an uncompressed, fsynced backup).
const shellHelperDump = (server, file, { sync = false } = {}) =>
  docker(
    'run',
    '--rm',
    '--link',
    `${server}:db`,
    '-v',
    `${out}:/out`,
    '-v',
    `${credentials}:/run/secrets/client.cnf:ro`,
    '--entrypoint',
    'sh',
    toolsImage,
    '-c',
    `mariadb-dump --defaults-extra-file=/run/secrets/client.cnf -h db ${DUMP_FLAGS} > /out/${file}${sync ? ` && sync /out/${file}` : ''}`,
  );
const dtoolBackup = (server, engine, compress) => () => {
  dtool(
    'backup',
    '--link',
    `${server}:${server}`,
    '--out',
    join(out, `${engine}-${compress}`),
    '--credentials',
    credentials,
    '--engine',
    engine,
    '--compress',
    compress,
    '--keep',
    '1',
  );
};

/**
 * Waits (bounded) until InnoDB has written its dirty pages back after a bulk load, so that
 * what is measured is the dump, not the server's background flushing.
 */
async function settle(name) {
  sqlIn(name, 'SET GLOBAL innodb_max_dirty_pages_pct = 0');
  for (let i = 0; i < 240; i++) {
    const dirty = Number(
      sqlIn(name, "SELECT VARIABLE_VALUE FROM information_schema.GLOBAL_STATUS WHERE VARIABLE_NAME = 'INNODB_BUFFER_POOL_PAGES_DIRTY'"),
    );
    if (dirty < 16) return;
    await new Promise((r) => setTimeout(r, 500));
  }
  log(`${name}: still flushing after 120 s; measuring anyway`);
}

/** A server holding ~`mb` MB of InnoDB rows in TABLES tables; returns its data size in MB. */
async function bigServer(name, mb) {
  startServer(name);
  await waitReady(name);
  log(`generating ~${mb} MB in ${name}`);
  const rowsPerTable = Math.round((mb * 1024 * 1024) / TABLES / 1100);
  const generate = ['CREATE DATABASE bench;', 'USE bench;'];
  for (let t = 0; t < TABLES; t++) {
    generate.push(
      `CREATE TABLE bench.t${t} (id INT PRIMARY KEY, k INT NOT NULL, note VARCHAR(64), pad VARCHAR(1024), KEY (k)) ENGINE=InnoDB;`,
      `INSERT INTO bench.t${t} SELECT seq, seq % 1000, CONCAT('row ', seq), REPEAT(SHA2(seq, 256), 16) FROM seq_1_to_${rowsPerTable};`,
    );
  }
  const seconds = await timed(() => sqlIn(name, generate.join('\n')));
  const dataMb = Number(
    sqlIn(name, "SELECT ROUND(SUM(data_length + index_length) / 1048576) FROM information_schema.tables WHERE table_schema = 'bench'"),
  );
  log(`generated ${dataMb} MB in ${seconds.toFixed(0)}s`);
  await settle(name);
  return dataMb;
}

/**
 * Runs the variants round-robin (drift in the machine's load is shared) and returns medians and
 * the raw dump's size; in the first `traced.repeat` rounds also each of `traced.runs` (results kept).
 */
async function roundRobin(server, variants, repeat, traced = { repeat: 0, runs: {} }) {
  const samples = Object.fromEntries(Object.keys(variants).map((k) => [k, []]));
  const tracedResults = Object.fromEntries(Object.keys(traced.runs).map((k) => [k, []]));
  let rawBytes = 0;
  for (let round = 0; round < repeat; round++) {
    for (const [name, run] of Object.entries(variants)) {
      samples[name].push(await timed(run));
      // Kept: the next raw run writes over it, as the seed's helper overwrote its one file
      // (raw + sync does the same, and dtool's --keep 1 removes the previous artifact), so
      // every variant pays for dropping the previous dump.
      if (name === 'raw') rawBytes = statSync(join(out, `${server}.sql`)).size;
    }
    if (round < traced.repeat) for (const [name, run] of Object.entries(traced.runs)) tracedResults[name].push(await run());
  }
  return { medians: Object.fromEntries(Object.entries(samples).map(([k, v]) => [k, median(v)])), rawBytes, traced: tracedResults };
}

// ---- where the time goes --------------------------------------------------------------
// A backup run in-process through the library, exactly as the CLI runs it, with two probes:
// the engine port is wrapped to note when the helper's container is started and to set
// DTOOL_BACKUP_TIMINGS=1 in its environment (dtool-backup then reports each phase's length
// and end time on stderr; the batch relays it), and the reporter notes when the helper is
// gone (removed). The container's clock is the host's, so the spans join up.
const epoch = () => (performance.timeOrigin + performance.now()) / 1000;
let probe;
const tracedDeps = await createDefaultDeps({
  docker: new Proxy(deps.docker, {
    get(target, prop) {
      const value = target[prop];
      if (typeof value !== 'function') return value;
      if (prop === 'createContainer')
        return async (options) => {
          const id = await target.createContainer({ ...options, Env: [...(options.Env ?? []), 'DTOOL_BACKUP_TIMINGS=1'] });
          // The dump helper's start, not the output-folder helper's, which starts first.
          if (options.Labels?.['dtool.helper'] === 'mysql-backup') probe.dumpHelper ??= id;
          return id;
        };
      if (prop === 'startContainer')
        return (id, ...rest) => {
          if (id === probe.dumpHelper) probe.startCall ??= epoch();
          return value.apply(target, [id, ...rest]);
        };
      return value.bind(target);
    },
  }),
  reporter: (event) => {
    if (event.type === 'helper.exit') probe.gone = epoch();
    const m = event.type === 'helper.output' ? /phase (\S+) ([\d.]+) ([\d.]+)/.exec(event.line) : null;
    if (m) probe.phases.push([m[1], Number(m[2]), Number(m[3])]);
  },
});
/** One traced backup of `server`: seconds per span, from the call to the report. */
async function tracedBackup(server, engine, compress) {
  probe = { phases: [] };
  const params = parseBackupParams(
    { link: [`${server}:${server}`], out: join(out, `traced-${engine}-${compress}`), credentials, engine, compress, keep: '1' },
    process.cwd(),
  );
  const start = epoch();
  const report = await backup(tracedDeps, params);
  const end = epoch();
  if (!report.ok || probe.phases.length === 0) throw new Error(`traced backup of ${server} failed: ${JSON.stringify(report.targets[0]?.error)}`);
  const [, firstSeconds, firstEnd] = probe.phases[0];
  const scriptStart = firstEnd - firstSeconds;
  const scriptEnd = probe.phases.at(-1)[2];
  return {
    resolve: probe.startCall - start,
    helperStart: scriptStart - probe.startCall,
    ...Object.fromEntries(probe.phases.map(([name, seconds]) => [name, seconds])),
    helperExit: probe.gone - scriptEnd,
    finish: end - probe.gone,
    total: end - start,
  };
}
/** Per span, the median over runs (a span a run lacks counts as 0). */
function medianSpans(runs) {
  const names = [...new Set(runs.flatMap((r) => Object.keys(r)))];
  return Object.fromEntries(names.map((n) => [n, median(runs.map((r) => r[n] ?? 0))]));
}

// ---- the bench database ---------------------------------------------------------------
const BIG = 'dtool-bench-big';
const dataMb = await bigServer(BIG, TARGET_MB);
const big = await roundRobin(
  BIG,
  {
    raw: () => shellHelperDump(BIG, `${BIG}.sql`),
    rawSync: () => shellHelperDump(BIG, `${BIG}-synced.sql`, { sync: true }),
    zstd: dtoolBackup(BIG, 'mariadb-dump', 'zstd'),
    none: dtoolBackup(BIG, 'mariadb-dump', 'none'),
    mydumper: dtoolBackup(BIG, 'mydumper', 'none'),
  },
  REPEAT,
  {
    repeat: PHASE_REPEAT,
    runs: {
      zstd: () => tracedBackup(BIG, 'mariadb-dump', 'zstd'),
      none: () => tracedBackup(BIG, 'mariadb-dump', 'none'),
      mydumper: () => tracedBackup(BIG, 'mydumper', 'none'),
    },
  },
);
const rawBytes = big.rawBytes;
const mbps = (seconds) => (rawBytes / 1048576 / seconds).toFixed(0);
const { raw: rawSeconds, rawSync: rawSyncSeconds, zstd: zstdSeconds, none: noneSeconds, mydumper: mydumperSeconds } = big.medians;
rows.push(
  ['raw `mariadb-dump > file` (docker run --rm --link)', `${rawSeconds.toFixed(2)} s`, `${mbps(rawSeconds)} MB/s`, 'baseline', ''],
  ['raw + `sync` of the file (durable, like dtool)', `${rawSyncSeconds.toFixed(2)} s`, `${mbps(rawSyncSeconds)} MB/s`, 'baseline (none)', ''],
  [
    '**dtool backup (zstd, the default)**',
    `${zstdSeconds.toFixed(2)} s`,
    `${mbps(zstdSeconds)} MB/s`,
    (rawSeconds / zstdSeconds).toFixed(2),
    '≥ 1.0 vs raw',
  ],
  [
    'dtool backup --compress none',
    `${noneSeconds.toFixed(2)} s`,
    `${mbps(noneSeconds)} MB/s`,
    (rawSyncSeconds / noneSeconds).toFixed(2),
    '≥ 0.95 vs raw + sync',
  ],
  [
    'dtool backup --engine mydumper --compress none',
    `${mydumperSeconds.toFixed(2)} s`,
    `${mbps(mydumperSeconds)} MB/s`,
    (rawSeconds / mydumperSeconds).toFixed(2),
    '≥ 1.3 vs raw',
  ],
);

const phaseColumns = {
  'zstd (default)': { ...medianSpans(big.traced.zstd), cli: zstdSeconds },
  none: { ...medianSpans(big.traced.none), cli: noneSeconds },
  'mydumper, none': { ...medianSpans(big.traced.mydumper), cli: mydumperSeconds },
};
docker('rm', '-f', '-v', BIG);

// ---- a small (~300 MB) database -------------------------------------------------------
const SMALL_DB = 'dtool-bench-300';
const smallMb = await bigServer(SMALL_DB, SMALL_DB_MB);
const small = await roundRobin(
  SMALL_DB,
  { raw: () => shellHelperDump(SMALL_DB, `${SMALL_DB}.sql`), zstd: dtoolBackup(SMALL_DB, 'mariadb-dump', 'zstd') },
  REPEAT + 2,
);
rows.push(
  [`raw, ${smallMb} MB database`, `${small.medians.raw.toFixed(2)} s`, '', 'baseline', ''],
  [
    `**dtool backup (zstd, the default), ${smallMb} MB database**`,
    `${small.medians.zstd.toFixed(2)} s`,
    '',
    (small.medians.raw / small.medians.zstd).toFixed(2),
    '≥ 1.0 vs raw',
  ],
);

// Gone before the label-selected rows below, which would otherwise back it up too.
docker('rm', '-f', '-v', SMALL_DB);

// ---- fixed costs: CLI start-up, and a backup of an empty server --------------------------
const EMPTY = 'dtool-bench-empty';
startServer(EMPTY);
await waitReady(EMPTY);
const nodeTimes = [];
const helpTimes = [];
const emptyRaw = [];
const emptyDtool = [];
for (let i = 0; i < 15; i++) {
  nodeTimes.push(await timed(() => spawnSync('node', ['-e', '0'])));
  helpTimes.push(await timed(() => spawnSync('node', [join(root, 'dist/cli/main.js'), '--help'])));
}
// The CLI's own start-up (Node, modules, arguments, deps) is what a CLI run takes beyond the
// same backup run in-process: measured here, alternating, where the backup itself is short.
const emptyTraced = [];
for (let i = 0; i < 9; i++) {
  emptyRaw.push(await timed(() => shellHelperDump(EMPTY, 'empty.sql')));
  emptyDtool.push(await timed(dtoolBackup(EMPTY, 'mariadb-dump', 'zstd')));
  emptyTraced.push(await tracedBackup(EMPTY, 'mariadb-dump', 'zstd'));
}
const startup = median(emptyDtool) - median(emptyTraced.map((t) => t.total));
phaseColumns['empty server, zstd'] = { ...medianSpans(emptyTraced), cli: median(emptyDtool) };
docker('rm', '-f', '-v', EMPTY);
rows.push(
  ['`node -e 0` (reference)', `${(median(nodeTimes) * 1000).toFixed(0)} ms`, '', '', ''],
  [
    '`dtool --help`',
    `${(median(helpTimes) * 1000).toFixed(0)} ms`,
    '',
    `+${((median(helpTimes) - median(nodeTimes)) * 1000).toFixed(0)} ms`,
    '≤ 100 ms',
  ],
  ['empty server: raw dump', `${(median(emptyRaw) * 1000).toFixed(0)} ms`, '', 'baseline', ''],
  [
    'empty server: dtool backup (fixed cost)',
    `${(median(emptyDtool) * 1000).toFixed(0)} ms`,
    '',
    `+${((median(emptyDtool) - median(emptyRaw)) * 1000).toFixed(0)} ms`,
    '',
  ],
);

// ---- ten small servers: dtool --concurrency 4 vs a serial shell loop ------------------------
log(`starting ${SMALL_SERVERS} small servers`);
const smalls = Array.from({ length: SMALL_SERVERS }, (_, i) => `dtool-bench-small-${i}`);
for (const name of smalls) startServer(name);
for (const name of smalls) {
  await waitReady(name);
  sqlIn(
    name,
    `CREATE DATABASE app; CREATE TABLE app.t (id INT PRIMARY KEY, pad VARCHAR(1024)) ENGINE=InnoDB; USE app; INSERT INTO t SELECT seq, REPEAT(SHA2(seq, 256), 16) FROM seq_1_to_20000;`,
  );
}
for (const name of smalls) await settle(name);
const serialLoop = () => {
  for (const name of smalls) shellHelperDump(name, `${name}.sql`);
};
const concurrentBackup = () =>
  dtool(
    'backup',
    '--label',
    LABEL,
    '--out',
    join(out, 'smalls'),
    '--credentials',
    credentials,
    '--compress',
    'none',
    '--concurrency',
    '4',
    '--keep',
    '1',
  );
const SMALL_ROUNDS = 3;
const serialTimes = [];
const concurrentTimes = [];
for (let round = 0; round < SMALL_ROUNDS; round++) {
  serialTimes.push(await timed(serialLoop));
  concurrentTimes.push(await timed(concurrentBackup));
}
const serialSeconds = median(serialTimes);
const concurrentSeconds = median(concurrentTimes);
rows.push(
  [`${SMALL_SERVERS} servers, serial \`docker run --rm --link\` loop`, `${serialSeconds.toFixed(2)} s`, '', 'baseline', ''],
  [
    `${SMALL_SERVERS} servers, dtool backup --label … --concurrency 4`,
    `${concurrentSeconds.toFixed(2)} s`,
    '',
    `${(serialSeconds / concurrentSeconds).toFixed(2)}×`,
    '≥ 2× faster',
  ],
);
for (const name of smalls) docker('rm', '-f', '-v', name);

// ---- per-run overhead of a trivial helper ---------------------------------------------------
const base = deps.config.baseImage;
const TRIVIAL = 15;
// Interleaved, so drift in the engine's load hits both sides alike.
const plainTimes = [];
const helperTimes = [];
for (let i = 0; i < TRIVIAL; i++) {
  plainTimes.push(await timed(() => docker('run', '--rm', base, 'true')));
  helperTimes.push(await timed(() => runHelper(deps, { helper: 'bench-trivial', image: base, command: ['true'] })));
}
const plainRun = median(plainTimes);
const helperRun = median(helperTimes);
rows.push(
  ['trivial helper: `docker run --rm IMAGE true`', `${(plainRun * 1000).toFixed(0)} ms`, '', 'baseline', ''],
  [
    'trivial helper: dtool runHelper (create, attach, start, wait, remove)',
    `${(helperRun * 1000).toFixed(0)} ms`,
    '',
    (helperRun / plainRun).toFixed(2),
    '≤ 1.1 vs docker run',
  ],
);

// ---- report -------------------------------------------------------------------------------
const header = ['measurement', 'time (median)', 'throughput', 'ratio', 'target'];
const table = [header, header.map(() => '---'), ...rows].map((r) => `| ${r.join(' | ')} |`).join('\n');
const context =
  `Bench database: ${dataMb} MB of InnoDB data in ${TABLES} tables (${(rawBytes / 1048576).toFixed(0)} MB as SQL); ${cpus().length} cores; ` +
  `median of ${REPEAT} round-robin runs (the ${SMALL_SERVERS}-server rows: ${SMALL_ROUNDS}; trivial helper: ${TRIVIAL}, alternating). Throughput is SQL MB per second. ` +
  `Ratios: the baseline's time ÷ dtool's (higher is better), except the trivial helper (time ÷ docker run's: lower is better).`;
const SPANS = [
  ['startup', 'start-up: Node, modules, CLI (empty server: CLI run − in-process run)', () => startup],
  ['resolve', 'resolve target; output-folder helper started, target locked; dump helper created + attached', (c) => c.resolve],
  ['helperStart', 'dump helper start: container start, secrets delivered, until dtool-backup runs', (c) => c.helperStart],
  ['setup', 'dtool-backup: arguments, temp names', (c) => c.setup],
  ['preflight', 'preflight: connect, `SELECT 1`', (c) => c.preflight],
  ['mydumper', 'mydumper: dump into a directory', (c) => c.mydumper],
  ['dump', 'dump into the file (zstd: the written stream decoded as it goes)', (c) => c.dump],
  ['pack', 'pack: mydumper directory into one tarball', (c) => c.pack],
  ['hash', 'sha256: what is left once the dump is written (read back alongside it)', (c) => c.hash],
  ['fsync', 'fsync of the file, beyond the hash', (c) => c.fsync],
  ['verify', 'verify: completion trailer / metadata', (c) => c.verify],
  ['helperExit', 'helper exit: report, container stop and removal', (c) => c.helperExit],
  ['finish', 'commit (rename + folder fsync), manifest, retention: execs in the output-folder helper', (c) => c.finish],
];
const columns = Object.entries(phaseColumns);
const cell = (v) => (v === undefined || Number.isNaN(v) ? '–' : `${v.toFixed(3)} s`);
const phaseTable = [
  `| span (median of ${PHASE_REPEAT} traced runs; empty server: 9) | ${columns.map(([name]) => name).join(' | ')} |`,
  `| --- | ${columns.map(() => '---').join(' | ')} |`,
  ...SPANS.filter(([key]) => columns.some(([, c]) => c[key] !== undefined || key === 'startup')).map(
    ([, label, get]) => `| ${label} | ${columns.map(([, c]) => cell(get(c))).join(' | ')} |`,
  ),
  `| **sum of the spans** | ${columns.map(([, c]) => `**${(startup + c.total).toFixed(2)} s**`).join(' | ')} |`,
  `| whole CLI run, median (rows above) | ${columns.map(([, c]) => `${c.cli.toFixed(2)} s`).join(' | ')} |`,
].join('\n');
const section = `<!-- bench:start -->\nMeasured ${new Date().toISOString().slice(0, 16).replace('T', ' ')} UTC by \`make bench\`.\n\n${context}\n\n${table}\n\nWhere the time goes, measured: in-process runs of the same backups through the library, the helper reporting its phases (DTOOL_BACKUP_TIMINGS=1) and the host timing the rest (see bench/run.mjs, \`tracedBackup\`). Spans follow one another; with the start-up they add up to a CLI run ("sum of the spans"; beside it the CLI runs' median from the same round robin).\n\n${phaseTable}\n<!-- bench:end -->`;
console.log(`\n${table}\n\n${phaseTable}\n`);
const path = process.env.BENCH_DOC ?? join(root, 'BENCHMARKS.md');
let doc;
try {
  doc = readFileSync(path, 'utf8');
} catch {
  doc =
    '# Benchmarks\n\nEach row is measured in the same `make bench` run as its baseline, on this machine.\n\n<!-- bench:start -->\n<!-- bench:end -->\n';
}
writeFileSync(path, doc.replace(/<!-- bench:start -->[\s\S]*<!-- bench:end -->/, section));
log(`wrote ${path}`);
