/**
 * Keys of inputs a recipe has validated before: the same checker in the same image on
 * the same files gives the same verdict, so an unchanged configuration is not checked
 * twice. Kept per recipe, newest last, bounded; written atomically.
 */
import { readFile } from 'node:fs/promises';
import { writeFileAtomic } from '../host/atomic-file.js';

const KEPT_PER_RECIPE = 50;

export class ValidatedKeys {
  constructor(
    private readonly path: string,
    private readonly recipe: string,
  ) {}

  async #read(): Promise<Record<string, string[]>> {
    try {
      const parsed = JSON.parse(await readFile(this.path, 'utf8')) as unknown;
      return parsed !== null && typeof parsed === 'object' ? (parsed as Record<string, string[]>) : {};
    } catch {
      // Absent or unreadable: nothing counts as validated, which is only slower.
      return {};
    }
  }

  async has(key: string): Promise<boolean> {
    return ((await this.#read())[this.recipe] ?? []).includes(key);
  }

  async add(key: string): Promise<void> {
    const all = await this.#read();
    const keys = (all[this.recipe] ?? []).filter((k) => k !== key);
    all[this.recipe] = [...keys, key].slice(-KEPT_PER_RECIPE);
    await writeFileAtomic(this.path, JSON.stringify(all));
  }
}
