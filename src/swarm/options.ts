/** `swarm`, `constraint` and `registry` as the CLI's flags and schedule files give them, validated once. */
import { UsageError } from '../errors.js';
import { type Constraint, parseConstraints } from './constraints.js';
import { parseRegistry } from './images.js';

export interface RawSwarmSettings {
  readonly swarm?: unknown;
  readonly constraint?: unknown;
  readonly registry?: unknown;
}

export interface SwarmSettings {
  readonly constraints: readonly Constraint[];
  readonly registry?: string;
}

const asList = (value: unknown, what: string): string[] => {
  if (value === undefined) return [];
  const list = Array.isArray(value) ? value : [value];
  if (!list.every((v) => typeof v === 'string')) throw new UsageError(`${what} expects EXPR strings, e.g. node.role==worker`);
  return list as string[];
};

/** The validated settings, or undefined when not on a swarm (then constraint and registry are errors). */
export function parseSwarmSettings(raw: RawSwarmSettings, flag = (name: string) => `--${name}`): SwarmSettings | undefined {
  const swarm = raw.swarm === true || raw.swarm === 'true';
  if (raw.swarm !== undefined && typeof raw.swarm !== 'boolean' && raw.swarm !== 'true' && raw.swarm !== 'false') {
    throw new UsageError(`${flag('swarm')} is true or false, not ${JSON.stringify(raw.swarm)}`);
  }
  const constraints = asList(raw.constraint, flag('constraint'));
  if (!swarm) {
    const stray = constraints.length ? flag('constraint') : raw.registry !== undefined ? flag('registry') : undefined;
    if (stray) throw new UsageError(`${stray} applies to ${flag('swarm')} only`);
    return undefined;
  }
  if (raw.registry !== undefined && typeof raw.registry !== 'string') throw new UsageError(`${flag('registry')} expects HOST[:PORT][/PATH]`);
  return {
    constraints: parseConstraints(constraints),
    ...(raw.registry !== undefined ? { registry: parseRegistry(raw.registry) } : {}),
  };
}
