/**
 * Reply and ticket templates as the API shows them: texts as stored (variables
 * unresolved) unless shown for a ticket.
 */
import type { ReplyTemplate } from '../../../models/ReplyTemplate';
import type { TicketTemplate } from '../../../models/TicketTemplate';
import { type Presenter, presenter } from '../../present';

export const REPLY_TEMPLATE_FIELDS = ['id', 'name', 'body', 'created_at', 'updated_at'] as const;
export const presentReplyTemplate: Presenter<ReplyTemplate> = presenter(REPLY_TEMPLATE_FIELDS);

export const TICKET_TEMPLATE_FIELDS = [
  'id',
  'name',
  'subject',
  'body',
  'priority_id',
  'ticket_category_id',
  'ticket_sub_category_id',
  'created_at',
  'updated_at',
] as const;
export const presentTicketTemplate: Presenter<TicketTemplate> = presenter(TICKET_TEMPLATE_FIELDS);
