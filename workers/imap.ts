/**
 * Entry point of a process that runs only the `imap` role (same as
 * `helpdesk start --roles imap`).
 */
import { main } from '../src/cli/main';

main(['start', '--roles', 'imap', ...process.argv.slice(2)]).then((code) => process.exit(code));
