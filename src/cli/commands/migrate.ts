import { config } from '../../config';
import { db } from '../../db/knex';
import { migrateLatest, migrateRollback } from '../../db/migrate';
import { openDatabase } from '../../db/open';
import { parse } from '../args';

/** `helpdesk migrate [--rollback]`. */
export async function migrateCommand(argv: string[]): Promise<number> {
  const { values } = parse(argv, { rollback: { type: 'boolean', default: false } });
  const database = await openDatabase(config());
  try {
    const names = values.rollback ? await migrateRollback(db()) : await migrateLatest(db());
    process.stdout.write(names.length ? `${values.rollback ? 'rolled back' : 'applied'}: ${names.join(', ')}\n` : 'nothing to do\n');
    return 0;
  } finally {
    await database.close();
  }
}
