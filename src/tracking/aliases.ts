/** The alias the API serves and the promotion gate guards. */
export const PRODUCTION_ALIAS = 'production';
