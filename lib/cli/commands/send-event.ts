import { WorkflowRunner } from '../../runner/workflow-runner';
import { UsageError, type CommandSpec, type ParsedArgs } from '../args';
import { println, type CliIo } from '../io';
import { openStore } from '../store';

/** What `waymark send-event` accepts. */
export const sendEventSpec: CommandSpec = { valued: ['store', 'payload', 'event-id'], flags: ['json'], positionals: ['workflowId', 'event'] };

/**
 * `waymark send-event <workflowId> <event> --store <spec> [--payload '<json>'] [--event-id <id>] [--json]`:
 * stores an event for the workflow (idempotent by event id). A worker on the store resumes a waiting
 * workflow at its next scan. Exit 1, storing nothing, for a workflow that completed or compensated.
 */
export async function sendEventCommand(args: ParsedArgs, io: CliIo): Promise<number> {
  const [, workflowId, event] = args.positionals;
  if (workflowId === undefined || event === undefined) throw new UsageError('send-event needs a workflow id and an event name');
  const text = args.options.get('payload');
  let payload: unknown;
  if (text !== undefined) {
    try {
      payload = JSON.parse(text);
    } catch (error) {
      throw new UsageError(`--payload is not JSON: ${(error as Error).message}`);
    }
  }
  const eventId = args.options.get('event-id');
  const runner = new WorkflowRunner({ storage: await openStore(args.options.get('store')), tracer: false });
  const sent = await runner.sendEvent(workflowId, event, payload, eventId === undefined ? {} : { eventId });
  // A workflow that completed or compensated will never consume it: nothing was stored.
  const refused = sent.ended === 'completed' || sent.ended === 'compensated';
  if (args.flags.has('json')) println(io.stdout, JSON.stringify(sent));
  else if (refused) println(io.stderr, `not sent: workflow '${workflowId}' has ${sent.ended}; no step will consume ${event}`);
  else {
    println(io.stdout, sent.duplicate ? `duplicate: event ${sent.eventId} was stored already; nothing sent` : `sent ${event} to ${workflowId} (event id ${sent.eventId})`);
    if (sent.ended !== undefined) println(io.stdout, `workflow '${workflowId}' has ${sent.ended}: the event waits for a resume (waymark cannot resume without the app's classes)`);
  }
  return refused ? 1 : 0;
}
