/**
 * Sysctl profiles: YAML, checked before anything runs. Every problem names the file, the
 * line and the key, and all of them are reported at once. Pure: the caller reads the file.
 *
 *   profile: database-host        # names the drop-in: 60-dtool-database-host.conf
 *   description: what it is for
 *   sysctls:
 *     vm.swappiness: 10
 *     net.ipv4.ip_local_port_range: "1024 65535"    # or [1024, 65535]
 */
import { isMap, isScalar, isSeq, LineCounter, type Node, parseDocument } from 'yaml';
import { DtoolError } from '../../errors.js';
import { classifyKey, type KeyClassification, validateValue } from './keys.js';

export interface SysctlSetting {
  readonly key: string;
  readonly value: string;
}

export interface ProfileSetting extends SysctlSetting {
  /** FILE:LINE of the key. */
  readonly origin: string;
}

export interface SysctlProfile {
  readonly name: string;
  readonly description?: string;
  readonly file: string;
  /** In file order; keys in dot form, values normalized. */
  readonly settings: readonly ProfileSetting[];
}

export interface ProfileProblem {
  /** FILE:LINE, or FILE alone when no line applies. */
  readonly origin: string;
  /** The sysctl key or top-level field concerned; "-" for the file as a whole. */
  readonly key: string;
  readonly message: string;
}

export interface ParsedSysctlProfile {
  /** Present only when there are no problems. */
  readonly profile?: SysctlProfile;
  readonly problems: readonly ProfileProblem[];
}

export interface ProfileOptions {
  /** Node-level key patterns (from the config); default DEFAULT_NODE_ALLOWLIST. */
  readonly allowlist?: readonly string[];
}

const TOP_LEVEL = ['profile', 'description', 'sysctls'];
const PROFILE_NAME = /^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$/;

/** The drop-in a persisted profile is written to, in /etc/sysctl.d. */
export const dropInName = (profile: string): string => `60-dtool-${profile}.conf`;

export function parseSysctlProfile(text: string, file: string, options: ProfileOptions = {}): ParsedSysctlProfile {
  const lines = new LineCounter();
  // Duplicates are found below, after normalizing keys (vm/swappiness is vm.swappiness), and reported with the rest.
  // Integers as bigint: fs.file-max may be 9223372036854775807, beyond a double's precision.
  const document = parseDocument(text, { lineCounter: lines, prettyErrors: false, uniqueKeys: false, intAsBigInt: true });
  const at = (node: Node | null | undefined): string => {
    const offset = node?.range?.[0];
    return offset === undefined ? file : `${file}:${lines.linePos(offset).line}`;
  };
  if (document.errors.length > 0) {
    return {
      problems: document.errors.map((error) => ({
        origin: `${file}:${lines.linePos(error.pos[0]).line}`,
        key: '-',
        message: `YAML: ${error.message.split('\n')[0]!}`,
      })),
    };
  }
  const root = document.contents;
  if (!isMap(root)) return { problems: [{ origin: at(root), key: '-', message: 'a profile is a mapping with "profile:" and "sysctls:" keys' }] };

  const problems: ProfileProblem[] = [];
  const fields = new Map<string, { key: Node; value: Node | null }>();
  for (const pair of root.items) {
    const keyNode = pair.key as Node;
    const name = isScalar(keyNode) ? String(keyNode.value) : '?';
    if (!TOP_LEVEL.includes(name))
      problems.push({ origin: at(keyNode), key: name, message: `unknown top-level key (known: ${TOP_LEVEL.join(', ')})` });
    else if (fields.has(name)) problems.push({ origin: at(keyNode), key: name, message: `duplicate key (first at ${at(fields.get(name)!.key)})` });
    else fields.set(name, { key: keyNode, value: pair.value as Node | null });
  }

  const nameField = fields.get('profile');
  const nameValue = isScalar(nameField?.value) ? nameField.value.value : undefined;
  if (!nameField) problems.push({ origin: file, key: 'profile', message: 'missing: the profile name, e.g. "profile: database-host"' });
  else if (typeof nameValue !== 'string' || !PROFILE_NAME.test(nameValue)) {
    problems.push({ origin: at(nameField.key), key: 'profile', message: 'expected lowercase letters, digits and "-" (it names the drop-in file)' });
  }

  const descriptionField = fields.get('description');
  const descriptionValue = isScalar(descriptionField?.value) ? descriptionField.value.value : undefined;
  if (descriptionField && typeof descriptionValue !== 'string')
    problems.push({ origin: at(descriptionField.key), key: 'description', message: 'expected text' });

  const settings = parseSettings(fields.get('sysctls'), file, at, options, problems);
  if (problems.length > 0) return { problems };
  return {
    profile: {
      name: nameValue as string,
      ...(typeof descriptionValue === 'string' ? { description: descriptionValue } : {}),
      file,
      settings,
    },
    problems,
  };
}

function parseSettings(
  field: { key: Node; value: Node | null } | undefined,
  file: string,
  at: (node: Node | null | undefined) => string,
  options: ProfileOptions,
  problems: ProfileProblem[],
): ProfileSetting[] {
  if (!field) {
    problems.push({ origin: file, key: 'sysctls', message: 'missing: a mapping of sysctl keys to values' });
    return [];
  }
  if (!isMap(field.value) || field.value.items.length === 0) {
    problems.push({ origin: at(field.key), key: 'sysctls', message: 'expected a non-empty mapping of sysctl keys to values' });
    return [];
  }
  const settings: ProfileSetting[] = [];
  const seen = new Map<string, string>();
  for (const pair of field.value.items) {
    const keyNode = pair.key as Node;
    const valueNode = pair.value as Node | null;
    const origin = at(keyNode);
    const rawKey = isScalar(keyNode) ? String(keyNode.value) : '?';
    let classified: KeyClassification;
    try {
      classified = classifyKey(rawKey, { target: 'host', ...(options.allowlist ? { allowlist: options.allowlist } : {}) });
    } catch (error) {
      problems.push({ origin, key: rawKey, message: messageOf(error) });
      continue;
    }
    const key = classified.key;
    const first = seen.get(key);
    if (first) {
      problems.push({ origin, key, message: `duplicate key (first at ${first})` });
      continue;
    }
    seen.set(key, origin);
    // A refused key is one problem; its value is not worth a second.
    if (classified.class !== 'node') {
      problems.push({ origin, key, message: classified.reason });
      continue;
    }
    const raw = rawValue(valueNode);
    if (typeof raw !== 'string') {
      problems.push({ origin: at(valueNode ?? keyNode), key, message: raw.problem });
      continue;
    }
    try {
      settings.push({ key, value: validateValue(key, raw), origin });
    } catch (error) {
      problems.push({ origin: at(valueNode ?? keyNode), key, message: messageOf(error) });
    }
  }
  return settings;
}

/** The value as sysctl text: a scalar, or a list of integers joined with spaces. */
function rawValue(node: Node | null): string | { problem: string } {
  const scalarText = (value: unknown): string | undefined => {
    if (typeof value === 'string') return value;
    if (typeof value === 'bigint') return value.toString();
    return undefined;
  };
  if (isScalar(node)) {
    const text = scalarText(node.value);
    if (text !== undefined) return text;
    if (typeof node.value === 'number') return { problem: `expected an integer, not ${node.source ?? node.value}` };
    return { problem: `expected a number or text, not ${node.value === null ? 'nothing' : String(node.value)}` };
  }
  if (isSeq(node)) {
    const parts = node.items.map((item) => (isScalar(item) ? scalarText(item.value) : undefined));
    if (parts.length > 0 && parts.every((p) => p !== undefined)) return parts.join(' ');
  }
  return { problem: 'expected a number, text, or a list of integers' };
}

const messageOf = (error: unknown): string => {
  if (error instanceof DtoolError) return error.message;
  throw error;
};
