/**
 * What a mailbox's `authenticity: enforce` does with a message's verdict (authenticity.ts);
 * `off` and `record` change nothing.
 * - Mail from a known sender (a contact or an agent) whose verdict is `fail` is spoofed:
 *   quarantined with reason `spoofed`, threaded nowhere.
 * - What needs more than a known address needs a `pass`: an agent's reply (besides the
 *   reply token it always needs), and a contact made for an unknown sender
 *   (`create_contact`). A verdict of `none` (no verdict: a DNS failure, no trusted header)
 *   holds those, and lets a known contact's mail go on.
 */
import type { Authenticity } from '../../models/InboundEmail';
import type { Mailbox } from '../../models/Mailbox';
import type { SenderIdentity } from './thread';

/** Whether the mail of a known sender fails authenticity under enforce. */
export function isSpoofed(mailbox: Pick<Mailbox, 'authenticity'>, auth: Authenticity | null, sender: SenderIdentity): boolean {
  const known = sender.contact !== undefined || sender.agentId !== undefined;
  return mailbox.authenticity === 'enforce' && known && auth?.summary === 'fail';
}

/** Why what needs a pass is refused under enforce (for the reason); undefined when it may go on. */
export function authBlocks(mailbox: Pick<Mailbox, 'authenticity'>, auth: Authenticity | null): string | undefined {
  if (mailbox.authenticity !== 'enforce' || auth?.summary === 'pass') return undefined;
  return `the mailbox enforces authenticity and the message's verdict is ${auth?.summary ?? 'missing'}${auth?.note ? ` (${auth.note})` : ''}`;
}
