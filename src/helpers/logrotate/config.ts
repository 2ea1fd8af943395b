/**
 * The logrotate configuration of one target, generated from its settings: pure, so a test
 * pins it for each combination. Nothing is baked into the image. The helper runs logrotate
 * once per owner of the matched files, on a copy of this config whose file line (the one
 * after `#@files`) names that owner's files; the settings themselves are used as written.
 */
import type { RotationSettings } from './settings.js';

/** The postrotate of copytruncate mode, in the image: truncates the log and records what the copy missed. */
export const TRUNCATE_SCRIPT = '/usr/local/bin/dtool-logrotate-truncate';
/** The line before the file line; dtool-logrotate looks for it. */
export const FILES_MARKER = '#@files';

export function logrotateConfig(target: string, settings: RotationSettings): string {
  const how =
    settings.mode === 'signal'
      ? `signal mode: renamed and recreated, then dtool sends ${settings.signal} to the container`
      : 'copytruncate mode: copied, then truncated by dtool-logrotate-truncate, which records the bytes lost';
  const lines = [
    `# dtool logrotate for ${target}; ${how}`,
    FILES_MARKER,
    `${settings.paths.map((p) => `"${p}"`).join(' ')} {`,
    `    rotate ${settings.rotate}`,
    settings.schedule.kind === 'size' ? `    size ${settings.schedule.size}` : `    ${settings.schedule.kind}`,
    '    missingok',
    '    notifempty',
    // Rotated files are FILE.1, FILE.2.gz, …: the helper finds them by these names.
    '    nodateext',
    '    noolddir',
  ];
  if (settings.compress) {
    lines.push('    compress');
    if (settings.delaycompress) lines.push('    delaycompress');
  } else {
    lines.push('    nocompress');
  }
  if (settings.mode === 'signal') {
    // Without arguments the new file gets the old one's owner, group and mode. No
    // postrotate: the helper cannot reach the application; dtool signals it afterwards.
    lines.push('    create');
  } else {
    // logrotate's own copytruncate would hide what it loses; `copy` plus a measured truncate does not.
    lines.push('    copy', '    postrotate', `        ${TRUNCATE_SCRIPT} "$1" "$2"`, '    endscript');
  }
  lines.push('}');
  return `${lines.join('\n')}\n`;
}
