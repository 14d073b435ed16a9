/**
 * Entry point of a process that runs only the `scheduler` role (same as
 * `helpdesk start --roles scheduler`).
 */
import { main } from '../src/cli/main';

main(['start', '--roles', 'scheduler', ...process.argv.slice(2)]).then((code) => process.exit(code));
