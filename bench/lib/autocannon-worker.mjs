// The load generator when wrk is not installed: autocannon in its own process (pinned by the caller),
// with the modes of bench/wrk/scenario.lua, printing the same JSON line.
// Usage: node autocannon-worker.mjs BASE_URL SECONDS CONNECTIONS key=value...
import { appendFileSync, readFileSync } from 'node:fs';
import autocannon from 'autocannon';

const [base, seconds, connections, ...args] = process.argv.slice(2);
const cfg = Object.fromEntries(
  args.map((a) => {
    const i = a.indexOf('=');
    return [a.slice(0, i), decodeURIComponent(a.slice(i + 1))];
  }),
);
const headers = (withBody) => ({
  ...(cfg.auth ? { authorization: cfg.auth } : {}),
  ...(cfg.cookie ? { cookie: cfg.cookie } : {}),
  ...(withBody ? { 'content-type': 'application/x-www-form-urlencoded' } : {}),
});
const readItems = (path) => {
  try {
    return readFileSync(path, 'utf8')
      .split('\n')
      .filter((l) => l.length > 0);
  } catch {
    return []; // nothing prepared: the run reports itself exhausted
  }
};
const items = cfg.in ? readItems(cfg.in) : [];
let next = 0;
let exhausted = 0;
let flows = 0;
const out = (line) => cfg.out && appendFileSync(cfg.out, `${line}\n`);
const codeOf = (h) => {
  const key = Object.keys(h ?? {}).find((k) => k.toLowerCase() === 'location');
  const location = key && h[key];
  const m = location && /[?&]code=([^&]+)/.exec(location);
  return m ? decodeURIComponent(m[1]) : undefined;
};
const tokenRequest = (value) => ({
  method: 'POST',
  path: cfg.tokenpath ?? '/token',
  headers: headers(true),
  body: cfg.body.replace('@', value),
});

let requests;
if (cfg.mode === 'fixed') {
  requests = [{ method: cfg.method ?? 'GET', path: cfg.path, headers: headers(cfg.body !== undefined), body: cfg.body }];
} else if (cfg.mode === 'authorize') {
  requests = [
    {
      method: 'GET',
      path: cfg.path,
      headers: headers(false),
      onResponse: (_s, _b, _c, h) => {
        const c = codeOf(h);
        if (c) out(c);
      },
    },
  ];
} else if (cfg.mode === 'code' || cfg.mode === 'refresh') {
  requests = [
    {
      setupRequest: (req) => {
        let item = items[next++];
        if (item === undefined) {
          exhausted = 1; // never replay a used value (see scenario.lua)
          item = 'exhausted-not-a-valid-value';
        }
        return { ...req, ...tokenRequest(item) };
      },
      onResponse: (status, body) => {
        if (status !== 200) return;
        const j = JSON.parse(body);
        out(cfg.mode === 'code' ? `${j.refresh_token ?? '-'} ${j.access_token ?? '-'}` : j.refresh_token);
      },
    },
  ];
} else if (cfg.mode === 'flow') {
  requests = [
    {
      method: 'GET',
      path: cfg.path,
      headers: headers(false),
      onResponse: (_s, _b, context, h) => {
        context.code = codeOf(h);
      },
    },
    {
      setupRequest: (req, context) => ({ ...req, ...tokenRequest(context.code ?? 'none') }),
      onResponse: (status) => {
        if (status === 200) flows++;
      },
    },
  ];
} else {
  throw new Error(`unknown mode ${cfg.mode}`);
}

const result = await autocannon({ url: base, connections: Number(connections), duration: Number(seconds), requests, timeout: 5 });
const errorsStatus = Object.entries(result.statusCodeStats ?? {})
  .filter(([code]) => Number(code) >= 400)
  .reduce((a, [, v]) => a + v.count, 0);
process.stdout.write(
  `${JSON.stringify({
    requests: result.requests.total,
    duration_us: Math.round(result.duration * 1e6),
    bytes: result.throughput.total,
    p50_us: Math.round(result.latency.p50 * 1000),
    p90_us: Math.round(result.latency.p90 * 1000),
    p99_us: Math.round(result.latency.p99 * 1000),
    max_us: Math.round(result.latency.max * 1000),
    errors_status: errorsStatus,
    errors_connect: result.errors,
    errors_read: 0,
    errors_write: 0,
    errors_timeout: result.timeouts,
    flows,
    exhausted,
  })}\n`,
);
