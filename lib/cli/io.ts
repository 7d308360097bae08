/** The streams and directory a CLI command works with (injectable for tests). */
import type { ProgressStream } from './progress';

export interface CliIo {
  readonly stdout: ProgressStream;
  readonly stderr: ProgressStream;
  readonly stdin: NodeJS.ReadableStream & { isTTY?: boolean };
  readonly cwd: string;
}

/** The process's own streams. */
export function processIo(): CliIo {
  return { stdout: process.stdout, stderr: process.stderr, stdin: process.stdin, cwd: process.cwd() };
}

/** Writes a line. */
export function println(stream: ProgressStream, text = ''): void {
  stream.write(`${text}\n`);
}
