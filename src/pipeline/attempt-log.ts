/**
 * The log of one task attempt: every line goes to the process logger (pino) and into a bounded buffer that is stored
 * with the attempt. The bound keeps the first and the last lines (where the setup and the failure usually are) and
 * fits MySQL's TEXT column (64 KiB).
 */
import type { Logger } from 'pino';
import type { TaskLogger } from './dag.js';

export const DEFAULT_LOG_BUDGET_BYTES = 60_000;
const MAX_LINE_BYTES = 4000;

type Level = 'info' | 'warn' | 'error';

export class AttemptLog implements TaskLogger {
  private readonly head: string[] = [];
  private readonly tail: string[] = [];
  private headBytes = 0;
  private tailBytes = 0;
  private omitted = 0;
  private version = 0;

  constructor(
    private readonly logger: Logger,
    private readonly budgetBytes = DEFAULT_LOG_BUDGET_BYTES,
  ) {}

  info(message: string, data?: Record<string, unknown>): void {
    this.write('info', message, data);
  }
  warn(message: string, data?: Record<string, unknown>): void {
    this.write('warn', message, data);
  }
  error(message: string, data?: Record<string, unknown>): void {
    this.write('error', message, data);
  }

  /** Changes whenever a line is added: lets the periodic flush skip unchanged logs. */
  get revision(): number {
    return this.version;
  }

  text(): string {
    if (this.omitted === 0) return [...this.head, ...this.tail].join('\n');
    return [...this.head, `... ${this.omitted} lines omitted ...`, ...this.tail].join('\n');
  }

  private write(level: Level, message: string, data?: Record<string, unknown>): void {
    if (data === undefined) this.logger[level](message);
    else this.logger[level](data, message);
    const suffix = data === undefined ? '' : ` ${jsonOrString(data)}`;
    this.append(clip(`${new Date().toISOString()} ${level.toUpperCase().padEnd(5)} ${message}${suffix}`));
  }

  private append(line: string): void {
    this.version++;
    const bytes = Buffer.byteLength(line) + 1;
    const half = this.budgetBytes / 2;
    if (this.tail.length === 0 && this.headBytes + bytes <= half) {
      this.head.push(line);
      this.headBytes += bytes;
      return;
    }
    this.tail.push(line);
    this.tailBytes += bytes;
    while (this.tailBytes > half && this.tail.length > 0) {
      this.tailBytes -= Buffer.byteLength(this.tail.shift()!) + 1;
      this.omitted++;
    }
  }
}

function clip(line: string): string {
  if (Buffer.byteLength(line) <= MAX_LINE_BYTES) return line;
  return `${Buffer.from(line).subarray(0, MAX_LINE_BYTES).toString().replace(/\uFFFD$/, '')}… [line clipped]`;
}

function jsonOrString(data: Record<string, unknown>): string {
  try {
    return JSON.stringify(data);
  } catch {
    return String(data);
  }
}
