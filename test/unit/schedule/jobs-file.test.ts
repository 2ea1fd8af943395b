import { describe, expect, it } from 'vitest';
import type { JobKindCatalog } from '../../../src/schedule/job.js';
import { declaresJobs, jobsFromLabels } from '../../../src/schedule/job-labels.js';
import { parseJobsFile } from '../../../src/schedule/jobs-file.js';
import { nextRuns } from '../../../src/schedule/next-runs.js';

const kinds: JobKindCatalog = {
  names: ['backup', 'logrotate'],
  check: (kind, params) => {
    const known = kind === 'backup' ? ['link', 'label', 'out', 'credentials', 'keep'] : ['volumes-from', 'label', 'force'];
    for (const name of Object.keys(params)) if (!known.includes(name)) throw new Error(`${kind} has no parameter "${name}"`);
  },
};

const GOOD = `tz: Europe/Berlin
jobs:
  nightly-backup:
    schedule: "0 3 * * *"
    helper: backup
    with:
      label: [dtool.backup=true]
      out: /srv/backups
      keep: 7
    lock: db
    max-runtime: 2h
  rotate:
    schedule: "@daily"
    tz: UTC
    helper: logrotate
    with: { label: [dtool.logrotate=true] }
    overlap: queue
    catch-up: none
    jitter: 5m
`;

describe('parseJobsFile', () => {
  it('reads jobs with their policies and defaults', () => {
    const { jobs, problems } = parseJobsFile(GOOD, 'schedule.yaml', kinds);
    expect(problems).toEqual([]);
    expect(jobs.map((j) => [j.name, j.origin, j.kind, j.schedule.tz, j.overlap, j.catchUp, j.lock, j.maxRuntimeMs, j.jitterMs])).toEqual([
      ['nightly-backup', 'schedule.yaml:3', 'backup', 'Europe/Berlin', 'skip', 'once', 'db', 7_200_000, 0],
      ['rotate', 'schedule.yaml:12', 'logrotate', 'UTC', 'queue', 'none', undefined, 3_600_000, 300_000],
    ]);
    expect(jobs[0]!.params).toEqual({ label: ['dtool.backup=true'], out: '/srv/backups', keep: '7' });
  });

  it("defaults the starting deadline to an hour, or to the job's interval when that is shorter", () => {
    const { jobs } = parseJobsFile(
      'jobs:\n  a: { schedule: "@daily", helper: backup }\n  b: { schedule: "*/5 * * * *", helper: backup }\n',
      'f.yaml',
      kinds,
    );
    expect(jobs.map((j) => j.startingDeadlineMs)).toEqual([3_600_000, 300_000]);
  });

  it('names the file, line, job and field of every problem, all at once', () => {
    const text = `jobs:
  a:
    schedule: "61 * * * *"
    helper: backup
  b:
    schedule: "@daily"
    helper: rsync
  c:
    schedule: "@daily"
    helper: backup
    with: { bogus: 1 }
    overlap: sometimes
`;
    const { jobs, problems } = parseJobsFile(text, 'bad.yaml', kinds);
    expect(jobs).toEqual([]);
    expect(problems.map((p) => `${p.origin} ${p.job} ${p.field}`)).toEqual([
      'bad.yaml:2 a schedule (minute)',
      'bad.yaml:5 b helper',
      'bad.yaml:8 c with',
      'bad.yaml:8 c overlap',
    ]);
    expect(problems[1]!.message).toBe('unknown helper "rsync": one of backup, logrotate');
    expect(problems[2]!.message).toBe('backup has no parameter "bogus"');
  });

  it('reports YAML syntax errors with their line', () => {
    const { problems } = parseJobsFile('jobs:\n  a: [unclosed\n', 'broken.yaml', kinds);
    expect(problems[0]).toMatchObject({ origin: expect.stringMatching(/^broken\.yaml:\d+$/), field: 'yaml' });
  });

  it('refuses unknown keys at the top and in a job', () => {
    const { problems } = parseJobsFile('job:\n  a: {}\njobs:\n  b: { schedule: "@daily", helper: backup, retries: 3 }\n', 'f.yaml', kinds);
    expect(problems.map((p) => `${p.origin} ${p.field}`)).toEqual(['f.yaml:1 job', 'f.yaml:4 retries']);
  });
});

describe('jobsFromLabels', () => {
  it('reads a job from labels, aimed at the labelled container by name', () => {
    const labels = {
      'dtool.job.nightly.schedule': '0 3 * * *',
      'dtool.job.nightly.helper': 'backup',
      'dtool.job.nightly.with.out': '/srv/backups',
      'dtool.job.nightly.overlap': 'queue',
      'com.example.other': 'x',
    };
    expect(declaresJobs(labels)).toBe(true);
    expect(declaresJobs({ other: 'x' })).toBe(false);
    const { jobs, problems } = jobsFromLabels({ name: 'shop-db', labels }, kinds);
    expect(problems).toEqual([]);
    expect(jobs).toHaveLength(1);
    expect(jobs[0]).toMatchObject({
      name: 'shop-db.nightly',
      origin: 'label on shop-db',
      kind: 'backup',
      overlap: 'queue',
      params: { out: '/srv/backups', link: ['shop-db'] },
    });
  });

  it('keeps a label selector instead of the container itself, and splits lists', () => {
    const { jobs } = jobsFromLabels(
      {
        name: 'ops',
        labels: {
          'dtool.job.rot.schedule': '@hourly',
          'dtool.job.rot.helper': 'logrotate',
          'dtool.job.rot.with.label': 'a=1, b=2',
          'dtool.job.rot.with.force': 'true',
        },
      },
      kinds,
    );
    expect(jobs[0]!.params).toEqual({ label: ['a=1', 'b=2'], force: true });
  });

  it('reports a label that does not parse, and keeps the good jobs of the same container', () => {
    const { jobs, problems } = jobsFromLabels(
      {
        name: 'web',
        labels: {
          'dtool.job.ok.schedule': '@daily',
          'dtool.job.ok.helper': 'logrotate',
          'dtool.job.bad.schedule': 'every day',
          'dtool.job.bad.helper': 'logrotate',
        },
      },
      kinds,
    );
    expect(jobs.map((j) => j.name)).toEqual(['web.ok']);
    expect(problems).toMatchObject([{ origin: 'label on web', job: 'web.bad', field: 'schedule (expression)' }]);
  });
});

describe('nextRuns', () => {
  it("lists the coming instants in UTC and in the job's zone", () => {
    const { jobs } = parseJobsFile(GOOD, 'schedule.yaml', kinds);
    const [backup] = nextRuns(jobs, new Date('2026-11-24T12:00:00Z'), 2);
    expect(backup).toEqual({
      job: 'nightly-backup',
      tz: 'Europe/Berlin',
      instants: ['2026-11-25T02:00:00.000Z', '2026-11-26T02:00:00.000Z'],
      local: ['2026-11-25 03:00:00', '2026-11-26 03:00:00'],
    });
  });
});
