/**
 * A message over INBOUND_MAX_BYTES is held by its start (oversizeMessage, prepare.ts): the
 * start is cut to the bytes kept whatever the caller hands over (a server that ignores a
 * partial FETCH, or sends more than the size it gave), and the row gives the real size.
 */
import { config, loadConfig, setConfig } from '../../../src/config';
import { oversizeLimits, oversizeMessage } from '../../../src/mail/inbound/prepare';
import type { Mailbox } from '../../../src/models/Mailbox';

const original = config();
beforeAll(() => setConfig(loadConfig({ ...process.env, INBOUND_MAX_BYTES: String(2 * 1024 * 1024) })));
afterAll(() => setConfig(original));

const mailbox = { id: 1 } as Mailbox;
const message = (bytes: number) => Buffer.concat([Buffer.from('From: a@b.test\r\nSubject: big\r\n\r\n'), Buffer.alloc(bytes, 'x')]);

test('more bytes than the start are cut to it, the row keeping the real size', () => {
  const { keepBytes } = oversizeLimits();
  const whole = message(3 * 1024 * 1024);
  const held = oversizeMessage(mailbox, whole, whole.length);
  expect(held.raw.length).toBe(keepBytes);
  expect(held.raw.equals(whole.subarray(0, keepBytes))).toBe(true);
  expect(held.raw.buffer).not.toBe(whole.buffer); // a copy: the rest can be freed
  expect(held.size).toBe(whole.length);
  expect(held.held).toMatchObject({ outcome: 'quarantined', reason: expect.stringContaining(`only its first ${keepBytes} bytes`) });
  expect(held.facts.subject).toBe('big');
});

test('a start already within the bytes kept is held as it is', () => {
  const start = message(1000);
  expect(oversizeMessage(mailbox, start, 5 * 1024 * 1024).raw).toBe(start);
});
