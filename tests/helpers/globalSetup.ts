/**
 * Before the integration tests: install what they need and is missing (Dovecot, Chromium,
 * pdftotext), drop what dead runs left behind, then migrate this run's template database.
 */
import { createKnex } from '../../src/db/knex';
import { migrateLatest } from '../../src/db/migrate';
import { ensureDovecotInstalled } from './dovecot';
import { ensurePdfToolsInstalled } from './pdfTools';
import { admin, databaseUrl, ownerPid, templateDatabase } from './testDatabase';

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

export default async function globalSetup(): Promise<void> {
  ensureDovecotInstalled();
  ensurePdfToolsInstalled();
  process.env.HELPDESK_TEST_TEMPLATE = `hd_test_${process.pid}_template`;
  const template = templateDatabase();
  await admin(async (c) => {
    const found = await c.query(`select datname from pg_database where datname like 'hd_test_%'`);
    for (const { datname } of found.rows as { datname: string }[]) {
      const pid = ownerPid(datname);
      if (pid === undefined || pid === process.pid || !alive(pid)) {
        await c.query(`drop database if exists ${datname} with (force)`);
      }
    }
    await c.query(`create database ${template}`);
  });
  const knex = createKnex(databaseUrl(template), 2);
  try {
    await migrateLatest(knex);
  } finally {
    await knex.destroy();
  }
}
