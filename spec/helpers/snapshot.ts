import { promises as fs } from 'node:fs';
import { join, relative } from 'node:path';

/**
 * Every file under `root` with its content, for "nothing changed" assertions. FileStorage's
 * checkpoint directory is renamed to each new lease's token when a run takes the lease (that
 * rename is the fence), so its name is shown as `steps@<lease>`: what is compared is the data.
 */
export async function snapshot(root: string): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  const walk = async (dir: string): Promise<void> => {
    let entries;
    try {
      entries = await fs.readdir(dir, { withFileTypes: true });
    } catch {
      return;
    }
    for (const entry of entries) {
      const path = join(dir, entry.name);
      if (entry.isDirectory()) await walk(path);
      else out[relative(root, path).replace(/steps@[^/]+/, 'steps@<lease>')] = await fs.readFile(path, 'utf8');
    }
  };
  await walk(root);
  return out;
}
