/** Experiments with how many runs they hold and when they last ran. */
import type { Kysely } from 'kysely';
import type { Database } from '../../db/schema.js';
import { count, type PageRequest, type Paged } from './common.js';

export interface ExperimentSummary {
  id: string;
  name: string;
  createdAt: string;
  runCount: number;
  lastRunAt: string | null;
}

export async function listExperiments(db: Kysely<Database>, page: PageRequest): Promise<Paged<ExperimentSummary>> {
  const [rows, total] = await Promise.all([
    db
      .selectFrom('experiments as e')
      .leftJoin('runs as r', 'r.experiment_id', 'e.id')
      .select((eb) => [
        'e.id',
        'e.name',
        'e.created_at',
        eb.fn.count('r.id').as('run_count'),
        eb.fn.max('r.start_time').as('last_run_at'),
      ])
      .groupBy(['e.id', 'e.name', 'e.created_at'])
      .orderBy('e.created_at', 'desc')
      .orderBy('e.id')
      .limit(page.limit)
      .offset(page.offset)
      .execute(),
    db.selectFrom('experiments').select((eb) => eb.fn.countAll().as('n')).executeTakeFirstOrThrow(),
  ]);
  return {
    total: count(total.n),
    ...page,
    items: rows.map((r) => ({
      id: r.id,
      name: r.name,
      createdAt: r.created_at,
      runCount: count(r.run_count),
      lastRunAt: r.last_run_at ?? null,
    })),
  };
}

/** An experiment by id or by name (the CLI and the pipelines name experiments; the API hands out ids). */
export async function findExperiment(
  db: Kysely<Database>,
  idOrName: string,
): Promise<{ id: string; name: string; createdAt: string } | undefined> {
  const row = await db
    .selectFrom('experiments')
    .select(['id', 'name', 'created_at'])
    .where((eb) => eb.or([eb('id', '=', idOrName), eb('name', '=', idOrName)]))
    .orderBy('id')
    .executeTakeFirst();
  return row && { id: row.id, name: row.name, createdAt: row.created_at };
}
