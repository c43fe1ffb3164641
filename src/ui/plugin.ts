/**
 * The dashboard: a read-only JSON API under /api and server-rendered pages under /ui over pipelines, experiments,
 * models, predictions and datasets. Register it with `app.register(dashboardPlugin, { store, ... })` so its error
 * handler stays inside the plugin.
 */
import type { FastifyError, FastifyInstance } from 'fastify';
import { errorAnswer } from '../serve/errors.js';
import type { DashboardContext, DashboardOptions } from './context.js';
import { errorPage } from './pages/errors.js';
import { registerDatasetApi } from './routes/api-datasets.js';
import { registerModelApi } from './routes/api-models.js';
import { registerPipelineApi } from './routes/api-pipelines.js';
import { registerPredictionApi } from './routes/api-predictions.js';
import { registerTrackingApi } from './routes/api-tracking.js';
import { registerPages } from './routes/pages.js';
import { sendPage } from './routes/http.js';

export async function dashboardPlugin(app: FastifyInstance, opts: DashboardOptions): Promise<void> {
  const ctx: DashboardContext = { db: opts.store.db, options: opts, base: app.prefix };

  // A client's error gets the API's status and body (src/serve/errors.ts), on a page as an HTML error page. A failure
  // of the server shows an error page too, while API failures go on to the host app's handler unchanged.
  app.setErrorHandler((error: FastifyError, request, reply) => {
    const { status, body } = errorAnswer(error, { bodyLimit: app.initialConfig.bodyLimit ?? 0 });
    if (!request.url.startsWith(`${ctx.base}/ui`)) {
      if (status >= 500) throw error;
      return reply.code(status).send(body);
    }
    if (status >= 500) request.log.error({ err: error }, 'dashboard page failed');
    const message = status >= 500 ? 'The page could not be built; the server log has the details.' : body.message;
    return sendPage(reply, errorPage(ctx.base, 'overview', `Error ${status}`, message), status);
  });

  registerPipelineApi(app, ctx);
  registerTrackingApi(app, ctx);
  registerModelApi(app, ctx);
  registerPredictionApi(app, ctx);
  registerDatasetApi(app, ctx);
  registerPages(app, ctx);
}
