/** Image builds, doctor and prune against the real engine. */
import { execFileSync } from 'node:child_process';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { createDefaultDeps } from '../../../src/deps.js';
import { doctor } from '../../../src/run/doctor.js';
import { prune } from '../../../src/run/prune.js';
import { runHelper } from '../../../src/run/run-helper.js';
import { TEST_LABEL, tempDir, testDeps } from '../support.js';

function docker(...args: string[]): string {
  return execFileSync('docker', args, { encoding: 'utf8' }).trim();
}

describe('images', () => {
  it('builds an image once, tags it by content hash and latest, and does not rebuild it unchanged', async () => {
    const imagesDir = await tempDir('dtool-images-');
    await mkdir(join(imagesDir, 'hello'));
    await writeFile(join(imagesDir, 'hello', 'Dockerfile'), `ARG BASE=debian:bookworm-slim\nFROM \${BASE}\nRUN echo built-${process.pid} > /hello\n`);
    const deps = await createDefaultDeps({ config: { imagesDir, imagePrefix: 'dtool-it' } });
    const first = await deps.images.build('hello');
    expect(first.cached).toBe(false);
    expect(docker('image', 'inspect', '-f', '{{.Id}}', first.reference)).toBe(docker('image', 'inspect', '-f', '{{.Id}}', 'dtool-it/hello:latest'));
    const second = await deps.images.build('hello');
    expect(second).toMatchObject({ reference: first.reference, cached: true });

    await writeFile(
      join(imagesDir, 'hello', 'Dockerfile'),
      `ARG BASE=debian:bookworm-slim\nFROM \${BASE}\nRUN echo changed-${process.pid} > /hello\n`,
    );
    const changed = await deps.images.build('hello');
    expect(changed.reference).not.toBe(first.reference);
    docker('rmi', '-f', first.reference, changed.reference, 'dtool-it/hello:latest');
  });

  it('a failing build is an error that shows the failing step', async () => {
    const imagesDir = await tempDir('dtool-images-');
    await mkdir(join(imagesDir, 'broken'));
    // biome-ignore lint/suspicious/noTemplateCurlyInString: ${BASE} is a Dockerfile ARG, not a JS placeholder.
    await writeFile(join(imagesDir, 'broken', 'Dockerfile'), 'ARG BASE=debian:bookworm-slim\nFROM ${BASE}\nRUN echo fine\nRUN exit 7\n');
    const deps = await createDefaultDeps({ config: { imagesDir, imagePrefix: 'dtool-it' } });
    const failure = deps.images.build('broken');
    await expect(failure).rejects.toMatchObject({ code: 'IMAGE_BUILD_FAILED' });
    await expect(failure).rejects.toThrow(/RUN exit 7/);
    await expect(failure).rejects.toThrow(/returned a non-zero code: 7/);
  });
});

describe('helper lifecycle', () => {
  it('a failing helper becomes an error with its exit code and stderr tail, and is removed', async () => {
    const deps = await testDeps();
    const failure = runHelper(deps, {
      helper: 'it-fail',
      image: 'debian:bookworm-slim',
      command: ['sh', '-c', 'echo out; echo "something broke" >&2; exit 3'],
    });
    await expect(failure).rejects.toMatchObject({ code: 'HELPER_FAILED', exitCode: 3, details: ['something broke'] });
    expect(docker('ps', '-aq', '--filter', 'label=dtool.helper=it-fail')).toBe('');
  });

  it('runs read-only, unprivileged and without capabilities by default', async () => {
    const deps = await testDeps();
    const result = await runHelper(deps, {
      helper: 'it-privileges',
      image: 'debian:bookworm-slim',
      command: ['sh', '-c', 'touch /x 2>&1 || true; grep -E "^(CapEff|NoNewPrivs)" /proc/self/status; touch /tmp/ok && echo tmp-writable'],
    });
    expect(result.stdout).toContain('Read-only file system');
    expect(result.stdout).toMatch(/CapEff:\s+0000000000000000/);
    expect(result.stdout).toMatch(/NoNewPrivs:\s+1/);
    expect(result.stdout).toContain('tmp-writable');
  });

  it('an aborted run stops and removes its container', async () => {
    const controller = new AbortController();
    const deps = await testDeps({ signal: controller.signal });
    const running = runHelper(deps, { helper: 'it-abort', image: 'debian:bookworm-slim', command: ['sleep', '300'] });
    await new Promise((r) => setTimeout(r, 1500));
    controller.abort();
    await expect(running).rejects.toMatchObject({ code: 'ABORTED' });
    expect(docker('ps', '-aq', '--filter', 'label=dtool.helper=it-abort')).toBe('');
  });

  it('a run past its timeout is stopped, removed, and reported as a timeout', async () => {
    const deps = await testDeps();
    const running = runHelper(deps, { helper: 'it-timeout', image: 'debian:bookworm-slim', command: ['sleep', '300'], timeoutMs: 1000 });
    await expect(running).rejects.toMatchObject({ code: 'TIMEOUT' });
    expect(docker('ps', '-aq', '--filter', 'label=dtool.helper=it-timeout')).toBe('');
  });
});

describe('doctor', () => {
  it('reports the engine, the privileged probes and the images', async () => {
    const report = await doctor(await testDeps());
    expect(report.engine.reachable).toBe(true);
    expect(report.baseImage?.present).toBe(true);
    // One of the two ways to be privileged must work on any engine dtool supports.
    expect([report.privileged?.flag.works, report.privileged?.capabilities.works]).toContain(true);
    // The sysctl tuner's premise, measured on these machines: /proc/sys writable with no capability.
    expect(report.hostSysctl).toEqual({ works: true });
    expect(report.helperImages?.map((i) => i.name)).toEqual(expect.arrayContaining(['dind', 'dns', 'host', 'logrotate', 'mariadb', 'mysql-tools']));
    expect(report.helperImages?.every((i) => i.present)).toBe(true);
  });
});

describe('prune', () => {
  it('removes containers and volumes labelled by dtool, and nothing else', async () => {
    const ours = docker('create', '--label', 'dtool.managed=0.1.0', '--label', 'dtool.helper=it-prune', 'debian:bookworm-slim', 'true');
    const theirs = docker('create', '--label', `${TEST_LABEL}=true`, 'debian:bookworm-slim', 'true');
    const ourVolume = `dtool-it-prune-${process.pid}`;
    const theirVolume = `user-data-${process.pid}`;
    docker('volume', 'create', '--label', 'dtool.managed=0.1.0', ourVolume);
    docker('volume', 'create', theirVolume);
    try {
      const report = await prune(await testDeps());
      expect(report.volumes).toContain(ourVolume);
      expect(docker('ps', '-aq', '--no-trunc', '--filter', `id=${ours}`)).toBe('');
      expect(docker('ps', '-aq', '--no-trunc', '--filter', `id=${theirs}`)).toBe(theirs);
      expect(docker('volume', 'ls', '-q', '--filter', `name=${ourVolume}`)).toBe('');
      expect(docker('volume', 'ls', '-q', '--filter', `name=${theirVolume}`)).toBe(theirVolume);
    } finally {
      docker('rm', '-f', theirs);
      docker('volume', 'rm', '-f', theirVolume);
    }
  });
});
