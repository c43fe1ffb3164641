export { openStore, dialectOf, redactUrl, type Store, type DialectName } from './connect.js';
export { migrateToLatest } from './migrations.js';
export type * from './schema.js';
