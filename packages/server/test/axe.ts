// axe-core in a Chromium page (playwright-core): the page's CSP (script-src 'self') does not apply to
// scripts the DevTools protocol evaluates, so axe's own source is injected with page.evaluate. The
// check fails on serious and critical violations and names each rule and the elements it found.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import type { Page } from 'playwright-core';

const AXE_SOURCE = readFileSync(createRequire(import.meta.url).resolve('axe-core/axe.min.js'), 'utf8');

export interface AxeViolation {
  id: string;
  impact: string | null;
  help: string;
  targets: string[];
}

interface AxeWindow {
  axe?: {
    run(
      context: Document,
      options: Record<string, unknown>,
    ): Promise<{ violations: { id: string; impact: string | null; help: string; nodes: { target: unknown[] }[] }[] }>;
  };
}

/** Every axe violation of the page as it is now (WCAG 2.0/2.1 A and AA rules, and axe's best practices). */
export async function axeViolations(page: Page): Promise<AxeViolation[]> {
  if (!(await page.evaluate(() => Boolean((window as unknown as AxeWindow).axe)))) await page.evaluate(AXE_SOURCE);
  return page.evaluate(async () => {
    const axe = (window as unknown as AxeWindow).axe!;
    const result = await axe.run(document, { resultTypes: ['violations'] });
    return result.violations.map((v) => ({ id: v.id, impact: v.impact, help: v.help, targets: v.nodes.map((n) => n.target.join(' ')) }));
  });
}

/** Fails on serious or critical violations; returns the milder ones for the caller to report. */
export async function assertAccessible(page: Page, label: string): Promise<AxeViolation[]> {
  const violations = await axeViolations(page);
  const blocking = violations.filter((v) => v.impact === 'serious' || v.impact === 'critical');
  assert.deepEqual(
    blocking.map((v) => `${v.impact} ${v.id}: ${v.help} (${v.targets.join(', ')})`),
    [],
    `${label}: axe found serious or critical violations`,
  );
  return violations.filter((v) => !blocking.includes(v));
}
