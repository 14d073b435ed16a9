/**
 * The shape of a ticket in answers, fields in the seed's order, and the authenticity
 * verdict of the mail that opened it (`auth_summary`: pass, fail, none; null when not
 * opened by mail of a checking mailbox). Dates leave as `Y-m-d H:i:s` through the JSON
 * middleware.
 */
import type { Attachment } from '../../../models/Attachment';
import type { Ticket } from '../../../models/Ticket';
import type { ListedTicket } from '../../../services/tickets/listTickets';
import type { TicketDetail } from '../../../services/tickets/ticketDetail';
import { signContentUrls } from '../../../services/attachments/contentUrl';
import { presentAttachment } from '../attachments/presenter';
import { presentCustomer } from '../customers/presenter';
import { presentReply } from '../replies/presenter';

const FIELDS = [
  'id',
  'number',
  'subject',
  'body',
  'ticketable_type',
  'ticketable_id',
  'priority_id',
  'ticket_category_id',
  'ticket_sub_category_id',
  'status_id',
  'team_id',
  'contract_id',
  'assignee_id',
  'assigned_by',
  'author_type',
  'author_id',
  'opener_id',
  'contact_id',
  'open',
  'closure',
  'closure_requested_at',
  'origin',
  'opened_via',
  'estimated_resolution_date',
  'tags',
  'exchanges',
  'time',
  'points',
  'billable',
  'billed',
  'opened_at',
  'closed_at',
  'assigned_at',
  'auto_closure_alerts',
  'auth_summary',
  'created_at',
  'updated_at',
] as const;

/** The ticket's own fields. */
export function presentTicket(t: Ticket): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const f of FIELDS) out[f] = t[f];
  // inline images: content URLs signed now, so they load however old the ticket is
  if (typeof t.body === 'string') out.body = signContentUrls(t.body);
  return out;
}

const RELATIONS = ['ticketable', 'customer', 'assignee', 'assigner', 'opener', 'team', 'contract', 'category', 'sub_category'] as const;

/** The ticket with whichever relations were loaded onto it. */
function withRelations(t: Ticket, out: Record<string, unknown>): Record<string, unknown> {
  const loaded = t as unknown as Record<string, unknown>;
  for (const r of RELATIONS) {
    if (!(r in loaded)) continue;
    const v = loaded[r] as { toJSON?: () => unknown } | null;
    out[r] = r === 'ticketable' || r === 'customer' ? (v ? presentCustomer(v as never) : null) : (v?.toJSON?.() ?? v ?? null);
  }
  if ('replies' in loaded) out.replies = (loaded.replies as never[]).map(presentReply);
  if ('contacts' in loaded) out.contacts = (loaded.contacts as { toJSON(): unknown }[]).map((c) => c.toJSON());
  if ('attachments' in loaded) out.attachments = (loaded.attachments as Attachment[]).map(presentAttachment);
  return out;
}

/** A row of a list or search: the ticket, its loaded relations, replies count, last seen. */
export function presentListedTicket(t: ListedTicket): Record<string, unknown> {
  const out = withRelations(t, presentTicket(t));
  if ('attachments' in out) {
    out.documents = out.attachments;
    delete out.attachments;
  }
  out.replies_count = Number(t.replies_count);
  out.last_reply_seen_at = t.last_reply_seen_at;
  return out;
}

/** The show: everything the seed lists, and `has_unread_replies`. */
export function presentTicketDetail(t: TicketDetail): Record<string, unknown> {
  const out = withRelations(t, presentTicket(t));
  out.has_unread_replies = t.has_unread_replies;
  return out;
}
