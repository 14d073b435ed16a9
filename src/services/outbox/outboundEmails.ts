/**
 * The record of every message sent or queued, and the retry an agent asks for: a failed,
 * bounced or suppressed message is queued again (same Message-ID), its attempts and retry
 * window starting over; a queued one waiting out its backoff is sent now.
 */
import type { Knex } from 'knex';
import { now, wallClock } from '../../clock';
import { conn } from '../../db/transaction';
import { AppError, conflict } from '../../errors';
import { type Page, type PageRequest, fetchModelPage } from '../../db/pagination';
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

/**
 * "Send it now". A failed, bounced or suppressed message is queued again from the start
 * (every recipient, attempts and retry window anew). A queued message waiting out its
 * backoff falls due now. A queued message a mailer lane holds (its claim token set, the
 * lease running) is being sent: 409 `being_sent`. A sent message is 409 `conflict`.
 */
export async function retryOutboundEmail(id: number, trx?: Knex): Promise<OutboundEmail> {
  const at = now();
  // due and lease times are wall clock (see clock.ts)
  const wall = wallClock();
  const requeued = await OutboundEmail.query(conn(trx)).findById(id).whereIn('state', RETRYABLE).patch({
    state: 'queued',
    attempts: 0,
    next_attempt_at: wall,
    queued_at: wall,
    claim_token: null,
    last_error: null,
    suppressed_reason: null,
    dropped_recipients: [],
    rejected_recipients: [],
    delivered_recipients: [],
    updated_at: at,
  });
  // Waiting out a backoff, or held by a lane that died (its lease is over): due now.
  const hurried =
    requeued ||
    (await OutboundEmail.query(conn(trx))
      .findById(id)
      .where('state', 'queued')
      .where((q) => q.whereNull('claim_token').orWhere('next_attempt_at', '<=', wall))
      .patch({ next_attempt_at: wall, updated_at: at }));
  const row = await showOutboundEmail(id, trx);
  if (hurried) return row;
  if (row.state === 'queued') throw new AppError(409, 'being_sent', 'this message is being sent right now', { next_attempt_at: row.next_attempt_at });
  throw conflict(`only failed, bounced, suppressed or waiting messages can be retried; this one is ${row.state}`);
}
