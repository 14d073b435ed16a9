/**
 * What the mail benchmarks share: a mailbox over a Dovecot user's backlog, and the
 * backlog ingested by a running `imap` role, timed until the cursor has passed its last
 * UID (messages sharing a Message-ID are stored once, so the row count can stay below the
 * number appended).
 */
import type { Knex } from 'knex';
import { ImapRole } from '../../src/mail/imap/imapRole';
import type { Mailbox } from '../../src/models/Mailbox';
import { mailboxes } from '../../src/services/mailboxes/mailboxes';
import type { Dovecot } from '../../tests/helpers/dovecot';
import { profiled } from './profile';

/** A mailbox importing everything `user` holds; `settings` adds to (or overrides) the defaults. */
export function benchMailbox(dovecot: Dovecot, user: string, email: string, settings: Record<string, unknown> = {}): Promise<Mailbox> {
  return mailboxes.create({
    name: `Bench ${user}`,
    email,
    imap_host: '127.0.0.1',
    imap_port: dovecot.port,
    imap_secure: false,
    imap_username: user,
    imap_password: 'secret',
    import_existing: 'all',
    unknown_sender: 'quarantine',
    ...settings,
  });
}

/**
 * Starts an `imap` role and waits until `box` has `total` messages behind its cursor (the
 * wait profiled with BENCH_CPU_PROFILE). Returns the rate and the running role: the caller
 * stops it (after measuring latency on the idling mailbox, say).
 */
export async function ingestBacklog(knex: Knex, box: Mailbox, total: number): Promise<{ emailsPerSecond: number; role: ImapRole }> {
  const role = new ImapRole({ pollMs: 1000, backoffMaxMs: 2000 });
  const lastUid = async () => Number((await knex('mailboxes').where({ id: box.id }).first('last_uid')).last_uid ?? 0);
  const started = Date.now();
  await profiled(async () => {
    await role.start();
    while ((await lastUid()) < total) await new Promise((r) => setTimeout(r, 100));
  });
  return { emailsPerSecond: total / ((Date.now() - started) / 1000), role };
}
