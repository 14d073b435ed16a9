/**
 * An outbox row as agents see it. Left out: the template's data (internal), the mailer's
 * claim token and queue bookkeeping, and the Reply-To address: it carries the signed reply
 * token of the recipient, and a token issued to an agent is what proves that agent's mail
 * (README, "What proves an agent"), so another agent must never read it.
 */
import type { OutboundEmail } from '../../../models/OutboundEmail';
import { type Presenter, presenter } from '../../present';

export const OUTBOUND_EMAIL_FIELDS = [
  'id',
  'message_id',
  'template',
  'automatic',
  'ticket_id',
  'reply_id',
  'recipient_user_id',
  'mailbox_id',
  'from',
  'to',
  'cc',
  'subject',
  'in_reply_to',
  'references',
  'state',
  'suppressed_reason',
  'dropped_recipients',
  'rejected_recipients',
  'delivered_recipients',
  'attempts',
  'next_attempt_at',
  'last_attempt_at',
  'last_error',
  'last_response',
  'sent_at',
  'bounce_reason',
  'bounce_inbound_email_id',
  'created_at',
  'updated_at',
] as const;

export const presentOutboundEmail: Presenter<OutboundEmail> = presenter(OUTBOUND_EMAIL_FIELDS, {
  from: (m) => m.from_address,
  to: (m) => m.to_addresses,
  cc: (m) => m.cc_addresses,
  // only a queued message waits for a next attempt
  next_attempt_at: (m) => (m.state === 'queued' ? m.next_attempt_at : null),
});
