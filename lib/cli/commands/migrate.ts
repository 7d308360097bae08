import { counted } from '../../counted';
import type { MigrationResult } from '../../runner/versions/migrate';
import { WorkflowRunner } from '../../runner/workflow-runner';
import { UsageError, type CommandSpec, type ParsedArgs } from '../args';
import { println, type CliIo } from '../io';
import { loadModule, workflowClasses } from '../load-module';
import { decide, eachSelected, reportFailures, selectWorkflows } from '../select';
import { openStore } from '../store';

/** What `waymark migrate` accepts: ids, or `--workflow` with `--from`. */
export const migrateSpec: CommandSpec = { valued: ['store', 'workflows', 'workflow', 'from', 'to', 'status', 'since'], flags: ['dry-run', 'yes', 'json'], positionals: [], variadic: 'workflowId' };

/**
 * `waymark migrate <workflowId>... --store <spec> --workflows <module> [--to <version>] [--dry-run] [--yes] [--json]`,
 * or `--workflow <name> --from <version>` instead of ids: `runner.migrate` for each, with the
 * workflow classes the module exports (the versions and their `migrate` declarations are code).
 * Each is checked before anything is written; a refused one is named with its reasons and left as
 * it is. A worker on the store (or `queue.wake(id)` under BullMQ) then runs the moved ones.
 */
export async function migrateCommand(args: ParsedArgs, io: CliIo): Promise<number> {
  const module = args.options.get('workflows');
  if (module === undefined) throw new UsageError('migrate needs --workflows <module>: the module that exports your workflow classes (every version to move between, with its @Workflow({ migrate }))');
  const toText = args.options.get('to');
  const to = toText === undefined ? undefined : Number(toText);
  if (to !== undefined && !(Number.isInteger(to) && to >= 1)) throw new UsageError(`--to must be a version (an integer >= 1), got '${toText}'`);
  const workflows = workflowClasses(module, loadModule(io.cwd, module));
  const runner = new WorkflowRunner({ storage: await openStore(args.options.get('store')), workflows, tracer: false });
  const from = args.options.get('from');
  if (from !== undefined && !args.options.has('workflow')) throw new UsageError('--from selects runs of one workflow: give --workflow <name> too');
  // Without --status: every run that can move (unfinished or failed), not those that ended otherwise.
  const ids = await selectWorkflows(args, runner, 'migrate', { ...(from === undefined ? {} : { version: from }) }).then(async (selected) =>
    args.positionals.length > 1 || args.options.has('status') ? selected : filterMovable(runner, selected),
  );
  const json = args.flags.has('json');
  const decision = await decide(args, io, ids, `migrate ${counted(ids.length, 'workflow')}${to === undefined ? ' to the newest version' : ` to version ${to}`}`, 'nothing migrated');
  if (typeof decision === 'number') return decision;
  const dryRun = decision === 'dry-run';
  const { done, failures: refused } = await eachSelected(ids, (id) => runner.migrate(id, { dryRun, ...(to === undefined ? {} : { to }) }));
  if (json) println(io.stdout, JSON.stringify({ dryRun, migrated: done, refused }));
  else {
    for (const m of done) println(io.stdout, m.unchanged === true ? `${m.workflowId} is on version ${m.to} already` : `${dryRun ? 'would move' : 'moved'} ${m.workflowId} from version ${m.from} to ${m.to}: ${describe(m)}`);
    if (ids.length === 0) println(io.stdout, 'nothing to migrate: no workflow matches');
    else if (!dryRun && done.length > 0) println(io.stdout, `${counted(done.filter((m) => m.unchanged !== true).length, 'workflow')} moved: a worker on this store runs them (under BullMQ, queue.wake(id) each)`);
  }
  return reportFailures(io, refused, 'not migrated');
}

function describe(m: MigrationResult): string {
  const renamed = Object.entries(m.renamed).map(([a, b]) => `${a} → ${b}`);
  return [
    m.kept.length === 0 ? undefined : `keeps ${m.kept.join(', ')}`,
    renamed.length === 0 ? undefined : `renames ${renamed.join(', ')}`,
    m.dropped.length === 0 ? undefined : `forgets ${m.dropped.join(', ')}`,
    m.converted.length === 0 ? undefined : `converts the output of ${m.converted.join(', ')}`,
    m.toRun.length === 0 ? undefined : `runs ${m.toRun.join(', ')}`,
  ]
    .filter((part) => part !== undefined)
    .join('; ');
}

/** Those of `ids` a migration can move: running, waiting or failed. */
async function filterMovable(runner: WorkflowRunner, ids: readonly string[]): Promise<string[]> {
  const movable: string[] = [];
  for (const id of ids) {
    const status = (await runner.get(id))?.status;
    if (status === 'running' || status === 'waiting' || status === 'failed') movable.push(id);
  }
  return movable;
}
