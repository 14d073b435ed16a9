/**
 * Request schemas of the contact routes; they validate and they document.
 */
import { z } from 'zod';
import { listQuery } from '../../listQuery';
import { email, id, queryId, text } from '../../validation';

const fields = z.object({
  contactable_type: z.string().default('App\\Customer').describe('App\\Customer'),
  contactable_id: id(),
  name: text(),
  email: email(),
});

export const contactListQuery = listQuery({
  contactable_id: queryId().optional().describe("a customer's contacts"),
  email: z.string().max(320).optional().describe('exact address, any case'),
});

export const createContactBody = fields;

export const updateContactBody = fields.partial().extend({ contactable_type: z.string().optional() });
