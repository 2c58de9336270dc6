/**
 * Chromium for the browser suites: Debian's `/usr/bin/chromium` driven by playwright-core (never a
 * downloaded browser). Suites skip with a reason when it is missing, and fail instead under
 * REQUIRE_SERVICES=1 (what CI sets after `.ci/install-chromium`).
 */
import { existsSync } from 'node:fs';
import type { Browser } from 'playwright-core';

export const CHROMIUM_PATH = '/usr/bin/chromium';
export const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-background-networking',
  '--disable-component-update',
  '--no-first-run',
  // WebGL2 without a GPU: SwiftShader through ANGLE.
  '--use-angle=swiftshader',
  '--enable-unsafe-swiftshader',
];

/** Why the browser suite cannot run here, or null when it can. Throws under REQUIRE_SERVICES=1. */
export function chromiumMissing(): string | null {
  if (existsSync(CHROMIUM_PATH)) return null;
  const reason = `${CHROMIUM_PATH} is missing (run .ci/install-chromium)`;
  if (process.env.REQUIRE_SERVICES === '1') throw new Error(`REQUIRE_SERVICES=1 but ${reason}`);
  return reason;
}

export async function launchChromium(): Promise<Browser> {
  const { chromium } = await import('playwright-core');
  return chromium.launch({ executablePath: CHROMIUM_PATH, args: CHROMIUM_ARGS, headless: true });
}
