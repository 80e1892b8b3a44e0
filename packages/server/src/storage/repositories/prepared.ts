// Hot statements built and compiled once per dialect, then run with new parameters. Kysely otherwise
// builds an operation tree, freezes it and compiles it to SQL on every call; for the few statements a
// token request runs that was a large part of its time. The same builder serves SQLite and PostgreSQL:
// it is compiled by whichever database (or transaction) first runs it, and kept per adapter.
import type { Compilable, CompiledQuery, QueryResult } from 'kysely';
import type { Db } from './columns.js';

/** A stand-in value per parameter while compiling; each must come out as exactly one SQL parameter. */
const placeholder = (index: number): string => `\u0000gatehouse-param-${index}\u0000`;

export class PreparedQuery<Row, Args extends readonly unknown[]> {
  private readonly compiled = new WeakMap<object, { query: CompiledQuery<Row>; order: number[] }>();

  /**
   * `build` receives one placeholder per argument (pass them where values go, never into SQL text or
   * a value computed from them); `arity` is how many arguments `run` takes.
   */
  constructor(
    private readonly arity: Args['length'],
    private readonly build: (db: Db, ...placeholders: never[]) => Compilable<Row>,
  ) {}

  private compile(db: Db): { query: CompiledQuery<Row>; order: number[] } {
    const adapter = db.getExecutor().adapter as object;
    let entry = this.compiled.get(adapter);
    if (!entry) {
      const marks = Array.from({ length: this.arity }, (_, i) => placeholder(i));
      const query = this.build(db, ...(marks as never[])).compile();
      const order = query.parameters.map((p) => {
        const index = marks.indexOf(p as string);
        if (index < 0) throw new Error(`prepared query has a parameter that is not an argument: ${query.sql}`);
        return index;
      });
      entry = { query, order };
      this.compiled.set(adapter, entry);
    }
    return entry;
  }

  async run(db: Db, ...args: Args): Promise<QueryResult<Row>> {
    const { query, order } = this.compile(db);
    return db.executeQuery<Row>({ ...query, parameters: order.map((i) => args[i]) });
  }

  async first(db: Db, ...args: Args): Promise<Row | undefined> {
    return (await this.run(db, ...args)).rows[0];
  }

  /** Rows changed by an UPDATE, DELETE or INSERT. */
  async affected(db: Db, ...args: Args): Promise<number> {
    return Number((await this.run(db, ...args)).numAffectedRows ?? 0n);
  }
}
