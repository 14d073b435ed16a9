/**
 * Request schemas of the customer routes; they validate and they document.
 */
import { z } from 'zod';
import { listQuery } from '../../listQuery';
import { text } from '../../validation';

const domain = z
  .string()
  .trim()
  .toLowerCase()
  .regex(/^(?=.{1,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$/, 'must be a domain like example.com');
const fields = z.object({ name: text(), email_domains: z.array(domain).max(100) });

export const customerListQuery = listQuery({ search: z.string().max(255).optional().describe('part of the name') });

export const createCustomerBody = fields.partial({ email_domains: true });

export const updateCustomerBody = fields.partial();
