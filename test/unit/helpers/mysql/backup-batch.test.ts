import { describe, expect, it } from 'vitest';
import { backupBatchSpec, mergeNetworks, networkKey, parseBatchReport, type BatchOptions } from '../../../../src/helpers/mysql/backup-batch.js';
import { mysqlHelperError } from '../../../../src/helpers/mysql/helper-errors.js';
import type { HelperNetwork, HelperResult } from '../../../../src/core/helper-spec.js';

function batchRun(stdout: string, overrides: Partial<HelperResult> = {}): HelperResult {
  return { helper: 'mysql-backup', runId: 'run-1', exitCode: 0, stdout, stderr: '', outputTruncated: false, durationMs: 1234, ...overrides };
}

/** What one job's result looks like: a helper run of its own, sharing the batch's run facts. */
function job(exitCode: number, stdout = '', stderr = ''): HelperResult {
  return { helper: 'mysql-backup', runId: 'run-1', exitCode, stdout, stderr, outputTruncated: false, durationMs: 1234 };
}

const RESULT = '{"bytes":3,"sha256":"2c26b46b68ffc68ff99b453c1d30413413422d706483bfa0f98a5e886266e7ae"}';

describe('parseBatchReport', () => {
  it('gives each job its exit code, its result line and its stderr lines', () => {
    const report = parseBatchReport(
      batchRun(
        [
          `shop\tresult\t${RESULT}`,
          'shop\texit\t0',
          'crm\tstderr\tdtool-backup: access denied: ERROR 1045 (28000)',
          'crm\tstderr\tsecond line',
          'crm\texit\t11',
          '',
        ].join('\n'),
      ),
    );
    expect([...report.keys()]).toEqual(['shop', 'crm']);
    expect(report.get('shop')).toEqual(job(0, RESULT));
    expect(report.get('crm')).toEqual(job(11, '', 'dtool-backup: access denied: ERROR 1045 (28000)\nsecond line'));
  });

  it("is judged as a lone run's would be: a job's exit code maps to the same error", () => {
    const crm = parseBatchReport(batchRun('crm\tstderr\tERROR 1045 (28000): Access denied\ncrm\texit\t11\n')).get('crm')!;
    expect(mysqlHelperError(crm, 'crm')).toMatchObject({ code: 'CREDENTIALS', details: ['ERROR 1045 (28000): Access denied'] });
  });

  it('sorts interleaved lines of jobs that ran side by side', () => {
    const report = parseBatchReport(
      batchRun(
        ['a\tstderr\ta-1', 'b\tstderr\tb-1', 'a\tstderr\ta-2', `b\tresult\t${RESULT}`, 'a\texit\t12', 'b\tstderr\tb-2', 'b\texit\t0'].join('\n'),
      ),
    );
    expect(report.get('a')).toEqual(job(12, '', 'a-1\na-2'));
    expect(report.get('b')).toEqual(job(0, RESULT, 'b-1\nb-2'));
  });

  it('keeps tabs inside a stderr line, and empty fields between them', () => {
    const report = parseBatchReport(batchRun('db\tstderr\tcol1\tcol2\t\tcol4\t\ndb\texit\t12\n'));
    expect(report.get('db')!.stderr).toBe('col1\tcol2\t\tcol4\t');
  });

  it('leaves out a job the report does not close with an exit line', () => {
    const report = parseBatchReport(batchRun(`done\texit\t0\ncut\tresult\t${RESULT}\ncut\tstderr\tkilled\n`));
    expect([...report.keys()]).toEqual(['done']);
    expect(report.has('cut')).toBe(false);
  });

  it('ignores lines that are not report lines', () => {
    const report = parseBatchReport(
      batchRun(
        [
          'plain noise without tabs',
          '',
          '\tresult\tno name',
          'db\t',
          'db',
          'db\tunknown\tkind',
          'db\tstdout\tnot a kind the batch prints',
          'db\texit\t0',
        ].join('\n'),
      ),
    );
    expect([...report.keys()]).toEqual(['db']);
    expect(report.get('db')).toEqual(job(0));
  });

  it.each(['zero', '', '-1', '1.5', ' 0', '0 ', '1e2'])('ignores a non-numeric exit %j', (code) => {
    expect(parseBatchReport(batchRun(`db\texit\t${code}\n`)).has('db')).toBe(false);
  });

  it('takes a later numeric exit after an ignored one', () => {
    expect(parseBatchReport(batchRun('db\texit\tabc\ndb\texit\t14\n')).get('db')!.exitCode).toBe(14);
  });

  it("does not hand the batch's own stderr to any job, but passes on that output was cut", () => {
    const report = parseBatchReport(batchRun('db\texit\t0\n', { stderr: 'batch noise\n', outputTruncated: true, exitCode: 3 }));
    expect(report.get('db')).toEqual({ ...job(0), outputTruncated: true });
  });

  it('is empty for an empty report', () => {
    expect(parseBatchReport(batchRun('')).size).toBe(0);
  });
});

describe('networkKey', () => {
  it('names the network a helper must join, links aside', () => {
    expect(networkKey({ mode: 'default' })).toBe('default');
    expect(networkKey({ mode: 'none' })).toBe('none');
    expect(networkKey({ mode: 'host' })).toBe('host');
    expect(networkKey({ mode: 'network', name: 'appnet' })).toBe('network:appnet');
    expect(networkKey({ mode: 'network', name: 'bridge', links: ['a:a'] })).toBe('network:bridge');
    expect(networkKey({ mode: 'network', name: 'bridge', links: ['b:b'] })).toBe(networkKey({ mode: 'network', name: 'bridge' }));
  });

  it('keeps a network named like a mode apart from that mode', () => {
    expect(networkKey({ mode: 'network', name: 'host' })).not.toBe(networkKey({ mode: 'host' }));
  });
});

describe('mergeNetworks', () => {
  it('merges the links of targets on the default bridge, each once, in order', () => {
    const networks: HelperNetwork[] = [
      { mode: 'network', name: 'bridge', links: ['mariadb-1:db'] },
      { mode: 'network', name: 'bridge', links: ['mariadb-2:cache', 'mariadb-1:db'] },
      { mode: 'network', name: 'bridge' },
      { mode: 'network', name: 'bridge', links: ['mariadb-2:cache'] },
    ];
    expect(mergeNetworks(networks)).toStrictEqual({ mode: 'network', name: 'bridge', links: ['mariadb-1:db', 'mariadb-2:cache'] });
  });

  it('gives a user network no links at all', () => {
    expect(
      mergeNetworks([
        { mode: 'network', name: 'appnet' },
        { mode: 'network', name: 'appnet' },
      ]),
    ).toStrictEqual({ mode: 'network', name: 'appnet' });
  });

  it('passes host, none and default through', () => {
    expect(mergeNetworks([{ mode: 'host' }, { mode: 'host' }])).toStrictEqual({ mode: 'host' });
    expect(mergeNetworks([{ mode: 'none' }])).toStrictEqual({ mode: 'none' });
    expect(mergeNetworks([{ mode: 'default' }])).toStrictEqual({ mode: 'default' });
  });

  it('is the default network for no targets', () => {
    expect(mergeNetworks([])).toStrictEqual({ mode: 'default' });
  });
});

describe('backupBatchSpec: optional parts', () => {
  const base: BatchOptions = { image: 'dtool/mysql-tools:abc', network: { mode: 'host' }, parallel: 3, engine: 'mariadb-dump', compression: 'none' };
  const jobs = [{ name: 'db', targetDir: '/b/db', tempName: '.db.sql.tmp', clientCnf: '[client]\n' }];

  it('leaves out the user, the timeout, databases and threads when not given', () => {
    const spec = backupBatchSpec(jobs, base);
    expect(spec).not.toHaveProperty('user');
    expect(spec).not.toHaveProperty('timeoutMs');
    expect(spec.command).toEqual(['dtool-backup-batch', '--parallel', '3', '/run/secrets/jobs.tsv']);
    expect(spec.secrets![0]!.content).toBe('db\t/run/secrets/db.cnf\t--engine\tmariadb-dump\t--compress\tnone\t--out\t/backups/db/.db.sql.tmp\n');
  });
});
