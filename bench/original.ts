/** The original stack (FastAPI + scikit-learn + MariaDB) that mldeploy replaces, as the benchmarks compare with it. */

/** The body the original FastAPI service was called and benchmarked with (`id` is the caller's row id). */
export const ORIGINAL_REQUEST = {
  id: 0,
  age: 35.0,
  annual_income: 107770.0,
  credit_score: 331.0,
  loan_amount: 31580.0,
  loan_duration_years: 28,
  number_of_open_accounts: 13.0,
  had_past_default: 0,
};

/** From /work/shared/reference/README.md: FastAPI + scikit-learn + a MariaDB insert per request, 16 connections. */
export const ORIGINAL_SERVING = { requestsPerSecond: 100, p99Ms: 240 };
