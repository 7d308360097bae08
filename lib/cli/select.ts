/**
 * Which workflows a bulk command acts on: the ids given, or every workflow that matches
 * `--workflow`, `--version`, `--status` and `--since` (updated within that long). Then the same
 * ritual as `prune`: `--dry-run` lists, a terminal asks, anything else needs `--yes`.
 */
import { parseDuration } from '../duration';
import { InvalidOptionError } from '../errors';
import { eachWorkflow, selectWorkflowIds, type BulkFailure, type BulkFilter } from '../runner/bulk';
import type { ListedStatus } from '../runner/workflow-info';
import type { WorkflowRunner } from '../runner/workflow-runner';
import { listOption, UsageError, type ParsedArgs } from './args';
import { canAsk, confirm } from './confirm';
import { println, type CliIo } from './io';

/** The filter options every bulk command takes. */
export const SELECT_OPTIONS = ['workflow', 'version', 'status', 'since'] as const;

const STATUSES: readonly ListedStatus[] = ['running', 'waiting', 'completed', 'failed', 'cancelled', 'compensating', 'compensated'];

/** The ids given as positionals, or those the filters select (at least `--workflow` or `--status` is needed). */
export async function selectWorkflows(args: ParsedArgs, runner: WorkflowRunner, command: string, defaults: { readonly version?: string } = {}): Promise<string[]> {
  const ids = args.positionals.slice(1);
  const filtered = SELECT_OPTIONS.some((o) => args.options.has(o)) || defaults.version !== undefined;
  if (ids.length > 0 && filtered) throw new UsageError(`${command} takes workflow ids or filters (--${SELECT_OPTIONS.join(', --')}), not both`);
  if (ids.length > 0) return ids;
  if (!args.options.has('workflow') && !args.options.has('status')) throw new UsageError(`${command} needs workflow ids, or --workflow <name> and/or --status <status> to select them`);
  const status = listOption<ListedStatus>(args, 'status', STATUSES);
  const versionText = args.options.get('version') ?? defaults.version;
  const version = versionText === undefined ? undefined : Number(versionText);
  if (version !== undefined && !(Number.isInteger(version) && version >= 1)) throw new UsageError(`--version must be an integer >= 1, got '${versionText}'`);
  const sinceText = args.options.get('since');
  let since: number | undefined;
  if (sinceText !== undefined) {
    try {
      since = Date.now() - parseDuration('--since', /^\d+$/.test(sinceText) ? Number(sinceText) : sinceText);
    } catch (error) {
      if (error instanceof InvalidOptionError) throw new UsageError(error.message);
      throw error;
    }
  }
  const filter: BulkFilter = { ...(status === undefined ? {} : { status }), ...(args.options.has('workflow') ? { workflowName: args.options.get('workflow')! } : {}), ...(version === undefined ? {} : { version }), ...(since === undefined ? {} : { updatedSince: since }) };
  return (await selectWorkflowIds(runner, filter)).ids;
}

/**
 * Whether the command goes on with `ids`: `'go'`, `'dry-run'`, or the exit code when it does not
 * (2 refused without `--yes` off a terminal, 1 declined, each said on stderr). `what` says what it
 * does ("restart 12 workflows from 'charge'"), `nothing` what was not done ("nothing restarted").
 */
export async function decide(args: ParsedArgs, io: CliIo, ids: readonly string[], what: string, nothing: string): Promise<'go' | 'dry-run' | number> {
  const decision = await mayProceed(args, io, ids, what);
  if (decision === 'refused') return 2;
  if (decision !== 'declined') return decision;
  println(io.stderr, nothing);
  return 1;
}

/** `act` on each id in turn; an error is kept as a {@link BulkFailure} and the others go on. */
export function eachSelected<R>(ids: readonly string[], act: (workflowId: string) => Promise<R>): Promise<{ done: R[]; failures: BulkFailure[] }> {
  return eachWorkflow(ids, act, 'WAYMARK_CLI_ERROR');
}

/** Says each failure on stderr (`<verb>: <code>: <message>`); the exit code: 1 when there was any. */
export function reportFailures(io: CliIo, failures: readonly BulkFailure[], verb: string): number {
  for (const f of failures) println(io.stderr, `${verb}: ${f.code}: ${f.error}`);
  return failures.length === 0 ? 0 : 1;
}

/**
 * True when the command may go on with `ids`: not a dry run, and `--yes` given or a terminal's
 * answer yes. Prints why not otherwise.
 */
async function mayProceed(args: ParsedArgs, io: CliIo, ids: readonly string[], what: string): Promise<'go' | 'dry-run' | 'refused' | 'declined'> {
  if (args.flags.has('dry-run')) return 'dry-run';
  if (ids.length <= 1 && args.positionals.length > 1) return 'go';
  if (args.flags.has('yes')) return 'go';
  if (!canAsk(io)) {
    println(io.stderr, `refusing to ${what} without --yes when not on a terminal (--dry-run lists them)`);
    return 'refused';
  }
  return (await confirm(io, `${what[0]!.toUpperCase()}${what.slice(1)}? [y/N] `)) ? 'go' : 'declined';
}
