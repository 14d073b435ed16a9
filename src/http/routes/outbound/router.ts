import type Router from '@koa/router';
import { z } from 'zod';
import type { OutboundEmail } from '../../../models/OutboundEmail';
import { listOutboundEmails, retryOutboundEmail, showOutboundEmail } from '../../../services/outbox/outboundEmails';
import { listQuery } from '../../listQuery';
import { pagedBody } from '../../pagination';
import { route } from '../../route';
import { pathId, queryId } from '../../validation';

const STATES = ['queued', 'sent', 'failed', 'bounced', 'suppressed'] as const;

/** An outbox row as agents see it (the template's internal data left out). */
export function presentOutboundEmail(m: OutboundEmail): Record<string, unknown> {
  return {
    id: m.id,
    message_id: m.message_id,
    template: m.template,
    automatic: m.automatic,
    ticket_id: m.ticket_id,
    reply_id: m.reply_id,
    recipient_user_id: m.recipient_user_id,
    mailbox_id: m.mailbox_id,
    from: m.from_address,
    to: m.to_addresses,
    cc: m.cc_addresses,
    reply_to: m.reply_to,
    subject: m.subject,
    in_reply_to: m.in_reply_to,
    references: m.references,
    state: m.state,
    suppressed_reason: m.suppressed_reason,
    dropped_recipients: m.dropped_recipients,
    rejected_recipients: m.rejected_recipients,
    delivered_recipients: m.delivered_recipients,
    attempts: m.attempts,
    next_attempt_at: m.state === 'queued' ? m.next_attempt_at : null,
    last_attempt_at: m.last_attempt_at,
    last_error: m.last_error,
    last_response: m.last_response,
    sent_at: m.sent_at,
    bounce_reason: m.bounce_reason,
    bounce_inbound_email_id: m.bounce_inbound_email_id,
    created_at: m.created_at,
    updated_at: m.updated_at,
  };
}

export function registerOutboundRoutes(router: Router): void {
  const path = '/v1/ticketing/outbound_emails';
  const tag = 'Outbound emails';
  route(router, {
    method: 'get', path, tag, summary: 'Every message sent or queued, newest first',
    query: listQuery({
      'filter[state]': z.enum(STATES).optional(),
      'filter[ticket_id]': queryId().optional(),
      'filter[template]': z.string().max(64).optional(),
      'filter[message_id]': z.string().max(998).optional(),
    }),
    handler: async ({ query, ctx }) =>
      pagedBody(
        ctx,
        await listOutboundEmails({
          page: query,
          state: query['filter[state]'],
          ticket_id: query['filter[ticket_id]'],
          template: query['filter[template]'],
          message_id: query['filter[message_id]'],
        }),
        presentOutboundEmail,
      ),
  });
  route(router, {
    method: 'get', path: `${path}/:id`, tag, errors: [404], summary: 'One message: recipients, state, attempts, last error, bounce',
    handler: async ({ params }) => presentOutboundEmail(await showOutboundEmail(pathId(params.id, 'outbound email'))),
  });
  route(router, {
    method: 'post', path: `${path}/:id/retry`, tag, errors: [404, 409],
    summary: 'Send now: a failed, bounced or suppressed message is queued again (same Message-ID), a waiting one falls due; 409 `being_sent` while a mailer sends it',
    handler: async ({ params }) => presentOutboundEmail(await retryOutboundEmail(pathId(params.id, 'outbound email'))),
  });
}
