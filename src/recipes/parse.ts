// biome-ignore-all lint/suspicious/noTemplateCurlyInString: ${{ }} is the recipe syntax, not a JS placeholder.
/**
 * Recipe files: YAML, checked before anything runs. Every problem names the file, the line,
 * the step and the field, and all of them are reported at once (pure: the caller reads the
 * file). The shape is documented in recipe.ts and recipes/dns.recipe.yaml.
 *
 *   recipe: dns
 *   lock: dns-${{ name }}
 *   vars: { zones: {description: the zones spec}, name: {default: dtool-dns} }
 *   steps:
 *     - id: base
 *       build: { helper-image: dns }
 *     - id: generate
 *       run: { image: "${{ steps.base.image }}", command: [dtool-dns-generate, /in, /out], outputs: {config: /out} }
 */
import { isMap, isScalar, isSeq, LineCounter, type Node, parseDocument } from 'yaml';
import { UsageError } from '../errors.js';
import { Fields, RecipeReader, type Scope } from './parse-fields.js';
import { readStepAction } from './parse-steps.js';
import { type Recipe, type RecipeProblem, type RecipeStep, type RecipeVariable, STEP_KINDS, type StepKind } from './recipe.js';
import { VARIABLE_NAME } from './template.js';

export { resolveRecipePath } from './parse-fields.js';
export { checkPublish } from './parse-steps.js';

export interface ParsedRecipe {
  /** Present only when no problem was found. */
  readonly recipe?: Recipe;
  readonly problems: readonly RecipeProblem[];
}

const FILE_FIELDS = ['recipe', 'description', 'lock', 'vars', 'steps'];
const STEP_FIELDS = ['id', 'description'];
/** Recipe names and step ids: they end up in container names and labels. */
const ID = /^[a-z0-9][a-z0-9-]*$/;
/** The steps whose `${{ steps.ID.image }}` is an image they made. */
const MAKES_IMAGE: readonly StepKind[] = ['build', 'commit', 'load'];
const FILE_SCOPE: Scope = { step: '-', index: -1 };

export function formatRecipeProblem(problem: RecipeProblem): string {
  return `${problem.origin}: step ${problem.step}: ${problem.field}: ${problem.message}`;
}

/** Parses one recipe file's text; `file` (absolute) names it in messages and anchors its relative paths. */
export function parseRecipe(text: string, file: string): ParsedRecipe {
  const lines = new LineCounter();
  const document = parseDocument(text, { lineCounter: lines, prettyErrors: false, uniqueKeys: true });
  if (document.errors.length > 0) {
    // One error per line: the parser's later ones on the same line follow from the first.
    const problems = new Map<number, RecipeProblem>();
    for (const error of document.errors) {
      const line = lines.linePos(error.pos[0]).line;
      // A plain `${{ x }}` inside `{ }` or `[ ]` ends the flow collection early.
      const hint = text.split('\n')[line - 1]?.includes('${{') ? ' (inside { } or [ ], quote a value holding ${{ }})' : '';
      if (!problems.has(line))
        problems.set(line, { origin: `${file}:${line}`, step: '-', field: 'yaml', message: `${error.message.split('\n')[0]!}${hint}` });
    }
    return { problems: [...problems.values()] };
  }
  const reader = new RecipeReader(file, lines, document);
  const root = reader.resolveNode(document.contents);
  if (!isMap(root))
    return { problems: [{ origin: reader.at(root), step: '-', field: 'file', message: 'a recipe file is a mapping with recipe: and steps:' }] };
  const top = Fields.open(reader, root, FILE_SCOPE, '', root, FILE_FIELDS)!;
  const name = top.text('recipe', { required: true, templates: false });
  if (name !== undefined && !ID.test(name))
    top.report('recipe', 'a recipe name is lowercase letters, digits and "-", starting with a letter or digit');
  const description = top.text('description', { templates: false });
  const lock = top.text('lock');
  if (lock !== undefined && !/^[A-Za-z0-9_.-]+$/.test(lock.replace(/\$\{\{[^}]*\}\}/g, 'x')))
    top.report('lock', 'a lock name is letters, digits, "_", "." or "-" (and ${{ }})');
  const variables = readVariables(reader, top);
  const steps = readSteps(reader, top);
  checkReferences(reader, variables, steps);
  if (reader.problems.length > 0 || name === undefined) return { problems: byLine(reader.problems) };
  const recipe: Recipe = {
    name,
    ...(description !== undefined ? { description } : {}),
    file,
    variables,
    ...(lock !== undefined ? { lock } : {}),
    steps: steps.map(({ step }) => step).filter((step) => step !== undefined),
  };
  return { recipe, problems: [] };
}

/** In file order, as a user fixes them (a stable sort keeps a line's problems in reading order). */
function byLine(problems: readonly RecipeProblem[]): RecipeProblem[] {
  const line = (problem: RecipeProblem) => Number(/:(\d+)$/.exec(problem.origin)?.[1] ?? 0);
  return [...problems].sort((a, b) => line(a) - line(b));
}

function readVariables(reader: RecipeReader, top: Fields): RecipeVariable[] {
  const variables: RecipeVariable[] = [];
  for (const entry of top.entries('vars') ?? []) {
    const field = `vars.${entry.key}`;
    if (!VARIABLE_NAME.test(entry.key) || entry.key === 'steps')
      reader.report(entry.keyNode, FILE_SCOPE, field, 'a variable name is letters, digits, "_" or "-", not starting with a digit, and not "steps"');
    const value = entry.value;
    if (value === undefined) {
      variables.push({ name: entry.key });
      continue;
    }
    // A bare scalar is the default; a mapping gives default and description.
    const fields = isMap(value) ? Fields.open(reader, value, FILE_SCOPE, field, entry.keyNode, ['default', 'description']) : undefined;
    const fallback = fields ? fields.text('default', { templates: false }) : reader.text(value, FILE_SCOPE, field, false);
    const description = fields?.text('description', { templates: false });
    variables.push({
      name: entry.key,
      ...(description !== undefined ? { description } : {}),
      ...(fallback !== undefined ? { default: fallback } : {}),
    });
  }
  return variables;
}

interface ReadStep {
  readonly scope: Scope;
  readonly node: Node;
  readonly step?: RecipeStep;
}

function readSteps(reader: RecipeReader, top: Fields): ReadStep[] {
  const list = top.value('steps');
  if (list === undefined || !isSeq(list) || list.items.length === 0) {
    top.report('steps', 'expected a non-empty list of steps');
    return [];
  }
  return list.items.map((item, index) => {
    const node = reader.resolveNode(item) ?? list;
    const idNode = isMap(node) ? reader.resolveNode(node.get('id', true)) : undefined;
    const rawId = idNode && isScalar(idNode) ? String(idNode.value) : undefined;
    const scope: Scope = { step: rawId ?? `#${index + 1}`, index };
    if (!isMap(node)) {
      reader.report(node, scope, 'step', `expected a mapping with id: and one kind (${STEP_KINDS.join(', ')})`);
      return { scope, node };
    }
    const known = [...STEP_FIELDS, ...STEP_KINDS];
    const fields = Fields.open(
      reader,
      node,
      scope,
      '',
      node,
      known,
      `unknown step kind (kinds: ${STEP_KINDS.join(', ')}; fields: ${STEP_FIELDS.join(', ')})`,
    )!;
    const id = fields.text('id', { required: true, templates: false });
    if (id !== undefined && !ID.test(id)) fields.report('id', 'a step id is lowercase letters, digits and "-", starting with a letter or digit');
    const description = fields.text('description', { templates: false });
    const kinds = STEP_KINDS.filter((kind) => fields.keyNode(kind) !== undefined);
    if (kinds.length === 0) {
      reader.report(node, scope, 'kind', `a step needs one kind: ${STEP_KINDS.join(', ')}`);
      return { scope, node };
    }
    if (kinds.length > 1) {
      reader.report(fields.keyNode(kinds[1]!), scope, kinds[1]!, `a step has exactly one kind; this one has ${kinds.join(' and ')}`);
      return { scope, node };
    }
    const kind = kinds[0]!;
    const body = fields.value(kind);
    if (body === undefined) {
      fields.report(kind, `expected the ${kind} step's fields`);
      return { scope, node };
    }
    const action = readStepAction(reader, kind, body, fields.keyNode(kind)!, scope);
    if (id === undefined || action === undefined) return { scope, node };
    return { scope, node, step: { id, ...(description !== undefined ? { description } : {}), origin: reader.at(node), action } };
  });
}

/** Steps are referred to by id, and only earlier ones: the flow reads top to bottom, with no cycles. */
function checkReferences(reader: RecipeReader, variables: readonly RecipeVariable[], steps: readonly ReadStep[]): void {
  const firstById = new Map<string, ReadStep>();
  for (const read of steps) {
    const id = read.scope.step;
    const first = firstById.get(id);
    if (first) reader.report(read.node, read.scope, 'id', `duplicate step id (first at ${reader.at(first.node)})`);
    else firstById.set(id, read);
  }
  const declared = variables.map((variable) => variable.name);
  const earlier = (origin: string, scope: Scope, field: string, id: string): RecipeStep | undefined => {
    const target = firstById.get(id);
    const problem = (message: string) => reader.problems.push({ origin, step: scope.step, field, message });
    if (target === undefined) problem(`no step "${id}" (steps: ${[...firstById.keys()].join(', ')})`);
    else if (scope.index < 0) problem(`refers to step "${id}", but the lock is taken before any step runs`);
    else if (target.scope.index === scope.index) problem(`a step cannot use itself ("${id}")`);
    else if (target.scope.index > scope.index) problem(`step "${id}" comes later (${reader.at(target.node)}): a step can only use earlier steps`);
    else return target.step;
    return undefined;
  };
  for (const { origin, scope, field, reference } of reader.references) {
    if (reference.kind === 'variable') {
      if (!declared.includes(reference.name))
        reader.problems.push({
          origin,
          step: scope.step,
          field,
          message: `${reference.text}: unknown variable (declared: ${declared.join(', ') || 'none'})`,
        });
      continue;
    }
    const target = earlier(origin, scope, field, reference.step);
    if (target && !MAKES_IMAGE.includes(target.action.kind))
      reader.problems.push({
        origin,
        step: scope.step,
        field,
        message: `${reference.text}: a ${target.action.kind} step makes no image (only ${MAKES_IMAGE.join(', ')} steps do)`,
      });
  }
  for (const { origin, scope, field, step, output } of reader.outputReferences) {
    const target = earlier(origin, scope, field, step);
    const action = target?.action;
    if (target === undefined || action === undefined) continue;
    const declaredOutputs = action.kind === 'run' ? [...Object.keys(action.outputs), ...Object.keys(action.hostOutputs)] : [];
    if (!declaredOutputs.includes(output))
      reader.problems.push({
        origin,
        step: scope.step,
        field,
        message: `step "${step}" has no output "${output}" (${declaredOutputs.length > 0 ? `its outputs: ${declaredOutputs.join(', ')}` : 'it declares none'})`,
      });
  }
}

/** The values a run uses: each variable's default, overridden by `--var`. */
export function variableValues(recipe: Recipe, given: Readonly<Record<string, string>>): Record<string, string> {
  const values: Record<string, string> = {};
  for (const variable of recipe.variables) {
    const value = given[variable.name] ?? variable.default;
    if (value !== undefined) values[variable.name] = value;
  }
  return values;
}

/** `--var` values against the recipe's variables: each must be declared, and every required one given. */
export function checkRecipeVars(recipe: Recipe, given: Readonly<Record<string, string>>): RecipeProblem[] {
  const declared = recipe.variables.map((variable) => variable.name);
  const problems: RecipeProblem[] = [];
  for (const name of Object.keys(given)) {
    if (!declared.includes(name))
      problems.push({
        origin: '--var',
        step: '-',
        field: `vars.${name}`,
        message: `unknown variable "${name}" (declared: ${declared.join(', ') || 'none'})`,
      });
  }
  for (const variable of recipe.variables) {
    if (variable.default === undefined && given[variable.name] === undefined) {
      const about = variable.description ? ` (${variable.description})` : '';
      problems.push({ origin: recipe.file, step: '-', field: `vars.${variable.name}`, message: `required: --var ${variable.name}=VALUE${about}` });
    }
  }
  return problems;
}

/** `--var NAME=VALUE`, repeatable; the value may hold `=` and be empty. */
export function parseVarFlags(values: readonly string[]): Record<string, string> {
  const vars: Record<string, string> = {};
  for (const value of values) {
    const at = value.indexOf('=');
    const name = at < 0 ? '' : value.slice(0, at);
    if (!VARIABLE_NAME.test(name))
      throw new UsageError(`--var expects NAME=VALUE, not "${value}"`, { hint: 'e.g. --var zones=/etc/dtool/zones.yaml' });
    if (name in vars) throw new UsageError(`--var ${name} is given twice`);
    vars[name] = value.slice(at + 1);
  }
  return vars;
}
