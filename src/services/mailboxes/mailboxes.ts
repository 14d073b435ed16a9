/**
 * Mailboxes: a support address, the IMAP account its mail arrives in, and what its new
 * tickets get by default. The IMAP password is write-only and encrypted at rest.
 */
import type { Knex } from 'knex';
import { cached, invalidate } from '../../cache';
import { conn } from '../../db/transaction';
import { decryptSecret, encryptSecret } from '../../crypto';
import { AppError, invalid } from '../../errors';
import { Mailbox } from '../../models/Mailbox';
import { crud } from '../crud';
import { requireReference } from '../lookup';

async function prepare(trx: Knex, fields: Record<string, unknown>, existing?: Mailbox) {
  const out: Record<string, unknown> = { ...fields };
  for (const [field, table] of [
    ['team_id', 'support_teams'],
    ['priority_id', 'priorities'],
    ['ticket_category_id', 'ticket_categories'],
    ['ticket_sub_category_id', 'ticket_sub_categories'],
  ] as const) {
    await requireReference(trx, table, out[field] as number | undefined, field);
  }
  if (out.email !== undefined) {
    const q = trx('mailboxes').whereRaw('lower(email) = lower(?)', [out.email as string]);
    if (existing) q.whereNot({ id: existing.id });
    if (await q.first('id')) {
      throw new AppError(409, 'email_taken', 'another mailbox already has that address', { fields: { email: 'is taken' } });
    }
    out.email = (out.email as string).toLowerCase();
  }
  if ('imap_password' in out) {
    const password = out.imap_password as string | null;
    out.imap_password_encrypted = password ? encryptSecret(password) : null;
    delete out.imap_password;
  }
  const afterImport = out.after_import ?? existing?.after_import;
  const moveTo = 'move_to' in out ? out.move_to : existing?.move_to;
  if (afterImport === 'move' && !moveTo) throw invalid({ move_to: 'is required when after_import is move' });
  const checked = (out.authenticity ?? existing?.authenticity ?? 'off') !== 'off';
  const source = out.auth_source ?? existing?.auth_source ?? 'verify';
  const authservId = 'authserv_id' in out ? out.authserv_id : existing?.authserv_id;
  if (checked && source === 'trusted_header' && !authservId) {
    throw invalid({ authserv_id: "is required when auth_source is trusted_header: the authserv-id of the mailbox's own server" });
  }
  // a changed server, account or folder is a new mailbox as far as the cursor goes
  if (existing && ['imap_host', 'imap_port', 'imap_username', 'imap_folder'].some((k) => k in out && out[k] !== (existing as never)[k])) {
    out.uid_validity = null;
    out.last_uid = null;
  }
  return out;
}

export const mailboxes = crud<Mailbox>({
  model: Mailbox,
  what: 'mailbox',
  prepare,
  afterWrite: async () => invalidate('mailbox-addresses'),
  beforeDelete: async () => invalidate('mailbox-addresses'),
});

/** The mailbox named by id or address (for `helpdesk mail import --mailbox`). */
export async function findMailbox(idOrAddress: string, trx?: Knex): Promise<Mailbox | undefined> {
  const q = Mailbox.query(conn(trx));
  return /^\d+$/.test(idOrAddress) ? q.findById(Number(idOrAddress)) : q.whereRaw('lower(email) = lower(?)', [idOrAddress]).first();
}

/** Every address of ours: mail to them is never sent, mail from them is never a customer's. */
export async function ourAddresses(trx?: Knex): Promise<Set<string>> {
  return cached('mailbox-addresses', async () => {
    const rows: { email: string }[] = await conn(trx)('mailboxes').select('email');
    return new Set(rows.map((r) => r.email.toLowerCase()));
  });
}

export function imapPassword(mailbox: Mailbox): string | undefined {
  return mailbox.imap_password_encrypted ? decryptSecret(mailbox.imap_password_encrypted) : undefined;
}
