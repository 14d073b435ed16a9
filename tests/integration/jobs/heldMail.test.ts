/**
 * Mail that needs a person (issue 14): the team report counts quarantined mail, and the
 * `quarantine-digest` job tells each active admin once a day what waits there, through
 * the outbox and the mailer to the SMTP sink; nothing goes when nothing waits.
 */
import { setNow } from '../../../src/clock';
import { loadConfig, setConfig } from '../../../src/config';
import { db } from '../../../src/db/knex';
import { ingestMessage } from '../../../src/mail/inbound/ingest';
import type { Mailbox } from '../../../src/models/Mailbox';
import { updateSettings } from '../../../src/services/config/settings';
import { countHeldBetween } from '../../../src/services/inbound/quarantine';
import { api, makeCustomer, makeUser, useStaff } from '../../helpers/factories';
import { buildMail, makeMailbox } from '../../helpers/mail';
import { SmtpSink, parse } from '../../helpers/smtpSink';
import { drainOutbox, runJob } from '../../helpers/jobs';
import { useTestDatabase } from '../../helpers/useTestDatabase';

useTestDatabase();
const staff = useStaff();
jest.setTimeout(60_000);

let sink: SmtpSink;
let mailbox: Mailbox;

beforeAll(async () => {
  sink = await SmtpSink.start();
  setConfig(loadConfig({ ...process.env, SMTP_URL: sink.url }));
  mailbox = await makeMailbox();
});
afterEach(() => setNow(undefined));
afterAll(async () => {
  await sink.stop();
  setConfig(loadConfig());
});

/** A message from a stranger, quarantined at `when`; its inbound email id. */
async function strangerWrites(when: Date, subject: string, from = 'stranger@unknown.test'): Promise<number> {
  setNow(when);
  try {
    const r = await ingestMessage({ mailbox, raw: await buildMail({ from, to: mailbox.email, subject }) });
    expect(r.outcome).toBe('quarantined');
    return r.inboundEmailId!;
  } finally {
    setNow(undefined);
  }
}

const digests = () => db()('outbound_emails').where({ template: 'quarantine_digest' }).orderBy('id');

describe('quarantine-digest', () => {
  it('sends nothing while nothing waits', async () => {
    expect(await runJob('quarantine-digest', new Date('2026-05-04T08:00:00Z'))).toEqual({ day: '2026-05-04', waiting: 0, digests_sent: 0 });
    expect(await digests()).toHaveLength(0);
  });

  it('goes once a day to each active admin while mail waits, listing the oldest with how to assign them', async () => {
    const second = await makeUser('admin');
    const retired = await makeUser('admin');
    await db()('users').where({ id: retired.user.id }).update({ active: false });
    // subjects are plain text: entities stay as written, and the digest escapes them again
    const evil = 'Invoice &lt;img src=x&gt; 5 < 6 & "more"';
    const first = await strangerWrites(new Date('2026-05-04T09:00:00Z'), evil);
    expect((await db()('inbound_emails').where({ id: first }).first()).subject).toBe(evil);
    await strangerWrites(new Date('2026-05-04T10:00:00Z'), 'Second question', 'other@unknown.test');

    expect(await runJob('quarantine-digest', new Date('2026-05-05T08:00:00Z'))).toEqual({ day: '2026-05-05', waiting: 2, digests_sent: 2 });
    expect(await runJob('quarantine-digest', new Date('2026-05-05T08:00:00Z'))).toMatchObject({ waiting: 2, digests_sent: 0 }); // idempotent
    expect(await runJob('quarantine-digest', new Date('2026-05-05T15:00:00Z'))).toMatchObject({ digests_sent: 0 }); // once a day
    const queued = await digests();
    expect(queued.map((r) => r.recipient_user_id).sort()).toEqual([staff.admin.user.id, second.user.id].sort());
    expect(queued.every((r) => r.automatic && r.ticket_id === null)).toBe(true);

    await drainOutbox();
    expect(sink.to(staff.agent.user.email)).toHaveLength(0);
    expect(sink.to(retired.user.email)).toHaveLength(0);
    for (const admin of [staff.admin, second]) {
      const received = sink.to(admin.user.email);
      expect(received).toHaveLength(1);
      const mail = await parse(received[0]!);
      expect(mail.subject).toBe('Quarantine: 2 waiting for a person (2026-05-05)');
      expect(mail.headers.get('auto-submitted')).toBe('auto-generated');
      expect(mail.text).toContain('2 messages wait in quarantine');
      expect(mail.text).toContain('2026-05-04 09:00:00  stranger@unknown.test');
      expect(mail.text).toContain(evil); // the text part is plain text
      expect(mail.text!.indexOf(evil)).toBeLessThan(mail.text!.indexOf('Second question')); // oldest first
      expect(mail.text).toContain('POST /api/v1/ticketing/inbound_emails/{id}/assign');
      expect(mail.text).toContain(`#${first}`);
      expect(mail.html).toContain('Invoice &amp;lt;img src&#x3D;x&amp;gt; 5 &lt; 6 &amp; &quot;more&quot;');
    }

    // the next day, with one assigned and one still waiting: a new digest, saying one
    sink.clear();
    const customer = await makeCustomer();
    await api().post(`/api/v1/ticketing/inbound_emails/${first}/assign`).set(staff.agent.auth).send({ customer_id: customer.id }).expect(200);
    expect(await runJob('quarantine-digest', new Date('2026-05-06T08:00:00Z'))).toEqual({ day: '2026-05-06', waiting: 1, digests_sent: 2 });
    await drainOutbox();
    const mail = await parse(sink.to(staff.admin.user.email)[0]!);
    expect(mail.text).toContain('1 message waits in quarantine');
    expect(mail.text).not.toContain('Invoice');
  });

  it('follows the configured time zone for its day', async () => {
    await updateSettings({ timezone: 'Pacific/Auckland' });
    try {
      // 2026-05-06 20:00 UTC is already 2026-05-07 in Auckland: a new day, a new digest
      expect(await runJob('quarantine-digest', new Date('2026-05-06T20:00:00Z'))).toMatchObject({ day: '2026-05-07', digests_sent: 2 });
    } finally {
      await updateSettings({ timezone: 'UTC' });
    }
  });
});

describe('dismiss', () => {
  it('a quarantined message becomes rejected, says who dismissed it, sends nothing, leaves the digest and still counts as held that day', async () => {
    const id = await strangerWrites(new Date('2026-09-01T09:00:00Z'), 'Cheap pills', 'spam@unknown.test');
    const queuedBefore = Number((await db()('outbound_emails').count({ n: '*' }))[0]!.n);
    const res = await api().post(`/api/v1/ticketing/inbound_emails/${id}/dismiss`).set(staff.agent.auth).expect(200);
    expect(res.body).toMatchObject({ id, outcome: 'rejected', ticket_id: null });
    expect(res.body.reason).toContain(`dismissed by user ${staff.agent.user.id}`);
    expect(res.body.flags).toContain('dismissed');
    expect(Number((await db()('outbound_emails').count({ n: '*' }))[0]!.n)).toBe(queuedBefore); // no notice to the sender
    // once dismissed, it cannot be dismissed or assigned again
    const again = await api().post(`/api/v1/ticketing/inbound_emails/${id}/dismiss`).set(staff.agent.auth).expect(409);
    expect(again.body.error.message).toMatch(/only quarantined messages can be dismissed; this one is rejected/);
    const customer = await makeCustomer();
    await api().post(`/api/v1/ticketing/inbound_emails/${id}/assign`).set(staff.agent.auth).send({ customer_id: customer.id }).expect(409);
    await api().post('/api/v1/ticketing/inbound_emails/999999999/dismiss').set(staff.agent.auth).expect(404);
    // the digest no longer names it; the day's held count still does
    const digest = await runJob('quarantine-digest', new Date('2026-09-02T08:00:00Z'));
    expect(digest.waiting).toBe(Number((await db()('inbound_emails').where({ outcome: 'quarantined' }).count({ n: '*' }))[0]!.n));
    expect(await countHeldBetween(db(), new Date('2026-09-01T00:00:00Z'), new Date('2026-09-02T00:00:00Z'))).toBe(1);
  });
});

describe('team-report', () => {
  it('counts what waits in quarantine now and what the day held, assigned since or not', async () => {
    await updateSettings({ team_report_emails: ['report@helpdesk.test'] });
    const held = await strangerWrites(new Date('2026-08-10T09:00:00Z'), 'Held then assigned', 'held@unknown.test');
    await strangerWrites(new Date('2026-08-10T11:00:00Z'), 'Still waiting', 'waiting@unknown.test');
    await strangerWrites(new Date('2026-08-11T01:00:00Z'), 'The next day', 'later@unknown.test');
    const customer = await makeCustomer();
    await api().post(`/api/v1/ticketing/inbound_emails/${held}/assign`).set(staff.agent.auth).send({ customer_id: customer.id }).expect(200);
    expect((await db()('inbound_emails').where({ id: held }).first()).flags).toContain('assigned');
    const waitingNow = Number((await db()('inbound_emails').where({ outcome: 'quarantined' }).count({ n: '*' }))[0]!.n);

    expect(await runJob('team-report', new Date('2026-08-11T07:00:00Z'))).toMatchObject({ day: '2026-08-10', reports_sent: 1 });
    const row = await db()('outbound_emails').where({ template: 'team_report' }).whereRaw(`data->>'day' = '2026-08-10'`).first();
    expect(row.data).toMatchObject({ quarantined: 2, quarantine_waiting_now: waitingNow });
    await drainOutbox();
    const mail = await parse(sink.to('report@helpdesk.test').find((m) => m.raw.includes('2026-08-10'))!);
    expect(mail.text).toMatch(/Quarantined that day: 2\n/);
    expect(mail.text).toMatch(new RegExp(`Quarantine waiting:\\s+${waitingNow}\\n`));
    expect(mail.text).toContain('POST /api/v1/ticketing/inbound_emails/{id}/assign');
  });
});
