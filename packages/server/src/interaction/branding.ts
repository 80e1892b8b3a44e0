// Operator branding of every page (README "Branding"): the product name, an optional logo and the
// primary colour. The colour reaches the pages through a generated stylesheet (/assets/brand.css), so
// CSP style-src 'self' holds without inline styles; the logo's origin joins img-src only when a logo is
// configured as an https URL. The text colour on the primary colour is chosen for contrast (WCAG 2.1
// relative luminance: white or near-black, whichever is at least 4.5:1).
import type { Config } from '../config/config.js';

export interface Branding {
  name: string;
  /** An https URL or a path on this server; '' for none. */
  logoUrl: string;
  /** #rrggbb */
  color: string;
}

export const DEFAULT_BRANDING: Branding = { name: 'Gatehouse', logoUrl: '', color: '#0b57d0' };

declare module 'fastify' {
  interface FastifyInstance {
    branding: Branding;
  }
}

export function brandingOf(config: Pick<Config, 'brandName' | 'brandLogoUrl' | 'brandColor'>): Branding {
  return { name: config.brandName, logoUrl: config.brandLogoUrl, color: config.brandColor };
}

/** The img-src source a configured logo needs ('self' already covers a path). */
export function logoSource(branding: Branding): string | undefined {
  return /^https:\/\//.test(branding.logoUrl) ? new URL(branding.logoUrl).origin : undefined;
}

function channels(hex: string): [number, number, number] {
  const n = parseInt(hex.slice(1), 16);
  return [(n >> 16) & 255, (n >> 8) & 255, n & 255];
}

/** WCAG 2.1 relative luminance of #rrggbb. */
export function luminance(hex: string): number {
  const [r, g, b] = channels(hex).map((c) => {
    const s = c / 255;
    return s <= 0.03928 ? s / 12.92 : ((s + 0.055) / 1.055) ** 2.4;
  }) as [number, number, number];
  return 0.2126 * r + 0.7152 * g + 0.0722 * b;
}

export function contrast(a: string, b: string): number {
  const [hi, lo] = [luminance(a), luminance(b)].sort((x, y) => y - x) as [number, number];
  return (hi + 0.05) / (lo + 0.05);
}

const WHITE = '#ffffff';
const INK = '#111418';

/** Mixes #rrggbb with black (amount < 0) or white (amount > 0). */
function shade(hex: string, amount: number): string {
  const target = amount < 0 ? 0 : 255;
  const k = Math.abs(amount);
  return `#${channels(hex)
    .map((c) => Math.round(c + (target - c) * k))
    .map((c) => c.toString(16).padStart(2, '0'))
    .join('')}`;
}

/** The generated stylesheet: the brand colour, the text on it, and a hover shade. */
export function brandStylesheet(branding: Branding): string {
  const color = branding.color;
  const ink = contrast(color, WHITE) >= contrast(color, INK) ? WHITE : INK;
  const hover = shade(color, ink === WHITE ? -0.18 : 0.18);
  // As text on the page background (links, the brand line), the colour is darkened or lightened
  // until it reads at 4.5:1 on the light and dark backgrounds.
  let onLight = color;
  for (let i = 0; i < 20 && contrast(onLight, '#ffffff') < 4.5; i++) onLight = shade(onLight, -0.1);
  let onDark = color;
  for (let i = 0; i < 20 && contrast(onDark, '#1b1f26') < 4.5; i++) onDark = shade(onDark, 0.1);
  return [
    '/* Generated from --brand-color. */',
    `:root { --accent: ${color}; --accent-ink: ${ink}; --accent-hover: ${hover}; --accent-text: ${onLight}; }`,
    `@media (prefers-color-scheme: dark) { :root { --accent-text: ${onDark}; } }`,
    '',
  ].join('\n');
}
