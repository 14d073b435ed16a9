/**
 * Entry point of a process that runs only the `api` role (same as
 * `helpdesk start --roles api`).
 */
import { main } from '../src/cli/main';

main(['start', '--roles', 'api', ...process.argv.slice(2)]).then((code) => process.exit(code));
