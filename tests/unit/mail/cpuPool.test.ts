/**
 * The CPU pool reads messages asked for together in chunks, one thread per chunk, and
 * still gives each message its own deadline: a message over it is held as too_complex,
 * and the others of its chunk are read all the same, each matched to its own result.
 */
import { config, loadConfig, setConfig } from '../../../src/config';
import { TOO_COMPLEX, closeCpuPool, cpuPoolThreads, holdCpuPoolWarm, readInPool } from '../../../src/mail/inbound/cpuPool';
import { buildMail } from '../../helpers/mail';
import { waitFor } from '../../helpers/waitFor';

const original = config();
beforeAll(() => setConfig(loadConfig({ ...process.env, INBOUND_CPU_SECONDS: '1' })));
afterAll(async () => {
  await closeCpuPool();
  setConfig(original);
});
jest.setTimeout(60_000);

const plain = (i: number) => buildMail({ from: 'someone@customer.test', subject: `plain ${i}`, messageId: `<plain-${i}@customer.test>`, text: `message ${i}` });

test('messages asked for in one turn each get their own analysis, in order', async () => {
  const raws = await Promise.all(Array.from({ length: 40 }, (_, i) => plain(i)));
  const results = await Promise.all(raws.map((raw) => readInPool(raw)));
  expect(results.map((r) => (r.ok ? r.message.messageId : r.reason))).toEqual(raws.map((_, i) => `<plain-${i}@customer.test>`));
});

test('a message over the deadline is held as too_complex; the messages before and after it in its chunk are read', async () => {
  const heavy = await buildMail({ from: 'someone@customer.test', subject: 'heavy', html: `<div>${'<p><b>x</b> y</p>'.repeat(200_000)}</div>` });
  const raws = [await plain(1), await plain(2), heavy, await plain(3)];
  const started = Date.now();
  const results = await Promise.all(raws.map((raw) => readInPool(raw)));
  expect(results.map((r) => (r.ok ? r.message.subject : r.reason))).toEqual(['plain 1', 'plain 2', TOO_COMPLEX, 'plain 3']);
  // given up within the deadline and the watchdog's tenth of it, plus a thread's start (generous: a loaded machine)
  expect(Date.now() - started).toBeLessThan(20_000);
});

test('a pool held warm starts its threads before any message, and lets them go when the last holder releases it', async () => {
  await closeCpuPool();
  const releaseOne = holdCpuPoolWarm();
  const releaseTwo = holdCpuPoolWarm();
  await waitFor(() => cpuPoolThreads() === config().inboundCpuThreads, { what: 'the threads of a warm pool' });
  releaseOne();
  expect(cpuPoolThreads()).toBe(config().inboundCpuThreads);
  const read = await readInPool(await plain(9));
  expect(read.ok).toBe(true);
  releaseTwo();
  expect(cpuPoolThreads()).toBe(0);
});
