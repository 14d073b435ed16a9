import { z } from 'zod';
import { listQuery } from '../../listQuery';
import { email, id, queryId, text } from '../../validation';

/** A mailbox without its password (`has_password` says whether one is set). */
export const mailboxFields = z.object({
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

/** The inbound emails list: its filters. */
export const inboundEmailQuery = listQuery({
  'filter[outcome]': z.enum(['ticket_created', 'reply_added', 'duplicate', 'auto_reply', 'bounce', 'loop', 'quarantined', 'rejected', 'failed']).optional(),
  'filter[mailbox_id]': queryId().optional(),
  'filter[message_id]': z.string().max(998).optional(),
});

/** Assigning a held message: a new ticket of a customer, or a reply on a ticket (exactly one). */
export const assignBody = z.object({ customer_id: id().optional(), ticket_id: id().optional() });
