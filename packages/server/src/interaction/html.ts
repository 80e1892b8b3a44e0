// Escape-by-default HTML (UI-08): `html` is a template tag whose every interpolated value is escaped,
// unless it is itself the result of `html`. There is no other way to make an Html value, so a value
// cannot reach a page unescaped by a forgotten call.
export function escapeHtml(value: string): string {
  return value.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;').replace(/'/g, '&#39;');
}

// Only this module holds the key, so only the `html` tag below can construct an Html value.
const KEY = Symbol('html');

export class Html {
  readonly #markup: string;
  constructor(key: typeof KEY, markup: string) {
    if (key !== KEY) throw new TypeError('Html values are made with the html template tag');
    this.#markup = markup;
  }
  toString(): string {
    return this.#markup;
  }
}

/** Strings and numbers are escaped; Html is kept; arrays are joined; undefined, null and false render nothing. */
function render(value: unknown): string {
  if (value instanceof Html) return value.toString();
  if (Array.isArray(value)) return value.map(render).join('');
  if (value === undefined || value === null || value === false) return '';
  return escapeHtml(String(value));
}

export function html(strings: TemplateStringsArray, ...values: unknown[]): Html {
  let out = strings[0]!;
  for (let i = 0; i < values.length; i++) out += render(values[i]) + strings[i + 1]!;
  return new Html(KEY, out);
}
