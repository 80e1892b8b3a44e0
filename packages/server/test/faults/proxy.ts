// A tiny TCP proxy of the fault suite's own (no toxiproxy on these machines): it sits between the
// Gatehouse nodes and PostgreSQL on 127.0.0.1 and can pause (hold every byte, accept but not forward
// new connections), cut (destroy every open connection), refuse (stop listening: ECONNREFUSED) and
// add latency (each chunk is delivered `ms` later, in order).
import net from 'node:net';

interface Link {
  client: net.Socket;
  upstream: net.Socket;
}

export class TcpProxy {
  private server: net.Server | undefined;
  private readonly links = new Set<Link>();
  private paused = false;
  private latencyMs = 0;
  private latencyToClientOnly = false;
  private readonly heldWhilePaused: (() => void)[] = [];
  port = 0;

  constructor(
    private readonly targetHost: string,
    private readonly targetPort: number,
  ) {}

  async start(port = 0): Promise<void> {
    const server = net.createServer((client) => this.accept(client));
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, '127.0.0.1', () => resolve());
    });
    this.server = server;
    this.port = (server.address() as net.AddressInfo).port;
  }

  get url(): string {
    return `127.0.0.1:${this.port}`;
  }

  private accept(client: net.Socket): void {
    const upstream = net.connect(this.targetPort, this.targetHost);
    const link = { client, upstream };
    this.links.add(link);
    const drop = () => {
      this.links.delete(link);
      client.destroy();
      upstream.destroy();
    };
    client.on('error', drop).on('close', drop);
    upstream.on('error', drop).on('close', drop);
    this.pipe(client, upstream, false);
    this.pipe(upstream, client, true);
  }

  /** Forwards `from` to `to`, honouring pause and latency; order is kept because every chunk waits its turn. */
  private pipe(from: net.Socket, to: net.Socket, toClient: boolean): void {
    let chain = Promise.resolve();
    from.on('data', (chunk: Buffer) => {
      const arrived = Date.now();
      chain = chain.then(async () => {
        while (this.paused) await new Promise<void>((r) => this.heldWhilePaused.push(r));
        const latency = toClient || !this.latencyToClientOnly ? this.latencyMs : 0;
        const wait = arrived + latency - Date.now();
        if (wait > 0) await new Promise((r) => setTimeout(r, wait));
        if (!to.destroyed) to.write(chunk);
      });
    });
  }

  pause(): void {
    this.paused = true;
  }

  resume(): void {
    this.paused = false;
    for (const release of this.heldWhilePaused.splice(0)) release();
  }

  /** Delays every chunk by `ms`; with `answersOnly`, only what the server sends back. */
  setLatency(ms: number, answersOnly = false): void {
    this.latencyMs = ms;
    this.latencyToClientOnly = answersOnly;
  }

  /** Destroys every open connection (both sides see a reset). */
  cut(): number {
    const n = this.links.size;
    for (const { client, upstream } of [...this.links]) {
      client.destroy();
      upstream.destroy();
    }
    this.links.clear();
    return n;
  }

  /** Stops listening and cuts: new connections get ECONNREFUSED until restore(). */
  async refuse(): Promise<void> {
    const server = this.server;
    this.server = undefined;
    this.cut();
    if (server) await new Promise<void>((r) => server.close(() => r()));
  }

  /** Listens again on the same port. */
  async restore(): Promise<void> {
    if (!this.server) await this.start(this.port);
  }

  async stop(): Promise<void> {
    this.resume();
    await this.refuse();
  }
}
