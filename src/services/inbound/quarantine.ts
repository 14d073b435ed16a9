/**
 * Mail that needs a person: what waits in quarantine (outcome `quarantined`; assigning a
 * message changes its outcome, so everything still `quarantined` is unassigned), for the
 * team report and the admins' daily digest.
 */
import type { Knex } from 'knex';
import { formatDateTime } from '../../datetime';
import { fitText } from '../../text/cleanText';

/** Longest subject a digest line shows. */
const SUBJECT_CHARS = 200;

export interface HeldMessage {
  id: number;
  /** `Y-m-d H:i:s`, UTC, as the API writes times. */
  received_at: string;
  from: string;
  subject: string;
  mailbox: string | null;
  reason: string | null;
}

/** A subject on one line, cut to SUBJECT_CHARS. */
function oneLine(subject: string): string {
  const flat = subject.replace(/\s+/g, ' ').trim();
  return flat.length > SUBJECT_CHARS ? `${fitText(flat, SUBJECT_CHARS - 1)}…` : flat;
}

const count = async (q: Knex.QueryBuilder) => Number((await q.count({ n: '*' }))[0]!.n);

/** How many messages wait in quarantine now. */
export async function countWaiting(knex: Knex): Promise<number> {
  return count(knex('inbound_emails').where({ outcome: 'quarantined' }));
}

/**
 * How many messages received in [from, to) were held for a person: those still waiting and
 * those assigned or dismissed since (flagged `assigned`, `dismissed`).
 */
export async function countHeldBetween(knex: Knex, from: Date, to: Date): Promise<number> {
  return count(
    knex('inbound_emails')
      .where('received_at', '>=', from)
      .where('received_at', '<', to)
      .where((q) => q.where({ outcome: 'quarantined' }).orWhereRaw(`flags && array['assigned', 'dismissed']::text[]`)),
  );
}

/**
 * The `limit` oldest messages waiting, as plain values for a template (which escapes them):
 * the sender's address (or `(no sender)`), the subject cut to SUBJECT_CHARS (or
 * `(no subject)`), the mailbox it came to and why it is held.
 */
export async function oldestWaiting(knex: Knex, limit: number): Promise<HeldMessage[]> {
  const rows: { id: number; received_at: Date; from: string | null; subject: string | null; mailbox: string | null; reason: string | null }[] = await knex(
    'inbound_emails as ie',
  )
    .leftJoin('mailboxes as m', 'm.id', 'ie.mailbox_id')
    .where('ie.outcome', 'quarantined')
    .orderBy([{ column: 'ie.received_at' }, { column: 'ie.id' }])
    .limit(limit)
    .select('ie.id', 'ie.received_at', 'ie.from', 'ie.subject', 'ie.reason', 'm.email as mailbox');
  return rows.map((r) => ({
    id: r.id,
    received_at: formatDateTime(new Date(r.received_at)),
    from: r.from || '(no sender)',
    subject: r.subject ? oneLine(r.subject) : '(no subject)',
    mailbox: r.mailbox,
    reason: r.reason,
  }));
}
