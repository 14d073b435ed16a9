/**
 * `PUT /v1/tickets/{id}`: only the fields given change. Assigning and closing go through
 * lifecycle.ts, as they do from every other route.
 */
import type { Knex } from 'knex';
import { now } from '../../clock';
import { inTransaction } from '../../db/transaction';
import type { Ticket } from '../../models/Ticket';
import { User } from '../../models/User';
import { sanitizeBody, stripTags } from '../html/sanitize';
import { syncTicketPoints } from '../contracts/points';
import { closeLocked, setAssignee } from './lifecycle';
import { loadTicket } from './loadTicket';
import { checkTicketRefs, requireTicketable } from './ticketRules';

export interface TicketPatch {
  subject?: string;
  body?: string;
  ticketable_type?: string;
  ticketable_id?: number;
  team_id?: number | null;
  priority_id?: number;
  ticket_category_id?: number;
  ticket_sub_category_id?: number;
  status_id?: number | null;
  tags?: string[];
  estimated_resolution_date?: Date;
  assignee_id?: number | null;
  opened_at?: Date;
  contract_id?: number | null;
  billable?: boolean;
  billed?: boolean;
  close?: boolean;
  closure?: boolean;
}

/** Applies `patch` to ticket `id` on behalf of `actorId`; returns the updated ticket. */
export async function updateTicket(opts: { id: number; patch: TicketPatch; actorId: number }, trx?: Knex): Promise<Ticket> {
  return inTransaction(trx, async (t) => {
    const ticket = await loadTicket(t, opts.id, { lock: true });
    const p = opts.patch;
    const customerId = p.ticketable_id ?? ticket.ticketable_id;
    if (p.ticketable_type !== undefined || p.ticketable_id !== undefined) {
      await requireTicketable(t, p.ticketable_type ?? ticket.ticketable_type, customerId);
    }
    await checkTicketRefs(
      t,
      {
        priority_id: p.priority_id,
        ticket_category_id: p.ticket_category_id ?? ticket.ticket_category_id,
        ticket_sub_category_id: p.ticket_sub_category_id ?? (p.ticket_category_id !== undefined ? ticket.ticket_sub_category_id : undefined),
        status_id: p.status_id,
        team_id: p.team_id,
        contract_id: p.contract_id,
        assignee_id: p.assignee_id,
      },
      customerId,
    );
    const at = now();
    const changes: Partial<Ticket> = {};
    const copy = [
      'ticketable_type',
      'ticketable_id',
      'team_id',
      'priority_id',
      'ticket_category_id',
      'ticket_sub_category_id',
      'status_id',
      'tags',
      'estimated_resolution_date',
      'opened_at',
      'contract_id',
      'billable',
      'billed',
    ] as const;
    for (const key of copy) if (p[key] !== undefined) (changes as Record<string, unknown>)[key] = p[key];
    if (p.subject !== undefined) changes.subject = stripTags(p.subject);
    if (p.body !== undefined) changes.body = sanitizeBody(p.body);
    if (p.closure === true && !ticket.closure) {
      changes.closure = true;
      changes.closure_requested_at = at;
    } else if (p.closure === false) {
      changes.closure = false;
      changes.closure_requested_at = null;
    }
    const pointsChange = (['priority_id', 'contract_id', 'billable', 'ticketable_id'] as const).some(
      (k) => changes[k] !== undefined && changes[k] !== ticket[k],
    );
    const previousContractId = ticket.contract_id;
    let updated = Object.keys(changes).length > 0 ? await ticket.$query(t).patchAndFetch(changes) : ticket;
    if (p.assignee_id !== undefined) {
      // the id was checked above (400 when unknown)
      const assignee = p.assignee_id === null ? null : ((await User.query(t).findById(p.assignee_id)) ?? null);
      updated = await setAssignee(t, updated, assignee, opts.actorId);
    }
    if (p.close === true) updated = await closeLocked(t, updated);
    if (pointsChange) {
      await syncTicketPoints(t, ticket.id, previousContractId);
      return updated.$query(t);
    }
    return updated;
  });
}
