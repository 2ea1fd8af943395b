#!/usr/bin/env node
/**
 * make bench, recipe rows: the two-pass DNS rebuild (recipes/dns.recipe.yaml, `dtool dns
 * rebuild`) against the plain way, measured in the same run on this machine. Writes its table
 * between the `recipes` markers of BENCHMARKS.md. Ratios, never timed asserts.
 *
 *  1. pass 2 (the config baked into FROM pass 1) ÷ a cold pass-1 build of images/dns;
 *  2. a rebuild with unchanged input: dtool's time beyond the generator;
 *  3. the cutover gap of a swap under a 200 queries/s UDP loop on the published port, the
 *     server beside a container it names, and alone on its network;
 *  4. a rebuild on changed input, `dtool dns rebuild` vs bench/dns-rebuild.sh (the seed's
 *     steps), round-robin.
 *
 * Everything it creates is named dtool-bench-dns-* (this run's suffix) and removed at exit:
 * containers, the network, the images of its repositories (never dtool/dns or the base).
 *
 * Env: BENCH_DNS_REPEAT (round-robin rounds for row 4, default 3), BENCH_DNS_PASS1_RUNS (cold
 * pass-1 builds, default 2; the second is skipped when the first took over 90 s),
 * BENCH_DNS_PORT (host port of dtool's server, default 15353; the script's servers the next two),
 * BENCH_DOC (the file whose section is rewritten, default BENCHMARKS.md).
 */
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import dgram from 'node:dgram';
import { cpSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import { runBounded, writeSection } from './lib.mjs';

const root = new URL('..', import.meta.url).pathname;
const lib = await import(join(root, 'dist/index.js'));
const { createDefaultDeps, dnsRebuild, parseDnsRebuildParams, recipeReportError } = lib;

const REPEAT = Number(process.env.BENCH_DNS_REPEAT ?? 3);
const PASS1_RUNS = Number(process.env.BENCH_DNS_PASS1_RUNS ?? 2);
const PORT = Number(process.env.BENCH_DNS_PORT ?? 15353);
const SH_PORT = PORT + 1;
/** The script's server alone on a network of its own (the cutover comparison's second setting). */
const SH_ALONE_PORT = PORT + 2;
const PASS2_RUNS = 5;
const UNCHANGED_RUNS = 5;
const SWAPS = 3;
const QPS = 200;

const suffix = randomBytes(3).toString('hex');
const LABEL = `dtool.bench.dns=${suffix}`;
const NET = `dtool-bench-dns-net-${suffix}`;
const NET_ALONE = `dtool-bench-dns-net2-${suffix}`;
const WEB1 = `dtool-bench-dns-web1-${suffix}`;
const SH_ALONE = `dtool-bench-dns-sh2-${suffix}`;
const SERVER = `dtool-bench-dns-${suffix}`;
const SH_SERVER = `dtool-bench-dns-sh-${suffix}`;
const PASS1 = 'dtool-bench-dns-pass1:x';
const PASS2_REPO = `dtool-bench-dns-pass2-${suffix}`;
const SH_REPO = `dtool-bench-dns-sh-${suffix}`;
/** Where `dtool dns rebuild --name SERVER` tags its server images (its default repository). */
const DTOOL_REPO = `dtool-dns/${SERVER}`;

const benchStarted = performance.now();
const work = mkdtempSync(join(tmpdir(), 'dtool-bench-dns-'));
const stateDir = join(work, 'state');
const log = (message) => process.stderr.write(`bench: ${message}\n`);
const sh = (cmd, args, timeoutSeconds = 120) =>
  execFileSync(cmd, args, { encoding: 'utf8', maxBuffer: 64 << 20, timeout: timeoutSeconds * 1000, stdio: ['ignore', 'pipe', 'pipe'] }).trim();
const docker = (...args) => sh('docker', args);
const quiet = (...args) => {
  try {
    return docker(...args);
  } catch {
    return '';
  }
};
const median = (xs) => {
  const sorted = [...xs].sort((a, b) => a - b);
  return sorted.length === 0 ? Number.NaN : sorted[Math.floor((sorted.length - 1) / 2)];
};
const lines = (text) => text.split('\n').filter(Boolean);
const s = (seconds, digits = 2) => `${seconds.toFixed(digits)} s`;
const ms = (value) => `${Math.round(value)} ms`;

/** A child process run asynchronously (so that a query loop keeps running), bounded in time. */
function run(cmd, args, { timeoutSeconds = 180, env } = {}) {
  return runBounded(cmd, args, { timeoutSeconds, ...(env ? { env: { ...process.env, ...env } } : {}) });
}

// ---- cleanup: only what this run created ----------------------------------------------------
let cleaned = false;
function cleanup() {
  if (cleaned) return;
  cleaned = true;
  const containers = lines(quiet('ps', '-a', '--format', '{{.Names}}', '--filter', `name=${suffix}`)).filter((n) => n.startsWith('dtool-bench-dns-'));
  if (containers.length) quiet('rm', '-f', '-v', ...containers);
  for (const network of [NET, NET_ALONE]) quiet('network', 'rm', network);
  // Children before their parents: pass-2 images are FROM pass 1.
  for (const repository of [DTOOL_REPO, PASS2_REPO, SH_REPO, PASS1.split(':')[0]]) {
    const refs = lines(quiet('images', '--format', '{{.Repository}}:{{.Tag}}', repository)).filter((r) => !r.endsWith(':<none>'));
    const ids = lines(quiet('images', '-q', repository));
    if (refs.length) quiet('rmi', '-f', ...refs);
    if (ids.length) quiet('rmi', '-f', ...new Set(ids));
  }
  // Whatever the docker builds here left untagged (they carry this run's label).
  for (let i = 0; i < 3; i++) {
    const ids = lines(quiet('images', '-q', '--filter', `label=${LABEL}`));
    if (!ids.length) break;
    quiet('rmi', '-f', ...new Set(ids));
  }
  rmSync(work, { recursive: true, force: true });
}
process.on('exit', cleanup);
for (const signal of ['SIGINT', 'SIGTERM']) process.on(signal, () => process.exit(130));

// ---- the zones spec and its variants ----------------------------------------------------------
function zonesSpec(wwwAddress) {
  return `zones:
  example.test:
    records:
      - {name: ns1, type: A, value: 10.0.0.53}
      - {name: www, type: A, value: ${wwwAddress}}
      - {name: api, type: CNAME, value: www}
      - {name: txt, type: TXT, value: "hello world"}
`;
}
const zonesFile = join(work, 'zones.yaml');
const shZonesFile = join(work, 'zones-sh.yaml');

// ---- a UDP query loop: one socket per query (a fresh source port, as a stub resolver) --------
function dnsQuery(id, name) {
  const header = Buffer.alloc(12);
  header.writeUInt16BE(id, 0);
  header.writeUInt16BE(0x0100, 2); // recursion desired
  header.writeUInt16BE(1, 4);
  const labels = name.split('.').flatMap((label) => [Buffer.from([label.length]), Buffer.from(label)]);
  return Buffer.concat([header, ...labels, Buffer.from([0, 0, 1, 0, 1])]);
}
function parseResponse(message) {
  const id = message.readUInt16BE(0);
  const rcode = message.readUInt16BE(2) & 0xf;
  const questions = message.readUInt16BE(4);
  const answers = message.readUInt16BE(6);
  let offset = 12;
  const skipName = () => {
    while (offset < message.length) {
      const length = message[offset];
      if (length === 0) {
        offset += 1;
        return;
      }
      if ((length & 0xc0) === 0xc0) {
        offset += 2;
        return;
      }
      offset += 1 + length;
    }
  };
  for (let i = 0; i < questions; i++) {
    skipName();
    offset += 4;
  }
  let address;
  for (let i = 0; i < answers; i++) {
    skipName();
    const type = message.readUInt16BE(offset);
    const length = message.readUInt16BE(offset + 8);
    offset += 10;
    if (type === 1 && length === 4) address = [...message.subarray(offset, offset + 4)].join('.');
    offset += length;
  }
  return { id, rcode, address };
}

/**
 * 200 queries a second for www.example.test A at 127.0.0.1:port until stopped (at most
 * `maxSeconds`), each given 200 ms. An answer is NOERROR with an address.
 */
function queryLoop(port, { timeoutMs = 200, maxSeconds = 150 } = {}) {
  const interval = 1000 / QPS;
  const queries = [];
  const started = performance.now();
  let running = true;
  let nextId = randomBytes(2).readUInt16BE(0);
  const send = () => {
    const query = { sent: performance.now() };
    queries.push(query);
    const id = nextId++ & 0xffff;
    const socket = dgram.createSocket('udp4');
    const finish = (status, extra = {}) => {
      if (query.status) return;
      Object.assign(query, { status, at: performance.now(), ...extra });
      clearTimeout(timer);
      socket.close();
    };
    const timer = setTimeout(() => finish('timeout'), timeoutMs);
    socket.on('message', (message) => {
      try {
        const response = parseResponse(message);
        if (response.id !== id) return;
        finish(response.rcode === 0 && response.address ? 'ok' : `rcode ${response.rcode}`, { address: response.address });
      } catch {
        finish('malformed');
      }
    });
    socket.on('error', (error) => finish(error.code ?? 'error'));
    socket.send(dnsQuery(id, 'www.example.test'), port, '127.0.0.1', (error) => error && finish(error.code ?? 'error'));
  };
  const loop = (async () => {
    let sent = 0;
    while (running && performance.now() - started < maxSeconds * 1000) {
      const due = Math.floor((performance.now() - started) / interval) + 1;
      for (let k = 0; k < Math.min(due - sent, 5); k++) send();
      sent = due;
      await sleep(Math.max(1, started + sent * interval - performance.now()));
    }
  })();
  return {
    /** Stops sending, waits for the last answers, and sums up. */
    async stop() {
      running = false;
      await loop;
      const stopped = performance.now();
      await sleep(timeoutMs + 50);
      const answered = queries.filter((q) => q.status === 'ok').sort((a, b) => a.at - b.at);
      let longest = 0;
      let from = started;
      for (const q of answered) {
        longest = Math.max(longest, q.at - from);
        from = q.at;
      }
      longest = Math.max(longest, stopped - from);
      const failures = {};
      for (const q of queries) if (q.status !== 'ok') failures[q.status ?? 'pending'] = (failures[q.status ?? 'pending'] ?? 0) + 1;
      return {
        sent: queries.length,
        failed: queries.length - answered.length,
        failures,
        longestMs: longest,
        seconds: (stopped - started) / 1000,
        addresses: [...new Set(answered.map((q) => q.address))],
        queries,
        started,
      };
    },
  };
}

// ---- dtool, in-process, its engine calls timed ------------------------------------------------
const baseDeps = await createDefaultDeps();
const dnsImage = await baseDeps.images.ensure('dns');
log(`dns helper image ${dnsImage.reference}${dnsImage.cached ? '' : ' (built now)'}; run suffix ${suffix}`);
let trace;
const tracedDocker = new Proxy(baseDeps.docker, {
  get(target, prop) {
    const value = target[prop];
    if (typeof value !== 'function') return value;
    return async (...args) => {
      const call = { method: String(prop), step: trace?.step, start: performance.now() };
      try {
        return await value.apply(target, args);
      } finally {
        call.end = performance.now();
        trace?.calls.push(call);
      }
    };
  },
});
const params = parseDnsRebuildParams({ zones: zonesFile, network: NET, name: SERVER, publish: String(PORT) }, work);

/** One `dnsRebuild` in-process (as the CLI runs it, minus Node's start-up), traced. */
async function dtoolRebuild() {
  trace = { calls: [], steps: {} };
  const deps = await createDefaultDeps({ docker: tracedDocker });
  const started = performance.now();
  const report = await dnsRebuild(deps, params, {
    stateDir,
    onStep: ({ step, report: done }) => {
      if (!done) {
        trace.step = step.id;
        trace.steps[step.id] = { start: performance.now() };
      } else trace.steps[step.id].end = performance.now();
    },
  });
  const wall = (performance.now() - started) / 1000;
  const failure = recipeReportError(report);
  if (failure) throw failure;
  return { report, wall, trace };
}
const step = (report, id) => report.steps.find((x) => x.id === id);

/** `dtool dns rebuild` through the CLI, its JSON report parsed. */
async function dtoolCli(zones) {
  const result = await run('node', [
    join(root, 'dist/cli/main.js'),
    'dns',
    'rebuild',
    '--zones',
    zones,
    '--network',
    NET,
    '--name',
    SERVER,
    '--publish',
    String(PORT),
    '--state-dir',
    stateDir,
    '--json',
  ]);
  return { seconds: result.seconds, report: JSON.parse(result.stdout) };
}
/**
 * bench/dns-rebuild.sh, timed; its `mark` lines give each of its steps' seconds.
 * Defaults: its server on dtool's network (beside dtool's server and the labelled container).
 */
async function script(zones, { network = NET, name = SH_SERVER, port = SH_PORT } = {}) {
  const result = await run('bash', [join(root, 'bench/dns-rebuild.sh'), zones, network, name, String(port), PASS1, SH_REPO, LABEL], {
    env: { DNS_REBUILD_MARKS: '1' },
  });
  const marks = [...result.stderr.matchAll(/^mark (\S+) ([\d.]+)$/gm)].map((m) => [m[1], Number(m[2])]);
  const steps = Object.fromEntries(marks.slice(1).map(([id, at], i) => [id, at - marks[i][1]]));
  return { seconds: result.seconds, steps };
}

/** A rebuild (by `rebuild()`) under the query loop at `port`, from 0.5 s before to 2 s after. */
async function underLoop(port, rebuild) {
  const loop = queryLoop(port);
  await sleep(500);
  const result = await rebuild();
  await sleep(2000);
  return { ...result, stats: await loop.stop() };
}
const loopSummary = (stats) =>
  `loop longest ${ms(stats.longestMs)}, ${stats.failed}/${stats.sent} failed ${JSON.stringify(stats.failures)}, answers ${stats.addresses.join(' → ')}`;

/** SWAPS dtool swaps under the loop, alternating www between two addresses. */
async function dtoolSwaps(setting) {
  const results = [];
  for (let i = 0; i < SWAPS; i++) {
    const address = i % 2 === 0 ? '10.0.1.1' : '10.0.1.2';
    writeFileSync(zonesFile, zonesSpec(address));
    const result = await underLoop(PORT, dtoolRebuild);
    const swap = step(result.report, 'swap');
    if (swap.status !== 'done') throw new Error(`swap ${i + 1} (${setting}) was ${swap.status}`);
    results.push({ ...result, swap });
    log(
      `dtool swap ${i + 1}, ${setting} (www → ${address}): ${loopSummary(result.stats)}; cutoverGapMs ${swap.cutoverGapMs}; ` +
        `steps ${result.report.steps.map((x) => `${x.id} ${x.status} ${x.seconds}`).join(', ')}`,
    );
  }
  return results;
}
/** SWAPS script runs under the loop, alternating as above. */
async function scriptSwaps(setting, options) {
  const results = [];
  for (let i = 0; i < SWAPS; i++) {
    writeFileSync(shZonesFile, zonesSpec(i % 2 === 0 ? '10.0.1.1' : '10.0.1.2'));
    const result = await underLoop(options.port, () => script(shZonesFile, options));
    results.push(result);
    log(`script swap ${i + 1}, ${setting}: ${loopSummary(result.stats)}`);
  }
  return results;
}

const rows = [];
const notes = [];
docker('network', 'create', '--label', LABEL, NET);
docker('network', 'create', '--label', LABEL, NET_ALONE);

// ---- 1. pass 2 ÷ a cold pass 1 ------------------------------------------------------------------
const pass1Context = join(work, 'pass1');
mkdirSync(pass1Context);
for (const file of ['Dockerfile', 'dtool-dns-generate', 'dtool-dns-check', 'dtool-dns-server', 'README.md']) {
  cpSync(join(root, 'images/dns', file), join(pass1Context, file), { preserveTimestamps: true });
}
cpSync(join(root, 'images/shared/dtool-guard'), join(pass1Context, 'dtool-guard'), { preserveTimestamps: true });
const pass1Times = [];
for (let i = 0; i < PASS1_RUNS; i++) {
  if (i > 0 && pass1Times[0] > 90) break;
  log(`pass 1, cold (--no-cache, apt included): run ${i + 1}`);
  const start = performance.now();
  sh('docker', ['build', '--no-cache', '-q', '--label', LABEL, '--build-arg', 'BASE=debian:bookworm-slim', '-t', PASS1, pass1Context], 300);
  pass1Times.push((performance.now() - start) / 1000);
}
const pass1 = median(pass1Times);
log(`pass 1: ${pass1Times.map((t) => t.toFixed(1)).join(', ')} s; pass 2 by hand, ${PASS2_RUNS} runs`);
const handPass2 = [];
for (let i = 0; i < PASS2_RUNS; i++) {
  const dir = join(work, `pass2-${i}`);
  mkdirSync(join(dir, 'in'), { recursive: true });
  mkdirSync(join(dir, 'config'));
  writeFileSync(join(dir, 'in/zones.yaml'), zonesSpec(`10.0.9.${i + 1}`));
  docker(
    'run',
    '--rm',
    '--network',
    'none',
    '--user',
    `${process.getuid()}:${process.getgid()}`,
    '-v',
    `${dir}/in:/in:ro`,
    '-v',
    `${dir}/config:/out`,
    PASS1,
    'dtool-dns-generate',
    '/in',
    '/out',
  );
  writeFileSync(join(dir, 'Dockerfile'), `FROM ${PASS1}\nCOPY config/ /etc/bind/generated/\n`);
  rmSync(join(dir, 'in'), { recursive: true });
  const start = performance.now();
  docker('build', '-q', '--label', LABEL, '-t', `${PASS2_REPO}:${i}`, dir);
  handPass2.push((performance.now() - start) / 1000);
}

// ---- dtool's server, created, then swapped while alone on its network -------------------------
log('first dtool rebuild: creates the server');
writeFileSync(zonesFile, zonesSpec('10.0.0.10'));
const first = await dtoolRebuild();
log(`created in ${s(first.report.seconds)} (${first.report.status})`);
const swapsAlone = await dtoolSwaps('alone on its network');

// A container the server names, on its network: the usual setting, and the bridge then keeps a
// port through the cutover (see the notes). Registering it is a changed input.
docker('run', '-d', '--name', WEB1, '--network', NET, '--label', LABEL, '--label', 'dtool.dns.name=web1', 'debian:bookworm-slim', 'sleep', '900');
writeFileSync(zonesFile, zonesSpec('10.0.0.10'));
const registered = await dtoolRebuild();
log(`web1 registered: ${registered.report.status}`);

// ---- 2. unchanged input ------------------------------------------------------------------------
const unchanged = [];
for (let i = 0; i < UNCHANGED_RUNS; i++) {
  const { report, wall } = await dtoolRebuild();
  if (report.status !== 'unchanged') throw new Error(`run ${i + 1} with unchanged input was ${report.status}`);
  unchanged.push({ total: report.seconds, wall, generate: step(report, 'generate').seconds, steps: report.steps });
}
const unchangedCli = [];
for (let i = 0; i < 3; i++) unchangedCli.push((await dtoolCli(zonesFile)).seconds);
log(`unchanged: ${unchanged.map((u) => u.total).join(', ')} s (CLI ${unchangedCli.map((t) => t.toFixed(2)).join(', ')} s)`);

// ---- 3. cutover gap, dtool, beside the labelled container ---------------------------------------
const swaps = await dtoolSwaps('beside web1');

// ---- 4. dtool dns rebuild (CLI) vs the shell script, changed input, round-robin ----------------
log('the script, a first (untimed) run: creates its server');
writeFileSync(shZonesFile, zonesSpec('10.0.0.10'));
await script(shZonesFile);
const cliRuns = [];
const scriptRuns = [];
for (let round = 0; round < REPEAT; round++) {
  const address = `10.0.2.${round + 1}`;
  writeFileSync(zonesFile, zonesSpec(address));
  writeFileSync(shZonesFile, zonesSpec(address));
  const order = round % 2 === 0 ? ['script', 'dtool'] : ['dtool', 'script'];
  for (const who of order) {
    if (who === 'script') scriptRuns.push(await script(shZonesFile));
    else {
      const { seconds, report } = await dtoolCli(zonesFile);
      if (report.status !== 'changed') throw new Error(`dtool run on changed input was ${report.status}`);
      cliRuns.push({ seconds, report });
    }
  }
  log(`round ${round + 1}: script ${s(scriptRuns.at(-1).seconds)}, dtool ${s(cliRuns.at(-1).seconds)}`);
}

// The script's cutover under the same loop: beside web1 and dtool's server, then alone.
const shSwaps = await scriptSwaps('beside web1', { port: SH_PORT });
writeFileSync(shZonesFile, zonesSpec('10.0.0.10'));
await script(shZonesFile, { network: NET_ALONE, name: SH_ALONE, port: SH_ALONE_PORT });
const shSwapsAlone = await scriptSwaps('alone on its network', { network: NET_ALONE, name: SH_ALONE, port: SH_ALONE_PORT });

// ---- where the time goes in a swap (dtool's engine calls, traced) ----------------------------
/** Spans of one swap step, from the order of its engine calls (see src/recipes/steps/swap.ts). */
function swapSpans({ trace: t, stats }) {
  const calls = t.calls.filter((c) => c.step === 'swap').sort((a, b) => a.start - b.start);
  const span = t.steps.swap;
  const nth = (method, n) => calls.filter((c) => c.method === method)[n];
  const [create1, create2] = [nth('createContainer', 0), nth('createContainer', 1)];
  const [start1, start2] = [nth('startContainer', 0), nth('startContainer', 1)];
  const remove1 = nth('removeContainer', 0);
  const rename1 = nth('renameContainer', 0);
  const stop = nth('stopContainer', 0);
  const after = calls.filter((c) => c.method === 'inspectDefinition').at(-1);
  if (!create1 || !create2 || !start1 || !start2 || !remove1 || !rename1 || !stop || !after) return undefined;
  // The query loop's view of the cutover, on the same clock: the old server's last answer and
  // the new one's first, against the stop and start calls.
  const answered = stats.queries.filter((q) => q.status === 'ok').sort((a, b) => a.at - b.at);
  const lastOld = answered.filter((q) => q.at < start2.start).at(-1);
  const firstNew = answered.find((q) => q.at > start2.start);
  return {
    'inspect the image and the running server': (create1.start - span.start) / 1000,
    'candidate: create + start': (start1.end - create1.start) / 1000,
    'candidate: golden queries at its own address': (remove1.start - start1.end) / 1000,
    'candidate: remove': (remove1.end - remove1.start) / 1000,
    'cutover: rename the old one aside, create the new one': (create2.end - rename1.start) / 1000,
    'cutover: stop the old one': (stop.end - stop.start) / 1000,
    'cutover: start the new one': (start2.end - start2.start) / 1000,
    'golden queries on the published port after cutover': (after.start - start2.end) / 1000,
    'keep the old one as NAME-previous': (span.end - after.start) / 1000,
    'whole swap step': (span.end - span.start) / 1000,
    "loop: the old server's last answer, after the stop call began": lastOld ? (lastOld.at - stop.start) / 1000 : Number.NaN,
    "loop: the new server's first answer, after the start call returned": firstNew ? (firstNew.at - start2.end) / 1000 : Number.NaN,
  };
}

// ---- the table --------------------------------------------------------------------------------------
const met = (ok) => (ok ? 'yes' : '**no**');
const serverSteps = [...cliRuns.map((r) => r.report), ...swaps.map((x) => x.report), ...swapsAlone.map((x) => x.report)]
  .map((r) => step(r, 'server'))
  .filter((x) => x.status === 'done')
  .map((x) => x.seconds);
const pass2 = median(serverSteps);
rows.push([
  '1. second pass ÷ first full build (dtool: its `server` step)',
  `${s(pass2)} (median of ${serverSteps.length})`,
  `cold pass 1: ${s(pass1, 1)} (runs: ${pass1Times.map((t) => t.toFixed(1)).join(', ')})`,
  (pass2 / pass1).toFixed(3),
  '≤ 0.2',
  met(pass2 / pass1 <= 0.2),
]);
rows.push([
  '1b. second pass by hand (`docker build`, FROM pass 1 + COPY) ÷ first full build',
  '–',
  `${s(median(handPass2))} (median of ${PASS2_RUNS}) vs ${s(pass1, 1)}`,
  (median(handPass2) / pass1).toFixed(3),
  '≤ 0.2',
  met(median(handPass2) / pass1 <= 0.2),
]);
const beyond = median(unchanged.map((u) => u.total - u.generate));
const scriptMedian = median(scriptRuns.map((r) => r.seconds));
rows.push([
  `2. unchanged input: dtool time beyond the generator (${UNCHANGED_RUNS} runs)`,
  `${s(median(unchanged.map((u) => u.total)))} total − ${s(median(unchanged.map((u) => u.generate)))} generate = **${s(beyond)}**; whole CLI run ${s(median(unchangedCli))}`,
  `the script rebuilds and restarts anyway: ${s(scriptMedian)}`,
  (scriptMedian / median(unchangedCli)).toFixed(2),
  '≤ 1 s beyond the generator',
  met(beyond <= 1),
]);
const gapRow = (label, dtoolSet, scriptSet) => {
  const gap = median(dtoolSet.map((x) => x.stats.longestMs));
  const shGap = median(scriptSet.map((x) => x.stats.longestMs));
  return [
    label,
    `longest unanswered ${ms(gap)}, failed ${median(dtoolSet.map((x) => x.stats.failed))} of ${median(dtoolSet.map((x) => x.stats.sent))}; dtool's own cutoverGapMs ${ms(median(dtoolSet.map((x) => x.swap.cutoverGapMs)))}`,
    `script: longest ${ms(shGap)}, failed ${median(scriptSet.map((x) => x.stats.failed))} of ${median(scriptSet.map((x) => x.stats.sent))}`,
    (shGap / gap).toFixed(2),
    '≤ 1 s',
    met(gap <= 1000),
  ];
};
rows.push(
  gapRow(`3. swap cutover gap, ${QPS} q/s UDP on the published port (${SWAPS} swaps each; server beside a container it names)`, swaps, shSwaps),
);
rows.push(gapRow('3b. the same, each server alone on its network', swapsAlone, shSwapsAlone));
const cliMedian = median(cliRuns.map((r) => r.seconds));
rows.push([
  `4. changed input: \`dtool dns rebuild\` (CLI) vs bench/dns-rebuild.sh (${REPEAT} each, round-robin)`,
  s(cliMedian),
  s(scriptMedian),
  (scriptMedian / cliMedian).toFixed(2),
  'script ÷ dtool ≥ ~1',
  met(scriptMedian / cliMedian >= 0.95),
]);

// Per-step medians: dtool's changed CLI runs and unchanged in-process runs; the script's steps.
const stepIds = cliRuns[0].report.steps.map((x) => x.id);
const statuses = (list) => [...new Set(list.map((x) => x.status))].join('/');
const scriptStep = (id) => s(median(scriptRuns.map((r) => r.steps[id] ?? Number.NaN)));
const scriptSteps = { base: 'pass1', generate: 'generate', check: undefined, server: 'pass2', swap: undefined, prune: undefined };
const stepTable = [
  '| step | dtool, changed input (CLI runs) | dtool, unchanged input | the script, changed input |',
  '| --- | --- | --- | --- |',
  ...stepIds.map((id) => {
    const changed = cliRuns.map((r) => step(r.report, id));
    const same = unchanged.map((u) => u.steps.find((x) => x.id === id));
    const theirs =
      id === 'swap'
        ? `rm -f ${scriptStep('rm')} + run ${scriptStep('run')} (no probe)`
        : scriptSteps[id]
          ? `${scriptStep(scriptSteps[id])} (${scriptSteps[id] === 'pass1' ? '`docker build`, cached' : scriptSteps[id] === 'pass2' ? '`docker build`' : '`docker run`'})`
          : '–';
    return `| ${id} | ${s(median(changed.map((x) => x.seconds)))} (${statuses(changed)}) | ${s(median(same.map((x) => x.seconds)))} (${statuses(same)}) | ${theirs} |`;
  }),
  `| **total** | ${s(median(cliRuns.map((r) => r.report.seconds)))} (whole CLI: ${s(cliMedian)}) | ${s(median(unchanged.map((u) => u.total)))} (whole CLI: ${s(median(unchangedCli))}) | ${s(scriptMedian)} |`,
].join('\n');
const spansWith = swaps.map(swapSpans).filter(Boolean);
const spansAlone = swapsAlone.map(swapSpans).filter(Boolean);
const spanNames = Object.keys(spansWith[0] ?? spansAlone[0] ?? {});
const spanCell = (list, name) => (list.length ? s(median(list.map((x) => x[name])), 3) : '–');
const spanTable = [
  `| swap span (median of ${SWAPS} in-process swaps under the query loop) | beside web1 | alone on its network |`,
  '| --- | --- | --- |',
  ...spanNames.map((name) => `| ${name} | ${spanCell(spansWith, name)} | ${spanCell(spansAlone, name)} |`),
].join('\n');

const header = ['metric', 'dtool', 'plain way', 'ratio', 'target', 'met?'];
const table = [header, header.map(() => '---'), ...rows].map((r) => `| ${r.join(' | ')} |`).join('\n');
const benchSeconds = (performance.now() - benchStarted) / 1000;
const when = new Date().toISOString().slice(0, 16).replace('T', ' ');
const context =
  `${cpus().length} cores; Docker engine ${quiet('version', '--format', '{{.Server.Version}}')} (legacy builder, userland proxy); ` +
  `the bench took ${Math.round(benchSeconds)} s. Ratios: row 1 dtool ÷ plain (lower is better); rows 2 and 4 the script's time ÷ dtool's ` +
  `whole CLI run (higher is better); row 3 the script's gap ÷ dtool's (higher is better for dtool).`;
notes.push(
  '- **1**: a cold pass-1 build (`docker build --no-cache` of images/dns + the shared guard: apt, BIND, Python) against pass 2: ' +
    "dtool's `server` step in the changed-input runs (hash, context tar, `FROM pass 1` + `COPY config/`), and the same " +
    '`docker build` by hand on a freshly generated config.',
  "- **2**: `dnsRebuild` in-process on the same input after a run that applied it; the report's total minus its `generate` step " +
    '(which always runs: the generator sees the running containers). The whole CLI run adds Node start-up. The script has no ' +
    'such shortcut: it always rebuilds and restarts.',
  `- **3**: a loop sends ${QPS} UDP queries/s (www.example.test A, a fresh socket each, 200 ms to answer) to 127.0.0.1 on the ` +
    'published port, from 0.5 s before the rebuild to 2 s after it; failed = no NOERROR answer with an address in time; longest = ' +
    "the longest stretch between two answers. dtool's `cutoverGapMs` is its own probe loop through the cutover. Row 3: the " +
    "network also holds a labelled container (web1) the server names — and, for the script, dtool's server. Row 3b: each server " +
    'alone on its network.',
  '- **4**: the same changed zones spec given to both in each round, order alternating; bench/dns-rebuild.sh is `docker build` ' +
    '(pass 1, cached) → `docker run` generator → `docker build` (pass 2) → `docker rm -f` → `docker run`, with no check, no probe ' +
    'and no rollback; dtool also checks the config (named-checkconf, named-checkzone), registers the labelled containers, probes ' +
    'a candidate and then the new server with the golden queries, keeps the old one stopped, and prunes old images.',
);
const section = `<!-- recipes:start -->
Measured ${when} UTC by \`node bench/recipes.mjs\` (part of \`make bench\`).

${context}

${table}

${notes.join('\n')}

Per step (medians; dtool's from its reports, the script's from its \`mark\` lines):

${stepTable}

Where the time goes in a swap (in-process runs, engine calls timed; see \`swapSpans\` in bench/recipes.mjs):

${spanTable}
<!-- recipes:end -->`;
console.log(`\n${table}\n\n${stepTable}\n\n${spanTable}\n`);
const path = writeSection(root, 'recipes', section, 'Recipes and the two-pass DNS rebuild');
log(`wrote ${path}; ${Math.round(benchSeconds)} s`);
