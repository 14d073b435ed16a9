/**
 * Factories that create their own parent rows. Each call makes unique names and addresses.
 */
import supertest from 'supertest';
import { createApp } from '../../src/http/app';
import type { Contact } from '../../src/models/Contact';
import type { Customer } from '../../src/models/Customer';
import type { Ticket } from '../../src/models/Ticket';
import type { User } from '../../src/models/User';
import { createToken } from '../../src/services/auth/tokens';
import { createContact } from '../../src/services/contacts/contacts';
import { createCustomer } from '../../src/services/customers/customers';
import { createTicket } from '../../src/services/tickets/createTicket';
import { createUser } from '../../src/services/users/users';

let seq = 0;
const next = () => `${process.pid}${++seq}`;

export interface Agent {
  user: User;
  token: string;
  auth: { Authorization: string };
}

export async function makeUser(role: 'admin' | 'agent' = 'agent', fields: { name?: string; email?: string } = {}): Promise<Agent> {
  const n = next();
  const user = await createUser({ name: fields.name ?? `Agent ${n}`, email: fields.email ?? `agent${n}@helpdesk.test`, role });
  const token = await createToken({ userId: user.id });
  return { user, token, auth: { Authorization: `Bearer ${token}` } };
}

/** An admin and an agent for a test file, created before its tests run. */
export function useStaff(): { admin: Agent; agent: Agent } {
  const staff = {} as { admin: Agent; agent: Agent };
  beforeAll(async () => {
    staff.admin = await makeUser('admin');
    staff.agent = await makeUser('agent');
  });
  return staff;
}

export async function makeCustomer(fields: { name?: string; email_domains?: string[] } = {}): Promise<Customer> {
  return createCustomer({ name: fields.name ?? `Customer ${next()}`, email_domains: fields.email_domains });
}

export async function makeContact(customer?: Customer, fields: { name?: string; email?: string } = {}): Promise<Contact> {
  const c = customer ?? (await makeCustomer());
  const n = next();
  return createContact({
    contactable_type: 'App\\Customer',
    contactable_id: c.id,
    name: fields.name ?? `Contact ${n}`,
    email: fields.email ?? `contact${n}@customer.test`,
  });
}

export async function makeTicket(
  opts: { agent?: Agent; customer?: Customer; contact?: Contact | null; subject?: string; body?: string; team_id?: number } = {},
): Promise<Ticket> {
  const agent = opts.agent ?? (await makeUser());
  const customer = opts.customer ?? (await makeCustomer());
  const contact = opts.contact === undefined ? await makeContact(customer) : opts.contact;
  return createTicket({
    ticketable_type: 'App\\Customer',
    ticketable_id: customer.id,
    subject: opts.subject ?? `Subject ${next()}`,
    body: opts.body ?? '<p>Something is broken</p>',
    priority_id: 2,
    ticket_category_id: 1,
    ticket_sub_category_id: 1,
    contact_id: contact?.id ?? null,
    team_id: opts.team_id ?? null,
    author: { type: 'App\\User', id: agent.user.id },
    openerId: agent.user.id,
    origin: 'admin',
    opened_via: 'application',
  });
}

/** A supertest client on the app, in-process. */
export function api() {
  return supertest(createApp().callback());
}
