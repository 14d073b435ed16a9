import type Router from '@koa/router';
import { testImapLogin } from '../../../mail/imap/connection';
import { assignInboundEmail, dismissInboundEmail, retryInboundEmail } from '../../../mail/inbound/heldMail';
import { listInboundEmails, rawInboundEmail, showInboundEmail } from '../../../services/inbound/inboundEmails';
import { mailboxes } from '../../../services/mailboxes/mailboxes';
import { crudRoutes } from '../../crudRoutes';
import { pagedBody } from '../../pagination';
import { route } from '../../route';
import { presentInboundEmail, presentMailbox } from './presenter';
import { assignBody, inboundEmailQuery, mailboxFields } from './schema';
import { pathId } from '../../validation';

export function registerMailRoutes(router: Router): void {
  registerMailboxRoutes(router);
  registerInboundEmailRoutes(router);
  registerHeldMailRoutes(router);
}

/** Mailboxes (admin) and their login test. */
function registerMailboxRoutes(router: Router): void {
  crudRoutes(router, {
    path: '/v1/ticketing/mailboxes',
    tag: 'Mailboxes',
    what: 'mailbox',
    service: mailboxes,
    present: presentMailbox,
    body: mailboxFields,
  });
  route(router, {
    method: 'post',
    path: '/v1/ticketing/mailboxes/:id/test',
    tag: 'Mailboxes',
    access: 'admin',
    errors: [404],
    summary: "Try the mailbox's IMAP login; answers with the server's reply",
    handler: async ({ params }) => testImapLogin(await mailboxes.show(pathId(params.id, 'mailbox'))),
  });
}

/** Inbound emails: the list, one, its raw original. */
function registerInboundEmailRoutes(router: Router): void {
  const path = '/v1/ticketing/inbound_emails';
  const tag = 'Inbound emails';
  route(router, {
    method: 'get',
    path,
    tag,
    summary: 'Every message received, newest first',
    query: inboundEmailQuery,
    handler: async ({ query, ctx }) =>
      pagedBody(
        ctx,
        await listInboundEmails({
          page: query,
          outcome: query['filter[outcome]'],
          mailbox_id: query['filter[mailbox_id]'],
          message_id: query['filter[message_id]'],
        }),
        presentInboundEmail,
      ),
  });
  route(router, {
    method: 'get',
    path: `${path}/:id`,
    tag,
    summary: 'One message received and what became of it',
    returns: 'the inbound email; `error` is the class and first line of what a `failed` message hit, never a stack or a path',
    handler: async ({ params }) => presentInboundEmail(await showInboundEmail(pathId(params.id, 'inbound email'))),
  });
  route(router, {
    method: 'get',
    path: `${path}/:id/raw`,
    tag,
    produces: 'message/rfc822',
    summary: 'The original message, byte for byte',
    description:
      'Once RAW_MAIL_KEEP_DAYS removed the original (old mail of a closed ticket, or of no ticket; never quarantined or failed mail), ' +
      "the answer is 410 Gone with `details.removed_at` and `details.keep_days`; the message's record stays.",
    errors: [410],
    handler: async ({ params, ctx }) => {
      const raw = await rawInboundEmail(pathId(params.id, 'inbound email'));
      ctx.set('Content-Type', 'message/rfc822');
      ctx.set('Content-Disposition', `attachment; filename="message-${params.id}.eml"`);
      ctx.set('X-Content-Type-Options', 'nosniff');
      ctx.body = raw;
      return undefined;
    },
  });
}

/** What an agent does with held mail: assign or dismiss a quarantined message, retry a failed one. */
function registerHeldMailRoutes(router: Router): void {
  const path = '/v1/ticketing/inbound_emails';
  const tag = 'Inbound emails';
  route(router, {
    method: 'post',
    path: `${path}/:id/assign`,
    tag,
    errors: [404, 409],
    summary: 'Turn a quarantined message into a ticket of a customer, or a reply on a ticket',
    description:
      "An agent's own mail (held because no reply token proved it) becomes, with `ticket_id`, the agent's internal note (never sent to the customer); " +
      'with `customer_id`, a ticket of that customer written by the agent, whose contact is the customer the mail names when that address is a contact of the chosen customer. ' +
      'A contact of another customer is never added to the ticket: with `customer_id` the ticket is filed under the chosen customer, with no contact.',
    returns: 'the inbound email, with its new outcome',
    body: assignBody,
    handler: async ({ params, body, actor }) => presentInboundEmail(await assignInboundEmail(pathId(params.id, 'inbound email'), body, actor.id)),
  });
  route(router, {
    method: 'post',
    path: `${path}/:id/dismiss`,
    tag,
    errors: [404, 409],
    summary: 'Dismiss a quarantined message: it becomes rejected and no longer waits',
    description:
      'For spam and mail nobody will answer. The outcome becomes `rejected`, the reason names who dismissed it, the flags gain `dismissed`; ' +
      'nothing is sent to the sender (a notice to a forged address would be backscatter). Only a `quarantined` message can be dismissed (else 409).',
    returns: 'the inbound email, with its new outcome',
    handler: async ({ params, actor }) => presentInboundEmail(await dismissInboundEmail(pathId(params.id, 'inbound email'), actor.id)),
  });
  route(router, {
    method: 'post',
    path: `${path}/:id/retry`,
    tag,
    errors: [404, 409],
    summary: 'Run a failed message through the pipeline again',
    handler: async ({ params }) => retryInboundEmail(pathId(params.id, 'inbound email')),
  });
}
