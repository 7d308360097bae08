/**
 * Debian's Chromium, driven by playwright-core, as the browser specs use it. Fails with what to
 * install when it is missing (`.ci/run` installs it): a browser spec never skips.
 */
import { existsSync } from 'node:fs';
import { chromium, type Browser } from 'playwright-core';

/** Where Debian's `chromium` package puts the browser. */
export const CHROMIUM = process.env.WAYMARK_CHROMIUM ?? '/usr/bin/chromium';

/** A headless Chromium that talks to nothing but the pages it is sent to. */
export async function launchChromium(): Promise<Browser> {
  if (!existsSync(CHROMIUM)) throw new Error(`the browser specs need Chromium at ${CHROMIUM}: apt-get install chromium (or set WAYMARK_CHROMIUM to its path)`);
  return chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    // As root the sandbox cannot start; the rest keeps Chromium off the network it would otherwise call home on.
    args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
}
