#!/usr/bin/env node
/**
 * make bench, scheduler and logrotate rows: dtool against the plain way, in the same run.
 * Writes its table between the `schedule` markers of BENCHMARKS.md. Ratios and
 * percentiles, never timed asserts.
 *
 * Env: BENCH_SCHEDULE_RUNS (no-op runs for the start-delay figures, default 200),
 * BENCH_ROTATE_TARGETS (containers rotated in one call, default 20).
 */
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';

const root = new URL('..', import.meta.url).pathname;
const lib = await import(join(root, 'dist/index.js'));
const { Scheduler, checkJob } = lib;

const RUNS = Number(process.env.BENCH_SCHEDULE_RUNS ?? 200);
const TARGETS = Number(process.env.BENCH_ROTATE_TARGETS ?? 20);
const LABEL = 'dtool.bench.schedule=true';
const work = mkdtempSync(join(tmpdir(), 'dtool-bench-schedule-'));
const log = (message) => process.stderr.write(`bench: ${message}\n`);
const docker = (...args) => execFileSync('docker', args, { encoding: 'utf8', maxBuffer: 64 << 20 }).trim();
const percentile = (values, p) => {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)];
};
const median = (values) => percentile(values, 50);

function cleanup() {
  const ids = docker('ps', '-aq', '--filter', `label=${LABEL}`).split('\n').filter(Boolean);
  if (ids.length) docker('rm', '-f', '-v', ...ids);
  const volumes = docker('volume', 'ls', '-q', '--filter', `label=${LABEL}`).split('\n').filter(Boolean);
  if (volumes.length) spawnSync('docker', ['volume', 'rm', '-f', ...volumes], { stdio: 'ignore' });
  rmSync(work, { recursive: true, force: true });
}
process.on('exit', cleanup);

const deps = await lib.createDefaultDeps();
const logrotateImage = (await deps.images.ensure('logrotate')).reference;
const rows = [];

// ---- start delay of a no-op job ---------------------------------------------------------
// The library's scheduler with real time: `@every 1s`, a no-op helper (`true` in the
// logrotate image), claims as in production. Dispatch: scheduled instant → job invoked.
// Running: scheduled instant → the helper's process started (the engine's start returned).
{
  log(`start delay: ${RUNS} runs of a no-op @every 1s job`);
  const kinds = { names: ['noop'], check: () => {} };
  const job = checkJob('bench-noop', { schedule: '@every 1s', seconds: true, helper: 'noop', 'catch-up': 'none' }, 'bench', kinds);
  const dispatch = [];
  const running = [];
  let done;
  const finished = new Promise((resolve) => (done = resolve));
  const scheduler = new Scheduler({
    now: () => Date.now(),
    timers: { setTimeout: (fn, ms) => setTimeout(fn, ms), clearTimeout: (h) => clearTimeout(h) },
    run: async ({ instant, signal }) => {
      let startedAt;
      await lib.runHelper(
        {
          ...deps,
          signal,
          reporter: (e) => {
            if (e.type === 'helper.start') startedAt = Date.now();
          },
        },
        { helper: 'bench-noop', image: logrotateImage, command: ['true'], network: { mode: 'none' } },
      );
      running.push(startedAt - instant.getTime());
      if (running.length >= RUNS) done();
      return { ok: true, exitCode: 0, summary: 'noop' };
    },
    claim: (j, instant) => lib.claimInstant(deps.docker, { image: deps.config.baseImage, version: 'bench' }, j, instant),
    state: { lastInstant: () => undefined, save: async () => {}, markInstant: async () => {} },
    emit: (event) => event.type === 'run.start' && dispatch.push(event.record.delayMs),
    maxConcurrent: 4,
  });
  scheduler.setJobs([job]);
  scheduler.start();
  await finished;
  await scheduler.stop(10_000);
  const claims = docker('ps', '-aq', '--filter', 'label=dtool.claim.job=bench-noop').split('\n').filter(Boolean);
  if (claims.length) docker('rm', '-f', ...claims);
  rows.push([
    'scheduler: dispatch delay (instant → job invoked)',
    `p50 ${median(dispatch)} ms, p99 ${percentile(dispatch, 99)} ms`,
    `${dispatch.length} runs`,
    'p99 ≤ 10 ms',
  ]);
  rows.push([
    'scheduler: helper running (instant → process started)',
    `p50 ${median(running)} ms, p99 ${percentile(running, 99)} ms`,
    `${running.length} runs`,
    'p99 ≤ 150 ms',
  ]);
}

// ---- rotating many containers in one call vs a serial loop of docker run ---------------
{
  log(`rotation: ${TARGETS} containers, dtool logrotate in one call vs a serial docker run loop`);
  const names = [];
  for (let i = 0; i < TARGETS; i++) {
    const name = `dtool-bench-rot-${i}`;
    spawnSync('docker', ['rm', '-f', '-v', name], { stdio: 'ignore' });
    docker(
      'run',
      '-d',
      '--name',
      name,
      '--label',
      LABEL,
      '--label',
      'dtool.bench.rotate=true',
      '-v',
      '/var/log/app',
      '--entrypoint',
      'bash',
      logrotateImage,
      '-c',
      'mkdir -p /var/log/app && trap "exit 0" TERM; while :; do echo line >> /var/log/app/app.log; sleep 0.2; done',
    );
    names.push(name);
  }
  writeFileSync(join(work, 'plain.conf'), '/var/log/app/*.log {\n  rotate 7\n  daily\n  missingok\n  compress\n  delaycompress\n  copytruncate\n}\n');
  const plain = [];
  const ours = [];
  for (let round = 0; round < 3; round++) {
    let start = performance.now();
    for (const name of names) {
      docker(
        'run',
        '--rm',
        '--volumes-from',
        name,
        '-v',
        `${join(work, 'plain.conf')}:/etc/plain.conf:ro`,
        '--entrypoint',
        'logrotate',
        logrotateImage,
        '-f',
        '-s',
        '/tmp/status',
        '/etc/plain.conf',
      );
    }
    plain.push((performance.now() - start) / 1000);
    start = performance.now();
    const result = spawnSync(
      'node',
      [
        join(root, 'dist/cli/main.js'),
        'logrotate',
        '--label',
        'dtool.bench.rotate=true',
        '--path',
        '/var/log/app/*.log',
        '--mode',
        'copytruncate',
        '--force',
        '--concurrency',
        '4',
        '--json',
      ],
      { encoding: 'utf8' },
    );
    if (result.status !== 0) throw new Error(`dtool logrotate failed: ${result.stderr}`);
    ours.push((performance.now() - start) / 1000);
  }
  const ratio = median(plain) / median(ours);
  rows.push([
    `logrotate: ${TARGETS} containers (serial docker run ÷ one dtool call)`,
    `${median(plain).toFixed(2)} s vs ${median(ours).toFixed(2)} s`,
    `${ratio.toFixed(2)}×`,
    '≥ 2×',
  ]);
  docker('rm', '-f', '-v', ...names);
  const states = docker('volume', 'ls', '-q', '--filter', 'name=dtool-logrotate-state-dtool-bench-rot').split('\n').filter(Boolean);
  if (states.length) docker('volume', 'rm', '-f', ...states);
}

// ---- lines lost per rotation, at >= 5,000 lines/s ----------------------------------------
// A writer appends sequence-numbered lines (~12,000/s) and reopens its file on SIGHUP;
// `dtool logrotate --force` runs 5 times in each mode; then every line is counted across
// the current and rotated (decompressed) files.
{
  const ROTATIONS = 5;
  const base = deps.config.baseImage;
  const writerScript = `f=/var/log/app/app.log; exec 3>>"$f"; trap 'exec 3>>"$f"' HUP; trap 'exit 0' TERM; i=0
while :; do buf=''; for ((k = 0; k < 120; k++)); do printf -v l '%010d xxxxxxxxxxxxxxxxxxxx\\n' "$i"; buf+=$l; i=$((i + 1)); done; printf '%s' "$buf" >&3; sleep 0.005; done`;
  for (const mode of ['signal', 'copytruncate']) {
    log(`lines lost: ${ROTATIONS} rotations in ${mode} mode`);
    const name = `dtool-bench-writer-${mode}`;
    const volume = `dtool-bench-logs-${mode}`;
    spawnSync('docker', ['rm', '-f', '-v', name], { stdio: 'ignore' });
    spawnSync('docker', ['volume', 'rm', '-f', volume, `dtool-logrotate-state-${name}`], { stdio: 'ignore' });
    docker('volume', 'create', '--label', LABEL, volume);
    docker('run', '--rm', '-v', `${volume}:/v`, base, 'chown', '1000:1000', '/v');
    docker('run', '-d', '--name', name, '--label', LABEL, '--user', '1000:1000', '-v', `${volume}:/var/log/app`, base, 'bash', '-c', writerScript);
    const started = Date.now();
    let lost = 0;
    for (let i = 0; i < ROTATIONS; i++) {
      await new Promise((r) => setTimeout(r, 600));
      const args = [
        'logrotate',
        '--volumes-from',
        name,
        '--path',
        '/var/log/app/*.log',
        '--mode',
        mode,
        '--force',
        '--json',
        ...(mode === 'signal' ? ['--signal', 'HUP'] : []),
      ];
      const result = spawnSync('node', [join(root, 'dist/cli/main.js'), ...args], { encoding: 'utf8' });
      if (result.status !== 0) throw new Error(`dtool logrotate (${mode}) failed: ${result.stderr}`);
      lost += Number(/"lostBytes"\s*:\s*(\d+)/.exec(result.stdout)?.[1] ?? 0);
    }
    docker('stop', '-t', '5', name);
    const seconds = (Date.now() - started) / 1000;
    const text = docker('run', '--rm', '-v', `${volume}:/v`, base, 'bash', '-c', 'cd /v && for f in app.log*; do zcat -f -- "$f"; done');
    const seen = new Set();
    let duplicated = 0;
    let last = -1;
    for (const line of text.split('\n')) {
      const m = /^(\d{10}) x{20}$/.exec(line);
      if (!m) continue;
      const n = Number(m[1]);
      if (seen.has(n)) duplicated++;
      seen.add(n);
      last = Math.max(last, n);
    }
    const missing = last + 1 - seen.size;
    const rate = Math.round((last + 1) / seconds);
    rows.push([
      `logrotate ${mode}: lines lost per rotation (${rate} lines/s)`,
      `${(missing / ROTATIONS).toFixed(1)} lost, ${(duplicated / ROTATIONS).toFixed(1)} duplicated`,
      `${missing} of ${last + 1} lines over ${ROTATIONS} rotations${mode === 'copytruncate' ? `; the report said ${lost} bytes` : ''}`,
      mode === 'signal' ? '0' : 'reported',
    ]);
    docker('rm', '-f', name);
    spawnSync('docker', ['volume', 'rm', '-f', volume, `dtool-logrotate-state-${name}`], { stdio: 'ignore' });
  }
}

// ---- resident memory with 100 jobs loaded ------------------------------------------------
{
  log('memory: dtool schedule run with 100 jobs');
  const jobs = Array.from(
    { length: 100 },
    (_, i) =>
      `  job-${i}:\n    schedule: "${i % 60} 3 * * *"\n    helper: backup\n    with: { link: [db-${i}], out: /srv/backups, credentials: /etc/dtool/db.cnf }\n`,
  ).join('');
  writeFileSync(join(work, 'hundred.yaml'), `jobs:\n${jobs}`);
  const child = spawn(
    'node',
    [
      join(root, 'dist/cli/main.js'),
      'schedule',
      'run',
      join(work, 'hundred.yaml'),
      '--state-dir',
      join(work, 'state'),
      '--no-labels',
      '--listen',
      '127.0.0.1:0',
    ],
    { stdio: ['ignore', 'ignore', 'pipe'] },
  );
  let stderr = '';
  child.stderr.on('data', (chunk) => (stderr += chunk));
  let endpoint;
  for (let i = 0; i < 100 && !endpoint; i++) {
    await new Promise((r) => setTimeout(r, 200));
    endpoint = /health and metrics on (\S+)/.exec(stderr)?.[1];
  }
  await new Promise((r) => setTimeout(r, 3000));
  const metrics = await (await fetch(`${endpoint}/metrics`)).text();
  const rss = Number(/^process_resident_memory_bytes (\S+)/m.exec(metrics)?.[1]);
  const loaded = Number(/^dtool_schedule_jobs (\S+)/m.exec(metrics)?.[1]);
  child.kill('SIGTERM');
  rows.push(['scheduler: resident memory, 100 jobs loaded', `${(rss / 1024 / 1024).toFixed(1)} MB`, `${loaded} jobs`, '≤ 80 MB']);
}

const table = ['| measurement | result | detail | target |', '|---|---|---|---|', ...rows.map((r) => `| ${r.join(' | ')} |`)].join('\n');
process.stdout.write(`${table}\n`);
const path = join(root, 'BENCHMARKS.md');
const current = readFileSync(path, 'utf8');
const section = `<!-- schedule:start -->\n${table}\n\nMeasured ${new Date().toISOString().slice(0, 10)} by \`node bench/schedule.mjs\` (part of \`make bench\`).\n<!-- schedule:end -->`;
writeFileSync(
  path,
  /<!-- schedule:start -->[\s\S]*<!-- schedule:end -->/.test(current)
    ? current.replace(/<!-- schedule:start -->[\s\S]*<!-- schedule:end -->/, section)
    : `${current.trimEnd()}\n\n## Scheduler and logrotate\n\n${section}\n`,
);
