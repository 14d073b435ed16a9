/**
 * A short notice to an unknown sender whose mail the mailbox rejects. It is automatic
 * mail, so the mailer's hourly limit per recipient keeps a flood from becoming one.
 */
import type { Outbox } from '../../services/outbox/queueEmail';

export async function noticeUnknownSender(out: Outbox, address: string, mailboxId: number, subject: string): Promise<void> {
  await out.queue({
    template: 'unknown_sender_notice',
    to: [{ address: address.toLowerCase() }],
    mailboxId,
    data: { mailbox_id: mailboxId, subject },
    automatic: true,
  });
}
