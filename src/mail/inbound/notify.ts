/**
 * A short notice to an unknown sender whose mail the mailbox rejects. The From of such mail
 * may be forged, so the notice can land with anyone: it is a fixed text naming only our
 * mailbox, and echoes nothing the sender wrote (no subject, no name), so it cannot carry a
 * stranger's words to a third party. It is automatic mail, so the mailer's hourly limit per
 * recipient (per address with any `+tag` removed) keeps a flood from becoming one.
 */
import type { Outbox } from '../../services/outbox/queueEmail';

export async function noticeUnknownSender(out: Outbox, address: string, mailboxId: number): Promise<void> {
  await out.queue({
    template: 'unknown_sender_notice',
    to: [{ address: address.toLowerCase() }],
    mailboxId,
    data: { mailbox_id: mailboxId },
    automatic: true,
  });
}
