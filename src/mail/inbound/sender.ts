/**
 * Who wrote a message: a contact (by address, any case), else an agent (by address or an
 * alternate address). A From header alone proves nothing, so an agent's mail counts as the
 * agent's only with a reply token issued to that agent for that ticket.
 *
 * This is the one place the rule lives: the pipeline's batch (MailWork.prefetch, one
 * statement for many messages) and one-off callers (`assign` of a held message, through
 * lookupSenders) run the same SQL conditions, index the rows the same way, and decide with
 * the same identifySender.
 */
import type { Knex } from 'knex';
import type { Ticket } from '../../models/Ticket';
import type { ReplyTokenSubject } from '../replyToken';
import type { SenderIdentity } from './thread';

export interface Contact {
  id: number;
  contactable_id: number;
}

export interface Agent {
  id: number;
  active: boolean;
}

/** What an address is matched by: trimmed and lower-cased (users store theirs so, see services/users). */
export function addressKey(address: string): string {
  return address.trim().toLowerCase();
}

/**
 * The lookups as SQL sub-selects, each a JSON array: contacts by `lower(email)`, agents by
 * `lower(email)` or one of their `alternate_emails`. Bind senderLookupBindings in order.
 */
export const SENDER_LOOKUP_SQL = {
  contacts: `(select coalesce(json_agg(json_build_object('id', id, 'contactable_id', contactable_id, 'email', lower(email))), '[]')
              from contacts where lower(email) = any(?::text[]))`,
  agents: `(select coalesce(json_agg(json_build_object('id', id, 'active', active, 'emails', array_prepend(lower(email), alternate_emails)) order by id), '[]')
              from users where lower(email) = any(?::text[]) or alternate_emails && ?::text[])`,
} as const;

/** The bindings of SENDER_LOOKUP_SQL's `contacts` and `agents`, for `addresses`. */
export function senderLookupBindings(addresses: string[]): { contacts: string[][]; agents: string[][] } {
  const keys = [...new Set(addresses.map(addressKey))];
  return { contacts: [keys], agents: [keys, keys] };
}

/** The rows SENDER_LOOKUP_SQL returns. */
export interface SenderRows {
  contacts: (Contact & { email: string })[];
  agents: (Agent & { emails: string[] })[];
}

/** Contacts and agents by address, as the lookups found them (and as a batch adds them). */
export class SenderIndex {
  private readonly contacts = new Map<string, Contact>();
  private readonly agents = new Map<string, Agent>();

  add(found: SenderRows): void {
    for (const c of found.contacts) this.contacts.set(addressKey(c.email), { id: c.id, contactable_id: c.contactable_id });
    // agents in id order: an address two users claim goes to the older
    for (const a of found.agents) {
      for (const e of a.emails) if (!this.agents.has(addressKey(e))) this.agents.set(addressKey(e), { id: a.id, active: a.active });
    }
  }

  addContact(email: string, contact: Contact): void {
    this.contacts.set(addressKey(email), contact);
  }

  contact(address: string): Contact | undefined {
    return this.contacts.get(addressKey(address));
  }

  agent(address: string): Agent | undefined {
    return this.agents.get(addressKey(address));
  }
}

/** What identifySender reads: a SenderIndex, or a batch (MailWork) holding one. */
export type SenderDirectory = Pick<SenderIndex, 'contact' | 'agent'>;

/** The contacts and agents `addresses` name, outside a batch (one statement). */
export async function lookupSenders(knex: Knex, addresses: string[]): Promise<SenderIndex> {
  const index = new SenderIndex();
  if (addresses.length === 0) return index;
  const b = senderLookupBindings(addresses);
  const { rows } = await knex.raw(`select ${SENDER_LOOKUP_SQL.contacts} as contacts, ${SENDER_LOOKUP_SQL.agents} as agents`, [...b.contacts, ...b.agents]);
  index.add(rows[0] as SenderRows);
  return index;
}

/**
 * The rule: a contact first (SPEC §3.5: From is matched to contacts, then to agents),
 * else an agent (with whether the account is active), else nobody.
 */
export function identifySender(directory: SenderDirectory, address: string | undefined): SenderIdentity & { agentActive?: boolean } {
  if (!address) return {};
  const contact = directory.contact(address);
  if (contact) return { contact };
  const agent = directory.agent(address);
  return agent ? { agentId: agent.id, agentActive: agent.active } : {};
}

/**
 * Whether an agent's mail is proven to be theirs: only a valid reply token issued to that
 * agent for that very ticket proves it. A From header is forgeable, and so are In-Reply-To
 * and References: the Message-IDs of our mail travel in other people's mail.
 */
export function agentIsProven(agentId: number, ticket: Pick<Ticket, 'number'>, token: ReplyTokenSubject | undefined): boolean {
  return token?.recipient.kind === 'user' && token.recipient.id === agentId && token.ticketNumber === ticket.number.toUpperCase();
}
