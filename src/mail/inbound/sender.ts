/**
 * Who wrote a message: a contact (by address, any case), else an agent (by address or an
 * alternate address). A From header alone proves nothing, so an agent's mail counts as the
 * agent's only with a reply token issued to that agent for that ticket.
 */
import type { Ticket } from '../../models/Ticket';
import type { ReplyTokenSubject } from '../replyToken';
import type { MailWork } from './mailWork';
import type { SenderIdentity } from './thread';

export function identifySender(work: MailWork, address: string | undefined): SenderIdentity & { agentActive?: boolean } {
  if (!address) return {};
  const contact = work.contact(address);
  if (contact) return { contact };
  const agent = work.agent(address);
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
