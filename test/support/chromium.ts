/**
 * Debian's headless Chromium (/usr/bin/chromium) driven by playwright-core,
 * for the tests that open a page as a person would. `browser` is undefined,
 * with the launch error in `unavailable`, where it cannot start: such tests
 * skip with that reason.
 */
import test from 'ava';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { chromium, type BrowserContext } from 'playwright-core';

export const CHROMIUM = '/usr/bin/chromium';

/** A fresh profile per run, so no state leaks between runs. */
const userDataDir = mkdtempSync(path.join(os.tmpdir(), 'fedledger-chromium-'));

export let browser: BrowserContext | undefined;
export let unavailable = '';
try {
  browser = await chromium.launchPersistentContext(userDataDir, {
    executablePath: CHROMIUM,
    headless: true,
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
    viewport: { width: 1200, height: 900 },
  });
} catch (error) {
  unavailable = (error instanceof Error ? error.message : String(error)).split('\n')[0]!;
}

test.after.always(async () => {
  await browser?.close();
  rmSync(userDataDir, { recursive: true, force: true });
});

/** The title of a skipped browser test, with the reason. */
export const skippedTitle = (title: string) =>
  `${title} (skipped: chromium cannot be launched from ${CHROMIUM}: ${unavailable})`;
