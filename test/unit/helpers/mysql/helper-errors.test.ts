import { describe, expect, it } from 'vitest';
import { CredentialsError, DtoolError, HelperFailedError, NoSpaceError, VerifyFailedError } from '../../../../src/errors.js';
import { TOOL_EXIT, lastJsonLine, mysqlHelperError } from '../../../../src/helpers/mysql/helper-errors.js';
import type { HelperResult } from '../../../../src/core/helper-spec.js';

function result(exitCode: number, stderr = 'connecting\nERROR 1045: Access denied for user\n'): HelperResult {
  return { helper: 'mysql-backup', runId: 'r', exitCode, stdout: '', stderr, outputTruncated: false, durationMs: 5 };
}

describe('TOOL_EXIT', () => {
  it('pins the exit codes documented in images/mysql-tools/lib.sh', () => {
    expect(TOOL_EXIT).toEqual({ usage: 2, unreachable: 10, accessDenied: 11, commandFailed: 12, verificationFailed: 13, noSpace: 14, locked: 15 });
  });
});

describe('mysqlHelperError', () => {
  it('unreachable (10) → HELPER_FAILED with a hint about the server', () => {
    const error = mysqlHelperError(result(TOOL_EXIT.unreachable), 'db');
    expect(error).toBeInstanceOf(HelperFailedError);
    expect(error.code).toBe('HELPER_FAILED');
    expect((error as HelperFailedError).exitCode).toBe(10);
    expect(error.hint).toBe('is the MariaDB server in db up and listening on its port?');
  });

  it('access denied (11) → CREDENTIALS, quoting the last stderr line', () => {
    const error = mysqlHelperError(result(TOOL_EXIT.accessDenied), 'db');
    expect(error).toBeInstanceOf(CredentialsError);
    expect(error.message).toBe('access denied by db: ERROR 1045: Access denied for user');
    expect(error.details).toEqual(['connecting', 'ERROR 1045: Access denied for user']);
    expect(error.hint).toMatch(/credentials file/);
  });

  it('verification failed (13) → VERIFY_FAILED', () => {
    const error = mysqlHelperError(result(TOOL_EXIT.verificationFailed, 'no dump trailer\n'), 'db');
    expect(error).toBeInstanceOf(VerifyFailedError);
    expect(error.message).toBe('the dump of db is incomplete or corrupt: no dump trailer');
  });

  it('no space (14) → NO_SPACE', () => {
    const error = mysqlHelperError(result(TOOL_EXIT.noSpace), 'db');
    expect(error).toBeInstanceOf(NoSpaceError);
    expect(error.code).toBe('NO_SPACE');
  });

  it.each([TOOL_EXIT.usage, TOOL_EXIT.commandFailed, 1, 137])('exit %i → HELPER_FAILED with the exit code', (code) => {
    const error = mysqlHelperError(result(code, 'boom\n'), 'db');
    expect(error).toBeInstanceOf(HelperFailedError);
    expect((error as HelperFailedError).exitCode).toBe(code);
    expect(error.message).toBe(`helper mysql-backup exited with code ${code}: boom`);
  });

  it('keeps only the last 20 stderr lines as details', () => {
    const stderr = Array.from({ length: 50 }, (_, i) => `line ${i}`).join('\n');
    const error = mysqlHelperError(result(TOOL_EXIT.accessDenied, stderr), 'db');
    expect(error.details).toHaveLength(20);
    expect(error.details.at(-1)).toBe('line 49');
  });

  it('names the exit code when stderr is empty', () => {
    expect(mysqlHelperError(result(TOOL_EXIT.accessDenied, ''), 'db').message).toBe('access denied by db: exit code 11');
  });
});

describe('lastJsonLine', () => {
  it('parses the last non-empty line of stdout', () => {
    expect(lastJsonLine('progress 10%\nprogress 100%\n{"bytes":42,"sha256":"ab"}\n\n', 'h')).toEqual({ bytes: 42, sha256: 'ab' });
  });

  it('fails as INTERNAL naming the helper when there is no output or the last line is not JSON', () => {
    expect(() => lastJsonLine('', 'mysql-backup')).toThrow(new DtoolError('INTERNAL', 'helper mysql-backup printed no result line'));
    try {
      lastJsonLine('a\nb\nnot json\n', 'mysql-backup');
      expect.unreachable();
    } catch (error) {
      expect(error).toMatchObject({ code: 'INTERNAL', details: ['a', 'b', 'not json'] });
      expect((error as Error).cause).toBeInstanceOf(SyntaxError);
    }
  });
});
