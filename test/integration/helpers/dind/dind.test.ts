/**
 * Docker-in-Docker on the real engine: a multi-stage build (Debian's gcc in the build stage)
 * inside DinD, its tar loaded on the host and run; the cache volume's second build; a
 * binary installed with build-install; and the faults, each leaving no DinD container and no
 * anonymous volume behind. This VM refuses `Privileged`, so the explicit capability profile
 * is used unless DTOOL_PRIVILEGED_MODE says otherwise.
 */
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdir, readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createDefaultDeps, type Deps } from '../../../../src/deps.js';
import { exitCodeFor } from '../../../../src/errors.js';
import { buildInstall, parseBuildInstallParams } from '../../../../src/helpers/dind/build-install.js';
import { dindBuild, parseDindBuildParams } from '../../../../src/helpers/dind/build.js';
import { sha256File } from '../../../../src/helpers/mysql/manifest.js';
import { helperContainers, pollUntil, tempDir } from '../../support.js';

const suffix = randomBytes(3).toString('hex');
const cache = `dtool-it-dind-cache-${suffix}`;
const tags: string[] = [];
let dir: string;
let volumesBefore: Set<string>;

const docker = (...args: string[]) => execFileSync('docker', args, { encoding: 'utf8' }).trim();
const volumes = () => new Set(docker('volume', 'ls', '-q').split('\n').filter(Boolean));

async function dindDeps(options: { grant?: boolean; signal?: AbortSignal } = {}): Promise<Deps> {
  return createDefaultDeps({
    config: {
      grants: options.grant === false ? [] : ['privileged'],
      privilegedMode: process.env.DTOOL_PRIVILEGED_MODE === 'flag' ? 'flag' : 'capabilities',
    },
    ...(options.signal ? { signal: options.signal } : {}),
  });
}

const HELLO_C = '#include <stdio.h>\nint main(void) { puts("hello from dind"); return 0; }\n';
const MULTI_STAGE = `FROM debian:bookworm-slim AS build
RUN apt-get update && apt-get install -y --no-install-recommends gcc libc6-dev && rm -rf /var/lib/apt/lists/*
COPY hello.c /src/hello.c
RUN gcc -O2 -o /hello /src/hello.c
FROM debian:bookworm-slim
COPY --from=build /hello /usr/local/bin/hello
CMD ["hello"]
`;

async function context(name: string, dockerfile: string, files: Record<string, string> = {}): Promise<string> {
  const path = join(dir, name);
  await mkdir(path, { recursive: true });
  await writeFile(join(path, 'Dockerfile'), dockerfile);
  for (const [file, content] of Object.entries(files)) await writeFile(join(path, file), content);
  return path;
}

function failureOf(run: Promise<unknown>): Promise<{ code: string; message: string; details: readonly string[] }> {
  return run.then(
    () => {
      throw new Error('expected a failure');
    },
    (error: { code: string; message: string; details: readonly string[] }) => error,
  );
}

beforeAll(async () => {
  dir = await tempDir('dtool-it-dind-');
  await mkdir(join(dir, 'out'));
  volumesBefore = volumes();
});

afterEach(async () => {
  // Whatever a test did, no DinD container and no anonymous volume is left.
  expect(
    await pollUntil(
      () => helperContainers('dind').length,
      (n) => n === 0,
      15_000,
    ),
  ).toBe(0);
  const added = [...volumes()].filter((v) => !volumesBefore.has(v) && v !== cache);
  expect(added).toEqual([]);
});

afterAll(() => {
  for (const tag of tags) execFileSync('docker', ['rmi', '-f', tag], { stdio: 'ignore' });
  execFileSync('docker', ['volume', 'rm', '-f', cache], { stdio: 'ignore' });
});

describe('dtool dind build', () => {
  const tag = `dtool-it-dind/hello-${suffix}:1`;
  let ctx: string;

  it('builds a multi-stage Dockerfile inside DinD; the tar loads on the host and the image runs', async () => {
    ctx = await context('hello', MULTI_STAGE, { 'hello.c': HELLO_C, '.dockerignore': 'secret.txt\n', 'secret.txt': 'not for the build' });
    tags.push(tag);
    const out = join(dir, 'out', 'hello.tar');
    const report = await dindBuild(await dindDeps(), parseDindBuildParams(ctx, { tag, out, load: true, cache }, dir));
    expect(report.storageDriver).toBe('overlay2');
    expect(report.seeded).toEqual([expect.objectContaining({ image: 'debian:bookworm-slim', from: 'host' })]);
    const manifest = JSON.parse(await readFile(`${out}.json`, 'utf8')) as { sha256: string; imageId: string };
    expect(manifest.sha256).toBe(await sha256File(out));
    expect(manifest.imageId).toBe(report.imageId);
    expect(report.loaded).toBe(true);
    expect(docker('run', '--rm', tag)).toBe('hello from dind');
    expect((await readdir(join(dir, 'out'))).sort()).toEqual(['hello.tar', 'hello.tar.json']);
  });

  it('reuses the cache volume: a second build of the same context has every step cached', async () => {
    const out = join(dir, 'out', 'hello-2.tar');
    const report = await dindBuild(await dindDeps(), parseDindBuildParams(ctx, { tag, out, cache }, dir));
    expect(report.seeded).toEqual([expect.objectContaining({ from: 'cache' })]);
    expect(report.steps).toBeGreaterThanOrEqual(7);
    // Every step but the FROM lines (which use no cache) reports "Using cache".
    expect(report.cachedSteps).toBe(report.steps - 2);
  });

  it('a failing Dockerfile: the error shows the failing step and its output, and leaves no tar', async () => {
    const failing = await context('failing', 'FROM debian:bookworm-slim\nRUN echo about to fail && exit 3\n');
    const out = join(dir, 'out', 'failing.tar');
    const error = await failureOf(
      dindBuild(await dindDeps(), parseDindBuildParams(failing, { tag: `dtool-it-dind/failing-${suffix}`, out, cache }, dir)),
    );
    expect(error.code).toBe('IMAGE_BUILD_FAILED');
    expect(error.message).toMatch(/Step 2\/2 : RUN echo about to fail/);
    expect(error.details.join('\n')).toMatch(/about to fail/);
    expect((await readdir(join(dir, 'out'))).filter((f) => f.startsWith('failing') || f.includes('.tmp'))).toEqual([]);
  });

  it('a FROM image nobody has is an error naming it, before the build', async () => {
    const absent = await context('absent', 'FROM dtool-it-absent/nothing:1\nRUN true\n');
    const error = await failureOf(
      dindBuild(await dindDeps(), parseDindBuildParams(absent, { tag: 'x:1', out: join(dir, 'out', 'x.tar'), cache }, dir)),
    );
    expect(error.code).toBe('NOT_FOUND');
    expect(error.message).toMatch(/dtool-it-absent\/nothing:1/);
  });

  it('refuses --out in a missing folder, and a missing --allow privileged, before any container starts', async () => {
    const missing = await failureOf(dindBuild(await dindDeps(), parseDindBuildParams(ctx, { tag, out: join(dir, 'nowhere', 'x.tar') }, dir)));
    expect(exitCodeFor(missing)).toBe(2);
    expect(missing.message).toMatch(/does not exist/);
    const refused = await failureOf(
      dindBuild(await dindDeps({ grant: false }), parseDindBuildParams(ctx, { tag, out: join(dir, 'out', 'y.tar') }, dir)),
    );
    expect(refused.code).toBe('PRIVILEGE_NOT_GRANTED');
    expect(refused.message).toMatch(/privileged/);
  });

  it('Ctrl-C mid-build removes the container and its volumes and leaves no partial tar', async () => {
    const slow = await context('slow', 'FROM debian:bookworm-slim\nRUN sleep 60\n');
    const controller = new AbortController();
    const out = join(dir, 'out', 'slow.tar');
    const running = failureOf(
      dindBuild(
        await dindDeps({ signal: controller.signal }),
        parseDindBuildParams(slow, { tag: `dtool-it-dind/slow-${suffix}`, out, cache: false }, dir),
      ),
    );
    await pollUntil(
      () => helperContainers('dind').length,
      (n) => n > 0,
      60_000,
    );
    await new Promise((resolve) => setTimeout(resolve, 3000));
    controller.abort();
    const error = await running;
    expect(error.code).toBe('ABORTED');
    expect((await readdir(join(dir, 'out'))).filter((f) => f.startsWith('slow') || f.includes('.tmp'))).toEqual([]);
  });
});

describe('dtool build-install', () => {
  let ctx: string;
  let to: string;

  beforeAll(async () => {
    ctx = await context('install', MULTI_STAGE, { 'hello.c': HELLO_C });
    to = join(dir, 'bin');
    await mkdir(to);
  });

  it('installs a binary built in the image; it runs on the host; a second run changes nothing', async () => {
    const params = parseBuildInstallParams(ctx, { artifact: '/usr/local/bin/hello', to, mode: '0755' }, dir);
    const report = await buildInstall(await dindDeps(), params);
    tags.push(report.image);
    expect(report).toMatchObject({ status: 'installed', kind: 'file', path: join(to, 'hello') });
    expect(report.sha256).toBe(await sha256File(join(to, 'hello')));
    expect(execFileSync(join(to, 'hello'), { encoding: 'utf8' })).toBe('hello from dind\n');
    expect((await buildInstall(await dindDeps(), params)).status).toBe('unchanged');
    expect(await readdir(to)).toEqual(['hello']);
  });

  it('refuses to overwrite different content without --force; --force keeps the old one as NAME.dtool-prev', async () => {
    await writeFile(join(ctx, 'hello.c'), HELLO_C.replace('hello from dind', 'hello again'));
    const params = parseBuildInstallParams(ctx, { artifact: '/usr/local/bin/hello', to }, dir);
    const refused = await failureOf(buildInstall(await dindDeps(), params));
    expect(exitCodeFor(refused)).toBe(14);
    expect(execFileSync(join(to, 'hello'), { encoding: 'utf8' })).toBe('hello from dind\n');
    const forced = await buildInstall(await dindDeps(), { ...params, force: true });
    expect(forced).toMatchObject({ status: 'replaced', previous: join(to, 'hello.dtool-prev') });
    expect(execFileSync(join(to, 'hello'), { encoding: 'utf8' })).toBe('hello again\n');
    expect(execFileSync(join(to, 'hello.dtool-prev'), { encoding: 'utf8' })).toBe('hello from dind\n');
  });

  it('an artifact missing in the image is a clear error, and nothing is installed', async () => {
    const error = await failureOf(buildInstall(await dindDeps(), parseBuildInstallParams(ctx, { artifact: '/usr/local/bin/nope', to }, dir)));
    expect(error.code).toBe('NOT_FOUND');
    expect(error.message).toMatch(/\/usr\/local\/bin\/nope does not exist in the image/);
    expect((await readdir(to)).sort()).toEqual(['hello', 'hello.dtool-prev']);
  });

  it('--via dind builds inside DinD and installs the same way', async () => {
    const viaDind = join(dir, 'bin-dind');
    await mkdir(viaDind);
    const report = await buildInstall(
      await dindDeps(),
      parseBuildInstallParams(ctx, { artifact: '/usr/local/bin/hello', to: viaDind, via: 'dind' }, dir),
    );
    expect(report).toMatchObject({ status: 'installed', via: 'dind' });
    expect(execFileSync(join(viaDind, 'hello'), { encoding: 'utf8' })).toBe('hello again\n');
  });
});
