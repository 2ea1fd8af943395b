/**
 * `--constraint` expressions, as Swarm spells them (`node.role==worker`,
 * `node.labels.disk!=hdd`), parsed once and matched against the listed nodes before
 * anything runs: a constraint no node satisfies is the user's mistake, not an empty job.
 * Matching follows swarmkit: values compare case-insensitively, and a label a node lacks
 * satisfies `!=` only.
 */
import type { SwarmNode } from '../docker/port.js';
import { UsageError } from '../errors.js';

export type ConstraintKey =
  | { readonly kind: 'hostname' }
  | { readonly kind: 'id' }
  | { readonly kind: 'role' }
  | { readonly kind: 'os' }
  | { readonly kind: 'arch' }
  | { readonly kind: 'label'; readonly name: string };

export interface Constraint {
  readonly key: ConstraintKey;
  readonly operator: '==' | '!=';
  readonly value: string;
  /** As Swarm takes it in Placement.Constraints. */
  readonly text: string;
}

const FIXED_KEYS: Readonly<Record<string, ConstraintKey>> = {
  'node.hostname': { kind: 'hostname' },
  'node.id': { kind: 'id' },
  'node.role': { kind: 'role' },
  'node.platform.os': { kind: 'os' },
  'node.platform.arch': { kind: 'arch' },
};

const KNOWN = 'node.hostname, node.id, node.role, node.labels.KEY, node.platform.os, node.platform.arch';

export function parseConstraint(expression: string): Constraint {
  const match = /^\s*([A-Za-z0-9_.-]+)\s*(==|!=)\s*(\S.*?)\s*$/.exec(expression);
  if (!match) throw new UsageError(`--constraint expects KEY==VALUE or KEY!=VALUE, not "${expression}"`, { hint: `keys: ${KNOWN}` });
  const [, name, operator, value] = match as unknown as [string, string, '==' | '!=', string];
  const labelName = /^node\.labels\.(.+)$/.exec(name)?.[1];
  const key = labelName !== undefined ? ({ kind: 'label', name: labelName } as const) : FIXED_KEYS[name];
  if (!key) throw new UsageError(`--constraint: unknown key "${name}"`, { hint: `keys: ${KNOWN}` });
  if (key.kind === 'role' && !['manager', 'worker'].includes(value.toLowerCase())) {
    throw new UsageError(`--constraint node.role is manager or worker, not "${value}"`);
  }
  return { key, operator, value, text: `${name}${operator}${value}` };
}

export function parseConstraints(expressions: readonly string[]): Constraint[] {
  return expressions.map(parseConstraint);
}

/** Docker reports x86_64 and aarch64; users write amd64 and arm64 as often. */
const ARCH_ALIASES: Readonly<Record<string, string>> = { amd64: 'x86_64', arm64: 'aarch64' };

function normalised(key: ConstraintKey, value: string): string {
  const lower = value.toLowerCase();
  return key.kind === 'arch' ? (ARCH_ALIASES[lower] ?? lower) : lower;
}

function nodeValue(node: SwarmNode, key: ConstraintKey): string | undefined {
  switch (key.kind) {
    case 'hostname':
      return node.hostname;
    case 'id':
      return node.id;
    case 'role':
      return node.role;
    case 'os':
      return node.os;
    case 'arch':
      return node.arch;
    case 'label':
      return node.labels[key.name];
  }
}

export function matchesConstraint(node: SwarmNode, constraint: Constraint): boolean {
  const actual = nodeValue(node, constraint.key);
  if (actual === undefined) return constraint.operator === '!=';
  const equal = normalised(constraint.key, actual) === normalised(constraint.key, constraint.value);
  return constraint.operator === '==' ? equal : !equal;
}

/**
 * The nodes every constraint selects. None → a UsageError naming the constraints and the
 * nodes there are, thrown before any service or secret exists.
 */
export function selectNodes(nodes: readonly SwarmNode[], constraints: readonly Constraint[]): SwarmNode[] {
  const selected = nodes.filter((node) => constraints.every((c) => matchesConstraint(node, c)));
  if (selected.length === 0) {
    const what = constraints.length
      ? `no swarm node matches ${constraints.map((c) => `--constraint ${c.text}`).join(' ')}`
      : 'the swarm lists no node';
    throw new UsageError(what, {
      hint: `nodes: ${nodes.map((n) => `${n.hostname} (${n.role}, id ${n.id.slice(0, 12)})`).join(', ') || 'none'}`,
    });
  }
  return selected;
}
