/**
 * Entry point of a process that runs only the `mailer` role (same as
 * `helpdesk start --roles mailer`).
 */
import { main } from '../src/cli/main';

main(['start', '--roles', 'mailer', ...process.argv.slice(2)]).then((code) => process.exit(code));
