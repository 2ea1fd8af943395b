/** dtool's public API: re-exports only. */
export * from './errors.js';
export type { RunEvent, Reporter } from './events.js';
export { silentReporter } from './events.js';
export { type DtoolConfig, DEFAULT_CONFIG, resolveConfig, loadConfig } from './config.js';
export { type Deps, type Clock, createDefaultDeps, systemClock } from './deps.js';
export type * from './docker/port.js';
export { DockerodeAdapter } from './docker/dockerode-adapter.js';
export * from './docker/labels.js';
export type * from './core/helper-spec.js';
export { toCreateOptions, type CreateContext } from './core/to-create-options.js';
export { assertGranted } from './core/privileges.js';
export { runHelper, type RunHelperOptions } from './run/run-helper.js';
export { startService, type StartedService } from './run/service.js';
export { ImageCatalog, type BuiltImage } from './run/build-image.js';
export { doctor, type DoctorReport } from './run/doctor.js';
export { prune, type PruneReport } from './run/prune.js';
export {
  backup,
  backupReportError,
  parseBackupParams,
  type BackupParams,
  type BackupReport,
  type TargetReport,
} from './helpers/mysql/backup.js';
export { checkAgainstManifest, sha256File, type BackupManifest } from './helpers/mysql/manifest.js';
export { restore, parseRestoreParams, type RestoreParams, type RestoreReport } from './helpers/mysql/restore.js';
export { dbInit, dbInitReportError, parseDbInitParams, type DbInitParams, type DbInitReport } from './helpers/mysql/db-init.js';
export { verifyBackup, compareChecksums, SERVER_READY, type VerifyReport } from './helpers/mysql/verify.js';
export { parseCredentials, toClientCnf, type Credentials } from './helpers/mysql/credentials.js';
export * from './helpers/logrotate/index.js';
export { DTOOL_VERSION } from './version.js';
