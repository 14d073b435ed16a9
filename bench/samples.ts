/**
 * `npx tsx bench/samples.ts`: the pictures in the README, made from a small made-up
 * customer (tickets, replies, time, a contract) in a scratch database: page 1 of the PDF
 * customer report (pdftoppm), and the first rows of the Excel export as a spreadsheet
 * shows them (LibreOffice Calc, `apt-get install libreoffice-calc-nogui`, converts it to
 * PDF; pdftoppm draws it). Writes bench/samples/*.png.
 */
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { pipeline } from 'node:stream/promises';

process.env.LOG_LEVEL ??= 'silent';
process.env.HELPDESK_SECRET ??= 'bench-secret-0123456789abcdef';
process.env.DATABASE_URL ??= 'postgres://postgres@127.0.0.1:5432/unused';

const OUT = path.join(__dirname, 'samples');

const SUBJECTS = [
  'Printer on the 2nd floor prints blank pages',
  'VPN drops every 10 minutes since the update',
  'New laptop for Sarah (starts Monday)',
  'Invoice INV-2026-118: wrong VAT rate',
  '=SUM(A1:A9) appears in my signature',
  'Shared mailbox "Orders" not visible in Outlook',
  'Backup job failed on FILESRV01',
  'Password reset for the accounting portal',
  'Scanner sends to the wrong folder',
  'Teams calls cut out in the meeting room',
  'Licence renewal for the CAD software',
  'Phone headset not recognised',
  'Access to the HR share for the new hire',
  'Monitor flickers when docked',
  'Calendar invites arrive twice',
  'Slow Wi-Fi in the warehouse',
  'Excel crashes when opening the stock list',
  'Request: second screen for reception',
];

async function main(): Promise<void> {
  // required after the environment above is set: the logger reads it on load
  const { freshDatabase, dropDatabase } = require('./lib/database') as typeof import('./lib/database');
  const { updateSettings } = require('../src/services/config/settings') as typeof import('../src/services/config/settings');
  const { exportTickets } = require('../src/services/tickets/exportTickets') as typeof import('../src/services/tickets/exportTickets');
  const { customerReport } = require('../src/services/reports/customerReport') as typeof import('../src/services/reports/customerReport');
  const { closePdfRenderer } = require('../src/rendering/pdf') as typeof import('../src/rendering/pdf');
  const { setNow } = require('../src/clock') as typeof import('../src/clock');
  const { randomTicketNumber } = require('../src/services/tickets/ticketNumber') as typeof import('../src/services/tickets/ticketNumber');
  const { knex } = await freshDatabase('hd_samples');
  try {
    setNow(new Date('2026-11-30T16:00:00Z'));
    await updateSettings({ timezone: 'Europe/Paris' });
    const [a1, a2] = await knex('users')
      .insert([
        { name: 'Ana Ruiz', email: 'ana@helpdesk.test', role: 'admin' },
        { name: 'Tom Berger', email: 'tom@helpdesk.test', role: 'agent' },
      ])
      .returning('id');
    const [team] = await knex('support_teams').insert({ name: 'Service desk' }).returning('id');
    const [customer] = await knex('customers')
      .insert({ name: 'Northwind Traders', email_domains: ['northwind.test'] })
      .returning('id');
    const [contact] = await knex('contacts').insert({ contactable_id: customer.id, name: 'Maria Anders', email: 'maria@northwind.test' }).returning('id');
    const [contract] = await knex('support_contracts')
      .insert({
        support_contracteable_id: customer.id,
        type: 2,
        points_total: 40,
        points_current: 23.5,
        started_at: new Date('2026-01-01T00:00:00Z'),
        expires_at: new Date('2026-12-31T23:00:00Z'),
        created_at: new Date('2026-01-01T00:00:00Z'),
      })
      .returning('id');
    for (const [i, subject] of SUBJECTS.entries()) {
      const opened = new Date(Date.UTC(2026, 10, 2 + Math.floor(i * 1.5), 8 + (i % 8), (i * 17) % 60));
      const closed = i % 4 === 3 ? null : new Date(opened.getTime() + (2 + (i % 5) * 7) * 3_600_000);
      const agent = i % 3 === 0 ? a2.id : a1.id;
      const minutes = [15, 30, 45, 20, 60, 10, 90][i % 7]!;
      const [t] = await knex('tickets')
        .insert({
          number: randomTicketNumber(),
          subject,
          body: `<p>${subject}.</p>`,
          ticketable_id: customer.id,
          priority_id: 1 + (i % 4),
          ticket_category_id: 1,
          ticket_sub_category_id: 1,
          status_id: closed ? 4 : 1 + (i % 3),
          team_id: team.id,
          contract_id: contract.id,
          assignee_id: agent,
          author_type: 'App\\Contact',
          author_id: contact.id,
          contact_id: contact.id,
          open: !closed,
          origin: 'email',
          opened_via: 'email',
          exchanges: 2 + (i % 3),
          time: minutes,
          points: Math.round((minutes / 60) * 100) / 100,
          billed: i < 6,
          opened_at: opened,
          closed_at: closed,
          created_at: opened,
        })
        .returning('id');
      await knex('replies').insert([
        {
          ticket_id: t.id,
          body: '<p>Looking into it.</p>',
          origin: 'admin',
          author_type: 'App\\User',
          author_id: agent,
          customer_visible: true,
          created_at: new Date(opened.getTime() + 1_800_000),
        },
        {
          ticket_id: t.id,
          body: '<p>Thanks!</p>',
          origin: 'email',
          author_type: 'App\\Contact',
          author_id: contact.id,
          contact_id: contact.id,
          customer_visible: true,
          created_at: new Date(opened.getTime() + 3_600_000),
        },
      ]);
      await knex('time_segments').insert({
        ticket_id: t.id,
        user_id: agent,
        kind: i % 2 ? 'manual' : 'tracked',
        started_at: new Date(opened.getTime() + 1_800_000),
        ended_at: new Date(opened.getTime() + 1_800_000 + minutes * 60_000),
        minutes,
        note: i % 2 ? 'remote session' : null,
      });
    }
    fs.mkdirSync(OUT, { recursive: true });
    const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'hd-samples-'));

    const report = await customerReport({ customerId: customer.id, from: new Date('2026-11-01T00:00:00Z'), to: new Date('2026-11-30T00:00:00Z') });
    fs.writeFileSync(path.join(tmp, 'report.pdf'), report.pdf);
    execFileSync('pdftoppm', ['-png', '-r', '70', '-f', '1', '-l', '1', '-singlefile', path.join(tmp, 'report.pdf'), path.join(OUT, 'customer-report-page1')]);

    const workbook = await exportTickets({ customerId: customer.id, withSegments: true });
    await pipeline(workbook.stream, fs.createWriteStream(path.join(tmp, 'tickets.xlsx')));
    execFileSync('soffice', ['--headless', '--convert-to', 'pdf', '--outdir', tmp, path.join(tmp, 'tickets.xlsx')], { stdio: 'ignore' });
    // the sheet's top left corner (A4 landscape at 150 dpi): the header and the first rows, every column
    const crop = ['-x', '90', '-y', '100', '-W', '1580', '-H', '290'];
    execFileSync('pdftoppm', [
      '-png',
      '-r',
      '150',
      '-f',
      '1',
      '-l',
      '1',
      '-singlefile',
      ...crop,
      path.join(tmp, 'tickets.pdf'),
      path.join(OUT, 'workbook-first-rows'),
    ]);
    if (!process.env.KEEP) fs.rmSync(tmp, { recursive: true, force: true });
    else process.stdout.write(`kept ${tmp}\n`);
    process.stdout.write(`wrote ${fs.readdirSync(OUT).join(', ')} in ${OUT}\n`);
  } finally {
    setNow(undefined);
    await closePdfRenderer();
    await knex.destroy();
    await dropDatabase('hd_samples');
  }
}

main().catch((e) => {
  process.stderr.write(`${(e as Error).stack}\n`);
  process.exit(1);
});
