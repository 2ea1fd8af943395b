/**
 * Artifact names: `<target>-<UTC timestamp>.<sql|tar>[.zst|.gz]`, e.g.
 * `database-20261122T153000Z.sql.zst`. Retention recognises dtool's own files by this
 * pattern and touches nothing else.
 */
export type DumpEngine = 'mariadb-dump' | 'mydumper';
export type Compression = 'zstd' | 'gzip' | 'none';

export const DUMP_ENGINES: readonly DumpEngine[] = ['mariadb-dump', 'mydumper'];
export const COMPRESSIONS: readonly Compression[] = ['zstd', 'gzip', 'none'];

const COMPRESSION_SUFFIX: Readonly<Record<Compression, string>> = { zstd: '.zst', gzip: '.gz', none: '' };
export const MANIFEST_SUFFIX = '.manifest.json';

/** `2026-11-22T15:30:00.123Z` → `20261122T153000Z`. */
export function utcStamp(date: Date): string {
  return date
    .toISOString()
    .replace(/\.\d{3}Z$/, 'Z')
    .replace(/[-:]/g, '');
}

export function parseUtcStamp(stamp: string): Date | undefined {
  const m = /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z$/.exec(stamp);
  if (!m) return undefined;
  const date = new Date(`${m[1]}-${m[2]}-${m[3]}T${m[4]}:${m[5]}:${m[6]}Z`);
  return Number.isNaN(date.getTime()) ? undefined : date;
}

export function artifactName(target: string, date: Date, engine: DumpEngine, compression: Compression, sequence = 0): string {
  const kind = engine === 'mydumper' ? 'tar' : 'sql';
  const suffix = sequence > 0 ? `-${sequence}` : '';
  return `${target}-${utcStamp(date)}${suffix}.${kind}${COMPRESSION_SUFFIX[compression]}`;
}

export interface ArtifactName {
  readonly target: string;
  readonly takenAt: Date;
  readonly sequence: number;
  readonly file: string;
}

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/** Recognises an artifact of `target`; anything else (other files, other targets, temp files) is undefined. */
export function parseArtifactName(target: string, file: string): ArtifactName | undefined {
  const pattern = new RegExp(`^${escapeRegExp(target)}-(\\d{8}T\\d{6}Z)(?:-(\\d+))?\\.(?:sql|tar)(?:\\.zst|\\.gz)?$`);
  const m = pattern.exec(file);
  if (!m) return undefined;
  const takenAt = parseUtcStamp(m[1]!);
  if (!takenAt) return undefined;
  return { target, takenAt, sequence: m[2] ? Number(m[2]) : 0, file };
}

/**
 * The temp name an artifact is written under until it is verified and renamed; mydumper's
 * scratch folder is that name plus `.d`.
 */
export function tempNameFor(file: string): string {
  return `.${file}.tmp`;
}

/**
 * Recognises what a run of `target` leaves behind if it dies mid-dump: its temp file or its
 * mydumper scratch folder. Only these dtool-made names are ever deleted as leftovers.
 */
export function isLeftoverOf(target: string, name: string): boolean {
  const m = /^\.(.+)\.tmp(?:\.d)?$/.exec(name);
  return m !== null && parseArtifactName(target, m[1]!) !== undefined;
}

/** Newest first; within one second, the higher sequence is newer. */
export function newestFirst(a: ArtifactName, b: ArtifactName): number {
  return b.takenAt.getTime() - a.takenAt.getTime() || b.sequence - a.sequence;
}
