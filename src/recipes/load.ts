/** Reading a recipe file: every problem in it at once, as one usage error naming the file and lines. */
import { UsageError } from '../errors.js';
import { readNamedTextFile } from '../host/read-input.js';
import { parseRecipe } from './parse.js';
import type { Recipe } from './recipe.js';

export async function loadRecipe(path: string, cwd: string): Promise<Recipe> {
  const { file, text } = await readNamedTextFile(path, cwd, 'recipe');
  const { recipe, problems } = parseRecipe(text, file);
  if (problems.length > 0 || !recipe) {
    const first = problems[0];
    throw new UsageError(
      `${problems.length} problem${problems.length === 1 ? '' : 's'} in recipe ${file}${first ? `: ${first.origin} step ${first.step}, ${first.field}: ${first.message}` : ''}`,
      { details: problems.map((p) => `${p.origin}  step ${p.step}  ${p.field}: ${p.message}`) },
    );
  }
  return recipe;
}
