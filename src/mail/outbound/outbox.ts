/**
 * The outbox as the mailer sees it: claim due messages (`FOR UPDATE SKIP LOCKED`, so any
 * number of mailers share the queue), send them outside any transaction (to each
 * recipient on its own, see delivery.ts), record the results in one statement.
 *
 * A claim counts an attempt and leases the row for MAILER_LEASE_SECONDS by moving its
 * `next_attempt_at`: if the process dies while sending, the row falls due again when the
 * lease ends and is sent once more with the same Message-ID (the receiver sees a
 * duplicate it can recognise, never a lost message). Temporary failures retry with
 * doubling delays until MAILER_GIVE_UP_SECONDS after queueing, to the recipients not yet
 * delivered; permanent ones are not tried again.
 *
 * Each claim writes a token of its own on its rows, and an outcome is recorded only where
 * the row still carries it (clearing it). A lane whose send outlasted the lease finds
 * another lane's token there and records nothing: it can never write over that lane's
 * claim or result. The timeouts of the transport stay well inside the lease, so this is
 * the exception, not the rule.
 */
import crypto from 'node:crypto';
import type { Knex } from 'knex';
import type Mail from 'nodemailer/lib/mailer';
import { now, wallClock } from '../../clock';
import { config } from '../../config';
import { isConnectionError } from '../../db/errors';
import { OutboundEmail } from '../../models/OutboundEmail';
import { cleanOptional } from '../../text/cleanText';
import { composeMail } from './compose';
import { loadContexts } from './context';
import { envelopesFor, settle } from './delivery';
import { type Screened, screenRecipients } from './recipients';
import type { Envelope, MailTransport, RecipientResult } from './transport';

export interface Claimed {
  row: OutboundEmail;
  screened: Screened;
  /** The claim's token, written on the row: the outcome is recorded only while it is still there. */
  token: string;
}

interface Outcome {
  id: number;
  claim_token: string;
  state: 'sent' | 'queued' | 'failed';
  next_attempt_at: Date | null;
  sent_at: Date | null;
  last_error: string | null;
  last_response: string | null;
  subject: string | null;
  from_address: string | null;
  reply_to: string | null;
  in_reply_to: string | null;
  references: string | null;
  delivered_recipients: string[];
  rejected_recipients: string[];
}

export interface BatchResult {
  claimed: number;
  sent: number;
  retrying: number;
  failed: number;
  suppressed: number;
  /** Outcomes not recorded because the claim had passed to another lane. */
  stale: number;
}

/** `s` seconds from now by the wall clock: leases are operational times (see clock.ts). */
const seconds = (s: number) => new Date(wallClock().getTime() + s * 1000);

/**
 * Claims up to `limit` due messages; those left with no recipient are suppressed instead
 * (unless some recipient already has it: then it is settled as sent, with nothing to send).
 */
export async function claimDue(knex: Knex, limit: number): Promise<{ claimed: Claimed[]; suppressed: number }> {
  return knex.transaction(async (trx) => {
    const rows = await OutboundEmail.query(trx)
      .where('state', 'queued')
      .where('next_attempt_at', '<=', wallClock())
      .orderBy('next_attempt_at')
      .limit(limit)
      .forUpdate()
      .skipLocked();
    if (rows.length === 0) return { claimed: [], suppressed: 0 };
    const screened = await screenRecipients(trx, rows);
    const at = now();
    const token = crypto.randomUUID();
    const claimed: Claimed[] = [];
    let suppressed = 0;
    for (const row of rows) {
      const s = screened.get(row.id)!;
      if (s.to.length === 0 && !row.delivered_recipients?.length) {
        suppressed++;
        await trx('outbound_emails')
          .where({ id: row.id })
          .update({
            state: 'suppressed',
            suppressed_reason: [...new Set(s.dropped.map((d) => d.reason))].join(', ') || 'no recipient',
            dropped_recipients: JSON.stringify(s.dropped),
            updated_at: at,
          });
        continue;
      }
      if (s.dropped.length)
        await trx('outbound_emails')
          .where({ id: row.id })
          .update({ dropped_recipients: JSON.stringify(s.dropped) });
      claimed.push({ row, screened: s, token });
    }
    if (claimed.length) {
      await trx('outbound_emails')
        .whereIn(
          'id',
          claimed.map((c) => c.row.id),
        )
        .update({
          attempts: trx.raw('attempts + 1'),
          next_attempt_at: seconds(config().mailerLeaseSeconds),
          claim_token: token,
          last_attempt_at: at,
          updated_at: at,
        });
      for (const c of claimed) {
        c.row.attempts += 1;
        c.row.claim_token = token;
      }
    }
    return { claimed, suppressed };
  });
}

/** This attempt's envelopes, sent; a transport that throws defers them all. */
async function sendAll(transport: MailTransport, message: Mail.Options, envelopes: Envelope[]): Promise<RecipientResult[]> {
  try {
    return await transport.sendEach(message, envelopes);
  } catch (error) {
    return envelopes.map((e) => ({ address: e.to, status: 'deferred', response: null, error: (error as Error)?.message ?? String(error) }));
  }
}

/**
 * Renders and sends claimed messages through `transport` (to each recipient not yet
 * delivered, in a transaction of its own), then records every result still ours to record;
 * returns the outcomes and how many were stale.
 */
export async function sendClaimed(knex: Knex, transport: MailTransport, claimed: Claimed[]): Promise<{ outcomes: Outcome[]; stale: number }> {
  // the claim was just taken: its lease ends about this long from now (a margin kept)
  const leaseEnds = Date.now() + config().mailerLeaseSeconds * 900;
  const contexts = await loadContexts(
    knex,
    claimed.map((c) => c.row),
  );
  const outcomes = await Promise.all(
    claimed.map(async ({ row, screened, token }): Promise<Outcome> => {
      const base: Outcome = {
        id: row.id,
        claim_token: token,
        state: 'failed',
        next_attempt_at: null,
        sent_at: null,
        last_error: null,
        last_response: null,
        subject: row.subject,
        from_address: null,
        reply_to: null,
        in_reply_to: null,
        references: null,
        delivered_recipients: row.delivered_recipients ?? [],
        rejected_recipients: row.rejected_recipients ?? [],
      };
      const context = contexts.get(row.id)!;
      let mail: ReturnType<typeof composeMail>;
      let envelopes: Envelope[];
      try {
        mail = composeMail(knex, row, screened, context);
        envelopes = envelopesFor(row, screened, context.mailbox.email);
      } catch (error) {
        // A template or data problem does not get better by waiting: fail it for a person to look at.
        return { ...base, last_error: `could not render the message: ${(error as Error).message}` };
      }
      Object.assign(base, {
        subject: mail.rendered.subject,
        from_address: context.mailbox.email,
        reply_to: mail.replyTo ?? null,
        in_reply_to: context.thread.inReplyTo ?? null,
        references: context.thread.references ?? null,
      });
      return { ...base, ...settle(row, await sendAll(transport, mail.message, envelopes)) };
    }),
  );
  const recorded = await recordOutcomesWhileLeased(knex, outcomes, leaseEnds);
  return { outcomes, stale: outcomes.length - recorded };
}

/** Longest a lane keeps trying to record what it sent while the database is away. */
const RECORD_RETRY_MAX_MS = 120_000;

/**
 * Records the outcomes; while the database cannot be reached, tries again (0.5 s, doubling
 * to 5 s) until shortly before the lease ends. What was sent during an outage is then
 * recorded once the database is back, instead of being sent again when the lease ends.
 */
async function recordOutcomesWhileLeased(knex: Knex, outcomes: Outcome[], leaseEnds: number): Promise<number> {
  const giveUpAt = Math.min(leaseEnds, Date.now() + RECORD_RETRY_MAX_MS);
  for (let wait = 500; ; wait = Math.min(wait * 2, 5000)) {
    try {
      return await recordOutcomes(knex, outcomes);
    } catch (e) {
      if (!isConnectionError(e) || Date.now() + wait >= giveUpAt) throw e;
      await new Promise((resolve) => setTimeout(resolve, wait));
    }
  }
}

/**
 * Writes every outcome of a batch in one statement, only on rows still queued under the
 * claim's token (a bounce, an agent's retry or another lane's claim wins); returns how many
 * it wrote.
 */
async function recordOutcomes(knex: Knex, outcomes: Outcome[]): Promise<number> {
  if (outcomes.length === 0) return 0;
  // an error's message is text from outside: jsonb refuses a NUL or a lone surrogate, and one
  // of them would fail the whole batch's record. Defence only: nodemailer already drops control
  // characters from an SMTP server's replies (tried: NUL, C0 and C1 all arrive removed), and no
  // other error we can provoke carries one, so no test reaches this line
  const clean = outcomes.map((o) => ({ ...o, last_error: cleanOptional(o.last_error), last_response: cleanOptional(o.last_response) }));
  const { rowCount } = await knex.raw(
    `update outbound_emails o set
       claim_token = null, state = v.state, next_attempt_at = v.next_attempt_at, sent_at = coalesce(v.sent_at, o.sent_at),
       last_error = v.last_error, last_response = v.last_response, subject = coalesce(v.subject, o.subject),
       from_address = v.from_address, reply_to = v.reply_to, in_reply_to = v.in_reply_to,
       "references" = v."references", delivered_recipients = v.delivered_recipients,
       rejected_recipients = v.rejected_recipients, updated_at = ?
     from jsonb_to_recordset(?::jsonb) as v(
       id int, claim_token uuid, state text, next_attempt_at timestamptz, sent_at timestamptz, last_error text, last_response text,
       subject text, from_address text, reply_to text, in_reply_to text, "references" text,
       delivered_recipients jsonb, rejected_recipients jsonb)
     where o.id = v.id and o.state = 'queued' and o.claim_token = v.claim_token`,
    [now(), JSON.stringify(clean)],
  );
  return rowCount ?? 0;
}

/** One claim-and-send round; what it did. */
export async function runBatch(knex: Knex, transport: MailTransport, limit = config().mailerBatchSize): Promise<BatchResult> {
  const { claimed, suppressed } = await claimDue(knex, limit);
  const { outcomes, stale } = claimed.length ? await sendClaimed(knex, transport, claimed) : { outcomes: [], stale: 0 };
  const count = (state: Outcome['state']) => outcomes.filter((o) => o.state === state).length;
  return { claimed: claimed.length, sent: count('sent'), retrying: count('queued'), failed: count('failed'), suppressed, stale };
}
