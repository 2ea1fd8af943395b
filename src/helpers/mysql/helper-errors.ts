/**
 * The mysql-tools scripts exit with documented codes (images/mysql-tools/lib.sh); this maps
 * them to dtool's errors, so callers branch on codes, never on message text.
 */
import { CredentialsError, DtoolError, HelperFailedError, NoSpaceError, VerifyFailedError } from '../../errors.js';
import { lastLines } from '../../docker/streams.js';
import type { HelperResult } from '../../core/helper-spec.js';

export const TOOL_EXIT = {
  usage: 2,
  unreachable: 10,
  accessDenied: 11,
  commandFailed: 12,
  verificationFailed: 13,
  noSpace: 14,
  /** dtool-outdir hold: the folder is locked by another run. */
  locked: 15,
} as const;

export function mysqlHelperError(result: HelperResult, target: string): DtoolError {
  const details = lastLines(result.stderr, 20);
  const reason = details.at(-1) ?? `exit code ${result.exitCode}`;
  switch (result.exitCode) {
    case TOOL_EXIT.unreachable:
      return new HelperFailedError(result.helper, result.exitCode, details, {
        hint: `is the MariaDB server in ${target} up and listening on its port?`,
      });
    case TOOL_EXIT.accessDenied:
      return new CredentialsError(`access denied by ${target}: ${reason}`, {
        details,
        hint: 'check the user and password in the credentials file',
      });
    case TOOL_EXIT.verificationFailed:
      return new VerifyFailedError(`the dump of ${target} is incomplete or corrupt: ${reason}`, { details });
    case TOOL_EXIT.noSpace:
      return new NoSpaceError(`no space left while writing the dump of ${target}`, { details });
    default:
      return new HelperFailedError(result.helper, result.exitCode, details);
  }
}

/** The scripts print their result as one JSON object on the last line of stdout. */
export function lastJsonLine<T>(stdout: string, helper: string): T {
  const line = lastLines(stdout, 1)[0];
  try {
    if (line === undefined) throw new Error('no output');
    return JSON.parse(line) as T;
  } catch (error) {
    throw new DtoolError('INTERNAL', `helper ${helper} printed no result line`, { cause: error, details: lastLines(stdout, 5) });
  }
}
