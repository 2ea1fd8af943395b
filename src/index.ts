/** dtool's public API: re-exports only. */
export * from './errors.js';
export type { RunEvent, Reporter } from './events.js';
export { silentReporter } from './events.js';
export { type DtoolConfig, DEFAULT_CONFIG, resolveConfig, loadConfig } from './config.js';
export { type Deps, type Clock, createDefaultDeps, systemClock } from './deps.js';
export type * from './docker/port.js';
export { DockerodeAdapter } from './docker/dockerode-adapter.js';
export {
  resolveEngineEndpoint,
  engineConnectOptions,
  type EngineEndpoint,
  type EngineTls,
  type EngineSource,
} from './docker/engine-endpoint.js';
export * from './docker/labels.js';
export type * from './core/helper-spec.js';
export { toCreateOptions, type CreateContext } from './core/to-create-options.js';
export { assertGranted } from './core/privileges.js';
export { runHelper, type RunHelperOptions } from './run/run-helper.js';
export { startService, type StartedService } from './run/service.js';
export { ImageCatalog, type BuiltImage } from './run/build-image.js';
export { doctor, type DoctorReport } from './run/doctor.js';
export { prune, pruneSwarm, type PruneReport, type SwarmPruneReport } from './run/prune.js';
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
export { parseSchedule, stableJitterMs, type Schedule } from './schedule/time.js';
export { checkJob, type JobSpec, type JobProblem, type OverlapPolicy, type CatchUpPolicy } from './schedule/job.js';
export { parseJobsFile } from './schedule/jobs-file.js';
export { jobsFromLabels } from './schedule/job-labels.js';
export { Scheduler, type RunRecord, type RunOutcome, type SchedulerEvent, type SchedulerDeps } from './schedule/scheduler.js';
export { claimInstant, sweepClaims } from './schedule/claim.js';
export { FileStateStore } from './schedule/state.js';
export { runScheduleService, loadJobFiles, type ScheduleOptions } from './schedule/service.js';
export { createJobKinds, type JobKinds } from './job-kinds.js';
export type { Recipe, RecipeStep, RecipeProblem, StepAction, Probe } from './recipes/recipe.js';
export { parseRecipe, parseVarFlags, checkRecipeVars } from './recipes/parse.js';
export { planRecipe, renderPlan, type RecipePlan } from './recipes/plan.js';
export { loadRecipe } from './recipes/load.js';
export { runRecipe, recipeReportError, type RecipeReport, type StepReport, type RecipeRunOptions } from './recipes/execute.js';
export { dnsRebuild, parseDnsRebuildParams, type DnsRebuildParams } from './helpers/dns/index.js';
export { dindBuild, parseDindBuildParams, type DindBuildParams, type DindBuildReport } from './helpers/dind/build.js';
export { buildInstall, parseBuildInstallParams, type BuildInstallParams, type BuildInstallReport } from './helpers/dind/build-install.js';
export { listDindCaches, removeDindCaches } from './helpers/dind/cache.js';
export { classifyKey, validateValue, isRaise, DEFAULT_NODE_ALLOWLIST, ESCAPE_KEYS } from './helpers/sysctl/keys.js';
export { parseSysctlProfile, type SysctlProfile } from './helpers/sysctl/profile.js';
export { sysctlSet, sysctlRevert, sysctlStatus, sysctlSetOnContainer, readSysctls, parseSettings } from './helpers/sysctl/tuner.js';
export { hostInfo, type HostInfo } from './helpers/host/info.js';
export { hostInfoOnSwarm, type SwarmHostInfoReport } from './helpers/host/swarm.js';
export { backupOnSwarm, dbInitOnSwarm } from './helpers/mysql/on-swarm.js';
export { logrotateOnSwarm, parseSwarmLogrotateParams, type SwarmLogrotateReport } from './helpers/logrotate/swarm.js';
export { sysctlStatusOnSwarm, type SwarmSysctlStatusReport } from './helpers/sysctl/swarm.js';
export { runSwarmJob, type SwarmJobOptions } from './swarm/run-job.js';
export { placeOnTargetNode, type PlacedTarget } from './swarm/placement.js';
export { parseConstraints, selectNodes, type Constraint } from './swarm/constraints.js';
export { parseSwarmSettings, type SwarmSettings } from './swarm/options.js';
export { swarmReportError, type SwarmJobReport, type SwarmNodeReport, type SwarmNodeStatus } from './swarm/report.js';
export { DTOOL_VERSION } from './version.js';
