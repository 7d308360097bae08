import { toJsonData } from '../../shown-value';
import { CheckpointCorruptedError } from '../../errors';
import { isStepKey } from '../../item-keys';
import { WorkflowRunner } from '../../runner/workflow-runner';
import type { WorkflowInfo } from '../../runner/workflow-info';
import { UsageError, type CommandSpec, type ParsedArgs } from '../args';
import { println, type CliIo } from '../io';
import { openStore } from '../store';
import { formatBytes, renderTable } from '../table';
import { keyedStorage, StepKeys } from '../../runner/versions/step-keys';

/** One step's stored state. */
export interface StepStatusRow {
  readonly name: string;
  readonly status: 'committed' | 'skipped' | 'failed' | 'waiting' | 'pending';
  readonly after: readonly string[];
  /** True when the step has a branch (`@Step({ when })`). */
  readonly when?: true;
  /** True when the step is a per-item fan-out (`@Step({ forEach })`). */
  readonly forEach?: true;
  /** A fan-out's progress: items in its list, committed, failed, and the rest. */
  readonly items?: { readonly total: number; readonly committed: number; readonly failed: number; readonly remaining: number };
  /** A fan-out's failed items (the tolerated ones of a committed step, or the first of those that failed it). */
  readonly failedItems?: readonly { readonly index: number; readonly code: string; readonly message: string; readonly attempts: number }[];
  /** A step called again later: how many times it answered "not yet", and when it is called next (ISO). */
  readonly polls?: number;
  readonly nextCall?: string;
  readonly attempts?: number;
  readonly committedAt?: string;
  readonly outputBytes?: number;
  /** ISO time its compensation committed, once it has. */
  readonly compensatedAt?: string;
}

/** What `waymark status` accepts. */
export const statusSpec: CommandSpec = { valued: ['store'], flags: ['json', 'verbose'], positionals: ['workflowId'] };

/**
 * `waymark status <workflowId> --store <spec> [--verbose] [--json]`: the workflow's status and last
 * error (with `--verbose`, its stack and its causes'), each step's status, the stored fingerprint.
 */
export async function statusCommand(args: ParsedArgs, io: CliIo): Promise<number> {
  const workflowId = args.positionals[1];
  if (workflowId === undefined) throw new UsageError('status needs a workflow id');
  const raw = await openStore(args.options.get('store'));
  let storage = raw;
  let stored;
  let info: WorkflowInfo | undefined;
  try {
    stored = await raw.load(workflowId);
    info = await new WorkflowRunner({ storage: raw, tracer: false }).get(workflowId);
    // Steps renamed by a migration or run again by a restart are read under the record's keys.
    if (stored !== undefined) {
      const keys = StepKeys.of(stored.record);
      storage = keyedStorage(raw, workflowId, keys);
      stored = { ...stored, committedSteps: keys.live(stored.committedSteps) };
    }
  } catch (error) {
    if (!(error instanceof CheckpointCorruptedError)) throw error;
    if (args.flags.has('json')) println(io.stdout, JSON.stringify({ workflowId, corrupted: { location: error.location, reason: error.reason } }, null, 2));
    else {
      println(io.stdout, `workflow     ${workflowId}`);
      println(io.stdout, `corrupted    ${error.location}: ${error.reason}`);
      println(io.stdout, `recover      waymark clear ${workflowId} --store ${args.options.get('store')} (or run it with resume: false); its committed steps will run again`);
    }
    return 1;
  }
  if (stored === undefined || info === undefined) {
    println(io.stderr, `no workflow '${workflowId}' in ${args.options.get('store')}`);
    return 1;
  }
  // A fan-out's list and items are checkpoints too, but no steps: they are counted in its row.
  const stepKeys = stored.committedSteps.filter(isStepKey);
  const committed = new Set(stepKeys);
  const defined = stored.record?.steps ?? [];
  const names = [...defined.map((s) => s.name), ...stepKeys.filter((n) => !defined.some((s) => s.name === n))];
  const steps: StepStatusRow[] = [];
  for (const name of names) {
    const after = defined.find((s) => s.name === name)?.after ?? [];
    const stepInfo = info.steps[name];
    const branch = { ...(stepInfo?.when === true ? { when: true as const } : {}), ...(stepInfo?.forEach === true ? { forEach: true as const } : {}), ...(stepInfo?.items === undefined ? {} : { items: stepInfo.items }) };
    if (!committed.has(name)) {
      const failed = info.steps[name]?.status === 'failed';
      const waiting = info.status === 'waiting' && stored.record?.waiting !== undefined && Object.hasOwn(stored.record.waiting, name);
      const poll = stored.record?.polls?.[name];
      const polled = poll === undefined ? {} : { polls: poll.count, nextCall: poll.next };
      const failedItems = failed ? info.error?.items?.first : undefined;
      steps.push({ name, status: failed ? 'failed' : waiting ? 'waiting' : 'pending', after, ...branch, ...polled, ...(failed ? { attempts: info.steps[name]!.attempts } : {}), ...(failedItems === undefined ? {} : { failedItems }) });
      continue;
    }
    const checkpoint = await storage.readCheckpoint(workflowId, name);
    const compensatedAt = info.steps[name]?.compensatedAt;
    const status = checkpoint.status === 'skipped' ? 'skipped' : 'committed';
    const failedItems = checkpoint.items?.failed;
    steps.push({ name, status, after, ...branch, attempts: checkpoint.attempts, committedAt: checkpoint.committedAt, outputBytes: Buffer.byteLength(JSON.stringify(checkpoint.output)), ...(compensatedAt === undefined ? {} : { compensatedAt }), ...(failedItems === undefined ? {} : { failedItems }) });
  }
  const summary = {
    workflowId,
    workflowName: stored.record?.workflowName,
    version: info.version,
    status: info.status,
    stranded: info.stranded,
    history: info.history,
    error: info.error,
    wakeAt: stored.record?.wakeAt,
    waitingFor: info.status === 'waiting' ? info.waitingFor : undefined,
    parent: info.parent,
    children: info.children,
    lease: info.lease,
    compensation: info.compensation,
    fingerprint: stored.record?.fingerprint,
    createdAt: info.createdAt,
    updatedAt: stored.record?.updatedAt,
    // Values as JSON data, never the store's encoding ({"$wm": …}): a Date as its ISO string, bytes as { bytes, base64 }.
    ...(info.input === undefined ? {} : { input: toJsonData(info.input) }),
    ...(info.status === 'completed' ? { output: toJsonData(info.output) } : {}),
    steps,
  };
  if (args.flags.has('json')) {
    println(io.stdout, JSON.stringify(summary, null, 2));
    return 0;
  }
  println(io.stdout, `workflow     ${workflowId}${summary.workflowName ? ` (${summary.workflowName})` : ''}`);
  println(io.stdout, `version      ${summary.version ?? 1}${summary.stranded === undefined ? '' : `  STRANDED: ${summary.stranded.by} had no ${summary.stranded.missing} (${summary.stranded.at}); deploy it, or waymark migrate`}`);
  println(io.stdout, `status       ${summary.status}`);
  for (const change of summary.history ?? []) println(io.stdout, `history      ${change.at} ${change.kind === 'migrated' ? `migrated from version ${change.from} to ${change.to}` : `restarted (${(change.discarded ?? []).join(', ') || 'nothing committed'} run again)`}${change.status === undefined ? '' : `, was ${change.status}`}`);
  if (summary.error !== undefined) println(io.stdout, `error        ${summary.error.code}${summary.error.step === undefined ? '' : ` in step '${summary.error.step}'`}: ${summary.error.message}`);
  if (summary.error?.stack !== undefined && args.flags.has('verbose')) println(io.stdout, summary.error.stack.split('\n').map((line) => `             ${line}`).join('\n'));
  if (summary.status === 'waiting') {
    println(io.stdout, `wakes at     ${summary.wakeAt ?? '- (only events)'}`);
    println(io.stdout, `waiting for  ${summary.waitingFor?.length ? summary.waitingFor.join(', ') : '- (only timers)'}`);
  }
  if (summary.compensation !== undefined) {
    const failed = summary.compensation.errors ?? [];
    println(io.stdout, `compensation ${Object.keys(summary.compensation.done).length} undone${failed.length === 0 ? '' : `; failed: ${failed.map((e) => `'${e.step}' (${e.code}: ${e.message})`).join(', ')}`}`);
  }
  if (summary.parent !== undefined) println(io.stdout, `parent       ${summary.parent.workflowId} (step '${summary.parent.step}', child ${summary.parent.index})`);
  if (summary.children !== undefined) {
    const counts = new Map<string, number>();
    for (const c of summary.children) counts.set(c.status ?? 'not read', (counts.get(c.status ?? 'not read') ?? 0) + 1);
    println(io.stdout, `children     ${summary.children.length} started: ${[...counts].map(([status, n]) => `${n} ${status}`).join(', ')}`);
  }
  println(io.stdout, `lease        ${summary.lease === undefined ? 'free (no run holds it)' : `held by ${summary.lease.owner} until ${summary.lease.expiresAt}`}`);
  println(io.stdout, `fingerprint  ${summary.fingerprint ?? '(no record)'}`);
  println(io.stdout, `created      ${summary.createdAt ?? '-'}`);
  println(io.stdout, `updated      ${summary.updatedAt ?? '-'}`);
  const skippedCount = steps.filter((s) => s.status === 'skipped').length;
  println(io.stdout, `steps        ${committed.size} of ${names.length} committed${skippedCount === 0 ? '' : ` (${skippedCount} skipped)`}`);
  println(io.stdout);
  const itemsText = (s: StepStatusRow) => (s.items === undefined ? '' : `, items ${s.items.committed} of ${s.items.total} committed${s.items.failed === 0 ? '' : `, ${s.items.failed} failed`}`);
  const statusText = (s: StepStatusRow) => `${s.status}${s.compensatedAt === undefined ? '' : ', compensated'}${itemsText(s)}${s.polls === undefined ? '' : `, ${s.polls} ${s.polls === 1 ? 'poll' : 'polls'}, next ${s.nextCall}`}`;
  const label = (s: StepStatusRow) => `${s.name}${s.when === true ? ' (when)' : ''}${s.forEach === true ? ' (forEach)' : ''}`;
  const rows = steps.map((s) => [label(s), statusText(s), s.attempts === undefined ? '-' : String(s.attempts), s.committedAt ?? '-', s.outputBytes === undefined ? '-' : formatBytes(s.outputBytes)]);
  println(io.stdout, renderTable(['STEP', 'STATUS', 'ATTEMPTS', 'COMMITTED AT', 'OUTPUT'], rows));
  if (summary.children !== undefined) {
    println(io.stdout);
    println(io.stdout, renderTable(['CHILD', 'STEP', '#', 'WORKFLOW', 'STATUS'], summary.children.map((c) => [c.workflowId, c.step, String(c.index), c.workflowName, c.status ?? '-'])));
  }
  for (const s of steps) {
    if (s.failedItems === undefined || s.failedItems.length === 0) continue;
    const total = s.items?.failed ?? s.failedItems.length;
    println(io.stdout);
    println(io.stdout, `failed items of '${s.name}'${total > s.failedItems.length ? ` (the first ${s.failedItems.length} of ${total})` : ''}:`);
    println(io.stdout, renderTable(['ITEM', 'ATTEMPTS', 'ERROR'], s.failedItems.map((f) => [String(f.index), String(f.attempts), `${f.code}: ${f.message}`])));
  }
  return 0;
}
