// The one logger shape the protocol and storage layers take: pino's (and so Fastify's) methods with an
// object first. Tests and the CLI pass small stand-ins.
export interface Log {
  info(obj: Record<string, unknown>, msg: string): void;
  warn(obj: Record<string, unknown>, msg: string): void;
}
