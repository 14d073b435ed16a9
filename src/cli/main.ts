/**
 * The `helpdesk` binary: one entry, one command per role or task.
 */
import { ConfigError, config } from '../config';
import { logger } from '../logger';
import { UsageError } from './args';
import { doctorCommand } from './commands/doctor';
import { jobsCommand } from './commands/jobs';
import { mailCommand } from './commands/mail';
import { migrateCommand } from './commands/migrate';
import { startCommand } from './commands/start';
import { suppressionsCommand } from './commands/suppressions';
import { tokenCommand, userCommand } from './commands/users';

const USAGE = `usage: helpdesk <command>

  start [--roles api,imap,mailer,scheduler] [--no-migrate]
                                        run the roles in this process (default: all four)
  migrate [--rollback]                  apply (or roll back) migrations
  user create --email E --name N [--role admin|agent]
                                        create a user; prints one new API token
  token create --email E                print a new API token for the user
  token revoke --email E                revoke all of the user's tokens
  mail import --mailbox ID_OR_ADDRESS [FILE|-]
                                        run one raw message through the inbound pipeline
                                        (exit 75 when the database is unreachable)
  mail import --mailbox ID_OR_ADDRESS --mbox FILE [--mbox-format mboxrd|mboxo] [--restart]
  mail import --mailbox ID_OR_ADDRESS --maildir DIR [--restart]
                                        import an archive in order; run again after an
                                        interruption, it goes on where it stopped
  jobs list                             the scheduled jobs and their schedules
  jobs run NAME [--now ISO-8601]        run one job once, as if the clock read NOW
  suppressions list [ADDRESS]           addresses no mail goes to (a linked bounce or complaint)
  suppressions clear ADDRESS            the address gets mail again
  doctor                                check the configuration, secret, database, migrations,
                                        mailboxes' IMAP logins, SMTP and Chromium; one line each
                                        (exit 1 when any check fails)
`;

const COMMANDS: Record<string, (argv: string[]) => Promise<number>> = {
  start: startCommand,
  migrate: migrateCommand,
  user: userCommand,
  token: tokenCommand,
  mail: mailCommand,
  jobs: jobsCommand,
  suppressions: suppressionsCommand,
  doctor: doctorCommand,
};

export async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  const command = name ? COMMANDS[name] : undefined;
  if (!command) {
    process.stderr.write(name && name !== 'help' && name !== '--help' ? `unknown command ${name}\n\n${USAGE}` : USAGE);
    return name && name !== 'help' && name !== '--help' ? 64 : 0;
  }
  try {
    if (command !== doctorCommand) config(); // the doctor reports a bad configuration as its first checks
    return await command(rest);
  } catch (e) {
    if (e instanceof ConfigError || e instanceof UsageError) {
      process.stderr.write(`helpdesk: ${e.message}\n`);
      return e instanceof UsageError ? 64 : 1;
    }
    logger.error({ err: e }, 'command failed');
    process.stderr.write(`helpdesk: ${(e as Error).message}\n`);
    return 1;
  }
}

process.on('unhandledRejection', (reason) => {
  logger.fatal({ err: reason }, 'unhandled rejection; exiting so the supervisor restarts a clean process');
  process.exit(70);
});

if (require.main === module) {
  main(process.argv.slice(2)).then(
    (code) => process.exit(code),
    (e) => {
      logger.fatal({ err: e }, 'fatal');
      process.exit(1);
    },
  );
}
