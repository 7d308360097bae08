import { buildGraph } from '../../graph';
import type { Constructor } from '../../metadata';
import { UsageError, type CommandSpec, type ParsedArgs } from '../args';
import { println, type CliIo } from '../io';
import { toMermaid, toText, type StepMarks } from '../mermaid';
import { forEachText, waitText, whenText } from '../../step-text';
import { openStore } from '../store';
import { loadModule } from '../load-module';
import { keyedStorage, StepKeys } from '../../runner/versions/step-keys';

/** What `waymark graph` accepts. */
export const graphSpec: CommandSpec = { valued: ['workflow-id', 'store'], flags: ['text', 'json'], positionals: ['module', 'ClassName'] };

/**
 * `waymark graph <module> <ClassName> [--text] [--json] [--workflow-id <id> --store <spec>]`: the step
 * graph as a Mermaid flowchart (or text), each step marked committed or pending when a workflow id
 * and store are given.
 */
export async function graphCommand(args: ParsedArgs, io: CliIo): Promise<number> {
  const [, modulePath, className] = args.positionals;
  if (modulePath === undefined || className === undefined) throw new UsageError('graph needs a module path and a class name');
  const exports = loadModule(io.cwd, modulePath);
  const target = exports[className];
  if (typeof target !== 'function') {
    const classes = Object.keys(exports).filter((k) => typeof exports[k] === 'function');
    throw new UsageError(`${modulePath} exports no class '${className}' (it exports: ${classes.join(', ') || 'none'})`);
  }
  const graph = buildGraph(target as Constructor);
  let marks: StepMarks | undefined;
  const workflowId = args.options.get('workflow-id');
  if (workflowId !== undefined) {
    const raw = await openStore(args.options.get('store'));
    const stored = await raw.load(workflowId);
    // Steps renamed by a migration or run again by a restart are read under the record's keys.
    const keys = StepKeys.of(stored?.record);
    const storage = keyedStorage(raw, workflowId, keys);
    const committed = new Set(keys.live(stored?.committedSteps ?? []));
    // Only steps that may have been skipped need their checkpoint read to tell.
    const skipped = new Set<string>();
    for (const s of graph.steps) if (s.mayBeSkipped && committed.has(s.name) && (await storage.readCheckpoint(workflowId, s.name)).status === 'skipped') skipped.add(s.name);
    const record = stored?.record;
    const waiting = record?.status === 'waiting' ? (record.waiting ?? {}) : {};
    // The step a failed (or compensating) run failed at, and the steps whose commits were undone.
    const failedAt = record?.status === 'failed' || record?.status === 'compensating' || record?.status === 'compensated' ? record.error?.step : undefined;
    const undone = record?.compensation?.done ?? {};
    marks = new Map(
      graph.steps.map((s) => {
        if (Object.hasOwn(undone, s.name)) return [s.name, 'compensated'] as const;
        if (skipped.has(s.name)) return [s.name, 'skipped'] as const;
        if (committed.has(s.name)) return [s.name, 'committed'] as const;
        if (s.name === failedAt) return [s.name, 'failed'] as const;
        return [s.name, Object.hasOwn(waiting, s.name) ? 'waiting' : 'pending'] as const;
      }),
    );
  }
  if (args.flags.has('json')) {
    const steps = graph.steps.map((s) => ({ name: s.name, after: s.after, ...(whenText(s) === undefined ? {} : { when: whenText(s) }), ...(forEachText(s) === undefined ? {} : { forEach: forEachText(s) }), ...(waitText(s) === undefined ? {} : { waits: waitText(s) }), ...(marks ? { status: marks.get(s.name) } : {}) }));
    println(io.stdout, JSON.stringify({ workflowName: graph.workflowName, className: graph.className, steps }, null, 2));
  } else println(io.stdout, args.flags.has('text') ? toText(graph, marks) : toMermaid(graph, marks));
  return 0;
}
