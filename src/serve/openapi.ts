/**
 * OpenAPI document and Swagger UI. Route schemas are compiled once at registration, but a model's input fields change
 * with each promoted version, so the predict routes carry no body schema: the document is completed at each read
 * (GET /openapi.json, /docs/json) with the contract of the version served at that moment.
 */
import { readFileSync } from 'node:fs';
import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import type { FastifyInstance } from 'fastify';
import type { ServedModels } from './served-models.js';

const packageVersion = (JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string })
  .version;

export const errorSchema = {
  type: 'object',
  properties: {
    error: { type: 'string' },
    message: { type: 'string' },
    details: {
      type: 'array',
      items: {
        type: 'object',
        properties: { field: { type: 'string' }, message: { type: 'string' }, row: { type: 'integer' } },
      },
    },
  },
} as const;

export const predictionAnswerSchema = {
  type: 'object',
  properties: {
    prediction_id: { type: 'string', description: 'Id of the stored prediction (for POST /feedback)' },
    prediction: { type: 'integer', enum: [0, 1] },
    probability: { type: 'number', description: 'Probability of the positive class' },
    threshold: { type: 'number', description: 'prediction = 1 when probability >= threshold' },
    label: { type: 'string', description: 'The predicted class as a label' },
    row_id: { type: ['string', 'null'], description: 'The row id sent with the row, if any' },
    model: {
      type: 'object',
      properties: { name: { type: 'string' }, version: { type: 'integer' } },
    },
  },
  required: ['prediction_id', 'prediction', 'probability', 'threshold', 'label', 'model'],
} as const;

const modelRef = {
  type: 'object',
  properties: { name: { type: 'string' }, version: { type: 'integer' } },
} as const;

/** The answer of a multi-class model. */
export const multiclassAnswerSchema = {
  type: 'object',
  properties: {
    prediction_id: { type: 'string', description: 'Id of the stored prediction (for POST /feedback)' },
    label: { type: 'string', description: 'The most probable class' },
    probabilities: { type: 'object', additionalProperties: { type: 'number' }, description: 'Probability of each class, by label' },
    row_id: { type: ['string', 'null'], description: 'The row id sent with the row, if any' },
    model: modelRef,
  },
  required: ['prediction_id', 'label', 'probabilities', 'model'],
} as const;

/** The answer of a regression model. */
export const regressionAnswerSchema = {
  type: 'object',
  properties: {
    prediction_id: { type: 'string', description: 'Id of the stored prediction (for POST /feedback)' },
    value: { type: 'number', description: 'The predicted value' },
    row_id: { type: ['string', 'null'], description: 'The row id sent with the row, if any' },
    model: modelRef,
  },
  required: ['prediction_id', 'value', 'model'],
} as const;

export async function registerDocs(app: FastifyInstance, options: { authEnabled: boolean }): Promise<void> {
  await app.register(swagger, {
    openapi: {
      openapi: '3.1.0',
      info: {
        title: 'mldeploy prediction API',
        version: packageVersion,
        description: 'Predictions from the production version of each registered model; every prediction is stored.',
      },
      components: {
        securitySchemes: {
          bearer: { type: 'http', scheme: 'bearer' },
          apiKey: { type: 'apiKey', in: 'header', name: 'x-api-key' },
        },
      },
      security: options.authEnabled ? [{ bearer: [] }, { apiKey: [] }] : [],
    },
  });
}

/** Swagger UI under /docs and the document at /openapi.json, both showing the served versions' fields. */
export async function registerDocsUi(app: FastifyInstance, models: ServedModels): Promise<void> {
  await app.register(swaggerUi, {
    routePrefix: '/docs',
    transformSpecification: (spec) => withServedModels(spec as Record<string, any>, models),
    transformSpecificationClone: true,
  });
  app.get('/openapi.json', { schema: { hide: true } }, () => withServedModels(structuredClone(app.swagger()), models));
}

/** Adds each served model's row schema to the (cloned) document and uses it as the predict routes' request body. */
export function withServedModels(spec: Record<string, any>, models: ServedModels): Record<string, any> {
  spec.components ??= {};
  spec.components.schemas ??= {};
  const bodies: Record<string, unknown>[] = [];
  let defaultBody: Record<string, unknown> | undefined;
  for (const status of models.statuses()) {
    if (!status.served) {
      if (status.isDefault) defaultBody = { type: 'object', description: `Not served now: ${status.reason}` };
      continue;
    }
    const schemaName = `${status.name}_v${status.served.version}_row`;
    spec.components.schemas[schemaName] = {
      ...status.served.contract.rowSchema,
      title: `${status.name} version ${status.served.version}: one row`,
    };
    const ref = { $ref: `#/components/schemas/${schemaName}` };
    const body = { oneOf: [ref, { type: 'array', items: ref, minItems: 1 }] };
    bodies.push(body);
    if (status.isDefault) defaultBody = body;
  }
  const setBody = (path: string, schema: Record<string, unknown> | undefined) => {
    const operation = spec.paths?.[path]?.post;
    if (operation && schema) operation.requestBody = { required: true, content: { 'application/json': { schema } } };
  };
  setBody('/predict', defaultBody);
  setBody('/models/{name}/predict', bodies.length === 1 ? bodies[0] : bodies.length > 1 ? { anyOf: bodies } : undefined);
  return spec;
}
