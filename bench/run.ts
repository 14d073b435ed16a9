/**
 * `npm run bench`: every benchmark, one JSON line per figure, each beside its floor.
 * Set LOG_LEVEL (default silent) and BENCH_* variables to change sizes.
 */
process.env.LOG_LEVEL ??= 'silent';
process.env.HELPDESK_SECRET ??= 'bench-secret-0123456789abcdef';
process.env.DATABASE_URL ??= 'postgres://postgres@127.0.0.1:5432/unused';

async function main(): Promise<void> {
  // required after the environment above is set: the logger reads it on load
  const { benchApi } = require('./api') as typeof import('./api');
  await benchApi();
}

main().then(
  () => process.exit(0),
  (e) => {
    process.stderr.write(`${(e as Error).stack}\n`);
    process.exit(1);
  },
);
