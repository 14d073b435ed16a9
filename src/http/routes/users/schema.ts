/**
 * Request schemas of the user routes; they validate and they document.
 */
import { z } from 'zod';
import { listQuery } from '../../listQuery';
import { email, text } from '../../validation';

const fields = z.object({
  name: text(),
  email: email(),
  alternate_emails: z.array(email()).max(20),
  role: z.enum(['admin', 'agent']),
  active: z.boolean(),
});

export const userListQuery = listQuery({});

export const createUserBody = fields.partial({ alternate_emails: true, role: true, active: true });

export const updateUserBody = fields.partial();

export const issueTokenBody = z.object({ name: z.string().trim().max(255).optional() });
