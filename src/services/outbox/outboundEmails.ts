/**
 * The record of every message sent or queued, and the retry an agent asks for: a failed,
 * bounced or suppressed message is queued again (same Message-ID), its attempts and retry
 * window starting over.
 */
import type { Knex } from 'knex';
import { now } from '../../clock';
import { conn } from '../../db/transaction';
import { AppError } from '../../errors';
import { type Page, type PageRequest, fetchModelPage } from '../../http/pagination';
import { OutboundEmail, type OutboundState } from '../../models/OutboundEmail';
import { found } from '../lookup';

export async function listOutboundEmails(
  opts: { page: PageRequest; state?: OutboundState; ticket_id?: number; template?: string; message_id?: string },
  trx?: Knex,
): Promise<Page<OutboundEmail>> {
  const q = OutboundEmail.query(conn(trx)).orderBy('id', 'desc');
  if (opts.state) q.where({ state: opts.state });
  if (opts.ticket_id) q.where({ ticket_id: opts.ticket_id });
  if (opts.template) q.where({ template: opts.template });
  if (opts.message_id) q.where({ message_id: opts.message_id });
  return fetchModelPage(q, opts.page);
}

export async function showOutboundEmail(id: number, trx?: Knex): Promise<OutboundEmail> {
  return found(await OutboundEmail.query(conn(trx)).findById(id), 'outbound email', id);
}

const RETRYABLE: OutboundState[] = ['failed', 'bounced', 'suppressed'];

export async function retryOutboundEmail(id: number, trx?: Knex): Promise<OutboundEmail> {
  const at = now();
  const updated = await OutboundEmail.query(conn(trx))
    .findById(id)
    .whereIn('state', RETRYABLE)
    .patch({
      state: 'queued',
      attempts: 0,
      next_attempt_at: at,
      queued_at: at,
      last_error: null,
      suppressed_reason: null,
      dropped_recipients: [],
      rejected_recipients: [],
      updated_at: at,
    });
  const row = await showOutboundEmail(id, trx);
  if (!updated) throw new AppError(409, 'conflict', `only failed, bounced or suppressed messages can be retried; this one is ${row.state}`);
  return row;
}
