/** A one-line progress display on a terminal; silent when the stream is not a TTY (piped or redirected). */

/** Where progress goes: stderr, normally. */
export interface ProgressStream {
  readonly isTTY?: boolean;
  write(text: string): unknown;
}

/** A progress callback for `what`, and a function that ends the line. */
export function progressReporter(stream: ProgressStream, what: string): { update: (done: number, total: number) => void; finish: () => void } {
  if (!stream.isTTY) return { update: () => undefined, finish: () => undefined };
  let shown = false;
  return {
    update(done, total) {
      shown = true;
      const percent = total === 0 ? 100 : Math.floor((done / total) * 100);
      stream.write(`\r${what}: ${done}/${total} (${percent}%)`);
    },
    finish() {
      if (shown) stream.write('\n');
    },
  };
}
