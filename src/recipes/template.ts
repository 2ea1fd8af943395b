/**
 * `${{ ... }}` references in recipe strings, and their substitution (pure).
 *
 *   ${{ NAME }}             a recipe variable (`vars:`, or `--var NAME=VALUE`)
 *   ${{ steps.ID.image }}   the image an earlier build, commit or load step made
 *
 * Whitespace inside the braces is allowed. Only the doubled braces are ours: `$VAR` and
 * `${VAR}` stay literal for the shell and for Dockerfiles, so no escaping is needed.
 * Substitution is one pass: a variable's value is never scanned again.
 */
import { UsageError } from '../errors.js';

/** What `${{ steps.ID.ATTRIBUTE }}` may name. Kept small: only the image a step made. */
export const STEP_ATTRIBUTES = ['image'] as const;
export type StepAttribute = (typeof STEP_ATTRIBUTES)[number];

/** `steps` is taken by step references, so no variable may be called so. */
export const VARIABLE_NAME = /^[A-Za-z_][A-Za-z0-9_-]*$/;

export type TemplateReference =
  | { readonly kind: 'variable'; readonly text: string; readonly name: string }
  | { readonly kind: 'step'; readonly text: string; readonly step: string; readonly attribute: StepAttribute };

export interface TemplateScan {
  readonly references: readonly TemplateReference[];
  /** Malformed references (unclosed, empty, not a name), each a message quoting it. */
  readonly errors: readonly string[];
}

type Token = { readonly literal: string } | { readonly reference: TemplateReference } | { readonly error: string };

const OPEN = '${{';
const CLOSE = '}}';

function toReference(text: string, inner: string): TemplateReference | string {
  const step = /^steps\.([^.\s]+)\.([^.\s]+)$/.exec(inner);
  if (step) {
    const attribute = step[2] as StepAttribute;
    if (!STEP_ATTRIBUTES.includes(attribute)) return `${text}: a step has no "${step[2]}" (known: ${STEP_ATTRIBUTES.join(', ')})`;
    return { kind: 'step', text, step: step[1]!, attribute };
  }
  if (inner === 'steps' || inner.startsWith('steps.')) return `${text}: a step reference is written \${{ steps.ID.image }}`;
  if (inner === '') return `${text}: empty reference`;
  if (!VARIABLE_NAME.test(inner)) return `${text}: not a variable name or steps.ID.image`;
  return { kind: 'variable', text, name: inner };
}

function tokenize(text: string): Token[] {
  const tokens: Token[] = [];
  let at = 0;
  while (at < text.length) {
    const open = text.indexOf(OPEN, at);
    if (open < 0) break;
    if (open > at) tokens.push({ literal: text.slice(at, open) });
    const close = text.indexOf(CLOSE, open + OPEN.length);
    if (close < 0) {
      tokens.push({ error: `${text.slice(open)}: unclosed "${OPEN}" (close it with "${CLOSE}")` });
      return tokens;
    }
    const whole = text.slice(open, close + CLOSE.length);
    const reference = toReference(whole, text.slice(open + OPEN.length, close).trim());
    tokens.push(typeof reference === 'string' ? { error: reference } : { reference });
    at = close + CLOSE.length;
  }
  if (at < text.length) tokens.push({ literal: text.slice(at) });
  return tokens;
}

export function hasTemplate(text: string): boolean {
  return text.includes(OPEN);
}

/** The references in `text`, in order, and the malformed ones (for validation). */
export function scanTemplate(text: string): TemplateScan {
  const references: TemplateReference[] = [];
  const errors: string[] = [];
  for (const token of tokenize(text)) {
    if ('reference' in token) references.push(token.reference);
    else if ('error' in token) errors.push(token.error);
  }
  return { references, errors };
}

/** Returns the value of a reference, or undefined when it has none (an unknown variable). */
export type TemplateResolver = (reference: TemplateReference) => string | undefined;

/** Replaces every reference in `text`; throws a UsageError for a malformed or unknown one. */
export function substitute(text: string, resolve: TemplateResolver): string {
  let result = '';
  for (const token of tokenize(text)) {
    if ('literal' in token) result += token.literal;
    else if ('error' in token) throw new UsageError(token.error);
    else {
      const value = resolve(token.reference);
      if (value === undefined) {
        const reference = token.reference;
        throw new UsageError(
          reference.kind === 'variable'
            ? `${reference.text}: unknown variable "${reference.name}"`
            : `${reference.text}: step "${reference.step}" has made no image`,
          reference.kind === 'variable' ? { hint: `declare it under vars:, or pass --var ${reference.name}=VALUE` } : {},
        );
      }
      result += value;
    }
  }
  return result;
}

/**
 * In a detached run's `hostname` and label values: the container's own name, `NAME-i` with
 * replicas, else `NAME`. Single braces, so it never meets `${{ }}`; fill it after substitution.
 */
export const REPLICA_PLACEHOLDER = '{replica}';
const REPLICA = /(?<!\{)\{replica\}(?!\})/g;

export function usesReplica(text: string): boolean {
  return text.match(REPLICA) !== null;
}

export function fillReplica(text: string, containerName: string): string {
  return text.replace(REPLICA, () => containerName);
}
