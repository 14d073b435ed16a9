/**
 * Opens the process's database: DATABASE_URL when set, else the embedded server.
 */
import type { Config } from '../config';
import { logger, redactUrl } from '../logger';
import { openEmbedded } from './embedded';
import { closeDatabase, createKnex, useDatabase } from './knex';

export interface OpenDatabase {
  url: string;
  /** Closes the pool, then stops the embedded server when this process started it. */
  close(): Promise<void>;
}

export async function openDatabase(cfg: Config): Promise<OpenDatabase> {
  let url = cfg.databaseUrl;
  let stopEmbedded = async () => undefined as void;
  if (!url) {
    const embedded = await openEmbedded(cfg);
    url = embedded.url;
    stopEmbedded = embedded.stop;
  }
  useDatabase(createKnex(url, cfg.dbPoolMax));
  logger.debug({ url: redactUrl(url) }, 'database opened');
  return {
    url,
    close: async () => {
      await closeDatabase();
      await stopEmbedded();
    },
  };
}
