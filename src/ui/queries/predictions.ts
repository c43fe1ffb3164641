/** Served predictions, newest first, with the inputs that produced them and any feedback label. */
import type { Kysely } from 'kysely';
import type { Database } from '../../db/schema.js';
import { parseJson, type PageRequest } from './common.js';

export interface PredictionView {
  id: string;
  requestId: string;
  createdAt: string;
  modelName: string;
  modelVersion: number;
  rowId: string | null;
  inputs: unknown;
  probability: number;
  prediction: number;
  threshold: number;
  /** Ground truth from POST /feedback, when given. */
  label: number | null;
  labelAt: string | null;
}

/** Predictions are the one table that grows without bound, so pages say whether more exist instead of counting. */
export interface PredictionPage {
  limit: number;
  offset: number;
  hasMore: boolean;
  items: PredictionView[];
}

export async function listPredictions(
  db: Kysely<Database>,
  filter: { model?: string } & PageRequest,
): Promise<PredictionPage> {
  let query = db.selectFrom('predictions').selectAll();
  if (filter.model) query = query.where('model_name', '=', filter.model);
  const rows = await query
    .orderBy('created_at', 'desc')
    .orderBy('id', 'desc')
    .limit(filter.limit + 1)
    .offset(filter.offset)
    .execute();
  return {
    limit: filter.limit,
    offset: filter.offset,
    hasMore: rows.length > filter.limit,
    items: rows.slice(0, filter.limit).map((r) => ({
      id: r.id,
      requestId: r.request_id,
      createdAt: r.created_at,
      modelName: r.model_name,
      modelVersion: Number(r.model_version),
      rowId: r.row_id,
      inputs: parseJson(r.inputs_json),
      probability: Number(r.probability),
      prediction: Number(r.prediction),
      threshold: Number(r.threshold),
      label: r.label === null ? null : Number(r.label),
      labelAt: r.label_at,
    })),
  };
}

/** Model names that have served predictions, for the filter. */
export async function listPredictionModels(db: Kysely<Database>): Promise<string[]> {
  const rows = await db.selectFrom('predictions').select('model_name').distinct().orderBy('model_name').execute();
  return rows.map((r) => r.model_name);
}
