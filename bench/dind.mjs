#!/usr/bin/env node
/**
 * make bench, Docker-in-Docker rows: one multi-stage context (an apt step and a gcc compile in
 * the build stage, the binary copied into a fresh debian:bookworm-slim) built into an image tar
 * four ways, time AND disk, measured round-robin in the same run on this machine. Writes its
 * table between the `dind` markers of BENCHMARKS.md. Ratios, never timed asserts.
 *
 *  1. the plain way: `docker build --no-cache` on the host engine (legacy builder), then
 *     `docker save -o FILE`;
 *  2. `dtool dind build --no-cache` (in-process `dindBuild`, cache: false): a throwaway inner
 *     daemon on an anonymous volume, the base image seeded from the host;
 *  3. `dtool dind build` warm: a named cache volume, built once before the rounds to warm it;
 *  4. the seed's way: `docker run -d` of dtool/dind with the same capability profile (this
 *     engine refuses --privileged), the base seeded with `docker save | docker exec -i … docker
 *     load`, the context piped with `tar -c | docker exec -i … docker build -t x -`, `docker exec …
 *     docker save x > FILE`, then `docker rm -f -v`.
 *
 * Plus: the seeding of the base image on its own (dtool's report `seeded[].seconds`, and the
 * seed's `docker save | docker load` pipe timed alone), and, for reference, the host build
 * with its layer cache (what the warm DinD build is the counterpart of).
 *
 * Everything it creates is named dtool-bench-dind-* (this run's suffix) and removed at exit:
 * containers, the cache volume, the host images it tagged and their untagged build stages,
 * temp files. Never dtool/dind or debian:bookworm-slim.
 *
 * Env: BENCH_DIND_REPEAT (round-robin rounds, default 3), BENCH_DIND_BUDGET (seconds: a round
 * is not started when the rounds so far suggest it would end past this, default 540; at least
 * 2 rounds run), BENCH_DOC (the file whose section is rewritten, default BENCHMARKS.md).
 */
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import { median, writeSection } from './lib.mjs';

const root = new URL('..', import.meta.url).pathname;
const { createDefaultDeps } = await import(join(root, 'dist/index.js'));
const { dindBuild, parseDindBuildParams } = await import(join(root, 'dist/helpers/dind/build.js'));

const REPEAT = Math.max(1, Number(process.env.BENCH_DIND_REPEAT ?? 3));
const BUDGET = Number(process.env.BENCH_DIND_BUDGET ?? 540);
const BASE = 'debian:bookworm-slim';
/** Bounds: one build (apt included), one DinD start, one stream. */
const BUILD_TIMEOUT = 300;
const READY_TIMEOUT = 120;

const suffix = randomBytes(3).toString('hex');
const PREFIX = `dtool-bench-dind-`;
const HOST_REPO = `${PREFIX}host-${suffix}`;
const HOST_CACHED_REPO = `${PREFIX}hostcached-${suffix}`;
const COLD_TAG = `${PREFIX}cold-${suffix}:1`;
const WARM_TAG = `${PREFIX}warm-${suffix}:1`;
const CACHE_VOLUME = `${PREFIX}cache-${suffix}`;
const SEED_CONTAINER = (round) => `${PREFIX}seed-${suffix}-${round}`;

const benchStarted = performance.now();
const work = mkdtempSync(join(tmpdir(), PREFIX));
const log = (message) => process.stderr.write(`bench: ${message}\n`);
const sh = (cmd, args, timeoutSeconds = 120) =>
  execFileSync(cmd, args, { encoding: 'utf8', maxBuffer: 64 << 20, timeout: timeoutSeconds * 1000, stdio: ['ignore', 'pipe', 'pipe'] }).trim();
const docker = (...args) => sh('docker', args);
/** A shell pipeline, failing if any part fails. */
const pipe = (script, timeoutSeconds = BUILD_TIMEOUT) => sh('bash', ['-o', 'pipefail', '-c', script], timeoutSeconds);
const quiet = (...args) => {
  try {
    return docker(...args);
  } catch {
    return '';
  }
};
const q = (value) => `'${String(value).replace(/'/g, `'\\''`)}'`;
const lines = (text) => text.split('\n').filter(Boolean);
const now = () => performance.now();
const since = (start) => (performance.now() - start) / 1000;
const s = (seconds, digits = 1) => (Number.isFinite(seconds) ? `${seconds.toFixed(digits)} s` : '–');
const mb = (bytes) => (Number.isFinite(bytes) ? `${(bytes / 1e6).toFixed(1)} MB` : '–');
const runsOf = (xs, digits = 1) => xs.map((x) => x.toFixed(digits)).join(', ');
const fileSize = (path) => statSync(path).size;

// ---- cleanup: only what this run created ----------------------------------------------------
/** Image IDs this run left on the host engine (untagged build stages), removed at exit. */
const hostImageIds = new Set();
let cleaned = false;
function cleanup() {
  if (cleaned) return;
  cleaned = true;
  const containers = lines(quiet('ps', '-a', '--format', '{{.Names}}', '--filter', `name=${suffix}`)).filter((n) => n.startsWith(PREFIX));
  if (containers.length) quiet('rm', '-f', '-v', ...containers);
  // The volume may still be held for a moment by a DinD container being removed: bounded retries.
  for (let i = 0; i < 20 && quiet('volume', 'ls', '-q', '--filter', `name=^${CACHE_VOLUME}$`); i++) {
    quiet('volume', 'rm', '-f', CACHE_VOLUME);
    Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 500);
  }
  for (const repository of [HOST_REPO, HOST_CACHED_REPO, COLD_TAG.split(':')[0], WARM_TAG.split(':')[0]]) {
    const refs = lines(quiet('images', '--format', '{{.Repository}}:{{.Tag}}', repository)).filter((r) => !r.endsWith(':<none>'));
    if (refs.length) quiet('rmi', ...refs);
  }
  for (const id of hostImageIds) quiet('rmi', id);
  rmSync(work, { recursive: true, force: true });
}
process.on('exit', cleanup);
for (const signal of ['SIGINT', 'SIGTERM']) process.on(signal, () => process.exit(130));

// ---- the context -------------------------------------------------------------------------------
const HELLO_C = `#include <stdio.h>
#include <string.h>

/* A small program with a little work in it: a CRC-32 of its arguments. */
static unsigned crc32(const char *s) {
  unsigned crc = 0xffffffffu;
  for (; *s; s++) {
    crc ^= (unsigned char)*s;
    for (int k = 0; k < 8; k++) crc = (crc >> 1) ^ (0xedb88320u & -(crc & 1u));
  }
  return ~crc;
}

int main(int argc, char **argv) {
  puts("hello from the dind bench");
  for (int i = 1; i < argc; i++) printf("%s %08x\\n", argv[i], crc32(argv[i]));
  return 0;
}
`;
const DOCKERFILE = `FROM ${BASE} AS build
RUN apt-get update && apt-get install -y --no-install-recommends gcc libc6-dev && rm -rf /var/lib/apt/lists/*
COPY hello.c /src/hello.c
RUN gcc -O2 -Wall -o /hello /src/hello.c
FROM ${BASE}
COPY --from=build /hello /usr/local/bin/hello
CMD ["hello"]
`;
const ctx = join(work, 'context');
const out = join(work, 'out');
mkdirSync(ctx);
mkdirSync(out);
writeFileSync(join(ctx, 'Dockerfile'), DOCKERFILE);
writeFileSync(join(ctx, 'hello.c'), HELLO_C);

// ---- dtool, in-process ---------------------------------------------------------------------
const deps0 = await createDefaultDeps();
const dindImage = (await deps0.images.ensure('dind')).reference;
log(`dind image ${dindImage}; run suffix ${suffix}; ${REPEAT} rounds`);
if (!quiet('image', 'inspect', '--format', '{{.Id}}', BASE)) throw new Error(`${BASE} is not on this engine (make base-image)`);
const baseBytes = Number(docker('image', 'inspect', '--format', '{{.Size}}', BASE));

/**
 * One `dindBuild`, its engine calls watched: the `docker exec`s of the inner CLI mark the end
 * of the start (the first one), the start of the build and of the save. Bounded by an abort.
 */
async function dtoolBuild(tag, cache, file) {
  const execs = [];
  const deps = await createDefaultDeps({
    config: { grants: ['privileged'], privilegedMode: 'capabilities' },
    signal: AbortSignal.timeout(BUILD_TIMEOUT * 1000),
  });
  const docker = new Proxy(deps.docker, {
    get(target, prop) {
      const value = target[prop];
      if (typeof value !== 'function') return value;
      if (prop !== 'execStream') return value.bind(target);
      return (id, cmd, ...rest) => {
        execs.push({ cmd: cmd.slice(1, 2)[0], at: now() });
        return value.call(target, id, cmd, ...rest);
      };
    },
  });
  const params = parseDindBuildParams(ctx, { tag, out: file, cache }, work);
  const started = now();
  const report = await dindBuild({ ...deps, docker }, params, { lockDir: join(work, 'locks') });
  const wall = since(started);
  const at = (cmd) => execs.find((e) => e.cmd === cmd)?.at ?? Number.NaN;
  const ended = started + report.seconds * 1000;
  const spans = {
    start: (execs[0].at - started) / 1000,
    seed: (at('build') - execs[0].at) / 1000,
    build: (at('save') - at('build')) / 1000,
    save: (ended - at('save')) / 1000,
    remove: wall - report.seconds,
  };
  const bytes = fileSize(file);
  rmSync(file, { force: true });
  rmSync(`${file}.json`, { force: true });
  return { seconds: wall, report, spans, bytes };
}

// ---- the host engine -----------------------------------------------------------------------
/**
 * `docker build` (legacy builder) + `docker save -o`. The build stage's image stays behind
 * untagged (the legacy builder keeps it): its ID is the last ` ---> ID` before the second FROM.
 */
function hostBuild(repo, round, { noCache }) {
  const tag = `${repo}:${round}`;
  const file = join(out, `${repo}-${round}.tar`);
  const started = now();
  const output = execFileSync('docker', ['build', ...(noCache ? ['--no-cache'] : []), '-t', tag, ctx], {
    encoding: 'utf8',
    maxBuffer: 64 << 20,
    timeout: BUILD_TIMEOUT * 1000,
    env: { ...process.env, DOCKER_BUILDKIT: '0' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const build = since(started);
  const saveStarted = now();
  docker('save', '-o', file, tag);
  const save = since(saveStarted);
  const seconds = since(started);
  const outputLines = output.split('\n');
  const froms = outputLines.map((l, i) => (/^Step \d+\/\d+ : FROM /.test(l) ? i : -1)).filter((i) => i >= 0);
  const stageId = outputLines
    .slice(0, froms[1])
    .map((l) => /^ ---> ([0-9a-f]{12})$/.exec(l)?.[1])
    .filter(Boolean)
    .at(-1);
  const finalId = /Successfully built ([0-9a-f]{12})/.exec(output)?.[1];
  if (stageId) hostImageIds.add(stageId);
  if (finalId) hostImageIds.add(finalId);
  const imageBytes = Number(docker('image', 'inspect', '--format', '{{.Size}}', tag));
  const stageBytes = stageId ? Number(quiet('image', 'inspect', '--format', '{{.Size}}', stageId)) : Number.NaN;
  const bytes = fileSize(file);
  rmSync(file, { force: true });
  const cached = (output.match(/^ ---> Using cache$/gm) ?? []).length;
  return { seconds, spans: { build, save }, bytes, imageBytes, stageBytes, tag, stageId, cached };
}
function removeHostImage(result) {
  quiet('rmi', result.tag);
  if (result.stageId) quiet('rmi', result.stageId);
}

// ---- the seed's way ------------------------------------------------------------------------
/** The capability profile of src/core/privileges.ts as `docker run` flags (--privileged is refused here). */
const PROFILE_FLAGS = [
  '--cap-add',
  'ALL',
  '--cap-drop',
  'SYS_RESOURCE',
  '--security-opt',
  'seccomp=unconfined',
  '--security-opt',
  'apparmor=unconfined',
  // No masked and no read-only paths (MaskedPaths: [], ReadonlyPaths: []).
  '--security-opt',
  'systempaths=unconfined',
  '--device-cgroup-rule',
  'a *:* rwm',
  '-v',
  '/sys/fs/cgroup:/sys/fs/cgroup',
];
/** Ready: dtool-dind's line once the inner daemon answers (polled every 100 ms, bounded). */
async function waitReady(name) {
  const deadline = now() + READY_TIMEOUT * 1000;
  while (!/dtool-dind: ready/.test(sh('docker', ['logs', name], 10))) {
    if (now() > deadline) throw new Error(`${name}: no ready line within ${READY_TIMEOUT} s`);
    await sleep(100);
  }
}
async function seedWay(round) {
  const name = SEED_CONTAINER(round);
  const file = join(out, `seed-${round}.tar`);
  quiet('rm', '-f', '-v', name);
  const spans = {};
  let mark = now();
  const step = (id) => {
    spans[id] = since(mark);
    mark = now();
  };
  docker('run', '-d', '--name', name, ...PROFILE_FLAGS, dindImage, 'dtool-dind');
  await waitReady(name);
  step('start');
  pipe(`docker save ${q(BASE)} | docker exec -i ${q(name)} docker load -q`);
  step('seed');
  pipe(`tar -c -C ${q(ctx)} . | docker exec -i ${q(name)} docker build -t x -`);
  step('build');
  pipe(`docker exec ${q(name)} docker save x > ${q(file)}`);
  step('save');
  // Not timed: the inner daemon's data root (the anonymous volume) before it goes.
  const pause = now();
  const dataRoot = Number(sh('docker', ['exec', name, 'du', '-sbx', '/var/lib/docker']).split(/\s/)[0]);
  mark += now() - pause;
  docker('rm', '-f', '-v', name);
  step('remove');
  const seconds = Object.values(spans).reduce((a, b) => a + b, 0);
  const bytes = fileSize(file);
  rmSync(file, { force: true });
  return { seconds, spans, bytes, dataRoot };
}

/** The cache volume's size, read through a throwaway container mounting it read-only. */
function volumeBytes(volume) {
  // `docker run -v NAME:…` would create a missing volume: check first.
  if (!quiet('volume', 'inspect', '--format', '{{.Name}}', volume)) return Number.NaN;
  return Number(docker('run', '--rm', '-v', `${volume}:/v:ro`, BASE, 'du', '-sbx', '/v').split(/\s/)[0]);
}

/**
 * The engine may be shared (another checkout's integration suite ends with `dtool prune`, which
 * removes every dtool-managed container, a DinD helper mid-build included): a run that fails,
 * or a warm run that found its cache gone, is tried once more, and the table says so.
 */
const retries = [];
async function attempt(label, fn, invalid = () => undefined) {
  for (let i = 1; ; i++) {
    let reason;
    try {
      const result = await fn();
      reason = invalid(result);
      if (!reason) return result;
    } catch (error) {
      reason = (error?.message ?? String(error)).split('\n')[0].slice(0, 200);
    }
    log(`${label}, attempt ${i}: ${reason}`);
    retries.push(`${label}: ${reason}`);
    if (i >= 2) throw new Error(`${label} failed twice: ${reason}`);
  }
}
const warmInvalid = (r) =>
  r.report.cachedSteps === r.report.steps - 2 && r.report.seeded.every((x) => x.from === 'cache')
    ? undefined
    : `not warm (${r.report.cachedSteps}/${r.report.steps} steps cached, seeded ${JSON.stringify(r.report.seeded)}): the cache volume was lost`;

// ---- warm-up: the cache volume's first build (not one of the rounds) ---------------------------
log('warm-up: the first build on the cache volume');
const warmup = await attempt('warm-up', () => dtoolBuild(WARM_TAG, CACHE_VOLUME, join(out, 'warmup.tar')));
log(
  `warm-up ${s(warmup.seconds)} (steps ${warmup.report.steps}, cached ${warmup.report.cachedSteps}, seeded ${JSON.stringify(warmup.report.seeded)})`,
);

// ---- the rounds --------------------------------------------------------------------------------
const ways = {
  host: async (round) => {
    const r = hostBuild(HOST_REPO, round, { noCache: true });
    removeHostImage(r);
    return r;
  },
  cold: async () => dtoolBuild(COLD_TAG, false, join(out, 'cold.tar')),
  warm: async () => dtoolBuild(WARM_TAG, CACHE_VOLUME, join(out, 'warm.tar')),
  seed: async (round) => seedWay(round),
};
const order = Object.keys(ways);
const results = Object.fromEntries(order.map((w) => [w, []]));
const hostCached = [];
const seedPipe = [];
const roundSeconds = [];
let rounds = 0;
let reducedNote = '';
// The host's cached reference needs the layers once: a cached build right before the rounds.
const primed = hostBuild(HOST_CACHED_REPO, 'prime', { noCache: false });
for (let round = 0; round < REPEAT; round++) {
  const elapsed = since(benchStarted);
  if (round >= 2 && elapsed + Math.max(...roundSeconds) > BUDGET) {
    reducedNote = `Reduced to ${round} rounds: ${Math.round(elapsed)} s had gone and a round takes up to ${Math.round(Math.max(...roundSeconds))} s (budget ${BUDGET} s).`;
    log(reducedNote);
    break;
  }
  const roundStarted = now();
  const rotated = [...order.slice(round % order.length), ...order.slice(0, round % order.length)];
  for (const way of rotated) {
    const result = await attempt(`round ${round + 1}, ${way}`, () => ways[way](round), way === 'warm' ? warmInvalid : undefined);
    results[way].push(result);
    log(
      `round ${round + 1}, ${way}: ${s(result.seconds, 2)} ${JSON.stringify(Object.fromEntries(Object.entries(result.spans).map(([k, v]) => [k, Number(v.toFixed(2))])))}`,
    );
  }
  // Between rounds, not in any way's time: the host's cached build, and the seed's pipe alone.
  const cached = hostBuild(HOST_CACHED_REPO, round, { noCache: false });
  hostCached.push(cached);
  quiet('rmi', cached.tag);
  const probe = `${PREFIX}pipe-${suffix}-${round}`;
  docker('run', '-d', '--name', probe, ...PROFILE_FLAGS, dindImage, 'dtool-dind');
  await waitReady(probe);
  const pipeStarted = now();
  pipe(`docker save ${q(BASE)} | docker exec -i ${q(probe)} docker load -q`);
  seedPipe.push(since(pipeStarted));
  docker('rm', '-f', '-v', probe);
  roundSeconds.push(since(roundStarted));
  rounds++;
}
removeHostImage(primed);
const cacheBytes = volumeBytes(CACHE_VOLUME);

// ---- the table ---------------------------------------------------------------------------------
const times = (way) => results[way].map((r) => r.seconds);
const med = (way) => median(times(way));
const host = med('host');
const cold = med('cold');
const warm = med('warm');
const seed = med('seed');
const met = (ok) => (ok ? 'yes' : '**no**');
const tarOf = (way) => mb(median(results[way].map((r) => r.bytes)));
const dtoolSeeds = [...results.cold, warmup].map((r) => r.report.seeded.find((x) => x.from === 'host')?.seconds).filter((x) => x !== undefined);
const header = ['way', 'time (median)', 'runs', 'tar', 'disk', 'ratio vs host', 'target', 'met?'];
const rows = [
  [
    '1. host engine: `docker build --no-cache` + `docker save -o` (the plain way)',
    s(host),
    runsOf(times('host')),
    tarOf('host'),
    `image ${mb(median(results.host.map((r) => r.imageBytes)))}; + build stage left untagged ${mb(median(results.host.map((r) => r.stageBytes)))} (both count the ${mb(baseBytes)} base)`,
    '1.00',
    '–',
    '–',
  ],
  [
    '2. `dtool dind build --no-cache` (cold: throwaway inner daemon, base seeded)',
    s(cold),
    runsOf(times('cold')),
    tarOf('cold'),
    'anonymous volume, removed with the container (peak: as row 4)',
    (cold / host).toFixed(2),
    '≤ 1.5',
    met(cold / host <= 1.5),
  ],
  [
    '3. `dtool dind build` warm (named cache volume)',
    s(warm),
    runsOf(times('warm')),
    tarOf('warm'),
    `cache volume ${mb(cacheBytes)} (kept)`,
    (warm / host).toFixed(2),
    '≤ 1.3',
    met(warm / host <= 1.3),
  ],
  [
    "4. the seed's way: DinD `docker run -d` (capability profile), save\\|load, tar\\|build, save out, rm",
    s(seed),
    runsOf(times('seed')),
    tarOf('seed'),
    `inner data root ${mb(median(results.seed.map((r) => r.dataRoot)))} (anonymous volume, removed)`,
    (seed / host).toFixed(2),
    '–',
    '–',
  ],
  [
    "3 vs 4: warm `dtool dind build` against the seed's way",
    `${(seed / warm).toFixed(1)}× faster`,
    '',
    '',
    '',
    '',
    '≥ 3× faster',
    met(seed / warm >= 3),
  ],
  [
    `seeding the base image (${mb(baseBytes)}) into the inner daemon`,
    `${s(median(dtoolSeeds), 2)} (dtool); ${s(median(seedPipe), 2)} (save\\|load pipe)`,
    `dtool ${runsOf(dtoolSeeds, 2)}; pipe ${runsOf(seedPipe, 2)}`,
    '',
    '',
    '',
    '–',
    '–',
  ],
  [
    '(reference) host engine: `docker build` with its layer cache + `docker save -o`',
    s(median(hostCached.map((r) => r.seconds))),
    runsOf(hostCached.map((r) => r.seconds)),
    mb(median(hostCached.map((r) => r.bytes))),
    '',
    (median(hostCached.map((r) => r.seconds)) / host).toFixed(2),
    '–',
    '–',
  ],
];
const table = [header, header.map(() => '---'), ...rows].map((r) => `| ${r.join(' | ')} |`).join('\n');

// Where the time goes: medians of each way's spans.
const spanIds = ['start', 'seed', 'build', 'save', 'remove'];
const spanCell = (way, id) => (results[way][0]?.spans[id] === undefined ? '–' : s(median(results[way].map((r) => r.spans[id])), 2));
const spanTable = [
  "| span (median) | 1. host | 2. dtool cold | 3. dtool warm | 4. seed's way |",
  '| --- | --- | --- | --- | --- |',
  ...spanIds.map((id) => `| ${id} | ${['host', 'cold', 'warm', 'seed'].map((w) => spanCell(w, id)).join(' | ')} |`),
  `| **total** | ${['host', 'cold', 'warm', 'seed'].map((w) => s(med(w), 2)).join(' | ')} |`,
].join('\n');

const benchSeconds = since(benchStarted);
const when = new Date().toISOString().slice(0, 16).replace('T', ' ');
const context =
  `${cpus().length} cores; Docker engine ${quiet('version', '--format', '{{.Server.Version}}')} (${quiet('info', '--format', '{{.Driver}}')}, cgroup v${quiet('info', '--format', '{{.CgroupVersion}}')}), ` +
  `legacy builder everywhere; DinD with the explicit capability profile (\`--privileged-mode capabilities\`). ` +
  `${rounds} round-robin rounds (order rotated each round), medians with the individual runs; the bench took ${Math.round(benchSeconds)} s. ` +
  `The apt step downloads from the Debian mirror every time a build is not cached, so rows 1, 2 and 4 carry the mirror's variance; ` +
  `other work on the same engine adds noise.${reducedNote ? ` ${reducedNote}` : ''}` +
  (retries.length ? ` Tried again (not counted): ${retries.join('; ')}.` : ' No run had to be tried again.');
const notes = [
  "- **1**: `DOCKER_BUILDKIT=0 docker build --no-cache -t T CONTEXT` then `docker save -o FILE T`; disk: the image's size, and the build " +
    'stage (gcc, libc6-dev) the legacy builder leaves behind as an untagged image until pruned (removed here after each run).',
  "- **2**: `dindBuild` in-process with `cache: false` (the CLI's `--no-cache`; add ~0.1–0.3 s of Node start-up for the CLI): preflight, " +
    'the DinD helper started on an anonymous volume, the base seeded from the host, the context streamed in, built, the image streamed ' +
    'out to the tar (fsync, rename, manifest), the container and its volume removed. Nothing stays on disk but the tar.',
  `- **3**: the same on the cache volume ${'`dtool-bench-dind-cache-*`'}, warmed by one build before the rounds (${s(warmup.seconds)}, ` +
    `${warmup.report.steps} steps); every round's build has all its steps cached (${results.warm.map((r) => `${r.report.cachedSteps}/${r.report.steps}`).join(', ')} ` +
    'cached/steps: the FROM lines never say "Using cache") and the base is already there. Disk: the volume (`du -sbx` in a throwaway ' +
    "container mounting it read-only): the base, the build stage's layers (gcc) and the final image.",
  "- **4**: the seed's steps by hand, each a `docker` CLI call or pipe: `docker run -d` of the dtool/dind image with the same flags as " +
    "dtool's profile (`--cap-add ALL --cap-drop SYS_RESOURCE`, seccomp/apparmor/systempaths unconfined, `--device-cgroup-rule 'a *:* rwm'`, " +
    '`-v /sys/fs/cgroup:/sys/fs/cgroup`), waiting for its ready line (polled every 0.1 s), `docker save | docker exec -i … docker load`, ' +
    '`tar -c | docker exec -i … docker build -t x -`, `docker exec … docker save x > FILE`, `docker rm -f -v`. Disk: the inner data root ' +
    '(`du -sbx` before the removal, not timed).',
  "- **seeding**: dtool's report `seeded[].seconds` (the cold runs and the warm-up: an inner `docker image inspect` miss, then the host's " +
    '`docker save` streamed into the inner `docker load`), and the same `docker save | docker exec -i … docker load -q` pipe timed alone ' +
    'in a fresh DinD container between rounds.',
  '- **reference**: the host build with its layer cache, between rounds: the host-side counterpart of row 3 (not a target).',
];
const section = `<!-- dind:start -->
Measured ${when} UTC by \`node bench/dind.mjs\` (part of \`make bench\`).

${context}

${table}

${notes.join('\n')}

Where the time goes (medians; host: build, save; dtool: from its engine calls — start = until the first \`docker exec\` into the helper,
seed = storage-driver check + seeding, build, save = streaming the tar out + manifest, remove = after the report until \`dindBuild\` returned;
the seed's way: each command):

${spanTable}
<!-- dind:end -->`;
console.log(`\n${table}\n\n${spanTable}\n`);
const path = writeSection(root, 'dind', section, 'Docker-in-Docker builds');
log(`wrote ${path}; ${Math.round(benchSeconds)} s`);
