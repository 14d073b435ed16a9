/**
 * The suppression list: addresses a linked bounce or complaint marked undeliverable (see
 * mail/inbound/bounces.ts). The mailer sends nothing to them until an admin clears the
 * entry, through the API or `helpdesk suppressions clear ADDRESS`.
 */
import type { Knex } from 'knex';
import { conn } from '../../db/transaction';
import { type Page, type PageRequest, fetchPage } from '../../db/pagination';
import { notFound } from '../../errors';

export interface Suppression {
  id: number;
  address: string;
  reason: string;
  /** `bounce` (the address itself was reported bad) or `complaint` (the recipient reported our mail as spam). */
  source: 'bounce' | 'complaint';
  /** The report that suppressed it, and the message of ours it answered. */
  inbound_email_id: number | null;
  outbound_email_id: number | null;
  created_at: Date;
}

const COLUMNS = ['id', 'address', 'reason', 'source', 'inbound_email_id', 'outbound_email_id', 'created_at'];

/** The list, newest first; `address` matches case-insensitively, a part of it too. */
export async function listSuppressions(opts: { page: PageRequest; address?: string }, trx?: Knex): Promise<Page<Suppression>> {
  const q = conn(trx)('undeliverable_addresses').select(COLUMNS).orderBy('id', 'desc');
  if (opts.address) q.whereRaw(`address like '%' || ? || '%' escape '\\'`, [opts.address.toLowerCase().replace(/[\\%_]/g, (c) => `\\${c}`)]);
  return fetchPage<Suppression>(q, opts.page);
}

/** Removes one entry: the address gets mail again. */
export async function clearSuppression(id: number, trx?: Knex): Promise<Suppression> {
  const [row] = await conn(trx)('undeliverable_addresses').where({ id }).delete().returning(COLUMNS);
  if (!row) throw notFound('suppression', id);
  return row as Suppression;
}

/** Removes the entry of `address` (any case); the entry removed, if there was one. */
export async function clearSuppressionOf(address: string, trx?: Knex): Promise<Suppression | undefined> {
  const [row] = await conn(trx)('undeliverable_addresses').where({ address: address.trim().toLowerCase() }).delete().returning(COLUMNS);
  return row as Suppression | undefined;
}
