/** Asking before a command deletes anything. */
import { createInterface } from 'node:readline';
import type { CliIo } from './io';

/** Writes `question` and reads one line: true for y or yes (any case), false for anything else or end of input. */
export async function confirm(io: CliIo, question: string): Promise<boolean> {
  const rl = createInterface({ input: io.stdin, output: io.stdout as NodeJS.WritableStream, terminal: false });
  try {
    io.stdout.write(question);
    const answer = await new Promise<string>((resolve) => rl.once('line', resolve).once('close', () => resolve('')));
    return /^y(es)?$/i.test(answer.trim());
  } finally {
    rl.close();
  }
}

/** True when the command may ask: both stdin and stdout are terminals. */
export function canAsk(io: CliIo): boolean {
  return io.stdin.isTTY === true && io.stdout.isTTY === true;
}
