/**
 * Shared fixtures of the serving tests: the original's request, real models with the original's features, an
 * in-memory ModelSource whose answers a test sets (the registry-backed source has its own test), and a TCP proxy
 * that takes a database away.
 */
import { connect, createServer, type AddressInfo, type Server, type Socket } from 'node:net';
import { LogisticRegression } from '../src/ml/logistic.js';
import { parseModelFile } from '../src/ml/model-format.js';
import type { TabularColumns } from '../src/ml/preprocessing.js';
import { createRng } from '../src/ml/random.js';
import { fitTabularModel, type ModelSignature } from '../src/ml/tabular-model.js';
import type { FeatureSpec } from '../src/ml/types.js';
import type { ModelResolution, ModelSource, ServableModel } from '../src/serve/types.js';

export { ORIGINAL_REQUEST } from '../bench/original.js';

export const LOAN_FEATURES: FeatureSpec[] = [
  { name: 'age', type: 'float', nullable: false },
  { name: 'annual_income', type: 'float', nullable: true },
  { name: 'credit_score', type: 'float', nullable: false },
  { name: 'loan_amount', type: 'float', nullable: false },
  { name: 'loan_duration_years', type: 'integer', nullable: false },
  { name: 'number_of_open_accounts', type: 'float', nullable: false },
  { name: 'had_past_default', type: 'boolean', nullable: false },
];

const SIGNATURE: ModelSignature = {
  features: LOAN_FEATURES,
  rowIdColumns: ['id'],
  target: { name: 'loan_approval', positiveLabel: '1', negativeLabel: '0' },
};

/** Synthetic loan applications in the original's columns (annual_income sometimes missing) with a learnable label. */
export function loanData(nRows: number, seed: number): { data: TabularColumns; y: Uint8Array } {
  const rng = createRng(seed);
  const column = () => new Float64Array(nRows);
  const data = {
    age: column(),
    annual_income: column(),
    credit_score: column(),
    loan_amount: column(),
    loan_duration_years: column(),
    number_of_open_accounts: column(),
    had_past_default: column(),
  };
  const y = new Uint8Array(nRows);
  for (let i = 0; i < nRows; i++) {
    data.age[i] = 20 + Math.round(rng.next() * 50);
    data.annual_income[i] = rng.next() < 0.1 ? NaN : 20_000 + Math.round(rng.next() * 130_000);
    data.credit_score[i] = 300 + Math.round(rng.next() * 550);
    data.loan_amount[i] = 1000 + Math.round(rng.next() * 49_000);
    data.loan_duration_years[i] = 1 + rng.int(30);
    data.number_of_open_accounts[i] = rng.int(20);
    data.had_past_default[i] = rng.next() < 0.2 ? 1 : 0;
    const z =
      (data.credit_score[i] - 575) / 90 - (data.loan_amount[i] - 25_000) / 15_000 - 1.5 * data.had_past_default[i] + (rng.next() - 0.5) * 2;
    y[i] = z > 0 ? 1 : 0;
  }
  return { data, y };
}

const models = new Map<number, ServableModel>();

/**
 * A real model on the original's features: logistic regression fitted on synthetic data (`variant` seeds the data and
 * sets C, so variants give different answers), written as a model file and read back by parseModelFile, as served.
 */
export function loanModel(variant = 0): ServableModel {
  let model = models.get(variant);
  if (!model) {
    const { data, y } = loanData(400, 1000 + variant);
    const fitted = fitTabularModel({
      data,
      y,
      signature: SIGNATURE,
      estimator: new LogisticRegression({ C: 0.05 * (variant + 1) }),
      encoding: 'linear',
    });
    model = parseModelFile(JSON.stringify(fitted.toJSON()));
    models.set(variant, model);
  }
  return model;
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
