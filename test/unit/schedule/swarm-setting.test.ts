/** A job's `swarm:` setting in schedule files: checked by the pure parser (FILE:LINE), handed to the kinds that support it. */
import { describe, expect, it } from 'vitest';
import { createJobKinds } from '../../../src/job-kinds.js';
import { checkJob } from '../../../src/schedule/job.js';
import { jobsFromLabels } from '../../../src/schedule/job-labels.js';
import { parseJobsFile } from '../../../src/schedule/jobs-file.js';

const kinds = createJobKinds('/');
const parse = (text: string) => parseJobsFile(text, 'schedule.yaml', kinds);
const problems = (text: string) => parse(text).problems.map((p) => `${p.origin}: ${p.job}: ${p.field}: ${p.message}`);

describe('swarm: in schedule files', () => {
  it('swarm: true runs host-info on every node: the kind gets swarm: true', () => {
    const { jobs, problems } = parse(`jobs:
  disks:
    schedule: "@hourly"
    helper: host-info
    swarm: true
    with: { path: /srv }
`);
    expect(problems).toEqual([]);
    expect(jobs[0]!.swarm).toEqual({ constraint: [] });
    expect(jobs[0]!.params).toEqual({ path: '/srv', swarm: true });
  });

  it('a mapping gives constraints (one or a list) and a registry', () => {
    const { jobs, problems } = parse(`jobs:
  rotate:
    schedule: "@daily"
    helper: logrotate
    swarm:
      constraint: [node.role==worker, node.labels.disk!=hdd]
      registry: registry.example:5000/
    with: { path: /var/log/app/*.log }
  disks:
    schedule: "@hourly"
    helper: host-info
    swarm: { constraint: node.hostname==db1 }
`);
    expect(problems).toEqual([]);
    expect(jobs[0]!.swarm).toEqual({ constraint: ['node.role==worker', 'node.labels.disk!=hdd'], registry: 'registry.example:5000' });
    expect(jobs[0]!.params).toEqual({
      path: '/var/log/app/*.log',
      swarm: true,
      constraint: ['node.role==worker', 'node.labels.disk!=hdd'],
      registry: 'registry.example:5000',
    });
    expect(jobs[1]!.params).toEqual({ swarm: true, constraint: ['node.hostname==db1'] });
  });

  it('swarm: false is no swarm job, on any kind', () => {
    const { jobs, problems } = parse(`jobs:
  nightly:
    schedule: "@daily"
    helper: recipe
    swarm: false
    with: { file: /etc/dtool/r.yaml }
`);
    expect(problems).toEqual([]);
    expect(jobs[0]!.swarm).toBeUndefined();
    expect(jobs[0]!.params).toEqual({ file: '/etc/dtool/r.yaml' });
  });

  it('refuses it on a kind that cannot run as a swarm job, naming the file and line', () => {
    expect(
      problems(`jobs:
  ok:
    schedule: "@daily"
    helper: host-info
  nightly:
    schedule: "@daily"
    helper: recipe
    swarm: true
    with: { file: /etc/dtool/r.yaml }
`),
    ).toEqual([
      "schedule.yaml:5: nightly: swarm: helper recipe cannot run as a swarm job (swarm: is for backup, logrotate, host-info): run it against each node's engine instead (DOCKER_HOST=…)",
    ]);
  });

  it.each([
    ['yes', 'swarm: must be true, false or a mapping with constraint and registry, not "yes"'],
    ['[node.role==worker]', 'swarm: must be true, false or a mapping with constraint and registry, not ["node.role==worker"]'],
    ['{ constraints: [node.role==worker] }', 'swarm.constraints: unknown key (known: constraint, registry)'],
    ['{ constraint: node.rolle==worker }', 'swarm.constraint: unknown key "node.rolle"'],
    ['{ constraint: node.role=worker }', 'swarm.constraint: expects KEY==VALUE or KEY!=VALUE, not "node.role=worker"'],
    ['{ constraint: [1] }', 'swarm.constraint: must be a constraint or a list of them, e.g. node.role==worker'],
    [
      '{ registry: "http://registry.example" }',
      'swarm.registry: expects HOST[:PORT][/PATH], e.g. registry.example:5000, not "http://registry.example"',
    ],
  ])('swarm: %s is a problem at its job line', (value, message) => {
    expect(
      problems(`jobs:
  disks:
    schedule: "@hourly"
    helper: host-info
    swarm: ${value}
`),
    ).toEqual([`schedule.yaml:2: disks: ${message}`]);
  });

  it('swarm, constraint and registry in with: point to the job-level setting', () => {
    expect(
      problems(`jobs:
  disks:
    schedule: "@hourly"
    helper: host-info
    with: { swarm: true }
  rotate:
    schedule: "@daily"
    helper: logrotate
    swarm: true
    with: { path: /var/log/a/*.log, constraint: node.role==worker }
`),
    ).toEqual([
      'schedule.yaml:2: disks: with.swarm: swarm is a setting of the job, not a parameter: write `swarm: true` (or `swarm: { constraint: [...], registry: ... }`) beside `with:`',
      "schedule.yaml:6: rotate: with.constraint: constraint belongs under the job's swarm setting: `swarm: { constraint: ... }` beside `with:`",
    ]);
  });

  it("the kind's own checks still apply to a swarm job (checkAsync: logrotate --swarm refuses container targets)", async () => {
    const { jobs } = parse(`jobs:
  rotate:
    schedule: "@daily"
    helper: logrotate
    swarm: true
    with: { volumes-from: app, path: /var/log/a/*.log }
`);
    await expect(kinds.checkAsync(jobs[0]!.kind, jobs[0]!.params)).rejects.toThrow(/name containers/);
  });

  it('a swarm parameter name a kind does not know is still named with the known parameters only', () => {
    expect(() => kinds.check('dns-rebuild', { swarm: true })).toThrow('dns-rebuild has no parameter "swarm" (known: ');
    expect(() => kinds.check('host-info', { colour: 'blue' })).toThrow('host-info has no parameter "colour" (known: path)');
  });

  it('labels take dtool.job.<name>.swarm=true', () => {
    const { jobs, problems } = jobsFromLabels(
      { name: 'web', labels: { 'dtool.job.disks.schedule': '@hourly', 'dtool.job.disks.helper': 'host-info', 'dtool.job.disks.swarm': 'true' } },
      kinds,
    );
    expect(problems).toEqual([]);
    expect(jobs[0]!.params).toEqual({ swarm: true });
  });

  it('a catalog without swarm kinds refuses swarm: on every kind', () => {
    const result = checkJob('x', { schedule: '@daily', helper: 'probe', swarm: true }, 'f.yaml:3', { names: ['probe'], check: () => {} });
    expect(result).toEqual([
      {
        origin: 'f.yaml:3',
        job: 'x',
        field: 'swarm',
        message: "helper probe cannot run as a swarm job: run it against each node's engine instead (DOCKER_HOST=…)",
      },
    ]);
  });
});
