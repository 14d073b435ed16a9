/**
 * What kind of mail this is, decided from its headers and raw body, in the spec's order:
 * our own mail coming back, bounces and complaints, auto-replies, machine-generated mail,
 * and a person's mail. Pure: no database, no clock.
 */
import { RawHeaders, addressOf, messageIds } from './headers';

export type MailKind = 'loop' | 'bounce' | 'complaint' | 'auto_reply' | 'machine' | 'person';

export interface BounceDetails {
  /** The DSN status (e.g. 5.1.1), when the report gives one. */
  status?: string;
  /** Recipients the report says failed. */
  recipients: string[];
  /** True when the address itself is bad (5.1.x) or a complaint was made. */
  hard: boolean;
  /** Message-IDs quoted in the body: the returned original among them. */
  referencedIds: string[];
  diagnostic?: string;
}

export interface Classification {
  kind: MailKind;
  reason: string;
  bounce?: BounceDetails;
}

export const LOOP_HEADER = 'X-Helpdesk-Loop';

const BOUNCE_SENDER = /^(mailer-daemon|postmaster|post_master|mail-daemon|mailerdaemon|mailer_daemon|mdaemon|mail\.delivery\.(system|subsystem))@/i;
const BOUNCE_SENDER_NAME = /^\s*"?(mailer-daemon|postmaster|mail delivery (system|subsystem))\b/i;
const BOUNCE_SUBJECT =
  /^(undeliver|undelivered mail|returned mail|mail delivery (failed|failure|system|subsystem)|delivery (status notification|failure|notification|has failed|report)|failure notice|non[- ]?delivery|delivery to the following recipient|message not delivered|could not send message|mail could not be delivered|warning: could not send|\[?postmaster\]?|nondeliverable|unzustellbar|non remis|error sending message|message delivery has failed|delivery problem|mail system error|returned to sender)/i;
const VACATION_SUBJECT =
  /^(auto(matic)?[ -]?(reply|response|antwort)|out of (the )?office|abwesenheit|absence|away from|vacation|r[ée]ponse automatique|on leave|autoreply|i am away|i'm away)\b/i;

/** Parses the DSN fields present in the body. */
function bounceDetails(body: string, hardByDefault: boolean): BounceDetails {
  const statuses = [...body.matchAll(/^Status:\s*([245]\.\d{1,3}\.\d{1,3})/gim)].map((m) => m[1]!);
  const fromText = [...body.matchAll(/\b([45]\.\d{1,3}\.\d{1,3})\b/g)].map((m) => m[1]!);
  const status = statuses[0] ?? fromText.find((s) => s.startsWith('5')) ?? fromText[0];
  const recipients = [...body.matchAll(/^(?:Final|Original)-Recipient:\s*(?:rfc822;\s*)?<?([^\s<>;][^\s<>;@]*@[^\s<>;]+)>?/gim)].map((m) =>
    m[1]!.toLowerCase(),
  );
  const diagnostic = /^Diagnostic-Code:\s*(.+)$/im.exec(body)?.[1]?.trim();
  const hard = status
    ? /^5\.1\.\d+$/.test(status)
    : hardByDefault && /user unknown|no such (user|mailbox)|does not exist|unknown user|invalid (recipient|address)/i.test(body);
  return {
    status,
    recipients: [...new Set(recipients)],
    hard,
    referencedIds: [...new Set([...body.matchAll(/^(?:Message-ID|Message-Id|References|In-Reply-To):\s*(.*)$/gim)].flatMap((m) => messageIds(m[1])))],
    diagnostic,
  };
}

/** Classifies a message. `ourDomain` is the right-hand side of our Message-IDs. */
export function classify(headers: RawHeaders, body: string, ourDomain: string): Classification {
  const messageId = messageIds(headers.get('message-id'))[0];
  const domain = ourDomain.toLowerCase();
  if (headers.has(LOOP_HEADER) && messageId && messageId.toLowerCase().endsWith(`@${domain}>`)) {
    return { kind: 'loop', reason: 'our own message came back' };
  }

  const contentType = (headers.get('content-type') ?? '').toLowerCase();
  const reportType = /report-type\s*=\s*"?([a-z-]+)/.exec(contentType)?.[1];
  const from = addressOf(headers.get('from')) ?? '';
  const subject = headers.get('subject') ?? '';
  const returnPath = headers.get('return-path');
  const nullSender = (returnPath !== undefined && /^<\s*>$/.test(returnPath.trim())) || /<\s*>\s*$/.test(headers.get('from') ?? '');
  const sesType = /^no-reply@sns\.amazonaws\.com$/.test(from) ? /\\?"notificationType\\?"\s*:\s*\\?"(\w+)/.exec(body)?.[1] : undefined;

  if (reportType === 'feedback-report' || /^content-type:\s*message\/feedback-report/im.test(body) || sesType === 'Complaint') {
    return { kind: 'complaint', reason: 'a recipient reported our mail as spam', bounce: { ...bounceDetails(body, false), hard: true } };
  }
  const dsn = contentType.startsWith('multipart/report') && (reportType === 'delivery-status' || /message\/delivery-status/i.test(body));
  const failedHeader = headers.has('x-failed-recipients');
  const bounceSender = BOUNCE_SENDER.test(from) || BOUNCE_SENDER_NAME.test(headers.get('from') ?? '') || sesType === 'Bounce';
  const returnsOriginal = nullSender && /^content-type:\s*(message\/rfc822|text\/rfc822-headers)/im.test(body);
  const bounceSubject = BOUNCE_SUBJECT.test(subject.replace(/^(re|fw|fwd|aw|wg):\s*/i, ''));
  if (sesType === 'Delivery') return { kind: 'auto_reply', reason: 'a delivery success report' };
  if (dsn || failedHeader || bounceSender || returnsOriginal || (bounceSubject && (nullSender || /^Status:\s*[45]\./im.test(body)))) {
    const details = bounceDetails(body, true);
    if (dsn && /^Action:\s*(delivered|relayed|expanded)/im.test(body) && !/^Action:\s*(failed|delayed)/im.test(body)) {
      return { kind: 'auto_reply', reason: 'a delivery success report' };
    }
    for (const r of headers.all('x-failed-recipients').flatMap((v) => v.split(','))) {
      const a = r.trim().toLowerCase();
      if (a && !details.recipients.includes(a)) details.recipients.push(a);
    }
    const why = dsn
      ? 'delivery status report'
      : failedHeader
        ? 'X-Failed-Recipients'
        : bounceSender
          ? `sent by ${from || 'a mailer daemon'}`
          : returnsOriginal
            ? 'the original message returned by a null sender'
            : 'bounce subject from a null sender';
    return { kind: 'bounce', reason: why, bounce: details };
  }

  const autoSubmitted = (headers.get('auto-submitted') ?? '').toLowerCase();
  const precedence = `${headers.get('precedence') ?? ''} ${headers.get('x-precedence') ?? ''}`.toLowerCase();
  if (
    autoSubmitted.startsWith('auto-replied') ||
    autoSubmitted.startsWith('auto-notified') ||
    headers.has('x-autoreply') ||
    headers.has('x-autorespond') ||
    headers.has('x-autoresponder') ||
    headers.has('x-autoreply-from') ||
    headers.has('x-mail-autoreply') ||
    /vacation/i.test(headers.get('x-apple-action') ?? '') ||
    /auto_reply/.test(precedence) ||
    (headers.has('x-auto-response-suppress') && headers.has('x-ms-exchange-inbox-rules-loop')) ||
    (VACATION_SUBJECT.test(subject) && (nullSender || /all|oof|autoreply/i.test(headers.get('x-auto-response-suppress') ?? '')))
  ) {
    return { kind: 'auto_reply', reason: 'an automatic reply (RFC 3834 or vendor marks)' };
  }
  if (nullSender) return { kind: 'auto_reply', reason: 'sent with a null Return-Path' };

  if (autoSubmitted.startsWith('auto-generated') || /\b(bulk|junk|list)\b/.test(precedence) || headers.has('list-unsubscribe') || headers.has('list-id')) {
    return { kind: 'machine', reason: 'machine-generated (Auto-Submitted, Precedence or list headers)' };
  }
  return { kind: 'person', reason: 'a person wrote it' };
}
