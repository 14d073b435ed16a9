/**
 * After the integration tests: drop this run's template.
 */
import { admin, templateDatabase } from './testDatabase';

export default async function globalTeardown(): Promise<void> {
  await admin((c) => c.query(`drop database if exists ${templateDatabase()} with (force)`));
}
