/**
 * Who wrote a message: a contact (by address, any case), else an agent (by address or an
 * alternate address). A From header alone proves nothing, so an agent's mail counts as the
 * agent's only with a reply token issued to that agent or as an answer to a notification
 * sent to that agent.
 */
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

/** Whether an agent's mail is proven to be theirs (see the module comment). */
export async function agentIsProven(
  work: MailWork,
  agentId: number,
  token: ReplyTokenSubject | undefined,
  inReplyTo: string[],
): Promise<boolean> {
  if (token?.recipient.kind === 'user' && token.recipient.id === agentId) return true;
  if (inReplyTo.length === 0) return false;
  const trx = await work.direct();
  const sentToAgent = await trx('outbound_emails').whereIn('message_id', inReplyTo).where({ recipient_user_id: agentId }).first('id');
  return Boolean(sentToAgent);
}
