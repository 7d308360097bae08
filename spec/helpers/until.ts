/** Looks every `everyMs` until `done()` answers true or `ms` passed; the last answer. A deadline for what a spec waits on, never a sleep standing in for it. */
export async function until(done: () => boolean | Promise<boolean>, ms: number, everyMs = 50): Promise<boolean> {
  const deadline = Date.now() + ms;
  while (Date.now() < deadline) {
    if (await done()) return true;
    await new Promise((resolve) => setTimeout(resolve, everyMs));
  }
  return done();
}
