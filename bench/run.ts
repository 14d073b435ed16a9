/**
 * `npm run bench [api|ingest|outbox|hostile|export|reports]`: every benchmark (or one), one JSON line per figure, each
 * beside its floor.
 * Set LOG_LEVEL (default silent) and BENCH_* variables to change sizes.
 */
process.env.LOG_LEVEL ??= 'silent';
process.env.HELPDESK_SECRET ??= 'bench-secret-0123456789abcdef';
process.env.DATABASE_URL ??= 'postgres://postgres@127.0.0.1:5432/unused';

async function main(): Promise<void> {
  // required after the environment above is set: the logger reads it on load
  const only = process.argv[2];
  if (!only || only === 'api') await (require('./api') as typeof import('./api')).benchApi();
  if (!only || only === 'ingest') await (require('./ingest') as typeof import('./ingest')).benchIngest();
  if (!only || only === 'outbox') await (require('./outbox') as typeof import('./outbox')).benchOutbox();
  if (!only || only === 'hostile') await (require('./hostile') as typeof import('./hostile')).benchHostile();
  if (!only || only === 'export') await (require('./export') as typeof import('./export')).benchExport();
  // the million-ticket data set is kept between runs; only on demand
  if (only === 'reports') await (require('./reports') as typeof import('./reports')).benchReports();
}

main().then(
  () => process.exit(0),
  (e) => {
    process.stderr.write(`${(e as Error).stack}\n`);
    process.exit(1);
  },
);
