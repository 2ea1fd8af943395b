/** `--swarm` on a real 3-node swarm (scripts/swarm.sh): one report per node, nothing left behind. */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { EXIT_CODES } from '../../../src/errors.js';
import { dtoolOn, expectNothingLeft, onNodeHost } from './swarm-cli.js';
import { SWARM_MANAGER, SWARM_WORKERS, type Swarm, dockerOn, engineAddress, ensureSwarm } from './swarm-fixture.js';

const NODES = [SWARM_MANAGER, ...SWARM_WORKERS];
const LOG_DIR = '/var/log/dtool-swarm-it';
let swarm: Swarm;

beforeAll(async () => {
  swarm = await ensureSwarm();
});

afterEach(async () => {
  await expectNothingLeft(swarm.managerAddress, NODES.map(engineAddress));
});

afterAll(async () => {
  for (const node of NODES) {
    onNodeHost(node, `rm -rf ${LOG_DIR}`);
    // logrotate's state volume is kept between runs on purpose: not by these tests.
    const volumes = (await dockerOn(engineAddress(node), ['volume', 'ls', '-q', '--filter', 'label=dtool.state=logrotate']))
      .split('\n')
      .filter((v) => v.startsWith('dtool-logrotate-state-swarm-'));
    // The service is gone; its task containers go a moment later (Swarm removes them on each node).
    for (let attempt = 0; volumes.length > 0; attempt++) {
      try {
        await dockerOn(engineAddress(node), ['volume', 'rm', ...volumes]);
        break;
      } catch (error) {
        if (attempt >= 30) throw error;
        await new Promise((resolve) => setTimeout(resolve, 1000));
      }
    }
  }
});

describe('dtool --swarm', () => {
  it('host info --swarm --json: one report per node, three distinct hostnames', async () => {
    const result = await dtoolOn(swarm.managerAddress, ['host', 'info', '--swarm', '--json']);
    expect(result.stderr).toBe('');
    expect(result.exitCode).toBe(0);
    const report = JSON.parse(result.stdout);
    expect(report.ok).toBe(true);
    expect(report.nodes).toHaveLength(3);
    expect(report.nodes.map((n: { status: string }) => n.status)).toEqual(['ok', 'ok', 'ok']);
    const hostnames = report.nodes.map((n: { info: { hostname: string } }) => n.info.hostname).sort();
    expect(hostnames).toEqual([...NODES].sort());
    expect(report.nodes.map((n: { hostname: string }) => n.hostname).sort()).toEqual([...NODES].sort());
  });

  it('host info --swarm without --json: a row per node, then each node', async () => {
    const result = await dtoolOn(swarm.managerAddress, ['host', 'info', '--swarm', '--constraint', 'node.role==worker']);
    expect(result.exitCode).toBe(0);
    expect(result.stdout).toMatch(/^NODE\s+STATUS/);
    for (const worker of SWARM_WORKERS) expect(result.stdout).toContain(`== ${worker} ==`);
    expect(result.stdout).not.toContain(`== ${SWARM_MANAGER} ==`);
  });

  it('logrotate --swarm rotates a host file on every node', async () => {
    for (const node of NODES) onNodeHost(node, `mkdir -p ${LOG_DIR} && printf 'one line from %s\\n' ${node} > ${LOG_DIR}/app.log`);
    const result = await dtoolOn(swarm.managerAddress, ['logrotate', '--swarm', '--path', `${LOG_DIR}/*.log`, '--force', '--no-compress', '--json']);
    expect(result.stderr).toBe('');
    expect(result.exitCode).toBe(0);
    const report = JSON.parse(result.stdout);
    expect(report.folders).toEqual([LOG_DIR]);
    expect(report.nodes).toHaveLength(3);
    for (const node of report.nodes) {
      expect(node.status).toBe('ok');
      expect(node.files).toEqual([expect.objectContaining({ path: `${LOG_DIR}/app.log`, rotated: true })]);
    }
    for (const node of NODES) {
      expect(onNodeHost(node, `cat ${LOG_DIR}/app.log.1`)).toBe(`one line from ${node}`);
      expect(onNodeHost(node, `stat -c %s ${LOG_DIR}/app.log`)).toBe('0');
    }
  });

  it('logrotate --swarm refuses container targets before anything runs', async () => {
    const result = await dtoolOn(swarm.managerAddress, ['logrotate', '--swarm', '--volumes-from', 'app']);
    expect(result.exitCode).toBe(EXIT_CODES.USAGE);
    expect(result.stderr).toContain('--volumes-from and --label name containers');
  });

  it('a constraint that matches no node: a usage error, nothing created', async () => {
    const before = await dockerOn(swarm.managerAddress, ['service', 'ls', '-q']);
    const result = await dtoolOn(swarm.managerAddress, ['host', 'info', '--swarm', '--constraint', 'node.hostname==no-such-node']);
    expect(result.exitCode).toBe(EXIT_CODES.USAGE);
    expect(result.stderr).toContain('no swarm node matches --constraint node.hostname==no-such-node');
    expect(result.stderr).toContain('hint: nodes: dtool-swarm-');
    expect(await dockerOn(swarm.managerAddress, ['service', 'ls', '-q'])).toBe(before);
  });

  it('not a manager (DOCKER_HOST at a worker): a clear usage error', async () => {
    const result = await dtoolOn(engineAddress(SWARM_WORKERS[0]), ['host', 'info', '--swarm']);
    expect(result.exitCode).toBe(EXIT_CODES.USAGE);
    expect(result.stderr).toContain('swarm worker, not a manager');
    expect(result.stderr).toContain('hint: point DOCKER_HOST at a manager node');
  });

  it('prune --swarm --dry-run finds nothing left', async () => {
    const result = await dtoolOn(swarm.managerAddress, ['prune', '--swarm', '--dry-run', '--json']);
    expect(result.exitCode).toBe(0);
    expect(JSON.parse(result.stdout)).toEqual({ services: [], secrets: [], containers: [], unreachable: [] });
  });
});
