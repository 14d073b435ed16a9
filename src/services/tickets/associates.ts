/**
 * `PUT /v1/tickets/{id}/associates`: attach and detach contacts of the ticket's customer;
 * the last contact is never detached.
 */
import type { Knex } from 'knex';
import { inTransaction } from '../../db/transaction';
import { invalid } from '../../errors';
import { loadTicket, ticketContactIds } from './loadTicket';

export interface AssociatesResult {
  associated: number;
  unassociated: number;
}

export async function updateAssociates(opts: { id: number; associated: number[]; unassociated: number[] }, trx?: Knex): Promise<AssociatesResult> {
  return inTransaction(trx, async (t) => {
    const ticket = await loadTicket(t, opts.id, { lock: true });
    const wanted = [...new Set([...opts.associated, ...opts.unassociated])];
    const contacts: { id: number; contactable_id: number }[] = await t('contacts').whereIn('id', wanted).select('id', 'contactable_id');
    const problems: Record<string, string> = {};
    for (const [field, ids] of [
      ['associated', opts.associated],
      ['unassociated', opts.unassociated],
    ] as const) {
      ids.forEach((cid, i) => {
        const c = contacts.find((x) => x.id === cid);
        if (!c) problems[`${field}.${i}`] = `no contact with id ${cid}`;
        else if (c.contactable_id !== ticket.ticketable_id) {
          problems[`${field}.${i}`] = `contact ${cid} belongs to another customer`;
        }
      });
    }
    if (Object.keys(problems).length) throw invalid(problems, "contacts must exist and belong to the ticket's customer");

    const current = new Set(await ticketContactIds(t, ticket));
    const toAttach = [...new Set(opts.associated)].filter((c) => !current.has(c));
    if (toAttach.length) {
      await t('ticket_contacts').insert(toAttach.map((contact_id) => ({ ticket_id: ticket.id, contact_id })));
      toAttach.forEach((c) => current.add(c));
    }
    let detached = 0;
    for (const cid of new Set(opts.unassociated)) {
      if (!current.has(cid) || current.size <= 1) continue;
      await t('ticket_contacts').where({ ticket_id: ticket.id, contact_id: cid }).delete();
      current.delete(cid);
      detached++;
    }
    const primary = ticket.contact_id && current.has(ticket.contact_id) ? ticket.contact_id : ([...current].sort((a, b) => a - b)[0] ?? null);
    if (primary !== ticket.contact_id) await t('tickets').where({ id: ticket.id }).update({ contact_id: primary });
    return { associated: toAttach.length, unassociated: detached };
  });
}
