import type Router from '@koa/router';
import { z } from 'zod';
import { testImapLogin } from '../../../mail/imap/connection';
import { assignInboundEmail, retryInboundEmail } from '../../../mail/inbound/heldMail';
import { listInboundEmails, rawInboundEmail, showInboundEmail } from '../../../services/inbound/inboundEmails';
import { mailboxes } from '../../../services/mailboxes/mailboxes';
import { crudRoutes } from '../../crudRoutes';
import { listQuery } from '../../listQuery';
import { pagedBody } from '../../pagination';
import { route } from '../../route';
import { presentInboundEmail, presentMailbox } from './presenter';
import { email, id, pathId, queryId, text } from '../../validation';

/** A mailbox without its password (`has_password` says whether one is set). */
const mailboxFields = z.object({
  name: text(),
  email: email().describe('the support address'),
  imap_host: z.string().trim().min(1).max(255).nullable().optional(),
  imap_port: z.number().int().min(1).max(65535).optional(),
  imap_secure: z.boolean().optional().describe('TLS from the start (993); false: plain, upgraded by STARTTLS when offered'),
  imap_username: z.string().max(320).nullable().optional(),
  imap_password: z.string().max(1000).nullable().optional().describe('write-only, encrypted at rest'),
  imap_folder: z.string().min(1).max(255).optional(),
  after_import: z.enum(['seen', 'move', 'delete']).optional().describe('what happens on the server once a message is stored'),
  move_to: z.string().min(1).max(255).nullable().optional(),
  team_id: id().nullable().optional(),
  priority_id: id().nullable().optional(),
  ticket_category_id: id().nullable().optional(),
  ticket_sub_category_id: id().nullable().optional(),
  unknown_sender: z.enum(['quarantine', 'create_contact', 'reject']).optional(),
  import_existing: z.enum(['unseen', 'all', 'none']).optional().describe('what of the mail already there is imported when the mailbox is added'),
  authenticity: z
    .enum(['off', 'record', 'enforce'])
    .optional()
    .describe(
      "off (default): nothing checked; record: each message's SPF, DKIM, DMARC and ARC verdict is kept; enforce: and a known sender's failing mail is quarantined (spoofed)",
    ),
  auth_source: z
    .enum(['trusted_header', 'verify'])
    .optional()
    .describe(
      "verify (default): checked here with DNS; trusted_header: the mailbox's own server's topmost Authentication-Results, when its authserv-id is authserv_id",
    ),
  authserv_id: z
    .string()
    .trim()
    .min(1)
    .max(255)
    .regex(/^[A-Za-z0-9!#$%&'*+.^_`{|}~-]+$/, 'must be a token such as mx.example.com')
    .nullable()
    .optional()
    .describe("the authserv-id the mailbox's own server writes in Authentication-Results (required for trusted_header)"),
  active: z.boolean().optional(),
});

export function registerMailRoutes(router: Router): void {
  registerMailboxRoutes(router);
  registerInboundEmailRoutes(router);
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

/** Inbound emails: the list, one, its raw original, assign and retry. */
function registerInboundEmailRoutes(router: Router): void {
  const path = '/v1/ticketing/inbound_emails';
  const tag = 'Inbound emails';
  route(router, {
    method: 'get',
    path,
    tag,
    summary: 'Every message received, newest first',
    query: listQuery({
      'filter[outcome]': z.enum(['ticket_created', 'reply_added', 'duplicate', 'auto_reply', 'bounce', 'loop', 'quarantined', 'rejected', 'failed']).optional(),
      'filter[mailbox_id]': queryId().optional(),
      'filter[message_id]': z.string().max(998).optional(),
    }),
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
    body: z.object({ customer_id: id().optional(), ticket_id: id().optional() }),
    handler: async ({ params, body, actor }) => presentInboundEmail(await assignInboundEmail(pathId(params.id, 'inbound email'), body, actor.id)),
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
