/**
 * Shared fixtures of the serving tests: the original's request, a model with the original's features, and an
 * in-memory ModelSource whose answers a test sets (the registry-backed source has its own test).
 */
import { connect, createServer, type AddressInfo, type Server, type Socket } from 'node:net';
import type { FeatureSpec } from '../src/ml/types.js';
import type { ModelResolution, ModelSource, ServableModel } from '../src/serve/types.js';

/** The body the original FastAPI service was called with. */
export const ORIGINAL_REQUEST = {
  id: 0,
  age: 35.0,
  annual_income: 107770.0,
  credit_score: 331.0,
  loan_amount: 31580.0,
  loan_duration_years: 28,
  number_of_open_accounts: 13.0,
  had_past_default: 0,
};

export const LOAN_FEATURES: FeatureSpec[] = [
  { name: 'age', type: 'float', nullable: false },
  { name: 'annual_income', type: 'float', nullable: true },
  { name: 'credit_score', type: 'float', nullable: false },
  { name: 'loan_amount', type: 'float', nullable: false },
  { name: 'loan_duration_years', type: 'integer', nullable: false },
  { name: 'number_of_open_accounts', type: 'float', nullable: false },
  { name: 'had_past_default', type: 'boolean', nullable: false },
];

/** A logistic model on the original's features; `shift` moves every logit, so versions give different answers. */
export function loanModel(shift = 0): ServableModel {
  const weights: Record<string, number> = {
    age: 0.01,
    annual_income: 0.00001,
    credit_score: 0.004,
    loan_amount: -0.00003,
    loan_duration_years: -0.02,
    number_of_open_accounts: 0.01,
    had_past_default: -1,
  };
  return {
    signature: { features: LOAN_FEATURES, rowIdColumns: ['id'], target: { name: 'loan_approval', positiveLabel: '1', negativeLabel: '0' } },
    threshold: 0.5,
    predictRecords(records) {
      const probability = new Float64Array(records.length);
      const prediction = new Uint8Array(records.length);
      records.forEach((record, i) => {
        let z = -1.5 + shift;
        for (const [name, w] of Object.entries(weights)) z += w * Number(record[name] ?? 50_000);
        probability[i] = 1 / (1 + Math.exp(-z));
        prediction[i] = probability[i] >= 0.5 ? 1 : 0;
      });
      return { probability, prediction };
    },
  };
}

/** A ModelSource whose answer per name the test sets. */
export class MemoryModelSource implements ModelSource {
  private readonly answers = new Map<string, ModelResolution>();

  set(name: string, answer: ModelResolution): this {
    this.answers.set(name, answer);
    return this;
  }

  async resolve(name: string): Promise<ModelResolution> {
    return this.answers.get(name) ?? { unavailable: `No production model for ${name}` };
  }

  async names(): Promise<string[]> {
    return [...this.answers.keys()];
  }
}

/**
 * A TCP endpoint in front of a database, to make it go away and come back: 'closed' (nothing listens: connection
 * refused), 'forward' (a plain proxy) or 'silent' (accepts connections and never answers).
 */
export class DatabaseProxy {
  private server: Server | undefined;
  private readonly sockets = new Set<Socket>();

  private constructor(
    readonly port: number,
    private readonly target: { host: string; port: number },
  ) {}

  static async create(targetUrl: string): Promise<DatabaseProxy> {
    const url = new URL(targetUrl);
    const probe = createServer();
    await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
    const port = (probe.address() as AddressInfo).port;
    await new Promise((resolve) => probe.close(resolve));
    return new DatabaseProxy(port, { host: url.hostname, port: Number(url.port) });
  }

  /** `url` with host and port replaced by the proxy's. */
  urlFor(url: string): string {
    const u = new URL(url);
    u.hostname = '127.0.0.1';
    u.port = String(this.port);
    return u.href;
  }

  async set(mode: 'closed' | 'forward' | 'silent'): Promise<void> {
    await this.close();
    if (mode === 'closed') return;
    this.server = createServer((client) => {
      this.sockets.add(client);
      client.on('close', () => this.sockets.delete(client));
      client.on('error', () => {});
      if (mode === 'silent') return;
      const upstream = connect(this.target.port, this.target.host);
      this.sockets.add(upstream);
      upstream.on('close', () => this.sockets.delete(upstream));
      upstream.on('error', () => client.destroy());
      client.on('close', () => upstream.destroy());
      upstream.on('close', () => client.destroy());
      client.pipe(upstream).pipe(client);
    });
    await new Promise<void>((resolve) => this.server!.listen(this.port, '127.0.0.1', resolve));
  }

  async close(): Promise<void> {
    for (const socket of this.sockets) socket.destroy();
    this.sockets.clear();
    const server = this.server;
    this.server = undefined;
    if (server) await new Promise((resolve) => server.close(resolve));
  }
}
