/**
 * Resolving a step just before it runs: every string in it has its `${{ NAME }}` and
 * `${{ steps.ID.image }}` replaced. The parser has already checked that each reference
 * names a declared variable or an earlier step that makes an image, so a reference that
 * does not resolve here is a bug, not bad input.
 */
import { substitute } from './template.js';

export interface ResolveScope {
  readonly vars: Readonly<Record<string, string>>;
  /** The image each earlier step made, by step id. */
  readonly images: Readonly<Record<string, string>>;
}

export function substituteDeep<T>(value: T, scope: ResolveScope): T {
  if (typeof value === 'string') {
    return substitute(value, (reference) => (reference.kind === 'variable' ? scope.vars[reference.name] : scope.images[reference.step])) as T;
  }
  if (Array.isArray(value)) return value.map((item) => substituteDeep(item, scope)) as T;
  if (value !== null && typeof value === 'object') {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [substituteDeep(k, scope), substituteDeep(v, scope)])) as T;
  }
  return value;
}
