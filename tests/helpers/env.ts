/**
 * The environment every test file starts with: a fixed secret, quiet logs, a throwaway
 * data dir. Test files that need a database get one from `useTestDatabase()`.
 */
import os from 'node:os';
import path from 'node:path';

process.env.HELPDESK_SECRET ??= 'test-secret-0123456789abcdef';
process.env.LOG_LEVEL ??= 'silent';
process.env.HELPDESK_DATA_DIR ??= path.join(os.tmpdir(), `helpdesk-test-${process.pid}`);
process.env.MAIL_FROM ??= 'support@helpdesk.test';
process.env.DATABASE_URL ??= 'postgres://postgres@127.0.0.1:5432/unused';
