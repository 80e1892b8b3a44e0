// Shared case tables (RU-01, RU-05, RU-06) for the unit tests and the HTTP/CLI tests.

// RU-01: each must fail against the registered https://c1.example/cb
export const RU01_VARIANTS: [string, string][] = [
  ['a trailing slash', 'https://c1.example/cb/'],
  ['a different path case', 'https://c1.example/CB'],
  ['an extra path segment', 'https://c1.example/cb/x'],
  ['an added query', 'https://c1.example/cb?x=1'],
  ['a fragment', 'https://c1.example/cb#f'],
  ['dot segments', 'https://c1.example/cb/../cb'],
  ['a percent-encoded path character', 'https://c1.example/%63b'],
  ['a path parameter', 'https://c1.example/cb;x'],
  ['..;/ traversal', 'https://c1.example/cb/..;/x'],
  ['an upper-case host', 'https://C1.example/cb'],
  ['the explicit default port', 'https://c1.example:443/cb'],
  ['plain http', 'http://c1.example/cb'],
  ['a host suffix', 'https://c1.example.evil.com/cb'],
  ['userinfo', 'https://c1.example@evil.com/cb'],
  ['the URI inside a query', 'https://evil.com/?https://c1.example/cb'],
  ['a homoglyph host (Cyrillic a)', 'https://c1.ex\u0430mple/cb'],
  ['an upper-case scheme', 'HTTPS://c1.example/cb'],
  ['a trailing dot on the host', 'https://c1.example./cb'],
  ['a backslash', 'https://c1.example\\cb'],
  ['a double slash', 'https://c1.example//cb'],
  ['a leading space', ' https://c1.example/cb'],
  ['a trailing space', 'https://c1.example/cb '],
  ['an empty query', 'https://c1.example/cb?'],
  ['a double-encoded traversal', 'https://c1.example/cb/%252e%252e/x'],
];

// RU-05: against the registered http://127.0.0.1/cb
export const RU05_CASES: [string, string, boolean][] = [
  ['the registered value', 'http://127.0.0.1/cb', true],
  ['another port', 'http://127.0.0.1:51234/cb', true],
  ['another port with a query', 'http://127.0.0.1:51234/cb?x=1', false],
  ['another path', 'http://127.0.0.1:51234/cb2', false],
  ['a sub-path', 'http://127.0.0.1:51234/cb/x', false],
  ['a host suffix', 'http://127.0.0.1.evil.test/cb', false],
  ['localhost.evil.test', 'http://localhost.evil.test/cb', false],
  ['localhost instead of the IP literal', 'http://localhost:51234/cb', false],
  ['[::1] instead of 127.0.0.1', 'http://[::1]:51234/cb', false],
  ['https', 'https://127.0.0.1:51234/cb', false],
  ['userinfo after the port', 'http://127.0.0.1:51234@evil.test/cb', false],
  ['an empty port', 'http://127.0.0.1:/cb', false],
  ['a fragment', 'http://127.0.0.1:51234/cb#x', false],
];

// RU-06: registration rejects unsafe redirect URIs.
export const RU06_UNSAFE: [string, string][] = [
  ['a fragment', 'https://c1.example/cb#frag'],
  ['an empty fragment', 'https://c1.example/cb#'],
  ['javascript:', 'javascript:alert(1)'],
  ['JavaScript: (mixed case)', 'JavaScript:alert(1)'],
  ['JAVASCRIPT: with slashes', 'JAVASCRIPT://c1.example/%0aalert(1)'],
  ['data:', 'data:text/html,<script>alert(1)</script>'],
  ['DATA: (upper case)', 'DATA:text/html;base64,PHNjcmlwdD4='],
  ['vbscript:', 'vbscript:msgbox(1)'],
  ['VBScript: (mixed case)', 'VBScript:msgbox(1)'],
  ['non-loopback http', 'http://c1.example/cb'],
  ['http to a loopback look-alike', 'http://127.0.0.1.evil.test/cb'],
  ['a wildcard host', 'https://*.c1.example/cb'],
  ['a wildcard path', 'https://c1.example/*'],
  ['userinfo', 'https://user@c1.example/cb'],
  ['userinfo with a password', 'https://user:pw@c1.example/cb'],
  ['a relative URI', '/cb'],
  ['not a URI', 'c1.example/cb'],
];
