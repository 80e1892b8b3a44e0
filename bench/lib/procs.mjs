// Child processes of the bench: servers pinned to the server core, load generators to the other.
import { spawn, spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';

export const HAS_TASKSET = spawnSync('taskset', ['-c', '0', 'true']).status === 0;
export const SERVER_CORE = '0';
export const LOAD_CORE = '1';

/** The command line, pinned to `core` with taskset when it exists. */
export function pinned(core, command, args) {
  return HAS_TASKSET ? ['taskset', ['-c', core, command, ...args]] : [command, args];
}

const children = new Set();
export function stopAll() {
  for (const child of children) child.kill('SIGKILL');
}

/** Starts a server and waits for its `listening on URL` line. */
export async function startServer(name, command, args, { env = {}, timeoutMs = 30_000 } = {}) {
  const [cmd, argv] = pinned(SERVER_CORE, command, args);
  const child = spawn(cmd, argv, { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  children.add(child);
  let stderr = '';
  child.stderr.on('data', (d) => {
    stderr = (stderr + d).slice(-4000);
  });
  const url = await new Promise((resolve, reject) => {
    let out = '';
    const timer = setTimeout(() => reject(new Error(`${name} did not start in ${timeoutMs} ms: ${stderr}`)), timeoutMs);
    child.stdout.on('data', (d) => {
      out += d;
      const m = /listening on (\S+)/.exec(out);
      if (m) {
        clearTimeout(timer);
        resolve(m[1]);
      }
    });
    child.on('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`${name} exited with ${code} before listening: ${stderr}`));
    });
  });
  child.stdout.resume();
  return {
    name,
    url,
    pid: child.pid,
    stderr: () => stderr,
    memory: () => memoryOf(child.pid),
    cpuSeconds: () => cpuSecondsOf(child.pid),
    async stop() {
      if (child.exitCode !== null) return;
      const exited = new Promise((resolve) => child.once('exit', resolve));
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
      await exited;
      clearTimeout(timer);
      children.delete(child);
    },
  };
}

/** Resident and peak resident memory of a process, in MiB (Linux /proc). */
export function memoryOf(pid) {
  try {
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    const kb = (field) => Number(new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(status)?.[1] ?? NaN);
    return { rss_mb: +(kb('VmRSS') / 1024).toFixed(1), peak_rss_mb: +(kb('VmHWM') / 1024).toFixed(1) };
  } catch {
    return { rss_mb: null, peak_rss_mb: null };
  }
}

/**
 * CPU time (user + system) a process has used, in seconds (Linux /proc; null elsewhere). CPU time per
 * request moves much less than requests per second when other work shares the machine.
 */
export function cpuSecondsOf(pid) {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    // fields[11], fields[12]: utime, stime in clock ticks (USER_HZ, 100 on Linux)
    return (Number(fields[11]) + Number(fields[12])) / 100;
  } catch {
    return null;
  }
}

/** Runs a command to completion; resolves with its stdout (rejects on a non-zero exit). */
export function run(command, args, { input, env = {}, timeoutMs = 120_000 } = {}) {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, {
      env: { ...process.env, ...env },
      stdio: [input === undefined ? 'ignore' : 'pipe', 'pipe', 'pipe'],
    });
    children.add(child);
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr = (stderr + d).slice(-4000)));
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.on('exit', (code, signal) => {
      clearTimeout(timer);
      children.delete(child);
      if (code === 0) resolve(stdout);
      else reject(new Error(`${command} ${args.join(' ').slice(0, 200)} failed (${code ?? signal}): ${stderr}`));
    });
    if (input !== undefined) {
      child.stdin.on('error', () => {}); // a child that exits without reading its input
      child.stdin.end(input);
    }
  });
}
