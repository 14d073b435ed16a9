/**
 * Outbox: 10,000 notifications (agent replies to customers, team notifications) queued,
 * then delivered by the `mailer` role to an smtp-server sink: messages per second until
 * the last one is recorded sent, beside the floor of nodemailer's pooled transport
 * sending the same rendered messages straight to the same sink in the same run.
 * AUTO_MAIL_PER_HOUR is lifted for the run: the limit is not what is measured.
 */
import nodemailer from 'nodemailer';
import type Mail from 'nodemailer/lib/mailer';
import { loadConfig, setConfig } from '../src/config';
import { composeMail } from '../src/mail/outbound/compose';
import { loadContexts } from '../src/mail/outbound/context';
import { MailerRole } from '../src/mail/outbound/mailerRole';
import { smtpPoolOptions } from '../src/mail/outbound/transport';
import { OutboundEmail } from '../src/models/OutboundEmail';
import { createTicket } from '../src/services/tickets/createTicket';
import { mailboxes } from '../src/services/mailboxes/mailboxes';
import { queueEmail } from '../src/services/outbox/queueEmail';
import { SmtpSink } from '../tests/helpers/smtpSink';
import { dropDatabase, freshDatabase } from './lib/database';
import { report } from './lib/stats';

const TOTAL = Number(process.env.BENCH_OUTBOX_MESSAGES ?? 10_000);
const TICKETS = Math.max(1, Math.floor(TOTAL / 10));
const AGENTS = 20;
const DB = 'hd_bench_outbox';

async function seed(knex: import('knex').Knex): Promise<void> {
  const box = await mailboxes.create({ name: 'Bench Support', email: 'support@helpdesk.test' });
  const [customer] = await knex('customers').insert({ name: 'Bench customer', email_domains: [] }).returning('id');
  const agents: { id: number; name: string; email: string }[] = await knex('users')
    .insert(Array.from({ length: AGENTS }, (_, i) => ({ name: `Agent ${i}`, email: `agent${i}@helpdesk.test`, role: 'agent', active: true })))
    .returning(['id', 'name', 'email']);
  const contacts: { id: number; name: string; email: string }[] = await knex('contacts')
    .insert(
      Array.from({ length: TICKETS }, (_, i) => ({
        contactable_type: 'App\\Customer',
        contactable_id: customer.id,
        name: `Contact ${i}`,
        email: `contact${i}@customer.test`,
      })),
    )
    .returning(['id', 'name', 'email']);
  let queued = 0;
  for (let t = 0; t < TICKETS && queued < TOTAL; t++) {
    const contact = contacts[t]!;
    await knex.transaction(async (trx) => {
      const ticket = await createTicket(
        {
          ticketable_type: 'App\\Customer',
          ticketable_id: customer.id,
          subject: `Printer ${t} does not print`,
          body: `<p>Hello, printer ${t} shows <strong>error 42</strong>.</p>`,
          priority_id: 2,
          ticket_category_id: 1,
          ticket_sub_category_id: 1,
          contact_id: contact.id,
          team_id: null,
          author: { type: 'App\\Contact', id: contact.id },
          openerId: null,
          origin: 'email',
          opened_via: 'email',
          mailbox_id: box.id,
        },
        trx,
      );
      const [reply] = await trx('replies')
        .insert({
          ticket_id: ticket.id,
          body: '<p>Dear {{contact.name}}, please restart the printer.</p>',
          origin: 'admin',
          author_type: 'App\\User',
          author_id: agents[t % AGENTS]!.id,
          customer_visible: true,
          created_at: new Date(),
          updated_at: new Date(),
        })
        .returning('id');
      for (let k = 0; k < 10 && queued < TOTAL; k++, queued++) {
        if (k % 2 === 0) {
          await queueEmail({
            trx,
            template: 'agent_reply',
            to: [{ name: contact.name, address: contact.email }],
            ticketId: ticket.id,
            replyId: reply.id,
            data: { ticket_id: ticket.id, reply_id: reply.id },
            automatic: false,
          });
        } else {
          const agent = agents[(t + k) % AGENTS]!;
          await queueEmail({
            trx,
            template: 'new_ticket_to_team',
            to: [{ name: agent.name, address: agent.email }],
            ticketId: ticket.id,
            recipientUserId: agent.id,
            data: { ticket_id: ticket.id },
            automatic: true,
          });
        }
      }
    });
  }
}

/** The floor: the same messages rendered beforehand, sent straight through a pooled transport. */
async function floorRate(knex: import('knex').Knex, sinkUrl: string): Promise<number> {
  const rows = await OutboundEmail.query(knex).orderBy('id');
  const messages: Mail.Options[] = [];
  for (let i = 0; i < rows.length; i += 500) {
    const chunk = rows.slice(i, i + 500);
    const contexts = await loadContexts(knex, chunk);
    for (const row of chunk) messages.push(composeMail(knex, row, { to: row.to_addresses, cc: row.cc_addresses, dropped: [] }, contexts.get(row.id)!).message);
  }
  const transporter = nodemailer.createTransport(smtpPoolOptions(sinkUrl));
  const started = Date.now();
  await Promise.all(messages.map((m) => transporter.sendMail(m)));
  const rate = messages.length / ((Date.now() - started) / 1000);
  transporter.close();
  return rate;
}

export async function benchOutbox(): Promise<void> {
  const sink = await SmtpSink.start();
  setConfig(loadConfig({ ...process.env, SMTP_URL: sink.url, AUTO_MAIL_PER_HOUR: '1000000', MAILER_POLL_SECONDS: '0.1' }));
  const { knex } = await freshDatabase(DB);
  try {
    const t0 = Date.now();
    await seed(knex);
    report({ bench: 'outbox', step: 'queue', messages: TOTAL, seconds: (Date.now() - t0) / 1000 });

    const floor = await floorRate(knex, sink.url);
    sink.clear();

    const role = new MailerRole();
    const started = Date.now();
    await role.start();
    const sentCount = async () => Number((await knex('outbound_emails').where({ state: 'sent' }).count({ n: '*' }))[0]!.n);
    while ((await sentCount()) < TOTAL) await new Promise((r) => setTimeout(r, 50));
    const rate = TOTAL / ((Date.now() - started) / 1000);
    await role.stop();
    const states = await knex('outbound_emails').groupBy('state').select('state').count({ n: '*' });
    report({
      bench: 'outbox',
      figure: 'throughput',
      messages: TOTAL,
      messages_per_second: Math.round(rate),
      floor_messages_per_second: Math.round(floor),
      floor: "nodemailer's pooled SMTP transport sending the same rendered messages to the same sink",
      ratio_to_floor: Math.round((rate / floor) * 100) / 100,
      delivered_to_sink: sink.messages.length,
      states: Object.fromEntries((states as unknown as { state: string; n: number }[]).map((s) => [s.state, Number(s.n)])),
    });
  } finally {
    await knex.destroy();
    await dropDatabase(DB);
    await sink.stop();
  }
}
