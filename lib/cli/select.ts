/**
 * Which workflows a bulk command acts on: the ids given, or every workflow that matches
 * `--workflow`, `--version`, `--status` and `--since` (updated within that long). Then the same
 * ritual as `prune`: `--dry-run` lists, a terminal asks, anything else needs `--yes`.
 */
import { parseDuration } from '../duration';
import { InvalidOptionError } from '../errors';
import type { ListedStatus, ListOptions } from '../runner/workflow-info';
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
  const filter: ListOptions = { limit: 1000, ...(status === undefined ? {} : { status }), ...(args.options.has('workflow') ? { workflowName: args.options.get('workflow')! } : {}), ...(version === undefined ? {} : { version }) };
  const selected: string[] = [];
  let cursor: string | undefined;
  do {
    const page = await runner.list({ ...filter, ...(cursor === undefined ? {} : { cursor }) });
    for (const item of page.items) if (since === undefined || Date.parse(item.updatedAt ?? '') >= since) selected.push(item.workflowId);
    cursor = page.cursor;
  } while (cursor !== undefined);
  return selected;
}

/**
 * True when the command may go on with `ids`: not a dry run, and `--yes` given or a terminal's
 * answer yes. Prints why not otherwise; `what` says what it does ("restart 12 workflow(s) from 'charge'").
 */
export async function mayProceed(args: ParsedArgs, io: CliIo, ids: readonly string[], what: string): Promise<'go' | 'dry-run' | 'refused' | 'declined'> {
  if (args.flags.has('dry-run')) return 'dry-run';
  if (ids.length <= 1 && args.positionals.length > 1) return 'go';
  if (args.flags.has('yes')) return 'go';
  if (!canAsk(io)) {
    println(io.stderr, `refusing to ${what} without --yes when not on a terminal (--dry-run lists them)`);
    return 'refused';
  }
  return (await confirm(io, `${what[0]!.toUpperCase()}${what.slice(1)}? [y/N] `)) ? 'go' : 'declined';
}
