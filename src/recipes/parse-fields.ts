// biome-ignore-all lint/suspicious/noTemplateCurlyInString: ${{ }} is the recipe syntax, not a JS placeholder.
/**
 * Reading a recipe's YAML nodes field by field. Each read checks the type; a wrong one
 * becomes a problem naming the line, the step and the field (never an exception), so one
 * pass reports everything at once. Every string read is scanned for `${{ }}` references,
 * which parse.ts checks once all steps are known.
 */
import { dirname, isAbsolute, resolve } from 'node:path';
import { type Document, isAlias, isMap, isScalar, isSeq, type LineCounter, type Node, type YAMLMap } from 'yaml';
import type { RecipeProblem } from './recipe.js';
import { hasTemplate, scanTemplate, type TemplateReference } from './template.js';

/**
 * A relative path in a recipe is against the recipe's folder. parse.ts resolves the paths
 * that hold no `${{ }}`; the executor resolves the others with this, after substitution.
 */
export function resolveRecipePath(recipeFile: string, path: string): string {
  return isAbsolute(path) ? path : resolve(dirname(recipeFile), path);
}

/** Where a field is: the step (`-` and index -1 for the file's own keys). */
export interface Scope {
  readonly step: string;
  readonly index: number;
}

export interface FoundReference {
  readonly origin: string;
  readonly scope: Scope;
  readonly field: string;
  readonly reference: TemplateReference;
}

/** `{output: STEP.OUTPUT}`, checked against the steps once all are read. */
export interface FoundOutputReference {
  readonly origin: string;
  readonly scope: Scope;
  readonly field: string;
  readonly step: string;
  readonly output: string;
}

export interface MapEntry {
  readonly key: string;
  readonly keyNode: Node;
  /** Undefined for an empty value (`key:` or `key: ~`). */
  readonly value: Node | undefined;
}

export class RecipeReader {
  readonly problems: RecipeProblem[] = [];
  readonly references: FoundReference[] = [];
  readonly outputReferences: FoundOutputReference[] = [];

  constructor(
    readonly file: string,
    private readonly lines: LineCounter,
    private readonly document: Document,
  ) {}

  at(node: Node | undefined): string {
    const offset = node?.range?.[0];
    return offset === undefined ? this.file : `${this.file}:${this.lines.linePos(offset).line}`;
  }

  report(node: Node | undefined, scope: Scope, field: string, message: string): void {
    this.problems.push({ origin: this.at(node), step: scope.step, field, message });
  }

  /** Follows an alias; an empty value (`~`, nothing) is undefined. */
  resolveNode(node: unknown): Node | undefined {
    const target = isAlias(node) ? node.resolve(this.document) : node;
    if (target === null || target === undefined) return undefined;
    if (isScalar(target) && target.value === null) return undefined;
    return target as Node;
  }

  /**
   * A string; a number is taken as written (`1.10` stays `1.10`, not `1.1`). With `templates`,
   * its `${{ }}` references are recorded for checking; without, it must hold none (ids, names).
   */
  text(node: Node, scope: Scope, field: string, templates = true): string | undefined {
    if (!isScalar(node) || (typeof node.value !== 'string' && typeof node.value !== 'number')) {
      const hint = isScalar(node) && typeof node.value === 'boolean' ? ` (quote it: "${node.value}")` : '';
      this.report(node, scope, field, `expected a string${hint}`);
      return undefined;
    }
    const text = typeof node.value === 'number' ? (node.source ?? String(node.value)) : node.value;
    if (!templates) {
      if (hasTemplate(text)) this.report(node, scope, field, 'cannot hold ${{ }}: write it literally');
      return text;
    }
    const scan = scanTemplate(text);
    for (const error of scan.errors) this.report(node, scope, field, error);
    for (const reference of scan.references) this.references.push({ origin: this.at(node), scope, field, reference });
    return text;
  }

  /**
   * A list of strings; a single string is refused, since `a b c` splits ambiguously.
   * `check` returns a problem with one item, reported at that item's line.
   */
  texts(node: Node, scope: Scope, field: string, check?: (item: string) => string | undefined): string[] | undefined {
    if (!isSeq(node)) {
      this.report(node, scope, field, 'expected a list of strings, e.g. [a, b]');
      return undefined;
    }
    const values: string[] = [];
    let valid = true;
    node.items.forEach((item, i) => {
      const itemNode = this.resolveNode(item);
      if (itemNode === undefined) this.report(node, scope, `${field}[${i}]`, 'expected a string, not an empty item');
      const value = itemNode === undefined ? undefined : this.text(itemNode, scope, `${field}[${i}]`);
      const problem = value === undefined ? undefined : check?.(value);
      if (problem !== undefined) this.report(itemNode, scope, `${field}[${i}]`, problem);
      if (value === undefined || problem !== undefined) valid = false;
      else values.push(value);
    });
    return valid ? values : undefined;
  }

  /** The entries of a mapping; keys are literal (no `${{ }}`). */
  entries(node: Node, scope: Scope, field: string): MapEntry[] | undefined {
    if (!isMap(node)) {
      this.report(node, scope, field, 'expected a mapping');
      return undefined;
    }
    return (node as YAMLMap<Node, unknown>).items.map((pair) => {
      const keyNode = pair.key;
      const key = isScalar(keyNode) ? String(keyNode.value) : '?';
      if (hasTemplate(key)) this.report(keyNode, scope, `${field}.${key}`, 'a key cannot hold ${{ }}: write it literally');
      return { key, keyNode, value: this.resolveNode(pair.value) };
    });
  }

  /** A mapping of strings to strings (env, args, labels). */
  textMap(node: Node, scope: Scope, field: string): Record<string, string> | undefined {
    const entries = this.entries(node, scope, field);
    if (entries === undefined) return undefined;
    const result: Record<string, string> = {};
    let valid = true;
    for (const entry of entries) {
      const value = entry.value === undefined ? '' : this.text(entry.value, scope, `${field}.${entry.key}`);
      if (value === undefined) valid = false;
      else result[entry.key] = value;
    }
    return valid ? result : undefined;
  }
}

/**
 * One mapping of the recipe (a step's body, a probe, a source), with the fields it may
 * have: unknown ones are reported when it is opened.
 */
export class Fields {
  private readonly byKey = new Map<string, MapEntry>();

  private constructor(
    readonly reader: RecipeReader,
    readonly scope: Scope,
    /** The dotted field name of this mapping, e.g. `run` or `swap.probe`. */
    readonly path: string,
    /** Where a missing field is reported: the mapping's own key. */
    readonly where: Node,
    entries: readonly MapEntry[],
  ) {
    for (const entry of entries) this.byKey.set(entry.key, entry);
  }

  /** Opens `node` as a mapping with the `known` fields, or reports why it is not one. */
  static open(
    reader: RecipeReader,
    node: Node,
    scope: Scope,
    path: string,
    where: Node,
    known: readonly string[],
    unknown = `unknown field (known: ${known.join(', ')})`,
  ): Fields | undefined {
    const entries = reader.entries(node, scope, path);
    if (entries === undefined) return undefined;
    for (const entry of entries) {
      if (!known.includes(entry.key)) reader.report(entry.keyNode, scope, path === '' ? entry.key : `${path}.${entry.key}`, unknown);
    }
    return new Fields(reader, scope, path, where, entries);
  }

  field(key: string): string {
    return this.path === '' ? key : `${this.path}.${key}`;
  }

  has(key: string): boolean {
    return this.value(key) !== undefined;
  }

  value(key: string): Node | undefined {
    return this.byKey.get(key)?.value;
  }

  keyNode(key: string): Node | undefined {
    return this.byKey.get(key)?.keyNode;
  }

  report(key: string, message: string): void {
    this.reader.report(this.value(key) ?? this.keyNode(key) ?? this.where, this.scope, this.field(key), message);
  }

  private read<T>(key: string, required: boolean, read: (node: Node, field: string) => T | undefined): T | undefined {
    const node = this.value(key);
    if (node === undefined) {
      if (required) this.report(key, 'is required');
      return undefined;
    }
    return read(node, this.field(key));
  }

  text(key: string, options: { readonly required?: boolean; readonly templates?: boolean } = {}): string | undefined {
    const value = this.read(key, options.required ?? false, (node, field) => this.reader.text(node, this.scope, field, options.templates ?? true));
    if (value === '' && options.required) this.report(key, 'is required, and empty');
    return value;
  }

  texts(key: string, options: { readonly required?: boolean; readonly check?: (item: string) => string | undefined } = {}): string[] | undefined {
    return this.read(key, options.required ?? false, (node, field) => this.reader.texts(node, this.scope, field, options.check));
  }

  textMap(key: string): Record<string, string> | undefined {
    return this.read(key, false, (node, field) => this.reader.textMap(node, this.scope, field));
  }

  entries(key: string): MapEntry[] | undefined {
    return this.read(key, false, (node, field) => this.reader.entries(node, this.scope, field));
  }

  number(
    key: string,
    options: { readonly required?: boolean; readonly min: number; readonly max?: number; readonly integer?: boolean },
  ): number | undefined {
    return this.read(key, options.required ?? false, (node, field) => {
      const value = isScalar(node) ? node.value : undefined;
      const max = options.max ?? Number.POSITIVE_INFINITY;
      if (typeof value !== 'number' || value < options.min || value > max || (options.integer && !Number.isInteger(value))) {
        const range = options.max === undefined ? `at least ${options.min}` : `from ${options.min} to ${options.max}`;
        this.reader.report(node, this.scope, field, `expected ${options.integer ? 'a whole number' : 'a number'} ${range}`);
        return undefined;
      }
      return value;
    });
  }

  boolean(key: string): boolean | undefined {
    return this.read(key, false, (node, field) => {
      if (isScalar(node) && typeof node.value === 'boolean') return node.value;
      this.reader.report(node, this.scope, field, 'expected true or false');
      return undefined;
    });
  }

  /** A nested mapping with its own known fields. */
  open(key: string, known: readonly string[], required = false): Fields | undefined {
    return this.read(key, required, (node, field) => Fields.open(this.reader, node, this.scope, field, this.keyNode(key)!, known));
  }
}

/** A path with no `${{ }}` is resolved now; the executor resolves the others after substitution. */
export function resolveLiteralPath(recipeFile: string, path: string): string {
  return hasTemplate(path) ? path : resolveRecipePath(recipeFile, path);
}
