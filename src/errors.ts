/**
 * One error hierarchy for the whole library. Every error has a stable `code` (what callers
 * and scripts branch on), a short message, an optional hint for the user, and keeps the
 * original error as `cause`. Only the CLI entry turns an error into a process exit code,
 * through `exitCodeFor`.
 */
export type ErrorCode =
  | 'USAGE'
  | 'ENGINE_UNAVAILABLE'
  | 'NOT_FOUND'
  | 'HELPER_FAILED'
  | 'CREDENTIALS'
  | 'VERIFY_FAILED'
  | 'PARTIAL_FAILURE'
  | 'LOCKED'
  | 'NO_SPACE'
  | 'PRIVILEGE_NOT_GRANTED'
  | 'TIMEOUT'
  | 'IMAGE_BUILD_FAILED'
  | 'CONFLICT'
  | 'ABORTED'
  | 'INTERNAL';

export interface DtoolErrorOptions {
  readonly hint?: string;
  readonly details?: readonly string[];
  readonly cause?: unknown;
}

const MAX_DETAIL_LINES = 20;

export class DtoolError extends Error {
  readonly code: ErrorCode;
  readonly hint: string | undefined;
  /** At most MAX_DETAIL_LINES lines, e.g. the tail of a helper's stderr. */
  readonly details: readonly string[];

  constructor(code: ErrorCode, message: string, options: DtoolErrorOptions = {}) {
    super(message, { cause: options.cause });
    this.name = new.target.name;
    this.code = code;
    this.hint = options.hint;
    this.details = (options.details ?? []).slice(-MAX_DETAIL_LINES);
  }
}

export class UsageError extends DtoolError {
  constructor(message: string, options?: DtoolErrorOptions) {
    super('USAGE', message, options);
  }
}

export class EngineUnavailableError extends DtoolError {
  constructor(message: string, options?: DtoolErrorOptions) {
    super('ENGINE_UNAVAILABLE', message, {
      hint: 'start Docker (on a bare Debian machine: make engine), or set DOCKER_HOST',
      ...options,
    });
  }
}

/**
 * The engine answered, but the TLS handshake failed: its certificate is not trusted (another
 * CA, another name) or it refused our client certificate. An unavailable engine all the same
 * (exit 3), with a hint about certificates rather than about starting Docker.
 */
export class EngineTlsError extends EngineUnavailableError {
  constructor(message: string, options?: DtoolErrorOptions) {
    super(message, {
      hint: "check the TLS material (DOCKER_CERT_PATH, default ~/.docker, or the context's): ca.pem must be the CA that signed the engine's certificate, cert.pem and key.pem a client certificate that engine trusts; the engine's certificate must name the address used",
      ...options,
    });
  }
}

export class NotFoundError extends DtoolError {
  constructor(message: string, options?: DtoolErrorOptions) {
    super('NOT_FOUND', message, options);
  }
}

/** A helper container exited non-zero; carries its exit code and the tail of its stderr. */
export class HelperFailedError extends DtoolError {
  readonly helper: string;
  readonly exitCode: number;

  constructor(helper: string, exitCode: number, stderrTail: readonly string[], options: DtoolErrorOptions = {}) {
    const lastLine = stderrTail.filter((l) => l.trim() !== '').at(-1);
    super('HELPER_FAILED', `helper ${helper} exited with code ${exitCode}${lastLine ? `: ${lastLine}` : ''}`, {
      details: stderrTail,
      ...options,
    });
    this.helper = helper;
    this.exitCode = exitCode;
  }
}

export class CredentialsError extends DtoolError {
  constructor(message: string, options?: DtoolErrorOptions) {
    super('CREDENTIALS', message, options);
  }
}

export class VerifyFailedError extends DtoolError {
  constructor(message: string, options?: DtoolErrorOptions) {
    super('VERIFY_FAILED', message, options);
  }
}

/** Some of several independent jobs failed; the others completed. */
export class PartialFailureError extends DtoolError {
  readonly failed: readonly string[];

  constructor(failed: readonly string[], total: number, options?: DtoolErrorOptions) {
    super('PARTIAL_FAILURE', `${failed.length} of ${total} failed: ${failed.join(', ')}`, options);
    this.failed = failed;
  }
}

export class LockedError extends DtoolError {
  constructor(message: string, options?: DtoolErrorOptions) {
    super('LOCKED', message, options);
  }
}

export class NoSpaceError extends DtoolError {
  constructor(message: string, options?: DtoolErrorOptions) {
    super('NO_SPACE', message, options);
  }
}

export class PrivilegeNotGrantedError extends DtoolError {
  constructor(message: string, options?: DtoolErrorOptions) {
    super('PRIVILEGE_NOT_GRANTED', message, options);
  }
}

export class TimeoutError extends DtoolError {
  constructor(message: string, options?: DtoolErrorOptions) {
    super('TIMEOUT', message, options);
  }
}

export class ImageBuildError extends DtoolError {
  constructor(message: string, options?: DtoolErrorOptions) {
    super('IMAGE_BUILD_FAILED', message, options);
  }
}

export class AbortedError extends DtoolError {
  constructor(message = 'interrupted', options?: DtoolErrorOptions) {
    super('ABORTED', message, options);
  }
}

/** Documented in the README ("Exit codes"); a test pins this table. */
export const EXIT_CODES: Readonly<Record<ErrorCode, number>> = {
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
};

export function exitCodeFor(error: unknown): number {
  if (error instanceof DtoolError) return EXIT_CODES[error.code];
  return EXIT_CODES.INTERNAL;
}

/** Wraps anything thrown into a DtoolError, keeping the original as `cause`. */
export function toDtoolError(error: unknown): DtoolError {
  if (error instanceof DtoolError) return error;
  const message = error instanceof Error ? error.message : String(error);
  return new DtoolError('INTERNAL', message, { cause: error });
}
