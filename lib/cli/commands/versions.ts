import { counted } from '../../counted';
import { WorkflowRunner } from '../../runner/workflow-runner';
import type { CommandSpec, ParsedArgs } from '../args';
import { println, type CliIo } from '../io';
import { renderTable } from '../table';
import { openStore } from '../store';

/** What `waymark versions` accepts. */
export const versionsSpec: CommandSpec = { valued: ['store', 'workflow'], flags: ['json'], positionals: [] };

/**
 * `waymark versions --store <spec> [--workflow <name>] [--json]`: the runs of each workflow version,
 * by status, and how many are stranded (a process was asked to run them and had no class for their
 * version): what is left on an old version after a deploy. Reads one record per workflow.
 */
export async function versionsCommand(args: ParsedArgs, io: CliIo): Promise<number> {
  const runner = new WorkflowRunner({ storage: await openStore(args.options.get('store')), tracer: false });
  const workflowName = args.options.get('workflow');
  const counts = await runner.countVersions(workflowName === undefined ? {} : { workflowName });
  if (args.flags.has('json')) {
    println(io.stdout, JSON.stringify(counts));
    return 0;
  }
  if (counts.versions.length === 0) {
    println(io.stdout, 'no workflows stored');
    return 0;
  }
  const rows = counts.versions.map((v) => [
    v.workflowName,
    String(v.version),
    String(v.unfinished),
    String(v.stranded),
    Object.entries(v.statuses)
      .map(([status, n]) => `${status} ${n}`)
      .join(', '),
  ]);
  println(io.stdout, renderTable(['workflow', 'version', 'unfinished', 'stranded', 'runs'], rows));
  for (const v of counts.versions) if (v.stranded > 0) println(io.stdout, `${counted(v.stranded, 'run')} of ${v.workflowName}@${v.version} ${v.stranded === 1 ? 'is' : 'are'} stranded: deploy that version beside the new one, or move them (waymark migrate --workflow ${v.workflowName} --from ${v.version})`);
  if (!counts.complete) println(io.stdout, `(counted the first ${counts.examined} workflows only)`);
  return 0;
}
