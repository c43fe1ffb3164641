/** Terminal output for the CLI: aligned tables, human log lines on stderr, a progress bar when stderr is a TTY. */
import { createRequire } from 'node:module';
import { Writable } from 'node:stream';
import type * as CliProgress from 'cli-progress';
import { pino, type Logger } from 'pino';
import type { ProgressBar } from '../context.js';

export function printTable(rows: Record<string, unknown>[], columns?: string[]): void {
  if (rows.length === 0) {
    process.stdout.write('(none)\n');
    return;
  }
  const keys = columns ?? Object.keys(rows[0]);
  const cells = rows.map((row) => keys.map((k) => formatCell(row[k])));
  const widths = keys.map((k, i) => Math.max(k.length, ...cells.map((c) => c[i].length)));
  const line = (values: string[]) => values.map((v, i) => v.padEnd(widths[i])).join('  ').trimEnd();
  process.stdout.write(`${line(keys)}\n${line(widths.map((w) => '-'.repeat(w)))}\n`);
  for (const c of cells) process.stdout.write(`${line(c)}\n`);
}

function formatCell(value: unknown): string {
  if (value === null || value === undefined) return '';
  if (typeof value === 'number') return Number.isInteger(value) ? String(value) : value.toFixed(4);
  if (typeof value === 'object') return JSON.stringify(value);
  return String(value);
}

const LEVELS: Record<number, string> = { 10: 'trace', 20: 'debug', 30: 'info', 40: 'warn', 50: 'error', 60: 'fatal' };

interface LogEntry {
  time?: number;
  level?: number;
  msg?: string;
  taskId?: string;
  reqId?: string;
  req?: { method?: string; url?: string };
  res?: { statusCode?: number };
  responseTime?: number;
  err?: { message?: string };
}

/** The message, with what a request log line is about (Fastify puts it in req/res, not in msg). */
function describe(entry: LogEntry): string {
  const parts = [entry.msg ?? ''];
  if (entry.req) parts.push(`${entry.req.method ?? ''} ${entry.req.url ?? ''}`.trim());
  if (entry.res?.statusCode) parts.push(`${entry.res.statusCode}${entry.responseTime !== undefined ? ` in ${entry.responseTime.toFixed(1)} ms` : ''}`);
  if (entry.err?.message && !entry.msg?.includes(entry.err.message)) parts.push(entry.err.message);
  return parts.filter(Boolean).join(' ');
}

/** A pino logger that writes short human lines to stderr: "12:00:01 train_model  message". */
export function humanLogger(level = 'info'): Logger {
  const stream = new Writable({
    write(chunk: Buffer, _encoding, done) {
      for (const text of chunk.toString('utf8').split('\n')) {
        if (!text) continue;
        try {
          const entry = JSON.parse(text) as LogEntry;
          const time = new Date(entry.time ?? Date.now()).toISOString().slice(11, 19);
          const lvl = LEVELS[entry.level ?? 30] ?? 'info';
          const where = entry.taskId ? `${entry.taskId.padEnd(16)} ` : '';
          process.stderr.write(`${time} ${lvl === 'info' ? '' : `${lvl.toUpperCase()} `}${where}${describe(entry)}\n`);
        } catch {
          process.stderr.write(`${text}\n`);
        }
      }
      done();
    },
  });
  return pino({ level }, stream);
}

/** A byte-progress bar on a TTY; silent otherwise (logs and CI stay clean). */
export function progressBar(label: string): ProgressBar {
  if (!process.stderr.isTTY) return { update() {}, stop() {} };
  // Loaded only to draw a bar: most commands never do.
  const cliProgress = createRequire(import.meta.url)('cli-progress') as typeof CliProgress;
  const bar = new cliProgress.SingleBar(
    {
      format: `${label} [{bar}] {percentage}% | {rows} rows | {rate} rows/s | ETA {eta}s`,
      stream: process.stderr,
      hideCursor: true,
    },
    cliProgress.Presets.shades_classic,
  );
  let started = false;
  const t0 = performance.now();
  return {
    update(done: number, total: number, rows?: number) {
      if (!started) {
        bar.start(total, 0, { rows: 0, rate: 0 });
        started = true;
      }
      const seconds = (performance.now() - t0) / 1000;
      bar.update(done, { rows: rows ?? 0, rate: rows && seconds > 0 ? Math.round(rows / seconds) : 0 });
    },
    stop() {
      if (started) bar.stop();
    },
  };
}
