// The tables printed at the end of a run (markdown, so that they can be pasted into the README).
const n = (x, digits = 0) => (x === null || x === undefined || !Number.isFinite(x) ? '–' : x.toFixed(digits));
const ms = (x) => (x === null || x === undefined ? '–' : x < 10 ? x.toFixed(2) : x.toFixed(1));
const ratio = (x) => (x === null || x === undefined ? '–' : `${x.toFixed(2)}×`);
const pct = (x) => (x === null || x === undefined ? '' : ` ±${Math.round(x / 2)}%`);

export function printTables({ machine, scenarios, growth, rss_mb: rss, password, login_timing: timing, notes }) {
  const out = [];
  out.push(
    `\n${machine.cpu}, ${machine.cores} cores, node ${machine.node}, ${machine.load_generator}; ${machine.pinned}; ` +
      `${machine.rounds} rounds × ${machine.seconds_per_run} s, ${machine.connections} connections; load average ${machine.loadavg_start.join(' ')} → ${machine.loadavg_end.join(' ')}\n`,
  );
  out.push(
    '| scenario | Gatehouse req/s | p50 ms | p99 ms | oidc-provider req/s | limit req/s | × peer | × limit | CPU µs/req Gatehouse · peer · limit | × peer (CPU) | × limit (CPU) |',
  );
  out.push('|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|');
  for (const s of scenarios.filter((r) => !r.name.includes(' @ '))) {
    out.push(
      `| ${s.name} | ${n(s.gatehouse_rps)}${pct(s.gatehouse_spread_pct)} | ${ms(s.p50_ms)} | ${ms(s.p99_ms)} | ${n(s.peer_rps)}${pct(s.peer_spread_pct)} | ${n(s.limit_rps)} | ${ratio(s.ratio_to_peer)} | ${ratio(s.ratio_to_limit)} | ${n(s.gatehouse_cpu_us)} · ${n(s.peer_cpu_us)} · ${n(s.limit_cpu_us)} | ${ratio(s.cpu_ratio_to_peer)} | ${ratio(s.cpu_ratio_to_limit)} |`,
    );
  }
  if (password)
    out.push(`\nargon2id (m=19 MiB, t=2, p=1): ${ms(password.hash_ms)} ms per hash, ${ms(password.verify_ms)} ms per verification`);
  if (timing)
    out.push(
      `login refused (UI-05, median of ${timing.samples} each, in process): unknown user ${ms(timing.unknown_user_ms)} ms, wrong password ${ms(timing.wrong_password_ms)} ms`,
    );
  if (growth.length > 0) {
    out.push('\n| growth | database | empty req/s | empty p99 ms | full req/s | full p99 ms | p99 full/empty | error answers |');
    out.push('|---|---|---:|---:|---:|---:|---:|---:|');
    for (const g of growth) {
      out.push(
        `| ${g.scenario} | ${g.database} | ${n(g.empty_rps)} | ${ms(g.empty_p99_ms)} | ${n(g.full_rps)} | ${ms(g.full_p99_ms)} | ${ratio(g.p99_ratio_full_to_empty)} | ${g.errors > 0 ? `**${n(g.errors)}** (figures invalid)` : '0'} |`,
      );
    }
  }
  out.push(
    `\nmemory (MiB): ${Object.entries(rss)
      .map(([k, v]) => `${k} ${v}`)
      .join(', ')}`,
  );
  for (const note of notes) out.push(`note: ${note}`);
  process.stdout.write(`${out.join('\n')}\n`);
}
