import type { S3Client } from '@aws-sdk/client-s3';

/** Counts the commands a client sends, by command name, through client middleware. */
export function countRequests(client: S3Client): Map<string, number> {
  const counts = new Map<string, number>();
  client.middlewareStack.add(
    (next, context) => async (args) => {
      counts.set(context.commandName!, (counts.get(context.commandName!) ?? 0) + 1);
      return next(args);
    },
    { step: 'finalizeRequest', name: 'waymarkRequestCounter' },
  );
  return counts;
}
