/** The logrotate family's public face: what the CLI, the scheduler and library users call. */
export { logrotate, logrotateReportError, parseLogrotateParams, type LogrotateParams, type RawLogrotateOptions } from './logrotate.js';
export { summarizeLogrotateReport, type LogFileReport, type LogrotateReport, type LogrotateTargetReport, type SignalReport } from './report.js';
export { logrotateConfig } from './config.js';
export { DEFAULT_SETTINGS as DEFAULT_LOGROTATE_SETTINGS, LABELS as LOGROTATE_LABELS, type RotationMode, type RotationSettings } from './settings.js';
