import type { ParsedArgs } from '../args';
import { println, type CliIo } from '../io';
import { openStore } from '../store';

/** `waymark list --store <spec> [--json]`: the workflow ids in a store. */
export async function listCommand(args: ParsedArgs, io: CliIo): Promise<number> {
  const ids = await (await openStore(args.options.get('store'))).list();
  if (args.flags.has('json')) println(io.stdout, JSON.stringify(ids));
  else for (const id of ids) println(io.stdout, id);
  return 0;
}
