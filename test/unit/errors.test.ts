import { describe, expect, it } from 'vitest';
import {
  AbortedError,
  CredentialsError,
  DtoolError,
  EXIT_CODES,
  EngineUnavailableError,
  HelperFailedError,
  ImageBuildError,
  LockedError,
  NoSpaceError,
  NotFoundError,
  PartialFailureError,
  PrivilegeNotGrantedError,
  TimeoutError,
  UsageError,
  VerifyFailedError,
  exitCodeFor,
  toDtoolError,
} from '../../src/errors.js';

describe('EXIT_CODES', () => {
  it('is the documented table, code for code', () => {
    expect(EXIT_CODES).toEqual({
      INTERNAL: 1,
      USAGE: 2,
      ENGINE_UNAVAILABLE: 3,
      NOT_FOUND: 4,
      HELPER_FAILED: 5,
      CREDENTIALS: 6,
      VERIFY_FAILED: 7,
      PARTIAL_FAILURE: 8,
      LOCKED: 9,
      NO_SPACE: 10,
      PRIVILEGE_NOT_GRANTED: 11,
      TIMEOUT: 12,
      IMAGE_BUILD_FAILED: 13,
      CONFLICT: 14,
      ABORTED: 130,
    });
  });

  it('gives every code its own exit status', () => {
    const statuses = Object.values(EXIT_CODES);
    expect(new Set(statuses).size).toBe(statuses.length);
  });
});

describe('exitCodeFor', () => {
  it.each([
    ['UsageError', new UsageError('x'), 'USAGE', 2],
    ['EngineUnavailableError', new EngineUnavailableError('x'), 'ENGINE_UNAVAILABLE', 3],
    ['NotFoundError', new NotFoundError('x'), 'NOT_FOUND', 4],
    ['HelperFailedError', new HelperFailedError('h', 1, []), 'HELPER_FAILED', 5],
    ['CredentialsError', new CredentialsError('x'), 'CREDENTIALS', 6],
    ['VerifyFailedError', new VerifyFailedError('x'), 'VERIFY_FAILED', 7],
    ['PartialFailureError', new PartialFailureError(['a'], 2), 'PARTIAL_FAILURE', 8],
    ['LockedError', new LockedError('x'), 'LOCKED', 9],
    ['NoSpaceError', new NoSpaceError('x'), 'NO_SPACE', 10],
    ['PrivilegeNotGrantedError', new PrivilegeNotGrantedError('x'), 'PRIVILEGE_NOT_GRANTED', 11],
    ['TimeoutError', new TimeoutError('x'), 'TIMEOUT', 12],
    ['ImageBuildError', new ImageBuildError('x'), 'IMAGE_BUILD_FAILED', 13],
    ['a CONFLICT DtoolError', new DtoolError('CONFLICT', 'x'), 'CONFLICT', 14],
    ['AbortedError', new AbortedError(), 'ABORTED', 130],
    ['an INTERNAL DtoolError', new DtoolError('INTERNAL', 'x'), 'INTERNAL', 1],
  ] as const)('maps %s to its code and exit status', (_, error, code, status) => {
    expect(error).toBeInstanceOf(DtoolError);
    expect(error.code).toBe(code);
    expect(exitCodeFor(error)).toBe(status);
  });

  it('maps a plain Error, a string and undefined to the internal status 1', () => {
    expect(exitCodeFor(new Error('boom'))).toBe(1);
    expect(exitCodeFor(new TypeError('boom'))).toBe(1);
    expect(exitCodeFor('boom')).toBe(1);
    expect(exitCodeFor(undefined)).toBe(1);
  });
});

describe('DtoolError', () => {
  it('keeps only the last 20 detail lines', () => {
    const details = Array.from({ length: 25 }, (_, i) => `line ${i + 1}`);
    const error = new UsageError('too much', { details });
    expect(error.details).toHaveLength(20);
    expect(error.details[0]).toBe('line 6');
    expect(error.details.at(-1)).toBe('line 25');
  });

  it('keeps 20 or fewer detail lines as given', () => {
    const details = Array.from({ length: 20 }, (_, i) => `line ${i + 1}`);
    expect(new UsageError('x', { details }).details).toEqual(details);
    expect(new UsageError('x').details).toEqual([]);
  });

  it('caps the stderr tail of a helper failure at 20 lines too', () => {
    const tail = Array.from({ length: 30 }, (_, i) => `err ${i}`);
    expect(new HelperFailedError('mysql-backup', 3, tail).details).toHaveLength(20);
  });

  it('keeps the original error as cause, and its hint', () => {
    const original = new Error('EACCES');
    const error = new NotFoundError('missing', { cause: original, hint: 'look elsewhere' });
    expect(error.cause).toBe(original);
    expect(error.hint).toBe('look elsewhere');
  });

  it('is named after its class, so stack traces say what failed', () => {
    expect(new LockedError('x').name).toBe('LockedError');
    expect(new UsageError('x')).toBeInstanceOf(Error);
  });

  it('gives the engine error a default hint that a caller may replace', () => {
    expect(new EngineUnavailableError('down').hint).toMatch(/DOCKER_HOST/);
    expect(new EngineUnavailableError('down', { hint: 'other' }).hint).toBe('other');
  });

  it('puts the last non-empty stderr line of a failed helper in its message', () => {
    const error = new HelperFailedError('mysql-backup', 12, ['first', 'mysqldump: Got error 2013', '', '  ']);
    expect(error.message).toBe('helper mysql-backup exited with code 12: mysqldump: Got error 2013');
    expect(error.exitCode).toBe(12);
    expect(error.helper).toBe('mysql-backup');
    expect(new HelperFailedError('x', 1, []).message).toBe('helper x exited with code 1');
  });

  it('lists the failed jobs of a partial failure', () => {
    const error = new PartialFailureError(['db1', 'db3'], 3);
    expect(error.message).toBe('2 of 3 failed: db1, db3');
    expect(error.failed).toEqual(['db1', 'db3']);
  });
});

describe('toDtoolError', () => {
  it('returns a DtoolError unchanged', () => {
    const error = new UsageError('x');
    expect(toDtoolError(error)).toBe(error);
  });

  it('wraps anything else as INTERNAL, keeping it as cause', () => {
    const original = new RangeError('out of range');
    const wrapped = toDtoolError(original);
    expect(wrapped.code).toBe('INTERNAL');
    expect(wrapped.message).toBe('out of range');
    expect(wrapped.cause).toBe(original);
    expect(toDtoolError('text').message).toBe('text');
  });
});
