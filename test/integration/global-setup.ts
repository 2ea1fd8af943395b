/**
 * Once per integration run: the engine must answer (a missing engine is a failure, never a
 * skip), the base image must exist, and every helper image is built up front so test files
 * share them. Afterwards everything labelled by dtool or by these tests is swept.
 */
import { execFileSync } from 'node:child_process';
import { createDefaultDeps } from '../../src/deps.js';
import { sweepOrphans } from '../../src/run/orphans.js';
import { prune } from '../../src/run/prune.js';
import { TEST_LABEL } from './support.js';
import { swarmDown, swarmTeardownWanted } from './swarm/swarm-fixture.js';

export default async function setup(): Promise<() => Promise<void>> {
  process.env.TESTCONTAINERS_RYUK_DISABLED = 'true';
  const deps = await createDefaultDeps();
  try {
    await deps.docker.ping();
  } catch (error) {
    throw new Error(`integration tests need a Docker engine; run "make engine" first (${(error as Error).message})`);
  }
  if (!(await deps.docker.inspectImage(deps.config.baseImage))) {
    throw new Error(`integration tests need the base image ${deps.config.baseImage}; run "make base-image" first`);
  }
  for (const name of await deps.images.names()) {
    const built = await deps.images.build(name);
    process.stdout.write(`image ${built.reference} ${built.cached ? 'up to date' : 'built'}\n`);
  }
  return async () => {
    // The local swarm (test/integration/swarm): removed at the end of a CI run, kept otherwise
    // so the next run starts in seconds; DTOOL_SWARM_TEARDOWN=1|0 overrides.
    if (swarmTeardownWanted()) await swarmDown();
    // Several checkouts (or people) testing on one engine at once: sweep only what dead runs
    // left, never the live helpers and servers of the others.
    if (process.env.DTOOL_TEST_SHARED_ENGINE === '1') {
      await sweepOrphans(deps);
      return;
    }
    await prune(deps);
    // Test servers are labelled by the tests, not by dtool: sweep them too.
    const ids = execFileSync('docker', ['ps', '-aq', '--filter', `label=${TEST_LABEL}`], { encoding: 'utf8' })
      .split('\n')
      .filter(Boolean);
    if (ids.length) execFileSync('docker', ['rm', '-f', '-v', ...ids]);
  };
}
