/** The worker thread of in-thread.ts: opens the services from the configuration it is given and runs train_model. */
import { parentPort, workerData } from 'node:worker_threads';
import { openContext } from '../../context.js';
import { createLogger } from '../../logger.js';
import { serialiseError, type TrainThreadInput, type TrainThreadMessage } from './in-thread.js';
import { trainModel } from './train-model.js';

const port = parentPort!;
const { config, options } = workerData as TrainThreadInput;
const send = (message: TrainThreadMessage) => port.postMessage(message);
const forward = (level: 'info' | 'warn' | 'error') => (message: string, data?: Record<string, unknown>) =>
  send({ kind: 'log', level, message, ...(data === undefined ? {} : { data }) });

try {
  // The task log (sent to the calling thread) is where this work reports; the process log gets it from there.
  const app = await openContext(config, createLogger('warn'));
  try {
    const result = await trainModel(app, options, { info: forward('info') });
    send({ kind: 'done', result });
  } finally {
    await app.close();
  }
} catch (error) {
  send({ kind: 'failed', error: serialiseError(error) });
}
